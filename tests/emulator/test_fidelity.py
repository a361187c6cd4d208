"""Self-tests of what the emulator models after AWS's documents (README "What the emulator models"):
-oldN names, the deployment's ARNs after switchover, deprecated engine versions, per-engine lag
metrics, Aurora instance classes, identifier and SNS subject limits.

Run: .venv/bin/python -m pytest tests/emulator -q
"""
import urllib.error
from datetime import datetime, timedelta, timezone

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from test_launcher import (control, describe, endpoint, error_code, faults, instances, make_instance,  # noqa: F401
                           rds, versions)

ACCOUNT = "123456789012"


def client(endpoint, service, **config):
    return boto3.client(service, region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}, **config))


def unchecked(endpoint, service="rds"):
    """A client that sends what the Rust SDK would send: no client-side length or pattern checks."""
    return client(endpoint, service, parameter_validation=False)


def arn(kind, name):
    return f"arn:aws:rds:us-east-1:{ACCOUNT}:{kind}:{name}"


def upgrade(rds, name, source_arn, target, group=None, cluster_group=None, **kw):
    """Create a deployment, switch it over, delete it (keeping the old blue): one upgrade."""
    extra = {"TargetDBParameterGroupName": group} if group else {}
    if cluster_group:
        extra["TargetDBClusterParameterGroupName"] = cluster_group
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName=name, Source=source_arn, TargetEngineVersion=target,
                                          **extra, **kw)["BlueGreenDeployment"]
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    done = describe(rds, bg)
    assert done["Status"] == "SWITCHOVER_COMPLETED"
    rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    return bg, done


def make_cluster(rds, name="aur", engine="aurora-postgresql", version="13.12", members=("aur-1", "aur-2")):
    out = rds.create_db_cluster(DBClusterIdentifier=name, Engine=engine, EngineVersion=version,
                                MasterUsername="app", MasterUserPassword="password123")["DBCluster"]
    for n in members:
        rds.create_db_instance(DBInstanceIdentifier=n, DBClusterIdentifier=name, Engine=engine,
                               DBInstanceClass="db.r6g.large")
    return out


def clusters(rds):
    return {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}


def members(cluster):
    return sorted(m["DBInstanceIdentifier"] for m in cluster["DBClusterMembers"])


# ------------------------------------------------------------ deprecated engine versions
DEPRECATED = {"postgres": {"12.9", "13.7"}, "mysql": {"8.0.28"}, "aurora-postgresql": {"13.7"},
              "aurora-mysql": {"8.0.mysql_aurora.3.02.2"}}


def test_deprecated_versions_are_listed_only_with_include_all(rds):
    for engine, deprecated in DEPRECATED.items():
        listed = {v["EngineVersion"]: v["Status"] for v in versions(rds, Engine=engine)}
        assert not deprecated & set(listed) and set(listed.values()) == {"available"}, engine
        every = {v["EngineVersion"]: v["Status"] for v in versions(rds, Engine=engine, IncludeAll=True)}
        assert {v for v, s in every.items() if s == "deprecated"} == deprecated, engine
    assert versions(rds, Engine="postgres", EngineVersion="13.7") == []
    [v] = versions(rds, Engine="postgres", EngineVersion="13.7", IncludeAll=True)
    assert v["Status"] == "deprecated" and v["DBParameterGroupFamily"] == "postgres13"
    targets = {t["EngineVersion"] for t in v["ValidUpgradeTarget"]}
    assert {"13.12", "13.20", "14.3", "16.4"} <= targets
    [old] = versions(rds, Engine="postgres", EngineVersion="12.9", IncludeAll=True)
    assert "13.7" not in {t["EngineVersion"] for t in old["ValidUpgradeTarget"]}, "no deprecated target"
    assert "13.10" in {t["EngineVersion"] for t in old["ValidUpgradeTarget"]}


def test_deprecated_upgrade_targets_knob(endpoint, rds):
    arn_ = make_instance(rds, "old", version="12.9")["DBInstanceArn"]
    with pytest.raises(ClientError) as e:
        rds.create_blue_green_deployment(BlueGreenDeploymentName="bg1", Source=arn_, TargetEngineVersion="13.7")
    assert error_code(e) == "InvalidParameterCombination"
    faults(endpoint, deprecated_upgrade_targets=True)
    [old] = versions(rds, Engine="postgres", EngineVersion="12.9", IncludeAll=True)
    assert "13.7" in {t["EngineVersion"] for t in old["ValidUpgradeTarget"]}
    rds.create_blue_green_deployment(BlueGreenDeploymentName="bg1", Source=arn_, TargetEngineVersion="13.7")


def test_databases_on_deprecated_versions_can_be_upgraded(rds):
    pg = make_instance(rds, "pg", version="13.7")
    assert pg["EngineVersion"] == "13.7"
    upgrade(rds, "bg-pg", pg["DBInstanceArn"], "13.20")
    rds.create_db_parameter_group(DBParameterGroupName="my84", DBParameterGroupFamily="mysql8.4", Description="t")
    my = rds.create_db_instance(DBInstanceIdentifier="my", Engine="mysql", EngineVersion="8.0.28",
                                DBInstanceClass="db.t3.micro", MasterUsername="app", MasterUserPassword="password123",
                                AllocatedStorage=20)["DBInstance"]
    upgrade(rds, "bg-my", my["DBInstanceArn"], "8.4.3", "my84")
    am = make_cluster(rds, "am", "aurora-mysql", "8.0.mysql_aurora.3.02.2", ["am-1"])
    upgrade(rds, "bg-am", am["DBClusterArn"], "8.0.mysql_aurora.3.04.2")
    apg = make_cluster(rds, "apg", "aurora-postgresql", "13.7", ["apg-1"])
    upgrade(rds, "bg-apg", apg["DBClusterArn"], "14.6")
    dbs = instances(rds)
    assert (dbs["pg"]["EngineVersion"], dbs["my"]["EngineVersion"]) == ("13.20", "8.4.3")
    assert (dbs["pg-old1"]["EngineVersion"], dbs["my-old1"]["EngineVersion"]) == ("13.7", "8.0.28")
    now = clusters(rds)
    assert now["am"]["EngineVersion"] == "8.0.mysql_aurora.3.04.2" and now["apg"]["EngineVersion"] == "14.6"

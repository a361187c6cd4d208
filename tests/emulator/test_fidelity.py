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


# ------------------------------------------------------------ -oldN names
def test_switchover_takes_the_next_free_old_name(rds):
    earlier = make_instance(rds, "prod-old1")  # an earlier upgrade's fallback
    bg, done = upgrade(rds, "bg1", make_instance(rds, "prod")["DBInstanceArn"], "13.20")
    dbs = instances(rds)
    assert set(dbs) == {"prod", "prod-old1", "prod-old2"}
    assert dbs["prod-old1"]["DbiResourceId"] == earlier["DbiResourceId"], "the earlier fallback is untouched"
    assert dbs["prod-old2"]["EngineVersion"] == "13.12" and dbs["prod"]["EngineVersion"] == "13.20"
    assert done["Source"] == arn("db", "prod-old2") and done["Target"] == arn("db", "prod")


def test_instance_upgraded_twice_keeps_both_fallbacks(rds):
    for family in ("postgres14", "postgres16"):
        rds.create_db_parameter_group(DBParameterGroupName=family, DBParameterGroupFamily=family, Description="t")
    first = make_instance(rds, "prod")
    upgrade(rds, "bg1", first["DBInstanceArn"], "14.9", "postgres14")
    second = instances(rds)["prod"]
    upgrade(rds, "bg2", second["DBInstanceArn"], "16.4", "postgres16")
    dbs = instances(rds)
    assert {n: d["EngineVersion"] for n, d in dbs.items()} == {"prod": "16.4", "prod-old1": "13.12", "prod-old2": "14.9"}
    assert dbs["prod"]["Endpoint"] == first["Endpoint"], "production keeps its address"
    assert dbs["prod-old2"]["Endpoint"]["Address"].startswith("prod-old2.")
    assert dbs["prod-old1"]["DbiResourceId"] == first["DbiResourceId"]
    assert dbs["prod-old2"]["DbiResourceId"] == second["DbiResourceId"]
    assert len({d["DbiResourceId"] for d in dbs.values()}) == 3


def test_aurora_upgraded_twice_keeps_both_fallbacks(rds):
    for v in ("14", "16"):
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"c{v}", Description="t",
                                              DBParameterGroupFamily=f"aurora-postgresql{v}")
    first = make_cluster(rds)
    upgrade(rds, "bg1", first["DBClusterArn"], "14.9", cluster_group="c14")
    upgrade(rds, "bg2", clusters(rds)["aur"]["DBClusterArn"], "16.4", cluster_group="c16")
    now = clusters(rds)
    assert {n: c["EngineVersion"] for n, c in now.items()} == {"aur": "16.4", "aur-old1": "13.12", "aur-old2": "14.9"}
    assert members(now["aur"]) == ["aur-1", "aur-2"]
    assert members(now["aur-old1"]) == ["aur-1-old1", "aur-2-old1"]
    assert members(now["aur-old2"]) == ["aur-1-old2", "aur-2-old2"]
    assert now["aur"]["Endpoint"] == first["Endpoint"]
    dbs = instances(rds)
    assert dbs["aur-1-old2"]["EngineVersion"] == "14.9" and dbs["aur-1-old2"]["DBClusterIdentifier"] == "aur-old2"
    assert dbs["aur-1"]["EngineVersion"] == "16.4"


def test_aurora_member_takes_its_own_next_free_number(rds):
    make_instance(rds, "aur-1-old1")  # an unrelated instance holds the name
    upgrade(rds, "bga", make_cluster(rds)["DBClusterArn"], "13.15")
    assert members(clusters(rds)["aur-old1"]) == ["aur-1-old2", "aur-2-old1"]
    assert "DBClusterIdentifier" not in instances(rds)["aur-1-old1"]


# ------------------------------------------------------------ ARNs after switchover
def test_arns_after_switchover_default_renamed(rds):
    bg, done = upgrade(rds, "bga", make_cluster(rds)["DBClusterArn"], "13.15")
    assert done["Source"] == arn("cluster", "aur-old1") and done["Target"] == arn("cluster", "aur")
    assert [(d["SourceMember"], d["TargetMember"]) for d in done["SwitchoverDetails"]] == [
        (arn("cluster", "aur-old1"), arn("cluster", "aur")),
        (arn("db", "aur-1-old1"), arn("db", "aur-1")), (arn("db", "aur-2-old1"), arn("db", "aur-2"))]


def test_arns_after_switchover_original(endpoint, rds):
    faults(endpoint, BlueGreenDeploymentName="bga", arns_after_switchover="original")
    src = make_cluster(rds)["DBClusterArn"]
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bga", Source=src,
                                          TargetEngineVersion="13.15")["BlueGreenDeployment"]
    before = describe(rds, bg)
    out = rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert out["BlueGreenDeployment"]["Source"] == src, "the answer shows the deployment as the switchover starts"
    done = describe(rds, bg)
    assert done["Status"] == "SWITCHOVER_COMPLETED"
    assert (done["Source"], done["Target"]) == (src, bg["Target"]), "green's ARN, which no longer exists"
    assert [(d["SourceMember"], d["TargetMember"]) for d in done["SwitchoverDetails"]] == \
        [(d["SourceMember"], d["TargetMember"]) for d in before["SwitchoverDetails"]]
    assert {d["Status"] for d in done["SwitchoverDetails"]} == {"SWITCHOVER_COMPLETED"}
    assert set(clusters(rds)) == {"aur", "aur-old1"}, "the renames are the same either way"
    with pytest.raises(urllib.error.HTTPError):
        faults(endpoint, arns_after_switchover="new")


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

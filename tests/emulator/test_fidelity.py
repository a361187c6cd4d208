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


def test_resource_ids_follow_the_database_through_the_renames_and_filter_describes(rds):
    """DescribeDBInstances `dbi-resource-id` and DescribeDBClusters `db-cluster-resource-id`
    (RDS API reference, Filters): the resource id stays with a database whatever it is
    named, so it finds an old blue after any number of upgrades."""
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="c14", Description="t",
                                          DBParameterGroupFamily="aurora-postgresql14")
    blue = make_cluster(rds)
    upgrade(rds, "bgr", blue["DBClusterArn"], "14.9", cluster_group="c14")
    found = rds.describe_db_clusters(Filters=[{"Name": "db-cluster-resource-id",
                                               "Values": [blue["DbClusterResourceId"]]}])["DBClusters"]
    assert [c["DBClusterIdentifier"] for c in found] == ["aur-old1"]
    writer = [i for i in instances(rds).values() if i["DBInstanceIdentifier"] == "aur-1-old1"][0]
    found = rds.describe_db_instances(Filters=[{"Name": "dbi-resource-id",
                                                "Values": [writer["DbiResourceId"]]}])["DBInstances"]
    assert [i["DBInstanceIdentifier"] for i in found] == ["aur-1-old1"]


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


# ------------------------------------------------------------ lag metrics
def stat(cw, metric, statistic="Maximum", **dims):
    """Maximum (or Minimum) of an AWS/RDS metric over the last 5 minutes, asked with exactly these
    dimensions; None without datapoints."""
    now = datetime.now(timezone.utc)
    points = cw.get_metric_statistics(Namespace="AWS/RDS", MetricName=metric, StartTime=now - timedelta(minutes=5),
                                      EndTime=now + timedelta(minutes=1), Period=60, Statistics=[statistic],
                                      Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()])["Datapoints"]
    values = [p[statistic] for p in points]
    return (max if statistic == "Maximum" else min)(values) if values else None


def samples(cw, metric, **dims):
    now = datetime.now(timezone.utc)
    points = cw.get_metric_statistics(Namespace="AWS/RDS", MetricName=metric, StartTime=now - timedelta(minutes=5),
                                      EndTime=now + timedelta(minutes=1), Period=600, Statistics=["SampleCount"],
                                      Dimensions=[{"Name": k, "Value": v} for k, v in dims.items()])["Datapoints"]
    return sum(p["SampleCount"] for p in points)


@pytest.fixture
def cw(endpoint, rds):  # rds first: it resets the emulator
    return client(endpoint, "cloudwatch")


def green_name(bg):
    return bg["Target"].rsplit(":", 1)[-1]


def mysql_bg(rds, name="bg1", source="my"):
    rds.create_db_parameter_group(DBParameterGroupName=f"{source}84", DBParameterGroupFamily="mysql8.4",
                                  Description="t")
    src = rds.create_db_instance(DBInstanceIdentifier=source, Engine="mysql", EngineVersion="8.0.36",
                                 DBInstanceClass="db.t3.micro", MasterUsername="app", MasterUserPassword="password123",
                                 AllocatedStorage=20)["DBInstance"]["DBInstanceArn"]
    return rds.create_blue_green_deployment(BlueGreenDeploymentName=name, Source=src, TargetEngineVersion="8.4.3",
                                            TargetDBParameterGroupName=f"{source}84")["BlueGreenDeployment"]


def test_mysql_green_publishes_replica_lag(endpoint, rds, cw):
    faults(endpoint, replica_lag_seconds=12.5)
    bg = mysql_bg(rds)
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=green_name(bg)) == 12.5
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier="my") is None, "blue is no replica"
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="my") is None
    faults(endpoint, BlueGreenDeploymentName="bg1", replica_lag_seconds=-1)  # replication not active
    assert stat(cw, "ReplicaLag", "Minimum", DBInstanceIdentifier=green_name(bg)) == -1
    assert stat(cw, "FreeStorageSpace", DBInstanceIdentifier="my") == 20 * 2**30 * 0.6


def test_postgres_major_upgrade_publishes_slot_lag_on_blue_only(endpoint, rds, cw):
    faults(endpoint, replica_lag_seconds=42.0, replication_slot_lag_bytes=4096)
    from test_launcher import make_bg
    bg = make_bg(rds)  # postgres 13.12 -> 16.4: logical replication
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=green_name(bg)) is None
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier="prod") is None
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="prod") == 4096
    assert stat(cw, "ReplicationSlotDiskUsage", DBInstanceIdentifier="prod") == 4096
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier=green_name(bg)) is None
    faults(endpoint, replication_slot_disk_usage_bytes=10)
    assert stat(cw, "ReplicationSlotDiskUsage", DBInstanceIdentifier="prod") == 4096  # max over the window
    before = samples(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="prod")
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert describe(rds, bg)["Status"] == "SWITCHOVER_COMPLETED"
    assert samples(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="prod") == before, "replication stopped"
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="prod-old1") is None


def test_postgres_minor_deployment_publishes_replica_lag(endpoint, rds, cw):
    faults(endpoint, replica_lag_seconds=3.0)
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bg1", Source=make_instance(rds)["DBInstanceArn"],
                                          TargetEngineVersion="13.20")["BlueGreenDeployment"]  # physical replication
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=green_name(bg)) == 3.0
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="prod") is None


def aurora_mysql_bg(rds, name="bgm"):
    src = make_cluster(rds, "am", "aurora-mysql", "5.7.mysql_aurora.2.11.4", ["am-1", "am-2"])
    return rds.create_blue_green_deployment(BlueGreenDeploymentName=name, Source=src["DBClusterArn"],
                                            TargetEngineVersion="8.0.mysql_aurora.3.04.1")["BlueGreenDeployment"]


def test_aurora_mysql_binlog_lag_is_published_for_the_writer_role_only(endpoint, rds, cw):
    faults(endpoint, replica_lag_seconds=7.0)
    bg = aurora_mysql_bg(rds)
    green = green_name(bg)
    writer = next(m["DBInstanceIdentifier"] for m in clusters(rds)[green]["DBClusterMembers"] if m["IsClusterWriter"])
    assert stat(cw, "AuroraBinlogReplicaLag", DBClusterIdentifier=green, Role="WRITER") == 7.0
    assert stat(cw, "AuroraBinlogReplicaLag", DBClusterIdentifier=green) is None, "dimensions match exactly"
    assert stat(cw, "AuroraBinlogReplicaLag", DBInstanceIdentifier=writer) is None
    assert stat(cw, "AuroraBinlogReplicaLag", DBClusterIdentifier="am", Role="WRITER") is None, "not on blue"
    for inst in instances(rds):
        assert stat(cw, "ReplicaLag", DBInstanceIdentifier=inst) is None, "Aurora publishes no ReplicaLag"
    faults(endpoint, aurora_metric_dimensions="all")
    assert stat(cw, "AuroraBinlogReplicaLag", DBClusterIdentifier=green) == 7.0
    assert stat(cw, "AuroraBinlogReplicaLag", DBInstanceIdentifier=writer) == 7.0


def test_aurora_postgresql_slot_metrics_on_blue_writer(endpoint, rds, cw):
    faults(endpoint, replica_lag_seconds=9.0, replication_slot_lag_bytes=100)
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bga", Source=make_cluster(rds)["DBClusterArn"],
                                          TargetEngineVersion="16.4")["BlueGreenDeployment"]
    writer = next(m["DBInstanceIdentifier"] for m in clusters(rds)["aur"]["DBClusterMembers"] if m["IsClusterWriter"])
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier=writer) == 100
    assert stat(cw, "ReplicationSlotDiskUsage", DBInstanceIdentifier=writer) == 100
    for inst in instances(rds):
        assert stat(cw, "ReplicaLag", DBInstanceIdentifier=inst) is None
        if inst != writer:
            assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier=inst) is None
    assert stat(cw, "AuroraBinlogReplicaLag", DBClusterIdentifier=green_name(bg), Role="WRITER") is None
    faults(endpoint, aurora_postgresql_slot_lag_metric="OldestLogicalReplicationSlotLag")
    assert stat(cw, "OldestLogicalReplicationSlotLag", DBInstanceIdentifier=writer) == 100


def test_lag_metrics_missing(endpoint, rds, cw):
    faults(endpoint, BlueGreenDeploymentName="bg1", lag_metrics_missing=True)
    bg = mysql_bg(rds)
    other = mysql_bg(rds, "bg2", "my2")
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=green_name(bg)) is None
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=green_name(other)) == 0
    assert stat(cw, "FreeStorageSpace", DBInstanceIdentifier=green_name(bg)) is not None


def test_lag_knob_values(endpoint, rds):
    for bad in ({"replica_lag_seconds": -2}, {"replication_slot_lag_bytes": -1}, {"lag_metrics_missing": 1},
                {"aurora_metric_dimensions": "some"}, {"aurora_postgresql_slot_lag_metric": "ReplicaLag"}):
        with pytest.raises(urllib.error.HTTPError) as e:
            faults(endpoint, **bad)
        assert e.value.code == 400, bad


def test_cloudwatch_matches_dimensions_exactly(cw):
    both = [{"Name": "A", "Value": "1"}, {"Name": "B", "Value": "2"}]
    cw.put_metric_data(Namespace="T", MetricData=[{"MetricName": "M", "Value": 5.0, "Dimensions": both},
                                                  {"MetricName": "M", "Value": 1.0}])
    now = datetime.now(timezone.utc)
    window = {"StartTime": now - timedelta(minutes=5), "EndTime": now + timedelta(minutes=1), "Period": 60}

    def stats(dims):
        out = cw.get_metric_statistics(Namespace="T", MetricName="M", Statistics=["Maximum"], Dimensions=dims,
                                       **window)["Datapoints"]
        return [p["Maximum"] for p in out]

    assert stats(both) == [5.0] and stats(both[::-1]) == [5.0]
    assert stats(both[:1]) == [] and stats([]) == [1.0]

    def data(dims, namespace="T"):
        q = [{"Id": "q", "MetricStat": {"Metric": {"Namespace": namespace, "MetricName": "M", "Dimensions": dims},
                                        "Period": 60, "Stat": "Maximum"}}]
        return cw.get_metric_data(MetricDataQueries=q, StartTime=window["StartTime"],
                                  EndTime=window["EndTime"])["MetricDataResults"][0]["Values"]

    assert data(both) == [5.0] and data(both[:1]) == [] and data([]) == [1.0] and data(both, "Other") == []
    assert len(cw.list_metrics(Namespace="T", Dimensions=[{"Name": "A"}])["Metrics"]) == 1, "ListMetrics: subset"


# ------------------------------------------------------------ Aurora instance classes
def test_target_instance_class_refused_for_aurora(endpoint, rds):
    src = make_cluster(rds)["DBClusterArn"]
    with pytest.raises(ClientError) as e:
        rds.create_blue_green_deployment(BlueGreenDeploymentName="bga", Source=src, TargetEngineVersion="16.4",
                                         TargetDBInstanceClass="db.r6g.xlarge")
    assert error_code(e) == "InvalidParameterCombination"
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == [] and set(clusters(rds)) == {"aur"}
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bg1", Source=make_instance(rds)["DBInstanceArn"],
                                          TargetEngineVersion="13.20", TargetDBInstanceClass="db.t3.small")
    assert instances(rds)[green_name(bg["BlueGreenDeployment"])]["DBInstanceClass"] == "db.t3.small"


def test_modify_green_aurora_instance_class(endpoint, rds):
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bga", Source=make_cluster(rds)["DBClusterArn"],
                                          TargetEngineVersion="16.4")["BlueGreenDeployment"]
    g1, g2 = sorted(n for n in instances(rds) if "-green-" in n)
    out = rds.modify_db_instance(DBInstanceIdentifier=g1, DBInstanceClass="db.r6g.xlarge",
                                 ApplyImmediately=True)["DBInstance"]
    assert out["DBInstanceClass"] == "db.r6g.large"
    assert out["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.xlarge"}
    for _ in range(2):  # modify_polls, default 2
        now = instances(rds)[g1]
        assert now["DBInstanceStatus"] == "modifying" and now["DBInstanceClass"] == "db.r6g.large"
        assert now["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.xlarge"}
    now = instances(rds)[g1]
    assert now["DBInstanceStatus"] == "available" and now["DBInstanceClass"] == "db.r6g.xlarge"
    assert not now.get("PendingModifiedValues")
    faults(endpoint, BlueGreenDeploymentName="bga", modify_polls=0)
    rds.modify_db_instance(DBInstanceIdentifier=g2, DBInstanceClass="db.r6g.2xlarge", ApplyImmediately=True)
    assert instances(rds)[g2]["DBInstanceClass"] == "db.r6g.2xlarge"
    rds.modify_db_instance(DBInstanceIdentifier="aur-1", DBInstanceClass="db.r6g.4xlarge")  # no ApplyImmediately
    for _ in range(3):
        blue = instances(rds)["aur-1"]
        assert blue["DBInstanceStatus"] == "available" and blue["DBInstanceClass"] == "db.r6g.large"
        assert blue["PendingModifiedValues"] == {"DBInstanceClass": "db.r6g.4xlarge"}, "waits for the maintenance window"


# ------------------------------------------------------------ identifier and subject limits
def test_cluster_snapshot_identifier_limits(endpoint, rds):
    make_cluster(rds, members=())
    raw = unchecked(endpoint)
    raw.create_db_cluster_snapshot(DBClusterIdentifier="aur", DBClusterSnapshotIdentifier="a" * 63)
    raw.create_db_cluster_snapshot(DBClusterIdentifier="aur", DBClusterSnapshotIdentifier="b")
    for bad in ("a" * 64, "1abc", "a--b", "ab-", "a_b", ""):
        with pytest.raises(ClientError) as e:
            raw.create_db_cluster_snapshot(DBClusterIdentifier="aur", DBClusterSnapshotIdentifier=bad)
        assert error_code(e) == "InvalidParameterValue", bad
    with pytest.raises(ClientError) as e:
        raw.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="b", TargetDBClusterSnapshotIdentifier="c" * 64)
    assert error_code(e) == "InvalidParameterValue"
    raw.copy_db_cluster_snapshot(SourceDBClusterSnapshotIdentifier="b", TargetDBClusterSnapshotIdentifier="c" * 63)


def test_db_snapshot_identifier_limits_moto_native(endpoint, rds):
    make_instance(rds)
    raw = unchecked(endpoint)
    raw.create_db_snapshot(DBInstanceIdentifier="prod", DBSnapshotIdentifier="a" * 255)
    for bad in ("a" * 256, "1abc", "a--b", "ab-"):
        with pytest.raises(ClientError) as e:
            raw.create_db_snapshot(DBInstanceIdentifier="prod", DBSnapshotIdentifier=bad)
        assert error_code(e) == "InvalidParameterValue", bad


def test_blue_green_deployment_name_limits(endpoint, rds):
    src = make_instance(rds)["DBInstanceArn"]
    raw = unchecked(endpoint)
    for bad in ("a" * 61, "a--b", "-ab", "ab-", "1ab", "a_b", ""):
        with pytest.raises(ClientError) as e:
            raw.create_blue_green_deployment(BlueGreenDeploymentName=bad, Source=src, TargetEngineVersion="13.20")
        assert error_code(e) == "InvalidParameterValue", bad
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == [], "nothing was built"
    faults(endpoint, bg_name_error_code="ValidationError")
    with pytest.raises(ClientError) as e:
        raw.create_blue_green_deployment(BlueGreenDeploymentName="a" * 61, Source=src, TargetEngineVersion="13.20")
    assert error_code(e) == "ValidationError"
    name = "Bg" + "-x1" * 19 + "z"
    assert len(name) == 60
    raw.create_blue_green_deployment(BlueGreenDeploymentName=name, Source=src, TargetEngineVersion="13.20")


def test_sns_subject_limits(endpoint, rds):
    sns = unchecked(endpoint, "sns")
    topic = sns.create_topic(Name="t")["TopicArn"]
    sns.publish(TopicArn=topic, Message="m", Subject="s" * 99)
    sns.publish(TopicArn=topic, Message="m", Subject="[rds-bluegreen] ✓ ünïcode")
    for bad in ("s" * 100, "a\nb", "a\rb", "tab\there", "a\u2028b", "bell\x07"):
        with pytest.raises(ClientError) as e:
            sns.publish(TopicArn=topic, Message="m", Subject=bad)
        assert error_code(e) == "InvalidParameter", repr(bad)
    out = sns.publish_batch(TopicArn=topic, PublishBatchRequestEntries=[
        {"Id": "ok", "Message": "m", "Subject": "fine"}, {"Id": "bad", "Message": "m", "Subject": "x" * 100}])
    assert [s["Id"] for s in out["Successful"]] == ["ok"]
    assert [(f["Id"], f["Code"]) for f in out["Failed"]] == [("bad", "InvalidParameter")]
    faults(endpoint, sns_subject_max_length=100)
    sns.publish(TopicArn=topic, Message="m", Subject="s" * 100)
    with pytest.raises(ClientError):
        sns.publish(TopicArn=topic, Message="m", Subject="s" * 101)


# ------------------------------------------------------------ storage initialization (lazy loading)
def loading_view(rds, name):
    d = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    return d["DBInstanceStatus"], d.get("PercentProgress")


@pytest.mark.parametrize("status", ["storage-initialization", "storage-config-upgrade"])
def test_green_and_its_replicas_report_storage_initialization_with_a_rising_percent_progress(endpoint, rds, status):
    """RDS User Guide, Creating a blue/green deployment, "Lazy loading and storage initialization": green "and its
    read replicas continue to load data in the background ... the overall instance status changes to
    Storage-initialization ... PercentProgress"; "Make sure data loading is complete before switching over."
    Knob storage_initialization_polls N: N DescribeDBInstances answers per green instance, PercentProgress (a
    string, API reference DBInstance) rising, then `available` without it; storage_initialization_status picks
    the status name. Blue is never loading."""
    from test_topologies import create_bg, replica, short
    faults(endpoint, storage_initialization_polls=3, storage_initialization_status=status)
    src = make_instance(rds)
    replica(rds, "prod-r1")
    bg = create_bg(rds, src["DBInstanceArn"], "16.4", "postgres16")
    green, green_r = (short(d["TargetMember"]) for d in bg["SwitchoverDetails"])
    assert describe(rds, bg)["Status"] == "AVAILABLE", "the deployment is available while green loads"
    for name in (green, green_r):
        seen = [loading_view(rds, name) for _ in range(4)]
        assert seen == [(status, "25"), (status, "50"), (status, "75"), ("available", None)], seen
    assert loading_view(rds, "prod") == ("available", None)
    assert loading_view(rds, "prod-r1") == ("available", None)


def test_switchover_requested_while_green_loads_is_recorded_for_the_tests(endpoint, rds):
    """Not AWS behaviour: the control API's /state lists the green members still loading when
    SwitchoverBlueGreenDeployment was called (RDS documents no refusal; nothing is refused)."""
    from test_launcher import make_bg
    faults(endpoint, storage_initialization_polls=5)
    bg = make_bg(rds)
    green = green_name(bg)
    assert loading_view(rds, green)[0] == "storage-initialization"
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    state = control(endpoint, "/_emulator/state")["deployments"]["bg1"]
    assert state["loading_at_switchover"] == [green] and state["switchovers"] == 1


# ------------------------------------------------------------ a failed switchover, then another
@pytest.mark.parametrize("mode,polls,after", [("sticky", 1, "SWITCHOVER_FAILED"), ("available", 1, "AVAILABLE"),
                                              ("available", 0, "AVAILABLE")])
def test_after_a_failed_switchover_the_deployment_is_intact_and_can_be_switched_over_again(endpoint, rds, mode,
                                                                                          polls, after):
    """Switching page: if anything stops the switchover, "every change is rolled back". Whether the deployment stays
    SWITCHOVER_FAILED or returns to AVAILABLE is not documented: knob switchover_failed_status (`sticky`, default;
    `available`: SWITCHOVER_FAILED for switchover_failed_polls polls, default 1, then AVAILABLE). Under either,
    nothing is renamed and a new SwitchoverBlueGreenDeployment switches over."""
    from test_launcher import make_bg
    bg = make_bg(rds)
    faults(endpoint, switchover_failed=True, switchover_failed_status=mode, switchover_failed_polls=polls)
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    seen = [describe(rds, bg) for _ in range(3)]
    statuses = [d["Status"] for d in seen]
    assert statuses == ["SWITCHOVER_FAILED"] * polls + [after] * (3 - polls), statuses
    assert {s["Status"] for s in seen[-1]["SwitchoverDetails"]} == {after}
    assert ("StatusDetails" in seen[-1] and "rolled back" in seen[-1]["StatusDetails"]) == (after != "AVAILABLE")
    dbs = instances(rds)
    assert dbs["prod"]["EngineVersion"] == "13.12" and "prod-old1" not in dbs, "nothing renamed"
    faults(endpoint, switchover_failed=False)
    out = rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert out["BlueGreenDeployment"]["Status"] == "SWITCHOVER_IN_PROGRESS"
    assert describe(rds, bg)["Status"] == "SWITCHOVER_COMPLETED"
    assert instances(rds)["prod"]["EngineVersion"] == "16.4"


# ------------------------------------------------------------ logical vs every slot
def test_oldest_replication_slot_lag_counts_blue_replicas_physical_slots_the_logical_metric_does_not(endpoint, rds,
                                                                                                     cw):
    """RDS metrics (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html): OldestReplicationSlotLag
    counts every slot on blue, each read replica's physical slot too; OldestLogicalReplicationSlotLag counts
    logical slots only. A PostgreSQL major-version deployment replicates through a logical slot on blue's primary:
    knob replication_slot_lag_bytes is its lag, blue_replica_slot_lag_bytes the physical slots' of blue's read
    replicas (when it has any); logical_slot_lag_metric=withheld publishes no OldestLogicalReplicationSlotLag."""
    from test_topologies import create_bg, replica
    faults(endpoint, replication_slot_lag_bytes=1024, blue_replica_slot_lag_bytes=512 * 2**20)
    src = make_instance(rds)
    bg = create_bg(rds, src["DBInstanceArn"], "16.4", "postgres16", name="solo")
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="prod") == 1024, "no replica: no physical slot"
    assert stat(cw, "OldestLogicalReplicationSlotLag", DBInstanceIdentifier="prod") == 1024
    rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"],
                                     DeleteTarget=True)
    withr = make_instance(rds, "rep")
    replica(rds, "rep-r1", source="rep")
    create_bg(rds, withr["DBInstanceArn"], "16.4", "postgres16", name="rep")
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="rep") == 512 * 2**20
    assert stat(cw, "OldestLogicalReplicationSlotLag", DBInstanceIdentifier="rep") == 1024
    assert stat(cw, "OldestLogicalReplicationSlotLag", DBInstanceIdentifier="rep-r1") is None
    faults(endpoint, BlueGreenDeploymentName="rep", logical_slot_lag_metric="withheld")
    before = samples(cw, "OldestLogicalReplicationSlotLag", DBInstanceIdentifier="rep")
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="rep") == 512 * 2**20
    assert samples(cw, "OldestLogicalReplicationSlotLag", DBInstanceIdentifier="rep") == before, "withheld"


def test_run_logic_knob_values(endpoint, rds):
    for bad in ({"storage_initialization_polls": -1}, {"storage_initialization_status": "loading"},
                {"switchover_failed_status": "gone"}, {"switchover_failed_polls": 1.5},
                {"logical_slot_lag_metric": True}, {"blue_replica_slot_lag_bytes": -1}):
        with pytest.raises(urllib.error.HTTPError) as e:
            faults(endpoint, **bad)
        assert e.value.code == 400, bad

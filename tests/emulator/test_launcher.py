"""Checks the emulator launcher with boto3: each extension, each knob, and the fidelity fixes.

Run: .venv/bin/python -m pytest tests/emulator -q
"""
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

LAUNCHER = Path(__file__).with_name("launcher.py")


def start_launcher():
    proc = subprocess.Popen([sys.executable, str(LAUNCHER), "--port", "0"],
                            stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith("emulator listening on http://127.0.0.1:"), line
    return proc, line.rsplit(" ", 1)[-1]


@pytest.fixture(scope="session")
def endpoint():
    proc, url = start_launcher()
    yield url
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=10) == 0


def control(endpoint, path, body=None):
    req = urllib.request.Request(endpoint + path, method="GET" if body is None else "POST",
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


@pytest.fixture
def rds(endpoint):
    control(endpoint, "/_emulator/reset", {})
    # one attempt only, so throttling is visible instead of retried away
    return boto3.client("rds", region_name="us-east-1", endpoint_url=endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=Config(retries={"total_max_attempts": 1}))


def faults(endpoint, **knobs):
    return control(endpoint, "/_emulator/faults", knobs)


def make_instance(rds, name="prod", version="13.12", **kw):
    return rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion=version,
                                  DBInstanceClass="db.t3.micro", MasterUsername="app",
                                  MasterUserPassword="password123", AllocatedStorage=20,
                                  **kw)["DBInstance"]


def make_bg(rds, name="bg1", source="prod", target="16.4", group="pg16"):
    rds.create_db_parameter_group(DBParameterGroupName=group, DBParameterGroupFamily="postgres16",
                                  Description="target")
    arn = make_instance(rds, source)["DBInstanceArn"]
    return rds.create_blue_green_deployment(BlueGreenDeploymentName=name, Source=arn,
                                            TargetEngineVersion=target,
                                            TargetDBParameterGroupName=group)["BlueGreenDeployment"]


def describe(rds, bg):
    return rds.describe_blue_green_deployments(
        BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])["BlueGreenDeployments"][0]


def instances(rds):
    return {d["DBInstanceIdentifier"]: d for d in rds.describe_db_instances()["DBInstances"]}


def error_code(excinfo):
    return excinfo.value.response["Error"]["Code"]


# ------------------------------------------------------------ DescribeDBEngineVersions
def versions(rds, **kw):
    return rds.describe_db_engine_versions(**kw)["DBEngineVersions"]


def targets(rds, engine, version):
    [v] = versions(rds, Engine=engine, EngineVersion=version)
    return {t["EngineVersion"]: t for t in v["ValidUpgradeTarget"]}


def test_postgres_upgrade_targets(rds):
    [v] = versions(rds, Engine="postgres", EngineVersion="13.12")
    assert v["DBParameterGroupFamily"] == "postgres13"
    t = {x["EngineVersion"]: x for x in v["ValidUpgradeTarget"]}
    assert t["13.15"]["IsMajorVersionUpgrade"] is False and t["13.15"]["Engine"] == "postgres"
    assert t["16.4"]["IsMajorVersionUpgrade"] is True and t["16.4"]["AutoUpgrade"] is False
    assert t["13.20"]["AutoUpgrade"] is True  # newest minor
    assert {"14.9", "15.4", "16.1", "16.6", "17.4"} <= set(t)
    assert "13.7" not in t and "13.12" not in t  # never downwards or sideways
    assert "14.7" not in t  # an older release train than 13.12
    assert t["16.4"]["Description"] == "PostgreSQL 16.4-R1"


def test_other_engines(rds):
    my = targets(rds, "mysql", "5.7.44")
    assert {k for k, x in my.items() if x["IsMajorVersionUpgrade"]} == {"8.0.35", "8.0.36", "8.0.39", "8.0.40", "8.0.41"}
    assert not any(k.startswith("8.4") for k in my)  # MySQL majors one at a time
    assert any(k.startswith("8.4") for k in targets(rds, "mysql", "8.0.36"))
    maria = targets(rds, "mariadb", "10.6.18")
    assert "10.11.8" in maria and "11.4.3" in maria
    apg = versions(rds, Engine="aurora-postgresql", EngineVersion="13.12")[0]
    assert apg["DBParameterGroupFamily"] == "aurora-postgresql13"
    assert "16.4" in {t["EngineVersion"] for t in apg["ValidUpgradeTarget"]}
    am = targets(rds, "aurora-mysql", "5.7.mysql_aurora.2.11.4")
    assert am["5.7.mysql_aurora.2.12.1"]["IsMajorVersionUpgrade"] is False
    assert am["8.0.mysql_aurora.3.04.1"]["IsMajorVersionUpgrade"] is True
    fam = {v["DBParameterGroupFamily"] for v in versions(rds, Engine="aurora-mysql")}
    assert fam == {"aurora-mysql5.7", "aurora-mysql8.0", "aurora-mysql8.4"}


def test_aurora_postgresql_17_and_aurora_mysql_8_4(rds):
    """Aurora PostgreSQL 17 starts at 17.4 (blue/green limitations: the lowest 17 it accepts); Aurora MySQL
    8.4 (8.4.7, family aurora-mysql8.4) is reached from version 3 by a major upgrade, never straight from
    version 2 (Aurora User Guide, AuroraMySQL.MySQL84.html, AuroraMySQL.mysql84-upgrade-procedure.html)."""
    apg = targets(rds, "aurora-postgresql", "16.6")
    assert apg["17.4"]["IsMajorVersionUpgrade"] is True
    [v17] = versions(rds, Engine="aurora-postgresql", EngineVersion="17.4")
    assert v17["DBParameterGroupFamily"] == "aurora-postgresql17"
    assert min(v["EngineVersion"] for v in versions(rds, DBParameterGroupFamily="aurora-postgresql17")) == "17.4"
    v3 = targets(rds, "aurora-mysql", "8.0.mysql_aurora.3.08.0")
    assert v3["8.4.7"]["IsMajorVersionUpgrade"] is True
    assert v3["8.0.mysql_aurora.3.12.0"]["IsMajorVersionUpgrade"] is False
    [v84] = versions(rds, Engine="aurora-mysql", EngineVersion="8.4.7")
    assert v84["DBParameterGroupFamily"] == "aurora-mysql8.4" and v84["MajorEngineVersion"] == "8.4"
    assert v84["DBEngineVersionDescription"] == "Aurora MySQL 8.4.7 (compatible with MySQL 8.4)"
    assert "8.4.7" not in targets(rds, "aurora-mysql", "5.7.mysql_aurora.2.12.3")


def test_engine_version_filters(rds):
    sixteen = versions(rds, DBParameterGroupFamily="postgres16")
    assert {v["EngineVersion"] for v in sixteen} == {"16.1", "16.3", "16.4", "16.6", "16.8"}
    assert len(versions(rds, Engine="postgres", EngineVersion="16")) == 5  # major prefix
    assert versions(rds, Filters=[{"Name": "engine", "Values": ["mariadb"]}])[0]["Engine"] == "mariadb"
    [d] = versions(rds, Engine="postgres", DefaultOnly=True)
    assert d["EngineVersion"] == "16.4"
    assert versions(rds, Engine="oracle-ee") == []
    assert versions(rds, Engine="postgres", EngineVersion="13.99") == []
    page = rds.describe_db_engine_versions(Engine="postgres", MaxRecords=20)
    rest = rds.describe_db_engine_versions(Engine="postgres", Marker=page["Marker"])
    assert len(page["DBEngineVersions"]) + len(rest["DBEngineVersions"]) == len(versions(rds, Engine="postgres"))


def test_engine_versions_raw_xml(endpoint, rds):
    # the wire format real RDS uses (ValidUpgradeTarget/UpgradeTarget members)
    req = urllib.request.Request(endpoint + "/", method="POST", headers={
        "Content-Type": "application/x-www-form-urlencoded",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20250101/us-east-1/rds/aws4_request, "
                         "SignedHeaders=host, Signature=x"},
        data=b"Action=DescribeDBEngineVersions&Version=2014-10-31&Engine=postgres&EngineVersion=16.4")
    xml = urllib.request.urlopen(req).read().decode()
    assert "<DescribeDBEngineVersionsResponse" in xml
    assert "<ValidUpgradeTarget><UpgradeTarget>" in xml.replace("\n", "").replace(" ", "")
    assert "<IsMajorVersionUpgrade>true</IsMajorVersionUpgrade>" in xml


# ------------------------------------------------------------ DescribePendingMaintenanceActions
def test_pending_maintenance(endpoint, rds):
    arn = make_instance(rds)["DBInstanceArn"]
    assert rds.describe_pending_maintenance_actions()["PendingMaintenanceActions"] == []
    control(endpoint, "/_emulator/pending-maintenance", {"ResourceIdentifier": arn, "PendingMaintenanceActionDetails": [
        {"Action": "system-update", "Description": "New Operating System update is available",
         "AutoAppliedAfterDate": "2030-01-01T00:00:00Z"}]})
    [p] = rds.describe_pending_maintenance_actions(ResourceIdentifier=arn)["PendingMaintenanceActions"]
    assert p["ResourceIdentifier"] == arn
    assert p["PendingMaintenanceActionDetails"][0]["Action"] == "system-update"
    assert p["PendingMaintenanceActionDetails"][0]["AutoAppliedAfterDate"].year == 2030
    by_id = rds.describe_pending_maintenance_actions(Filters=[{"Name": "db-instance-id", "Values": ["prod"]}])
    assert len(by_id["PendingMaintenanceActions"]) == 1
    other = rds.describe_pending_maintenance_actions(ResourceIdentifier=arn + "x")
    assert other["PendingMaintenanceActions"] == []


# ------------------------------------------------------------ knobs
def test_call_counters(endpoint, rds):
    bg = make_bg(rds)
    describe(rds, bg)
    describe(rds, bg)
    calls = control(endpoint, "/_emulator/state")["calls"]["rds"]
    assert calls["DescribeBlueGreenDeployments"] == 2 and calls["CreateBlueGreenDeployment"] == 1
    control(endpoint, "/_emulator/reset", {"counters_only": True})
    state = control(endpoint, "/_emulator/state")
    assert state["rds_calls_total"] == 0 and "bg1" in state["deployments"]  # resources kept


def test_provisioning_polls(endpoint, rds):
    faults(endpoint, provisioning_polls=2)
    bg = make_bg(rds)
    assert bg["Status"] == "PROVISIONING"
    for _ in range(2):
        d = describe(rds, bg)
        assert d["Status"] == "PROVISIONING"
        assert d["Tasks"][0]["Status"] == "IN_PROGRESS"
        assert {s["Status"] for s in d["SwitchoverDetails"]} == {"PROVISIONING"}
    with pytest.raises(ClientError) as e:  # not switchable while provisioning
        rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert error_code(e) == "InvalidBlueGreenDeploymentStateFault"
    d = describe(rds, bg)
    assert d["Status"] == "AVAILABLE" and {t["Status"] for t in d["Tasks"]} == {"COMPLETED"}
    assert d["SwitchoverDetails"][0]["Status"] == "AVAILABLE"


def test_provisioning_until_holds_until_released(endpoint, rds):
    faults(endpoint, BlueGreenDeploymentName="held", provisioning_until=int(time.time()) + 3600)
    bg = make_bg(rds, name="held")
    assert [describe(rds, bg)["Status"] for _ in range(3)] == ["PROVISIONING"] * 3
    faults(endpoint, BlueGreenDeploymentName="held", provisioning_until=0)  # released mid-flight
    assert describe(rds, bg)["Status"] == "AVAILABLE"


def test_tasks_in_progress_polls(endpoint, rds):
    faults(endpoint, tasks_in_progress_polls=1)
    bg = make_bg(rds)
    d = describe(rds, bg)
    tasks = {t["Name"]: t["Status"] for t in d["Tasks"]}
    assert d["Status"] == "AVAILABLE" and tasks["DB_ENGINE_VERSION_UPGRADE"] == "IN_PROGRESS"
    assert tasks["CREATING_READ_REPLICA_OF_SOURCE"] == "COMPLETED"
    assert {t["Status"] for t in describe(rds, bg)["Tasks"]} == {"COMPLETED"}


def test_storage_optimization_polls(endpoint, rds):
    faults(endpoint, storage_optimization_polls=2)
    bg = make_bg(rds)
    green = bg["Target"].rsplit(":", 1)[-1]
    assert instances(rds)[green]["DBInstanceStatus"] == "storage-optimization"
    assert instances(rds)[green]["DBInstanceStatus"] == "storage-optimization"
    assert instances(rds)[green]["DBInstanceStatus"] == "available"
    assert instances(rds)["prod"]["DBInstanceStatus"] == "available"


def test_invalid_configuration(endpoint, rds):
    faults(endpoint, invalid_configuration=True, provisioning_polls=1)
    bg = make_bg(rds)
    assert describe(rds, bg)["Status"] == "PROVISIONING"
    d = describe(rds, bg)
    assert d["Status"] == "INVALID_CONFIGURATION"
    assert d["StatusDetails"].startswith("Creation of blue/green deployment failed due to incompatible parameter(s)")
    with pytest.raises(ClientError) as e:
        rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert error_code(e) == "InvalidBlueGreenDeploymentStateFault"


def test_per_deployment_knobs(endpoint, rds):
    faults(endpoint, BlueGreenDeploymentName="slow", provisioning_polls=1)
    slow = make_bg(rds, name="slow", source="a", group="pga")
    fast = make_bg(rds, name="fast", source="b", group="pgb")
    assert describe(rds, slow)["Status"] == "PROVISIONING"
    assert describe(rds, fast)["Status"] == "AVAILABLE"


def test_switchover_failed_in_details(endpoint, rds):
    faults(endpoint, switchover_failed_in_details=True)
    d = describe(rds, make_bg(rds))
    assert d["Status"] == "AVAILABLE"
    assert d["SwitchoverDetails"][-1]["Status"] == "SWITCHOVER_FAILED"


def test_switchover_failed(endpoint, rds):
    bg = make_bg(rds)
    faults(endpoint, switchover_failed=True)  # read at switchover time
    out = rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert out["BlueGreenDeployment"]["Status"] == "SWITCHOVER_IN_PROGRESS"
    d = describe(rds, bg)
    assert d["Status"] == "SWITCHOVER_FAILED" and "rolled back" in d["StatusDetails"]
    assert d["SwitchoverDetails"][0]["Status"] == "SWITCHOVER_FAILED"
    dbs = instances(rds)
    assert dbs["prod"]["EngineVersion"] == "13.12" and "prod-old1" not in dbs  # nothing renamed


def test_switchover_in_progress_polls(endpoint, rds):
    faults(endpoint, switchover_in_progress_polls=2)
    bg = make_bg(rds)
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"],
                                         SwitchoverTimeout=600)
    for _ in range(2):
        d = describe(rds, bg)
        assert d["Status"] == "SWITCHOVER_IN_PROGRESS"
        assert d["SwitchoverDetails"][0]["Status"] == "SWITCHOVER_IN_PROGRESS"
        assert instances(rds)["prod"]["EngineVersion"] == "13.12"
    with pytest.raises(ClientError) as e:
        rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert error_code(e) == "InvalidBlueGreenDeploymentStateFault"
    d = describe(rds, bg)
    assert d["Status"] == "SWITCHOVER_COMPLETED"
    assert d["SwitchoverDetails"][0]["Status"] == "SWITCHOVER_COMPLETED"
    assert instances(rds)["prod"]["EngineVersion"] == "16.4"


def test_throttle(endpoint, rds):
    bg = make_bg(rds)
    faults(endpoint, throttle={"Action": "DescribeBlueGreenDeployments", "count": 3})
    for _ in range(3):
        with pytest.raises(ClientError) as e:
            describe(rds, bg)
        err = e.value.response
        assert err["Error"]["Code"] == "Throttling" and err["Error"]["Message"] == "Rate exceeded"
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert describe(rds, bg)["Status"] == "AVAILABLE"
    state = control(endpoint, "/_emulator/state")
    assert state["throttled"] == {"DescribeBlueGreenDeployments": 3}
    assert state["calls"]["rds"]["DescribeBlueGreenDeployments"] == 4


def test_server_error(endpoint, rds):
    bg = make_bg(rds)
    faults(endpoint, server_error=[{"Action": "DescribeBlueGreenDeployments", "count": 2},
                                   {"Action": "DeleteBlueGreenDeployment", "status": 503}])
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            describe(rds, bg)
        err = e.value.response
        assert err["Error"]["Code"] == "InternalFailure"
        assert err["ResponseMetadata"]["HTTPStatusCode"] == 500
    assert describe(rds, bg)["Status"] == "AVAILABLE"
    with pytest.raises(ClientError) as e:
        rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert describe(rds, bg)["Status"] == "AVAILABLE", "a failed call is not carried out"
    state = control(endpoint, "/_emulator/state")
    assert state["server_errored"] == {"DescribeBlueGreenDeployments": 2, "DeleteBlueGreenDeployment": 1}
    with pytest.raises(urllib.error.HTTPError) as e:
        faults(endpoint, server_error={"Action": "DescribeDBInstances", "status": 502})
    assert e.value.code == 400


def test_fail_with_answers_a_documented_error_code_without_carrying_the_call_out(endpoint, rds):
    bg = make_bg(rds)
    faults(endpoint, fail_with={"Action": "SwitchoverBlueGreenDeployment",
                                "code": "InvalidBlueGreenDeploymentStateFault", "count": 2})
    for _ in range(2):
        with pytest.raises(ClientError) as e:
            rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
        assert e.value.response["Error"]["Code"] == "InvalidBlueGreenDeploymentStateFault"
        assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert describe(rds, bg)["Status"] == "AVAILABLE", "not carried out"
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    with pytest.raises(urllib.error.HTTPError) as e:
        faults(endpoint, fail_with={"Action": "X", "code": "not a code!"})
    assert e.value.code == 400


def test_server_error_on_cloudwatch(endpoint, rds):
    cw = boto3.client("cloudwatch", region_name="us-east-1", endpoint_url=endpoint,
                      aws_access_key_id="testing", aws_secret_access_key="testing",
                      config=Config(retries={"total_max_attempts": 1}))
    faults(endpoint, server_error={"Action": "PutMetricData", "status": 503})
    datum = [{"MetricName": "Remediations", "Value": 1.0, "Unit": "Count"}]
    with pytest.raises(ClientError) as e:
        cw.put_metric_data(Namespace="RdsBlueGreen", MetricData=datum)
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert e.value.response["Error"]["Code"] == "ServiceUnavailable"
    cw.put_metric_data(Namespace="RdsBlueGreen", MetricData=datum)
    assert [m["MetricName"] for m in cw.list_metrics(Namespace="RdsBlueGreen")["Metrics"]] == ["Remediations"]


def test_bad_knob_rejected(endpoint, rds):
    with pytest.raises(urllib.error.HTTPError) as e:
        faults(endpoint, provisoning_polls=1)
    assert e.value.code == 400


# ------------------------------------------------------------ fidelity
def test_instance_lifecycle(rds):
    bg = make_bg(rds)
    before = instances(rds)["prod"]
    green = instances(rds)[bg["Target"].rsplit(":", 1)[-1]]
    assert green["EngineVersion"] == "16.4"
    assert green["DBParameterGroups"][0]["DBParameterGroupName"] == "pg16"
    assert green["DbiResourceId"] != before["DbiResourceId"]
    assert [t["Name"] for t in bg["Tasks"]] == ["CREATING_READ_REPLICA_OF_SOURCE", "DB_ENGINE_VERSION_UPGRADE",
                                                "CONFIGURE_BACKUPS"]
    assert bg["SwitchoverDetails"] == [{"SourceMember": before["DBInstanceArn"],
                                        "TargetMember": green["DBInstanceArn"], "Status": "PROVISIONING"}]
    unchecked = boto3.client("rds", region_name="us-east-1", endpoint_url=rds.meta.endpoint_url,
                             aws_access_key_id="testing", aws_secret_access_key="testing",
                             config=Config(parameter_validation=False))  # the Rust SDK does not check ranges
    with pytest.raises(ClientError) as e:
        unchecked.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"],
                                                   SwitchoverTimeout=10)
    assert error_code(e) == "InvalidParameterValue"
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    d = describe(rds, bg)
    assert d["Status"] == "SWITCHOVER_COMPLETED"
    dbs = instances(rds)
    prod, old = dbs["prod"], dbs["prod-old1"]
    assert prod["EngineVersion"] == "16.4" and old["EngineVersion"] == "13.12"
    assert prod["Endpoint"] == before["Endpoint"]
    assert prod["DBParameterGroups"][0]["DBParameterGroupName"] == "pg16"
    assert prod["DbiResourceId"] == green["DbiResourceId"] and old["DbiResourceId"] == before["DbiResourceId"]
    assert d["Source"] == old["DBInstanceArn"] and d["Target"] == prod["DBInstanceArn"]
    with pytest.raises(ClientError) as e:
        rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"],
                                         DeleteTarget=True)
    assert error_code(e) == "InvalidBlueGreenDeploymentStateFault"
    rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    assert set(instances(rds)) == {"prod", "prod-old1"}  # old blue left running, as on RDS


def test_delete_target_before_switchover(rds):
    bg = make_bg(rds)
    rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"],
                                     DeleteTarget=True)
    assert set(instances(rds)) == {"prod"}
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == []


def test_delete_target_refused_with_deletion_protection(rds):
    rds.create_db_parameter_group(DBParameterGroupName="pg16", DBParameterGroupFamily="postgres16",
                                  Description="target")
    arn = make_instance(rds, DeletionProtection=True)["DBInstanceArn"]
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bg1", Source=arn, TargetEngineVersion="16.4",
                                          TargetDBParameterGroupName="pg16")["BlueGreenDeployment"]
    with pytest.raises(ClientError) as e:
        rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"],
                                         DeleteTarget=True)
    assert error_code(e) == "InvalidParameterCombination"
    assert describe(rds, bg)["Status"] == "AVAILABLE"  # nothing was touched


def test_invalid_target_version_refused(rds):
    arn = make_instance(rds, version="16.4")["DBInstanceArn"]
    with pytest.raises(ClientError) as e:
        rds.create_blue_green_deployment(BlueGreenDeploymentName="bg1", Source=arn, TargetEngineVersion="13.12")
    assert error_code(e) == "InvalidParameterCombination"


def test_secrets_manager_source_refused(rds):
    arn = rds.create_db_instance(DBInstanceIdentifier="s", Engine="postgres", EngineVersion="13.12",
                                 DBInstanceClass="db.t3.micro", MasterUsername="app",
                                 ManageMasterUserPassword=True, AllocatedStorage=20)["DBInstance"]["DBInstanceArn"]
    with pytest.raises(ClientError) as e:
        rds.create_blue_green_deployment(BlueGreenDeploymentName="bg1", Source=arn, TargetEngineVersion="16.4")
    assert error_code(e) == "SourceDatabaseNotSupportedFault"


def test_snapshots_and_deletion_protection(rds):
    make_instance(rds, DeletionProtection=True)
    snap = rds.create_db_snapshot(DBInstanceIdentifier="prod", DBSnapshotIdentifier="pre-upgrade")["DBSnapshot"]
    assert snap["DBInstanceIdentifier"] == "prod" and snap["EngineVersion"] == "13.12"
    with pytest.raises(ClientError) as e:
        rds.delete_db_instance(DBInstanceIdentifier="prod", SkipFinalSnapshot=True)
    assert error_code(e) == "InvalidParameterCombination"
    mod = rds.modify_db_instance(DBInstanceIdentifier="prod", DeletionProtection=False, ApplyImmediately=True)
    assert mod["DBInstance"]["DeletionProtection"] is False
    rds.delete_db_instance(DBInstanceIdentifier="prod", SkipFinalSnapshot=True)
    assert instances(rds) == {}
    rds.create_db_cluster(DBClusterIdentifier="aur", Engine="aurora-postgresql", EngineVersion="13.12",
                          MasterUsername="app", MasterUserPassword="password123")
    cs = rds.create_db_cluster_snapshot(DBClusterIdentifier="aur", DBClusterSnapshotIdentifier="aur-pre")
    assert cs["DBClusterSnapshot"]["DBClusterIdentifier"] == "aur"


def test_aurora_cluster_lifecycle(rds):
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName="cpg16", Description="t",
                                          DBParameterGroupFamily="aurora-postgresql16")
    rds.create_db_parameter_group(DBParameterGroupName="ipg16", Description="t",
                                  DBParameterGroupFamily="aurora-postgresql16")
    cluster = rds.create_db_cluster(DBClusterIdentifier="aur", Engine="aurora-postgresql", EngineVersion="13.12",
                                    MasterUsername="app", MasterUserPassword="password123")["DBCluster"]
    for n in ("aur-1", "aur-2"):
        rds.create_db_instance(DBInstanceIdentifier=n, DBClusterIdentifier="aur", Engine="aurora-postgresql",
                               DBInstanceClass="db.r6g.large")
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bga", Source=cluster["DBClusterArn"],
                                          TargetEngineVersion="16.4", TargetDBParameterGroupName="ipg16",
                                          TargetDBClusterParameterGroupName="cpg16")["BlueGreenDeployment"]
    d = describe(rds, bg)
    assert len(d["SwitchoverDetails"]) == 3  # the cluster and both instances
    assert d["SwitchoverDetails"][1]["SourceMember"].endswith(":db:aur-1")
    assert ":db:aur-1-green-" in d["SwitchoverDetails"][1]["TargetMember"]
    green = rds.describe_db_clusters(DBClusterIdentifier=bg["Target"].rsplit(":", 1)[-1])["DBClusters"][0]
    assert green["EngineVersion"] == "16.4" and green["DBClusterParameterGroup"] == "cpg16"
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    d = describe(rds, bg)
    assert d["Status"] == "SWITCHOVER_COMPLETED"
    assert {s["Status"] for s in d["SwitchoverDetails"]} == {"SWITCHOVER_COMPLETED"}
    clusters = {c["DBClusterIdentifier"]: c for c in rds.describe_db_clusters()["DBClusters"]}
    prod, old = clusters["aur"], clusters["aur-old1"]
    assert prod["EngineVersion"] == "16.4" and old["EngineVersion"] == "13.12"
    assert prod["Endpoint"] == cluster["Endpoint"] and prod["ReaderEndpoint"] == cluster["ReaderEndpoint"]
    assert sorted(m["DBInstanceIdentifier"] for m in prod["DBClusterMembers"]) == ["aur-1", "aur-2"]
    assert sorted(m["DBInstanceIdentifier"] for m in old["DBClusterMembers"]) == ["aur-1-old1", "aur-2-old1"]
    dbs = instances(rds)
    assert dbs["aur-1"]["EngineVersion"] == "16.4" and dbs["aur-1"]["DBClusterIdentifier"] == "aur"
    assert dbs["aur-1"]["DBParameterGroups"][0]["DBParameterGroupName"] == "ipg16"
    assert dbs["aur-1-old1"]["EngineVersion"] == "13.12"


def test_aurora_default_cluster_parameter_groups(rds):
    arn = rds.create_db_cluster(DBClusterIdentifier="aur", Engine="aurora-postgresql", EngineVersion="13.12",
                                MasterUsername="app", MasterUserPassword="password123")["DBCluster"]["DBClusterArn"]
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bga", Source=arn,
                                          TargetEngineVersion="16.4")["BlueGreenDeployment"]
    groups = {c["DBClusterIdentifier"]: c["DBClusterParameterGroup"] for c in rds.describe_db_clusters()["DBClusters"]}
    assert groups["aur"] == "default.aurora-postgresql13"
    assert groups[bg["Target"].rsplit(":", 1)[-1]] == "default.aurora-postgresql16"


def test_sigint_exits_cleanly():
    proc, _ = start_launcher()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=10) == 0

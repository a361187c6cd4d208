"""The comparison point for `make bench`: our precheck written the usual way, in Python with
boto3, served by a minimal Lambda runtime loop (what a `python3.x` Lambda does, minus AWS's
own bootstrap). Clients are created at init, as our `serve` builds them before the first /next.

It makes the same RDS and CloudWatch calls, in the same order, as crates/workers/src/precheck.rs
for an RDS instance (DescribeDBInstances, DescribeDBParameters per group, DescribeDBEngineVersions
for the current and target version, DescribeDBParameterGroups, DescribeBlueGreenDeployments by
source and by name, DescribePendingMaintenanceActions, GetMetricStatistics FreeStorageSpace) and
evaluates the main checks on the answers. It is a benchmark stand-in, not a second implementation.
"""

import datetime
import http.client
import json
import os
import re

import boto3

RELEVANT = {"rds.logical_replication", "max_replication_slots", "max_wal_senders",
            "max_logical_replication_workers", "max_worker_processes", "binlog_format",
            "lower_case_table_names", "shared_preload_libraries"}

rds = boto3.client("rds")
cloudwatch = boto3.client("cloudwatch")


def _pages(call, key, **kwargs):
    while True:
        out = call(**kwargs)
        yield from out.get(key, [])
        if not out.get("Marker"):
            return
        kwargs["Marker"] = out["Marker"]


def _engine_version(engine, version):
    found = rds.describe_db_engine_versions(Engine=engine, EngineVersion=version)["DBEngineVersions"]
    return next((v for v in found if v["EngineVersion"] == version), None)


def _vkey(v):
    return tuple(int(n) for n in re.findall(r"\d+", v))


def handler(event, context):
    request = event["input"]
    name, target = request["db_identifier"], request["target_engine_version"]
    db = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
    params = {}
    for group in db.get("DBParameterGroups", []):
        for p in _pages(rds.describe_db_parameters, "Parameters", DBParameterGroupName=group["DBParameterGroupName"]):
            if p.get("ParameterName") in RELEVANT and "ParameterValue" in p:
                params.setdefault(p["ParameterName"], p["ParameterValue"])
    current = _engine_version(db["Engine"], db["EngineVersion"])
    target_version = _engine_version(db["Engine"], target)
    target_group = None
    if request.get("target_db_parameter_group_name"):
        target_group = rds.describe_db_parameter_groups(
            DBParameterGroupName=request["target_db_parameter_group_name"])["DBParameterGroups"][0]
    deployment_name = f"rbg-{name}-to-{target.replace('.', '-')}"
    deployments = list(_pages(rds.describe_blue_green_deployments, "BlueGreenDeployments",
                              Filters=[{"Name": "source", "Values": [db["DBInstanceArn"]]}]))
    if not any(d["BlueGreenDeploymentName"] == deployment_name for d in deployments):
        deployments += list(_pages(rds.describe_blue_green_deployments, "BlueGreenDeployments",
                                   Filters=[{"Name": "blue-green-deployment-name", "Values": [deployment_name]}]))
    pending = rds.describe_pending_maintenance_actions(ResourceIdentifier=db["DBInstanceArn"])
    now = datetime.datetime.now(datetime.timezone.utc)
    free = cloudwatch.get_metric_statistics(
        Namespace="AWS/RDS", MetricName="FreeStorageSpace",
        Dimensions=[{"Name": "DBInstanceIdentifier", "Value": name}],
        StartTime=now - datetime.timedelta(hours=1), EndTime=now, Period=60, Statistics=["Minimum"])
    free_bytes = min((d["Minimum"] for d in free["Datapoints"]), default=None)

    targets = {t["EngineVersion"]: t for t in (current or {}).get("ValidUpgradeTarget", [])}
    checks = [
        ("source-available", db["DBInstanceStatus"] == "available", db["DBInstanceStatus"]),
        ("upgrade-target", target in targets and _vkey(target) > _vkey(db["EngineVersion"]), target),
        ("target-known", target_version is not None, target),
        ("logical-replication", params.get("rds.logical_replication") == "1", params.get("rds.logical_replication")),
        ("replication-headroom", int(params.get("max_replication_slots", "0")) > 0, params.get("max_replication_slots")),
        ("automated-backups", db.get("BackupRetentionPeriod", 0) > 0, db.get("BackupRetentionPeriod")),
        ("parameter-groups-in-sync", all(g.get("ParameterApplyStatus", "in-sync") == "in-sync"
                                         for g in db.get("DBParameterGroups", [])), None),
        ("managed-master-password", "MasterUserSecret" not in db, None),
        ("replicas", not db.get("ReadReplicaDBInstanceIdentifiers"), None),
        ("target-parameter-group", target_group is not None and target_group["DBParameterGroupFamily"]
         == (target_version or {}).get("DBParameterGroupFamily"), request.get("target_db_parameter_group_name")),
        ("existing-deployment", all(d["Status"] in ("SWITCHOVER_COMPLETED", "DELETING") or
                                    d["BlueGreenDeploymentName"] == deployment_name for d in deployments), len(deployments)),
        ("pending-maintenance", not pending["PendingMaintenanceActions"], None),
        ("free-storage", free_bytes is None or free_bytes > 5 * 2**30, free_bytes),
    ]
    report = [{"id": c, "verdict": "pass" if ok else "fail", "observed": str(seen)} for c, ok, seen in checks]
    return {**event, "route": request.get("action", "plan"), "report": {"checks": report},
            "source": json.loads(json.dumps(db, default=str)), "plan": {"deployment_name": deployment_name}}


def main():
    """The Lambda Runtime API loop: next event, handler, response (or error)."""
    host, port = os.environ["AWS_LAMBDA_RUNTIME_API"].split(":")
    conn = http.client.HTTPConnection(host, int(port))
    base = "/2018-06-01/runtime/invocation"
    while True:
        conn.request("GET", f"{base}/next")
        resp = conn.getresponse()
        event, rid = json.loads(resp.read()), resp.getheader("Lambda-Runtime-Aws-Request-Id")
        try:
            body, path = json.dumps(handler(event, None)), f"{base}/{rid}/response"
        except Exception as e:  # noqa: BLE001 - reported to the runtime, as Lambda's runtime does
            body, path = json.dumps({"errorType": type(e).__name__, "errorMessage": str(e)}), f"{base}/{rid}/error"
        conn.request("POST", path, body=body.encode(), headers={"Content-Type": "application/json"})
        conn.getresponse().read()


if __name__ == "__main__":
    main()

"""What a real AWS account does that the first round's emulator did not (issue 13), end to end
through the real state machines, the real workers and the emulator as AWS documents it: the
lag signal each engine really publishes, the next free `-oldN`, deprecated minors, Aurora's
refusal of an instance class at create, AWS's identifier and subject limits, Step Functions'
own limits, a refused switchover call, a function that times out, events from elsewhere."""

import json

import pytest

from harness import (ROOT, seed_aurora_mysql_cluster, seed_aurora_postgres_cluster, seed_mysql_instance,
                     seed_postgres_instance)
from invariants import assert_invariants, capture_blue

EVENTS = ROOT / "tests" / "fixtures" / "events"


def instance(stack, name):
    found = stack.client("rds").describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [name]}])
    return found["DBInstances"][0] if found["DBInstances"] else None


def cluster(stack, name):
    found = stack.client("rds").describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": [name]}])
    return found["DBClusters"][0] if found["DBClusters"] else None


def deployments(stack):
    return stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"]


def enable_logical_replication(rds, group):
    """What an operator does before the next major upgrade: green's group (now production's)
    needs logical replication on too."""
    rds.modify_db_parameter_group(DBParameterGroupName=group, Parameters=[
        {"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"},
        {"ParameterName": "max_replication_slots", "ParameterValue": "20", "ApplyMethod": "pending-reboot"},
        {"ParameterName": "max_wal_senders", "ParameterValue": "20", "ApplyMethod": "pending-reboot"}])


def milestones(stack):
    return [n["milestone"] for n in stack.notifications()]


# ---------------------------------------------------------------- 1. the lag signal per engine

@pytest.mark.parametrize("engine", ["aurora-postgresql", "aurora-mysql", "postgres"])
def test_a_healthy_upgrade_switches_over_on_the_signal_its_engine_publishes_without_a_hold(stack, engine):
    rds = stack.client("rds")
    # PostgreSQL's signal is OldestReplicationSlotLag, with OldestLogicalReplicationSlotLag (the
    # deployment's own slots) preferred whenever it has a datapoint (issue 22): RDS PostgreSQL
    # publishes it here; the emulator's Aurora PostgreSQL (knob aurora_postgresql_slot_lag_metric,
    # default) only OldestReplicationSlotLag, the fallback.
    if engine == "aurora-postgresql":
        request, signal = seed_aurora_postgres_cluster(rds), "OldestReplicationSlotLag"
        decided = signal
    elif engine == "aurora-mysql":
        request, signal = seed_aurora_mysql_cluster(rds), "AuroraBinlogReplicaLag"
        decided = signal
    else:
        request, signal = seed_postgres_instance(rds), "OldestReplicationSlotLag"
        decided = "OldestLogicalReplicationSlotLag"
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    g = run["guardrails"]
    # CloudWatch may not have the first datapoint yet when green is first ready: a short wait
    # for it, never a hold.
    assert g["verdict"] == "go" and g["holds"] == 0 and g["absent_checks"] < 4, g
    assert g["decided_by"] == decided, g
    assert g["signal"]["metric"] == signal
    # Aurora instances and a logically replicated PostgreSQL green publish no ReplicaLag: it
    # must never have been waited for.
    assert all(r["metric"] != "ReplicaLag" for r in g["readings"]), g["readings"]
    assert milestones(stack) == ["started", "green_ready", "switched_over", "succeeded"]


def test_slot_lag_over_its_bound_holds_then_fails_keeping_green(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    blue = capture_blue(stack, "orders-pg")
    stack.faults(replication_slot_lag_bytes=512 * 1024 * 1024)
    req = {**request, "action": "upgrade", "max_replication_slot_lag_bytes": 1048576}
    rc, out, err = stack.execute(req)
    assert rc == 1 and out["Error"] == "GuardrailViolated", err[-3000:]
    assert "OldestLogicalReplicationSlotLag is 512.0 MiB (max 1.0 MiB)" in out["Cause"], out["Cause"]
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"], "green is kept"
    assert_invariants(stack, blue, req, run_failed=True, error="GuardrailViolated")


def test_mysql_replica_lag_of_minus_one_is_replication_not_active_never_no_lag(stack):
    rds = stack.client("rds")
    request = seed_mysql_instance(rds)
    stack.faults(replica_lag_seconds=-1)
    rc, out, err = stack.execute({**request, "action": "upgrade"})
    assert rc == 1 and out["Error"] == "GuardrailViolated", err[-3000:]
    assert "ReplicaLag is -1: replication to green is not active" in out["Cause"], out["Cause"]
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"]


def test_a_signal_that_never_arrives_is_waited_for_briefly_then_rds_guardrails_decide(stack):
    rds = stack.client("rds")
    request = seed_mysql_instance(rds)
    stack.faults(lag_metrics_missing=True)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    g = run["guardrails"]
    assert g["decided_by"] == "rds-switchover-guardrails" and g["holds"] == 0, g
    assert "relying on RDS's own switchover guardrails" in g["reason"]


# ---------------------------------------------------------------- 2. the old blue's name

@pytest.mark.parametrize("arns", ["renamed", "original"])
def test_a_database_upgraded_twice_keeps_both_old_blues_and_cleans_up_the_right_one(stack, arns):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds, version="12.19", target_family="postgres13")
    # AWS does not document which ARNs the deployment reports after its switchover.
    stack.faults(arns_after_switchover=arns)
    rc, first, err = stack.execute({**request, "target_engine_version": "13.15", "action": "upgrade",
                                    "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert first["old_blue"]["identifier"] == "orders-pg-old1"
    enable_logical_replication(rds, "orders-pg-pg13")
    rds.create_db_parameter_group(DBParameterGroupName="orders-pg-pg16", DBParameterGroupFamily="postgres16",
                                  Description="16")
    rc, second, err = stack.execute({"db_identifier": "orders-pg", "target_engine_version": "16.4",
                                     "target_db_parameter_group_name": "orders-pg-pg16", "action": "upgrade",
                                     "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert instance(stack, "orders-pg-old1")["EngineVersion"] == "12.19", "the first fallback is untouched"
    assert instance(stack, "orders-pg-old2")["EngineVersion"] == "13.15", "this upgrade's fallback"
    assert second["verify"]["old_blue_identifier"] == "orders-pg-old2"
    snap = rds.describe_db_snapshots(DBSnapshotIdentifier="rbg-orders-pg-to-16-4-final")["DBSnapshots"][0]
    assert snap["DBInstanceIdentifier"] == "orders-pg-old2", "the final snapshot is of this upgrade's old blue"
    tags = {t["Key"]: t["Value"] for t in instance(stack, "orders-pg-old2")["TagList"]}
    assert tags.get("bluegreen:old-blue-of") == "orders-pg"


def test_delete_old_blue_after_a_second_upgrade_deletes_old2_only(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds, version="12.19", target_family="postgres13", DeletionProtection=False)
    rc, _, err = stack.execute({**request, "target_engine_version": "13.15", "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    enable_logical_replication(rds, "orders-pg-pg13")
    rds.create_db_parameter_group(DBParameterGroupName="orders-pg-pg16", DBParameterGroupFamily="postgres16",
                                  Description="16")
    rc, run, err = stack.execute({"db_identifier": "orders-pg", "target_engine_version": "16.4",
                                  "target_db_parameter_group_name": "orders-pg-pg16", "action": "upgrade",
                                  "soak_hours": 0, "delete_old_blue": True})
    assert rc == 0, err[-3000:]
    assert instance(stack, "orders-pg-old2") is None
    assert instance(stack, "orders-pg-old1") is not None, "never the earlier fallback"


# ---------------------------------------------------------------- 3. a deprecated minor

def test_a_source_on_a_deprecated_minor_upgrades_like_any_other(stack):
    rds = stack.client("rds")
    versions = rds.describe_db_engine_versions(Engine="mysql", EngineVersion="8.0.28")["DBEngineVersions"]
    assert versions == [], "AWS lists a deprecated minor only with IncludeAll"
    request = seed_mysql_instance(rds, name="legacy-mysql", version="8.0.28")
    rds.create_db_parameter_group(DBParameterGroupName="legacy-mysql-84", DBParameterGroupFamily="mysql8.4",
                                  Description="8.4")
    target = next(t["EngineVersion"] for t in rds.describe_db_engine_versions(
        Engine="mysql", EngineVersion="8.0.28", IncludeAll=True)["DBEngineVersions"][0]["ValidUpgradeTarget"]
                  if t["IsMajorVersionUpgrade"])
    rc, run, err = stack.execute({**request, "target_engine_version": target,
                                  "target_db_parameter_group_name": "legacy-mysql-84", "action": "upgrade",
                                  "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert instance(stack, "legacy-mysql")["EngineVersion"] == target
    check = next(c for c in run["report"]["checks"] if c["id"] == "upgrade-target")
    assert "deprecated" in check["observed"], check


# ---------------------------------------------------------------- 4. Aurora and an instance class

def test_an_aurora_instance_class_is_applied_to_green_before_the_switchover(stack):
    rds = stack.client("rds")
    request = seed_aurora_postgres_cluster(rds)
    stack.faults(modify_polls=2)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0,
                                  "target_db_instance_class": "db.r6g.2xlarge"})
    assert rc == 0, err[-3000:]
    assert run["plan"].get("target_db_instance_class") is None, "never sent with CreateBlueGreenDeployment"
    prod = cluster(stack, "ledger-aurora")
    for m in prod["DBClusterMembers"]:
        assert instance(stack, m["DBInstanceIdentifier"])["DBInstanceClass"] == "db.r6g.2xlarge", m
    old = cluster(stack, "ledger-aurora-old1")
    for m in old["DBClusterMembers"]:
        assert instance(stack, m["DBInstanceIdentifier"])["DBInstanceClass"] == "db.r6g.large", "blue untouched"


# ---------------------------------------------------------------- 5. AWS's length limits

def test_a_forty_character_aurora_mysql_cluster_upgrades_through_cleanup_with_every_notification(stack):
    rds = stack.client("rds")
    name = "payments-ledger-aurora-mysql-prod-east-1"
    assert len(name) == 40
    request = seed_aurora_mysql_cluster(rds, name=name)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    snapshot = run["cleanup"]["snapshot_identifier"]
    assert len(snapshot) <= 63 and "--" not in snapshot and not snapshot.endswith("-"), snapshot
    snaps = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot)["DBClusterSnapshots"]
    assert snaps[0]["DBClusterIdentifier"] == f"{name}-old1"
    assert all(p["notification_published"] for p in run["published"]), run["published"]
    assert milestones(stack) == ["started", "green_ready", "switched_over", "succeeded"]


# ---------------------------------------------------------------- 7. a refused switchover call, a timed-out function

def test_rds_refusing_the_switchover_call_keeps_a_healthy_green(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    blue = capture_blue(stack, "orders-pg")
    stack.faults(fail_with={"Action": "SwitchoverBlueGreenDeployment", "code": "InvalidBlueGreenDeploymentStateFault",
                            "count": 100})
    req = {**request, "action": "upgrade"}
    rc, out, err = stack.execute(req, timeout=900)
    assert rc == 1 and out["Error"] == "DeploymentStateTransient", err[-3000:]
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"], "green is kept: its build did not fail"
    assert_invariants(stack, blue, req, run_failed=True, error="DeploymentStateTransient")


def test_a_function_that_times_out_is_retried_and_the_upgrade_goes_on(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    # The wait function hangs past its timeout once: Lambda ends it, Step Functions retries.
    stack.lambdas_control({"hang_once": "wait"})
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert "retry" in err and ("Sandbox.Timedout" in err or "Lambda.Unknown" in err), err[-3000:]
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"


# ---------------------------------------------------------------- 8. the schedule as deployed

def test_the_templates_default_schedule_input_is_a_valid_request(stack):
    import re
    template = (ROOT / "infra" / "template.yaml").read_text()
    m = re.search(r"ScheduleInput:\n(?:\s+.*\n)*?\s+Default: '(\{.*\})'", template)
    assert m, "ScheduleInput has a default"
    default = json.loads(m.group(1))
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    rds.add_tags_to_resource(ResourceName="arn:aws:rds:us-east-1:123456789012:db:orders-pg",
                             Tags=[{"Key": "bluegreen:target-engine-version", "Value": "16.4"},
                                   {"Key": "bluegreen:target-db-parameter-group-name",
                                    "Value": request["target_db_parameter_group_name"]}])
    rc, run, err = stack.execute(default, machine="fleet")
    assert rc == 0, err[-3000:]
    assert [(r["db_identifier"], r["outcome"]) for r in run["rows"]] == [("orders-pg", "planned")]
    assert deployments(stack) == [], "no bluegreen:action tag: it only plans"


# ---------------------------------------------------------------- 9. prechecks AWS would fail later

def test_an_event_scheduler_on_in_the_target_group_fails_prepare_with_nothing_created(stack):
    rds = stack.client("rds")
    request = seed_mysql_instance(rds)
    rds.modify_db_parameter_group(DBParameterGroupName=request["target_db_parameter_group_name"], Parameters=[
        {"ParameterName": "event_scheduler", "ParameterValue": "ON", "ApplyMethod": "immediate"}])
    rc, out, err = stack.execute({**request, "action": "prepare"})
    assert rc == 1 and out["Error"] == "PrecheckFailed", err[-3000:]
    assert "[event-scheduler-off-on-green]" in out["Cause"]
    assert deployments(stack) == []


# ---------------------------------------------------------------- 10. events from elsewhere

def test_an_alarm_from_another_account_is_refused_naming_both_with_nothing_changed(stack):
    rds = stack.client("rds")
    seed_postgres_instance(rds)
    event = json.loads((EVENTS / "alarm-state-change.json").read_text())
    event["account"] = "210987654321"
    rc, out, err = stack.execute(event)
    assert rc == 1 and out["Error"] == "InvalidRequest", err[-3000:]
    assert "210987654321" in out["Cause"] and "123456789012" in out["Cause"]
    assert deployments(stack) == []
    assert instance(stack, "orders-pg")["EngineVersion"] == "13.15"

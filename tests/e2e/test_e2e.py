"""End to end through the real ASL (on the emulator's Step Functions), the real worker binaries (local
Lambda service) and the extended moto emulator. Each test asserts on the emulator's state."""

import json
import re
from pathlib import Path

import pytest

from harness import ROOT, seed_aurora_postgres_cluster, seed_mysql_instance, seed_postgres_instance
from invariants import assert_invariants, capture_blue

EVENTS = ROOT / "tests" / "fixtures" / "events"


def deployments(stack):
    return stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"]


def instance(stack, name):
    found = stack.client("rds").describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [name]}])
    return found["DBInstances"][0] if found["DBInstances"] else None


def remediations(stack):
    """{(DBIdentifier, Trigger, Outcome): count} from the RdsBlueGreen namespace."""
    cw = stack.client("cloudwatch")
    out = {}
    for m in cw.list_metrics(Namespace="RdsBlueGreen", MetricName="Remediations")["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
        out[(dims["DBIdentifier"], dims["Trigger"], dims["Outcome"])] = True
    return out


def assert_blue_untouched(stack, name="orders-pg", version="13.15"):
    db = instance(stack, name)
    assert db["EngineVersion"] == version and db["DBInstanceStatus"] == "available"
    assert db["DeletionProtection"] is True
    assert instance(stack, f"{name}-old1") is None


def test_upgrade_rds_postgres_instance(stack):
    request = seed_postgres_instance(stack.client("rds"))
    endpoint = instance(stack, "orders-pg")["Endpoint"]["Address"]
    stack.faults(provisioning_polls=2, tasks_in_progress_polls=1)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err
    prod, old = instance(stack, "orders-pg"), instance(stack, "orders-pg-old1")
    assert prod["EngineVersion"] == "16.4" and prod["Endpoint"]["Address"] == endpoint
    assert prod["DBParameterGroups"][0]["DBParameterGroupName"] == "orders-pg-pg16"
    assert old["EngineVersion"] == "13.15", "the old blue is kept as the fallback"
    snap = stack.client("rds").describe_db_snapshots(DBSnapshotIdentifier="rbg-orders-pg-to-16-4-final")["DBSnapshots"]
    assert snap[0]["DBInstanceIdentifier"] == "orders-pg-old1"
    assert deployments(stack) == [], "the deployment record is deleted after the soak"
    assert remediations(stack) == {("orders-pg", "console", "succeeded"): True}
    assert [n["milestone"] for n in stack.notifications()] == ["started", "green_ready", "switched_over", "succeeded"]
    assert run["verify"]["endpoint_kept"] is True
    assert set(run["timeline"]) >= {"started", "green_requested", "green_ready", "switchover_requested",
                                    "switchover_completed", "verified", "cleaned_up"}


def test_upgrade_rds_mysql_57_to_80(stack):
    request = seed_mysql_instance(stack.client("rds"))
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0, "delete_old_blue": True})
    assert rc == 0, err
    assert instance(stack, "billing-mysql")["EngineVersion"] == "8.0.39"
    assert instance(stack, "billing-mysql-old1") is None, "delete_old_blue deletes it after the snapshot"
    snaps = stack.client("rds").describe_db_snapshots(DBSnapshotIdentifier="rbg-billing-mysql-to-8-0-39-final")
    assert snaps["DBSnapshots"][0]["Status"] == "available"
    assert run["cleanup"]["old_blue_deleted"] is True


def test_upgrade_aurora_postgres_cluster(stack):
    rds = stack.client("rds")
    request = seed_aurora_postgres_cluster(rds)
    endpoint = rds.describe_db_clusters(DBClusterIdentifier="ledger-aurora")["DBClusters"][0]["Endpoint"]
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err
    prod = rds.describe_db_clusters(DBClusterIdentifier="ledger-aurora")["DBClusters"][0]
    old = rds.describe_db_clusters(DBClusterIdentifier="ledger-aurora-old1")["DBClusters"][0]
    assert prod["EngineVersion"] == "16.4" and prod["Endpoint"] == endpoint
    assert prod["DBClusterParameterGroup"] == "ledger-aurora-16"
    assert old["EngineVersion"] == "13.12"
    snap = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="rbg-ledger-aurora-to-16-4-final")
    assert snap["DBClusterSnapshots"][0]["DBClusterIdentifier"] == "ledger-aurora-old1"


def test_plan_changes_nothing(stack):
    request = seed_postgres_instance(stack.client("rds"))
    stack.control("reset", {"counters_only": True})
    rc, run, err = stack.execute(request)
    assert rc == 0, err
    calls = stack.state()["calls"]["rds"]
    assert calls and not [a for a in calls if not a.startswith(("Describe", "List"))], calls
    assert run["route"] == "plan" and run["report"]["verdict"] in ("pass", "warn")
    assert run["plan"]["deployment_name"] == "rbg-orders-pg-to-16-4"
    assert deployments(stack) == []
    assert stack.client("rds").describe_db_snapshots(SnapshotType="manual")["DBSnapshots"] == []
    assert remediations(stack) == {} and stack.notifications() == []
    assert_blue_untouched(stack)


def test_prepare_then_switchover_in_two_executions(stack):
    request = seed_postgres_instance(stack.client("rds"))
    rc, prepared, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"]
    assert_blue_untouched(stack)
    assert remediations(stack) == {("orders-pg", "console", "prepared"): True}
    rc, switched, err = stack.execute({**request, "action": "switchover", "soak_hours": 0})
    assert rc == 0, err
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert switched["deployment"]["id"] == prepared["deployment"]["id"]


def test_abort_deletes_green_and_leaves_blue_untouched(stack):
    request = seed_postgres_instance(stack.client("rds"))
    rc, prepared, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err
    green = prepared["deployment"]["target_arn"].rsplit(":", 1)[-1]
    assert instance(stack, green) is not None
    rc, aborted, err = stack.execute({**request, "action": "abort"})
    assert rc == 0, err
    assert deployments(stack) == [] and instance(stack, green) is None
    assert_blue_untouched(stack)
    assert ("orders-pg", "console", "aborted") in remediations(stack)


def test_a_slow_green_is_waited_for(stack):
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(provisioning_polls=5, tasks_in_progress_polls=2, storage_optimization_polls=1)
    rc, run, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err
    assert run["wait"]["polls"] >= 8, run["wait"]
    assert len(re.findall(r"Wait(\[\d+\])? \(Task\)", err)) >= 8
    assert_invariants(stack, blue, {**request, "action": "prepare"}, run_failed=False)


def test_invalid_configuration_fails_rolls_green_back_and_is_counted(stack):
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(invalid_configuration=True, provisioning_polls=1)
    rc, out, err = stack.execute({**request, "action": "upgrade"})
    assert rc == 1
    assert out["Error"] == "GreenFailed" and "incompatible parameter" in out["Cause"]
    assert deployments(stack) == [], "a failed upgrade leaves no green behind"
    assert_blue_untouched(stack)
    assert remediations(stack) == {("orders-pg", "console", "failed"): True}
    notes = stack.notifications()
    assert notes[-1]["milestone"] == "failed" and notes[-1]["error"]["name"] == "GreenFailed"
    assert_invariants(stack, blue, {**request, "action": "upgrade"}, run_failed=True, error="GreenFailed", notes=notes)


def test_switchover_failed_ends_in_the_failure_path_with_blue_still_production(stack):
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(switchover_failed=True)
    rc, out, err = stack.execute({**request, "action": "upgrade"})
    assert rc == 1 and out["Error"] == "SwitchoverFailed", err
    assert_blue_untouched(stack)
    assert remediations(stack) == {("orders-pg", "console", "failed"): True}
    notes = assert_invariants(stack, blue, {**request, "action": "upgrade"}, run_failed=True, error="SwitchoverFailed")
    assert notes[-1]["milestone"] == "failed"


def test_switchover_failed_only_in_details_is_a_failure(stack):
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(switchover_failed_in_details=True)
    rc, out, err = stack.execute({**request, "action": "upgrade"})
    assert rc == 1 and out["Error"] == "SwitchoverFailed", err
    assert_blue_untouched(stack)
    assert_invariants(stack, blue, {**request, "action": "upgrade"}, run_failed=True, error="SwitchoverFailed")


def test_an_alarm_starts_a_tag_configured_upgrade(stack):
    rds = stack.client("rds")
    seed_postgres_instance(rds)
    arn = instance(stack, "orders-pg")["DBInstanceArn"]
    rds.add_tags_to_resource(ResourceName=arn, Tags=[
        {"Key": "bluegreen:target-engine-version", "Value": "16.4"},
        {"Key": "bluegreen:target-db-parameter-group-name", "Value": "orders-pg-pg16"},
        {"Key": "bluegreen:action", "Value": "upgrade"},
        {"Key": "bluegreen:soak-hours", "Value": "0"}])
    # CloudWatch puts the state change on EventBridge; the template's AlarmTriggerRule starts the run.
    rc, run, err = stack.through_rule("AlarmTriggerRule", lambda: stack.alarm(
        "rds-bluegreen-orders-pg-past-standard-support", {"DBInstanceIdentifier": "orders-pg"}))
    assert rc == 0, err
    assert run["request"]["trigger"] == "alarm"
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert remediations(stack) == {("orders-pg", "alarm", "succeeded"): True}


def test_an_alarm_back_to_ok_does_nothing(stack):
    seed_postgres_instance(stack.client("rds"))
    event = json.loads((EVENTS / "alarm-state-change.json").read_text())
    event["detail"]["state"]["value"] = "OK"
    stack.control("reset", {"counters_only": True})
    rc, run, err = stack.execute(event)
    assert rc == 0, err
    assert stack.state()["calls"].get("rds", {}) == {}, "an OK transition makes no RDS call"
    assert run["route"] == "noop"
    assert deployments(stack) == [] and remediations(stack) == {} and stack.notifications() == []


def test_a_second_execution_adopts_the_deployment(stack):
    request = seed_postgres_instance(stack.client("rds"))
    rc, first, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err
    rc, second, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err
    assert len(deployments(stack)) == 1
    assert second["deployment"]["id"] == first["deployment"]["id"]
    assert first["deployment"]["created_by_this_run"] is True
    assert second["deployment"]["created_by_this_run"] is False
    assert stack.state()["calls"]["rds"]["CreateBlueGreenDeployment"] == 1


def test_invalid_input_ends_with_a_named_error_and_no_change(stack):
    seed_postgres_instance(stack.client("rds"))
    rc, out, err = stack.execute({"db_identifier": "orders-pg", "target_engine_version": "16.4", "soak_hour": 1})
    assert rc == 1 and out["Error"] == "InvalidRequest"
    assert "soak_hour" in out["Cause"]
    assert deployments(stack) == []
    assert_blue_untouched(stack)


def test_a_flapping_alarm_does_not_start_a_second_upgrade(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    rc, prepared, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err
    stack.notifications()
    rds.add_tags_to_resource(ResourceName=instance(stack, "orders-pg")["DBInstanceArn"], Tags=[
        {"Key": "bluegreen:target-engine-version", "Value": "16.4"},
        {"Key": "bluegreen:target-db-parameter-group-name", "Value": "orders-pg-pg16"},
        {"Key": "bluegreen:action", "Value": "upgrade"}])
    stack.control("reset", {"counters_only": True})
    rc, run, err = stack.through_rule("AlarmTriggerRule", lambda: stack.alarm(
        "rds-bluegreen-orders-pg-flapping", {"DBInstanceIdentifier": "orders-pg"}))
    assert rc == 0, err
    assert run["route"] == "already_in_progress"
    calls = stack.state()["calls"]["rds"]
    assert not [a for a in calls if not a.startswith(("Describe", "List"))], calls
    assert [d["BlueGreenDeploymentIdentifier"] for d in deployments(stack)] == [prepared["deployment"]["id"]]
    assert_blue_untouched(stack)
    assert [n["milestone"] for n in stack.notifications()] == ["already_in_progress"]


@pytest.mark.slow(70)
def test_throttling_everywhere_is_absorbed(stack):
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(throttle=[{"Action": "DescribeBlueGreenDeployments", "count": 6},
                           {"Action": "CreateBlueGreenDeployment", "count": 2},
                           {"Action": "DescribeDBInstances", "count": 3},
                           {"Action": "GetMetricStatistics", "count": 2}])
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err
    assert sum(stack.state()["throttled"].values()) == 13
    assert len(stack.client("rds").describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]) == 1
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert_invariants(stack, blue, {**request, "action": "upgrade", "soak_hours": 0}, run_failed=False)


def test_a_lost_switchover_answer_does_not_start_a_second_switchover(stack):
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(lose_answer={"Action": "SwitchoverBlueGreenDeployment", "count": 1})
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert instance(stack, "orders-pg-old1")["EngineVersion"] == "13.15"
    # the emulator would refuse a second switchover anyway: what proves it is that none was sent
    assert stack.state()["calls"]["rds"]["SwitchoverBlueGreenDeployment"] == 1, "exactly one switchover requested"
    assert_invariants(stack, blue, {**request, "action": "upgrade", "soak_hours": 0}, run_failed=False)


def test_a_lost_create_answer_adopts_the_deployment(stack):
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(lose_answer={"Action": "CreateBlueGreenDeployment", "count": 1})
    rc, run, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err
    assert len(deployments(stack)) == 1
    assert_invariants(stack, blue, {**request, "action": "prepare"}, run_failed=False)


def test_replica_lag_holds_the_switchover_then_fails_keeping_green(stack):
    # A PostgreSQL major upgrade replicates logically: its signal is blue's slot lag, in bytes.
    request = seed_postgres_instance(stack.client("rds"))
    blue = capture_blue(stack, "orders-pg")
    stack.faults(replication_slot_lag_bytes=420 * 1024 * 1024)
    rc, out, err = stack.execute({**request, "action": "upgrade"})
    assert rc == 1 and out["Error"] == "GuardrailViolated", err
    # The deployment's own (logical) slot: OldestLogicalReplicationSlotLag, preferred (issue 22).
    assert "OldestLogicalReplicationSlotLag is 420.0 MiB" in out["Cause"]
    assert not re.search(r"Switchover(\[\d+\])? \(Task\)", err), "never switch over blind"
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"], "green is kept for a later switchover"
    assert_blue_untouched(stack)
    assert remediations(stack) == {("orders-pg", "console", "failed"): True}
    assert_invariants(stack, blue, {**request, "action": "upgrade"}, run_failed=True, error="GuardrailViolated")


def test_two_executions_started_at_once_make_one_deployment(stack):
    from concurrent.futures import ThreadPoolExecutor

    request = {**seed_postgres_instance(stack.client("rds")), "action": "prepare"}
    blue = capture_blue(stack, "orders-pg")
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: stack.execute(request), range(2)))
    assert [rc for rc, _, _ in results] == [0, 0], [err for _, _, err in results]
    routes = sorted(run["route"] for _, run, _ in results)
    assert len(deployments(stack)) == 1
    # Both prechecks may see no deployment yet: the loser of the create race stands down.
    # If one precheck ran after the other's create, it adopts as a restart would (documented).
    assert routes in (["already_in_progress", "prepare"], ["prepare", "prepare"]), routes
    creators = [run for _, run, _ in results if (run.get("deployment") or {}).get("created_by_this_run")]
    assert len(creators) == 1, "exactly one execution created the deployment"
    assert stack.state()["calls"]["rds"]["CreateBlueGreenDeployment"] <= 2
    assert_blue_untouched(stack)
    assert_invariants(stack, blue, request, run_failed=False)


@pytest.mark.slow(25)
def test_a_switchover_window_that_closes_before_green_is_ready_leaves_green_prepared(stack):
    """The run starts inside the window; green is ready only after it closed: no switchover,
    green kept, blue untouched, and the run says so."""
    from datetime import datetime, timedelta, timezone

    request = seed_postgres_instance(stack.client("rds"))
    now = datetime.now(timezone.utc)
    end = (now + timedelta(minutes=1)).replace(second=0, microsecond=0)
    if (end - now).total_seconds() < 20:
        end += timedelta(minutes=1)
    start = now - timedelta(minutes=30)
    window = f"{start:%a %H:%M}-{end:%H:%M} UTC"
    stack.faults(provisioning_until=int(end.timestamp()) + 2)
    rc, run, err = stack.execute({**request, "action": "upgrade", "switchover_window": window})
    assert rc == 0, err[-3000:]
    assert run["guardrails"]["verdict"] == "skip" and "closed" in run["note"], run["guardrails"]
    assert "switchover" not in run
    assert_blue_untouched(stack)
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"], "green is kept, prepared"
    assert [n["milestone"] for n in stack.notifications()] == ["started", "green_ready", "switchover_skipped"]
    assert remediations(stack) == {("orders-pg", "console", "prepared"): True}

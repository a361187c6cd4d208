"""Fleets end to end: one execution of the fleet state machine upgrades many emulated
databases, selected by tags, each in its own execution of the upgrade state machine, a sliding
window of max_concurrency; a failure stays one row of the table."""

import json
import threading
import time
from pathlib import Path

import pytest

from harness import ROOT, seed_fleet, seed_postgres_instance, tag_for_fleet
from invariants import assert_invariants, capture_blue

EVENTS = ROOT / "tests" / "fixtures" / "events"


def version_of(rds, name, engine):
    if engine.startswith("aurora"):
        found = rds.describe_db_clusters(Filters=[{"Name": "db-cluster-id", "Values": [name]}])["DBClusters"]
    else:
        found = rds.describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [name]}])["DBInstances"]
    return found[0]["EngineVersion"] if found else None


def remediations(stack):
    cw = stack.client("cloudwatch")
    out = {}
    for m in cw.list_metrics(Namespace="RdsBlueGreen", MetricName="Remediations")["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
        out.setdefault(dims["Outcome"], set()).add((dims["DBIdentifier"], dims["Trigger"]))
    return out


def run_fleet(stack, request, **kw):
    return stack.execute(request, machine="fleet", **kw)


def fleet_table(stack, rc, run, err):
    """The per-database table: the output of a complete run; for an incomplete one (Error
    FleetIncomplete, its Cause the summary and the failed rows), the fleet's last state."""
    if rc == 0:
        return run["summary"], run["rows"]
    assert rc == 1 and run["Error"] == "FleetIncomplete", err[-3000:]
    cause = json.loads(run["Cause"])
    last = stack.last_state_output(stack.last_execution_arn, "rows")
    assert last["summary"] == cause["summary"]
    return cause["summary"], last["rows"]


@pytest.mark.slow(130)
def test_a_fleet_of_twenty_one_mixed_databases_upgrades_with_one_failure_kept_to_itself(stack):
    rds = stack.client("rds")
    seeded = seed_fleet(rds, postgres=10, mysql=6, aurora=5)
    # Not in the wave: must not be touched.
    outsider = seed_postgres_instance(rds, name="outsider-pg")
    tag_for_fleet(rds, outsider, wave="2")
    broken, healthy = "fleet-pg-03", "fleet-my-01"
    blues = {db: capture_blue(stack, db) for db in (broken, healthy, "fleet-au-02")}
    stack.faults(BlueGreenDeploymentName=f"rbg-{broken}-to-16-4", invalid_configuration=True)
    stack.faults(provisioning_polls=1, tasks_in_progress_polls=1)
    stack.control("reset", {"counters_only": True})
    # Many workers at once meet RDS throttling: absorbed by the SDK's adaptive retry and the
    # state machine's jittered Retry, never a failed database.
    stack.faults(throttle=[{"Action": "DescribeBlueGreenDeployments", "count": 8},
                           {"Action": "DescribeDBInstances", "count": 8},
                           {"Action": "CreateBlueGreenDeployment", "count": 3}])

    rc, run, err = run_fleet(stack, {"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "upgrade",
                                     "soak_hours": 0, "max_concurrency": 8, "tolerated_failures": 2}, timeout=1200)
    summary, rows = fleet_table(stack, rc, run, err)

    assert summary["databases"] == 21 and summary["by_outcome"] == {"succeeded": 20, "failed": 1}, rows
    by_db = {r["db_identifier"]: r for r in rows}
    assert set(by_db) == set(seeded)
    assert by_db[broken]["error"] == "GreenFailed" and "INVALID_CONFIGURATION" in by_db[broken]["detail"]
    for name, engine in seeded.items():
        target = "8.0.39" if engine == "mysql" else "16.4"
        expected = version_of(rds, name, engine) if name == broken else target
        assert version_of(rds, name, engine) == expected, name
        if name != broken:
            assert by_db[name]["version_before"] in ("13.15", "5.7.44", "13.12")
            assert by_db[name]["target_engine_version"] == target
    assert version_of(rds, broken, "postgres") == "13.15", "the failed database's blue is untouched"
    assert version_of(rds, "outsider-pg", "postgres") == "13.15"
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == [], \
        "every deployment record is cleaned up; the failed one's green was rolled back"
    metrics = remediations(stack)
    assert metrics["failed"] == {(broken, "console")}
    assert {db for db, _ in metrics["succeeded"]} == set(seeded) - {broken}
    notes = stack.notifications()
    closing = [n for n in notes if n.get("milestone") == "fleet_completed"]
    assert len(closing) == 1 and closing[0]["outcome"] == "incomplete"
    assert len(closing[0]["results"]) == 21
    # One execution of the upgrade state machine per database (and per cleanup), each with its
    # own history; the fleet's state holds ids and outcomes only.
    children = stack.sfn.list_executions(stateMachineArn=stack.ensure_state_machines()["upgrade"])["executions"]
    assert len([c for c in children if "-u0" in c["name"]]) == 21
    assert all(r.get("execution") for r in rows)
    # The same invariants as for one database, for the failed one and for two that succeeded.
    for db, blue in blues.items():
        target = "8.0.39" if "-my-" in db else "16.4"
        mine = [n for n in notes if n.get("db_identifier") == db]
        assert_invariants(stack, blue, {"action": "upgrade", "target_engine_version": target, "soak_hours": 0},
                          run_failed=db == broken, error="GreenFailed" if db == broken else None, notes=mine)
    # The RDS calls per database do not depend on the fleet's size: Resolve pages through the
    # account once; everything else is per database.
    state = stack.state()
    assert state["throttled"] == {"DescribeBlueGreenDeployments": 8, "DescribeDBInstances": 8,
                                  "CreateBlueGreenDeployment": 3}, state["throttled"]
    calls = state["calls"]["rds"]
    assert calls.get("DescribeDBInstances", 0) / 21 < 40, calls


def test_a_failure_beyond_the_threshold_stops_new_upgrades(stack):
    rds = stack.client("rds")
    seed_fleet(rds, postgres=4)
    stack.faults(BlueGreenDeploymentName="rbg-fleet-pg-00-to-16-4", invalid_configuration=True)
    # The window is sliding: had fleet-pg-01 finished first, its slot would rightly start fleet-pg-02.
    # Hold its green until fleet-pg-00's child has failed, so what is tested is the stop itself.
    held = "rbg-fleet-pg-01-to-16-4"
    stack.faults(BlueGreenDeploymentName=held, provisioning_until=int(time.time()) + 3600)
    result = {}
    fleet = threading.Thread(target=lambda: result.update(out=run_fleet(
        stack, {"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "prepare", "max_concurrency": 2})))
    fleet.start()
    upgrade = stack.ensure_state_machines()["upgrade"]
    deadline = time.time() + 300
    while not stack.sfn.list_executions(stateMachineArn=upgrade, statusFilter="FAILED")["executions"]:
        assert fleet.is_alive() and time.time() < deadline, "fleet-pg-00's child never failed"
        time.sleep(0.5)
    stack.faults(BlueGreenDeploymentName=held, provisioning_until=0)
    fleet.join(600)
    summary, rows = fleet_table(stack, *result["out"])
    outcomes = {r["db_identifier"]: r["outcome"] for r in rows}
    assert outcomes == {"fleet-pg-00": "failed", "fleet-pg-01": "prepared",
                        "fleet-pg-02": "not_started", "fleet-pg-03": "not_started"}
    assert summary["stopped_early"] is True
    assert [d["BlueGreenDeploymentName"] for d in rds.describe_blue_green_deployments()["BlueGreenDeployments"]] \
        == ["rbg-fleet-pg-01-to-16-4"], "only the prepared one remains; nothing was created for the others"


def test_a_scheduled_event_upgrades_the_databases_that_opted_in(stack):
    # The stack deployed with ScheduledEventExpression: its ScheduledEventRule sends the classic
    # Scheduled Event to the fleet machine, with the rule's role (fired now, not in 7 days).
    stack.deploy(ScheduledEventExpression="rate(7 days)")
    rds = stack.client("rds")
    upgrade = seed_postgres_instance(rds, name="sched-upgrade")
    tag_for_fleet(rds, upgrade, **{"bluegreen:action": "upgrade", "bluegreen:soak-hours": "0"})
    plan_only = seed_postgres_instance(rds, name="sched-plan")
    tag_for_fleet(rds, plan_only)  # opted in with a target but no action: plans only
    seed_postgres_instance(rds, name="not-opted-in")  # bluegreen:managed=true, no target tag
    rc, run, err = stack.fire_rule("ScheduledEventRule", timeout=900)
    assert rc == 0, err[-3000:]
    outcomes = {r["db_identifier"]: r["outcome"] for r in run["rows"]}
    assert outcomes == {"sched-upgrade": "succeeded", "sched-plan": "planned"}
    assert version_of(rds, "sched-upgrade", "postgres") == "16.4"
    assert version_of(rds, "sched-plan", "postgres") == "13.15"
    assert remediations(stack) == {"succeeded": {("sched-upgrade", "schedule")}}
    closing = [n for n in stack.notifications() if n.get("milestone") == "fleet_completed"]
    assert closing[0]["trigger"] == "schedule" and closing[0]["outcome"] == "complete"


def test_the_templates_schedule_runs_its_default_input_the_opt_in_fleet(stack):
    """EventBridge Scheduler (deployed with ScheduleExpression) starts the upgrade machine with
    the schedule's role and the template's default ScheduleInput; the upgrade machine hands the
    fleet request over to the fleet machine."""
    stack.deploy(ScheduleExpression="cron(0 3 ? * SUN *)")
    rds = stack.client("rds")
    tag_for_fleet(rds, seed_postgres_instance(rds, name="weekly-plan"))
    rc, handed, err = stack.fire_schedule()
    assert rc == 0, err[-3000:]
    rc, run = stack.wait_for(handed["fleet_execution"], timeout=600)
    assert rc == 0 and [(r["db_identifier"], r["outcome"]) for r in run["rows"]] == [("weekly-plan", "planned")], run


def test_a_bad_fleet_request_is_refused_before_any_change(stack):
    rds = stack.client("rds")
    seed_fleet(rds, postgres=1, mysql=1)
    rc, run, err = run_fleet(stack, {"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "upgrade",
                                     "target_engine_version": "16.4"})
    assert rc == 1 and run["Error"] == "InvalidRequest", err[-2000:]
    assert "mixes engines (mysql, postgres)" in run["Cause"]
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == []
    failed = [n for n in stack.notifications() if n.get("milestone") == "failed"]
    assert len(failed) == 1


@pytest.mark.slow(25)
def test_a_slow_build_does_not_hold_up_the_others(stack):
    """A sliding window, not batches: while one green builds for long, the other databases of
    the fleet start and finish in the freed slot."""
    rds = stack.client("rds")
    seed_fleet(rds, postgres=4)
    stack.faults(BlueGreenDeploymentName="rbg-fleet-pg-00-to-16-4", provisioning_polls=40)
    rc, run, err = run_fleet(stack, {"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "prepare",
                                     "max_concurrency": 2}, timeout=900)
    assert rc == 0, err[-3000:]
    ended = [r["db_identifier"] for r in run["rows"]]
    assert ended[-1] == "fleet-pg-00", f"the slow one ends last, the others went through its slot: {ended}"
    assert sorted(ended) == ["fleet-pg-00", "fleet-pg-01", "fleet-pg-02", "fleet-pg-03"]
    assert all(r["outcome"] == "prepared" for r in run["rows"])


def test_a_fleet_request_on_the_upgrade_machine_is_handed_to_the_fleet_machine(stack):
    rds = stack.client("rds")
    seed_fleet(rds, postgres=1)
    rc, handed, err = stack.execute({"selector": {"tags": {"bluegreen:wave": "1"}}})
    assert rc == 0, err[-3000:]
    fleet_executions = stack.machines["fleet"].replace(":stateMachine:", ":execution:") + ":"
    assert handed["fleet_execution"].startswith(fleet_executions), handed
    rc, run = stack.wait_for(handed["fleet_execution"])
    assert rc == 0 and [r["outcome"] for r in run["rows"]] == ["planned"], run


@pytest.mark.slow(35)
def test_forty_databases_with_forty_tags_stay_under_every_step_functions_limit(stack):
    """The interpreter enforces 256 KiB per state, 25,000 events and the cause length: a fleet
    of 40 databases, each with 40 tags of AWS's longest, plans without approaching any."""
    rds = stack.client("rds")
    seeded = seed_fleet(rds, postgres=40)
    long_tags = [{"Key": f"team:{i:02d}:" + "k" * 110, "Value": "v" * 256} for i in range(40)]
    for name in seeded:
        rds.add_tags_to_resource(ResourceName=f"arn:aws:rds:us-east-1:123456789012:db:{name}", Tags=long_tags)
    rc, run, err = run_fleet(stack, {"selector": {"tags": {"bluegreen:wave": "1"}}, "max_concurrency": 25},
                             timeout=1200)
    assert rc == 0, err[-3000:]
    assert len(run["rows"]) == 40 and {r["outcome"] for r in run["rows"]} == {"planned"}
    events = stack.history(stack.last_execution_arn)
    largest = max(len((e.get("stateExitedEventDetails") or {}).get("output", "").encode()) for e in events)
    assert largest < 256 * 1024 / 4, f"the fleet's largest state is {largest} bytes"
    assert len(events) < 25_000 / 10


def seed_tagged_postgres(rds, n, wave="1"):
    """n PostgreSQL 13.15 instances on one shared parameter group (one CreateDBInstance each,
    tagged into the wave with its target): a large fleet, seeded in seconds."""
    rds.create_db_parameter_group(DBParameterGroupName="wide-pg13", DBParameterGroupFamily="postgres13",
                                  Description="source")
    rds.modify_db_parameter_group(DBParameterGroupName="wide-pg13", Parameters=[
        {"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}])
    rds.create_db_parameter_group(DBParameterGroupName="wide-pg16", DBParameterGroupFamily="postgres16",
                                  Description="target")
    tags = [{"Key": k, "Value": v} for k, v in (
        ("bluegreen:wave", wave), ("bluegreen:managed", "true"), ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:target-db-parameter-group-name", "wide-pg16"))]
    names = [f"wide-{i:03d}" for i in range(n)]
    for name in names:
        rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion="13.15",
                               DBInstanceClass="db.r6g.large", AllocatedStorage=100, MasterUsername="app",
                               MasterUserPassword="correct-horse-battery", DBParameterGroupName="wide-pg13",
                               BackupRetentionPeriod=7, Tags=tags)
    return names


@pytest.mark.slow(195)
def test_two_hundred_databases_in_one_fleet_execution(stack):
    """200 databases, one fleet execution: one child execution and one row per database, in a
    window of 25, the fleet's own state and history far from Step Functions' quotas."""
    rds = stack.client("rds")
    names = seed_tagged_postgres(rds, 200)
    stack.control("reset", {"counters_only": True})
    rc, run, err = run_fleet(stack, {"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "plan",
                                     "max_concurrency": 25}, timeout=600)
    assert rc == 0, err[-3000:]
    assert sorted(r["db_identifier"] for r in run["rows"]) == names
    assert {r["outcome"] for r in run["rows"]} == {"planned"}
    assert run["summary"]["databases"] == 200 and run["summary"]["by_outcome"] == {"planned": 200}
    children = stack.sfn.list_executions(stateMachineArn=stack.ensure_state_machines()["upgrade"],
                                         maxResults=1000)["executions"]
    assert len(children) == 200 and all(c["status"] == "SUCCEEDED" for c in children)
    assert len({r["execution"] for r in run["rows"]}) == 200, "each row names its own execution"
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == [], "a plan changes nothing"
    events = stack.history(stack.last_execution_arn)
    largest = max(len(v.encode()) for e in events for k, d in e.items() if k.endswith("EventDetails")
                  and isinstance(d, dict) for f, v in d.items() if f in ("input", "output") and isinstance(v, str))
    assert largest < 256 * 1024 / 2, f"the fleet's largest state is {largest} bytes"
    assert len(events) < 25_000 / 10, len(events)
    # The selection pages through the account once (100 per page: a handful of calls); every
    # other RDS call is one database's plan precheck, 12 each (the source, two engine versions,
    # the parameters, our deployment by source and by name, pending maintenance, the proxies,
    # the integrations, the major version's lifecycle, ...; bench/results.md): 200 databases
    # cost 200 prechecks and the pages, nothing that grows with the fleet.
    calls = stack.state()["calls"]["rds"]
    assert sum(calls.values()) <= 200 * 12 + 10, calls

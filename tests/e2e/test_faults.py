"""Stopped half-way, then started again; and AWS answering 500/503. End to end: the real ASL,
the real worker binaries, the extended emulator.

Restart table: an `upgrade` (delete_old_blue, so cleanup deletes something) is abandoned right
after a given Task answered (`stop_after`: StopExecution right after that answer, what a timeout
or a crash leaves too), then the same input is started again. The new execution must adopt what
exists and end `Upgraded`: one deployment, one create, one switchover, the invariants
(invariants.py) holding both at the stop and at the end.
"""

import re

import pytest

from harness import seed_postgres_instance
from invariants import assert_invariants, capture_blue


def instance(stack, name):
    found = stack.client("rds").describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [name]}])
    return found["DBInstances"][0] if found["DBInstances"] else None


def deployments(stack):
    return stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"]


# (step, Task state to stop after, the first execution created the deployment,
#  it requested the switchover, deployment statuses seen at the stop)
RESTARTS = [
    ("after precheck", "Precheck", False, False, []),
    ("after create", "Create", True, False, ["PROVISIONING"]),
    ("during wait", "Wait:2", True, False, ["PROVISIONING"]),
    ("after guardrails", "Guardrails", True, False, ["AVAILABLE"]),
    ("after switchover requested", "Switchover", True, True, ["SWITCHOVER_IN_PROGRESS"]),
    ("after verify", "Verify", True, True, ["SWITCHOVER_COMPLETED"]),
    ("during cleanup", "Cleanup:1", True, True, ["SWITCHOVER_COMPLETED"]),
]


@pytest.mark.parametrize("step,stop_after,created,switched,statuses", RESTARTS, ids=[r[0] for r in RESTARTS])
def test_a_restart_after_each_step_adopts_and_upgrades_once(stack, step, stop_after, created, switched, statuses):
    request = {**seed_postgres_instance(stack.client("rds")), "action": "upgrade", "soak_hours": 0,
               "delete_old_blue": True}
    blue = capture_blue(stack, "orders-pg")
    stack.faults(provisioning_polls=3, tasks_in_progress_polls=1, switchover_in_progress_polls=2)

    rc, _, err = stack.execute(request, stop_after=stop_after)
    assert rc == 3, err
    assert f"stopped after {stop_after.split(':')[0]}" in err
    assert [d["Status"] for d in deployments(stack)] == statuses
    calls = stack.state()["calls"]["rds"]
    assert calls.get("CreateBlueGreenDeployment", 0) == int(created)
    assert calls.get("SwitchoverBlueGreenDeployment", 0) == int(switched)
    assert_invariants(stack, blue, request, run_failed=False)

    stack.control("reset", {"counters_only": True})
    rc, run, err = stack.execute(request)
    assert rc == 0, err
    calls = stack.state()["calls"]["rds"]
    assert calls.get("CreateBlueGreenDeployment", 0) == int(not created), "created exactly once in all"
    assert calls.get("SwitchoverBlueGreenDeployment", 0) == int(not switched), "switched over exactly once in all"
    assert run["deployment"]["created_by_this_run"] is (not created)
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert instance(stack, "orders-pg-old1") is None, "delete_old_blue, after its final snapshot"
    assert deployments(stack) == []
    notes = assert_invariants(stack, blue, request, run_failed=False)
    assert notes[-1]["milestone"] == "succeeded"


def test_503_on_create_is_absorbed_and_creates_once(stack):
    request = {**seed_postgres_instance(stack.client("rds")), "action": "upgrade", "soak_hours": 0}
    blue = capture_blue(stack, "orders-pg")
    stack.faults(server_error={"Action": "CreateBlueGreenDeployment", "count": 2, "status": 503})
    rc, run, err = stack.execute(request)
    assert rc == 0, err
    assert stack.state()["server_errored"] == {"CreateBlueGreenDeployment": 2}
    assert run["deployment"]["created_by_this_run"] is True
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert_invariants(stack, blue, request, run_failed=False)


def test_500s_beyond_the_sdk_retries_reach_the_state_machine_which_retries(stack):
    request = {**seed_postgres_instance(stack.client("rds")), "action": "prepare"}
    blue = capture_blue(stack, "orders-pg")
    # The SDK makes 4 attempts per call: the 5th 500 reaches the state machine as AwsUnavailable.
    stack.faults(server_error={"Action": "DescribeBlueGreenDeployments", "count": 5})
    rc, run, err = stack.execute(request)
    assert rc == 0, err
    # Inside the Map state the runner names states with the item's index: Precheck[0].
    assert re.search(r"Precheck(\[0\])? failed: AwsUnavailable", err), err
    assert re.search(r"Precheck(\[0\])? retry 1/6 after AwsUnavailable", err), err
    assert stack.state()["server_errored"] == {"DescribeBlueGreenDeployments": 5}
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"]
    assert_invariants(stack, blue, request, run_failed=False)


def test_500_on_switchover_and_503_on_delete_switch_and_delete_once(stack):
    request = {**seed_postgres_instance(stack.client("rds")), "action": "upgrade", "soak_hours": 0,
               "delete_old_blue": True}
    blue = capture_blue(stack, "orders-pg")
    stack.faults(server_error=[{"Action": "SwitchoverBlueGreenDeployment", "count": 1},
                               {"Action": "DeleteDBInstance", "count": 1, "status": 503},
                               {"Action": "CreateDBSnapshot", "count": 1}])
    rc, run, err = stack.execute(request)
    assert rc == 0, err
    assert stack.state()["server_errored"] == {"SwitchoverBlueGreenDeployment": 1, "DeleteDBInstance": 1,
                                               "CreateDBSnapshot": 1}
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"
    assert instance(stack, "orders-pg-old1") is None
    assert run["cleanup"]["old_blue_deleted"] is True
    assert_invariants(stack, blue, request, run_failed=False)


def test_the_invariants_catch_what_they_guard(stack):
    """assert_invariants fails on a modified blue, on a duplicate deployment, and on a failed
    run without its failure path (no execution needed to break them by hand)."""
    rds = stack.client("rds")
    request = {**seed_postgres_instance(rds), "action": "upgrade"}
    blue = capture_blue(stack, "orders-pg")
    assert_invariants(stack, blue, request, run_failed=False)
    with pytest.raises(AssertionError, match="failed run sent no notification"):
        assert_invariants(stack, blue, request, run_failed=True, error="GreenFailed", notes=[])
    rds.modify_db_instance(DBInstanceIdentifier="orders-pg", DeletionProtection=False, ApplyImmediately=True)
    with pytest.raises(AssertionError, match="modified before any switchover"):
        assert_invariants(stack, blue, request, run_failed=False, notes=[])
    rds.modify_db_instance(DBInstanceIdentifier="orders-pg", DeletionProtection=True, ApplyImmediately=True)
    for name in ("a", "b"):
        rds.create_blue_green_deployment(BlueGreenDeploymentName=name, Source=blue.arn, TargetEngineVersion="16.4",
                                         TargetDBParameterGroupName="orders-pg-pg16")
    with pytest.raises(AssertionError, match="more than one deployment per Source"):
        assert_invariants(stack, blue, request, run_failed=False, notes=[])

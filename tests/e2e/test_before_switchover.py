"""What happens between a ready green and the switchover request, end to end through the real
state machine, the real workers and the emulator (issue 22): green's read replicas resized to
the requested class (AWS sizes only green's primary), green members still loading their data
(storage initialization) hold the switchover without being taken for a stuck build, a
switchover RDS rolled back can be requested again whether the deployment stays
SWITCHOVER_FAILED or returns to AVAILABLE, a zero-ETL integration created after the plan stops
the run at the guardrails before any switchover request, and PostgreSQL's logical slot lag is
preferred over the metric that also counts blue's read replicas' slots.

Each test says what it saw before its item was implemented."""

import json
import threading
import time

import pytest

from harness import OPT_IN, seed_postgres_instance
from invariants import assert_invariants, capture_blue


def instances(stack):
    return {d["DBInstanceIdentifier"]: d for d in stack.client("rds").describe_db_instances()["DBInstances"]}


def deployments(stack):
    return stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"]


def replica(rds, name, source, **kw):
    """An in-Region read replica of blue, opted in (each replica carries the tag)."""
    return rds.create_db_instance_read_replica(DBInstanceIdentifier=name, SourceDBInstanceIdentifier=source,
                                               DBInstanceClass="db.r6g.large", Tags=OPT_IN, **kw)["DBInstance"]


def state_outputs(stack, name, arn=None):
    """The run document each time the state `name` (a Task) answered, in order (the execution's
    history, GetExecutionHistory with its data)."""
    out = []
    for event in stack.history(arn or stack.last_execution_arn):
        details = event.get("stateExitedEventDetails") or {}
        if details.get("name") != name:
            continue
        doc = json.loads(details.get("output") or "null")
        out.append(doc)
    return out


def failed_states(err):
    """`Name failed: Error` from the progress lines (Map iterations carry their index)."""
    return [line.split("] ", 1)[-1] for line in err.splitlines() if " failed: " in line]


class DeploymentWatch:
    """The emulator's record of the deployment (its control API, which reads nothing through
    RDS), sampled while an execution runs: the cleanup deletes the deployment at the end."""

    def __init__(self, stack):
        self.stack, self.last, self.done = stack, None, threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self.done.is_set():
            found = list(self.stack.state()["deployments"].values())
            if found:
                self.last = found[0]
            time.sleep(0.1)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done.set()
        self.thread.join(timeout=5)


# ------------------------------------------------------------ item 2
def test_green_read_replicas_are_resized_to_the_requested_class_before_the_switchover(stack):
    """AWS sizes only green's primary with TargetDBInstanceClass ("you must manually modify the
    DB instance class of the read replicas in the green environment"). Before: the wait resized
    only Aurora members, the green replica was switched over on blue's db.r6g.large and the
    production replica stayed on it (the run succeeded, verify did not look)."""
    rds = stack.client("rds")
    request = {**seed_postgres_instance(rds), "target_db_instance_class": "db.r6g.xlarge"}
    replica(rds, "orders-pg-r1", "orders-pg")
    blue = capture_blue(stack, "orders-pg")
    stack.faults(modify_polls=2)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    now = instances(stack)
    assert now["orders-pg"]["DBInstanceClass"] == "db.r6g.xlarge"
    assert now["orders-pg-r1"]["DBInstanceClass"] == "db.r6g.xlarge", "the production replica runs the class asked"
    assert now["orders-pg-r1"]["ReadReplicaSourceDBInstanceIdentifier"] == "orders-pg"
    # Blue's replica (now the old one) was never touched.
    assert now["orders-pg-r1-old1"]["DBInstanceClass"] == "db.r6g.large"
    # Resized on green, before the switchover: the wait named it while the class changed.
    waits = state_outputs(stack, "Wait")
    resizing = [t for w in waits for t in (w.get("wait") or {}).get("pending_tasks", []) if t.startswith("resizing")]
    assert any("orders-pg-r1-green-" in t for t in resizing), [w.get("wait") for w in waits]
    assert stack.state()["calls"]["rds"].get("ModifyDBInstance", 0) >= 1
    assert_invariants(stack, blue, request, run_failed=False)


# ------------------------------------------------------------ item 4
def test_green_loading_its_data_holds_the_switchover_without_counting_against_the_build(stack):
    """Green and its read replica report storage-initialization with a rising PercentProgress for
    longer (at the run's own pace between polls) than max_provisioning_minutes allows. Before:
    nothing of the load was recorded (no `wait.loading`, no progress), the wait polled at the
    near-ready pace and counted the load against max_provisioning_minutes (which, at AWS's real
    pace, ends in ProvisioningTimedOut and deletes green)."""
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    replica(rds, "orders-pg-r1", "orders-pg")
    blue = capture_blue(stack, "orders-pg")
    stack.faults(storage_initialization_polls=5)
    with DeploymentWatch(stack) as watch:
        rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0,
                                      "max_provisioning_minutes": 10})
    assert rc == 0, err[-3000:]
    assert instances(stack)["orders-pg"]["EngineVersion"] == "16.4"
    # Held until every member had loaded: RDS got the switchover with nothing loading, once.
    d = watch.last
    assert d["switchovers"] == 1 and d["loading_at_switchover"] == [], d
    # The run document showed each loading member and its rising percentage, poll by poll.
    waits = [w["wait"] for w in state_outputs(stack, "Wait") if w.get("wait")]
    loading = [w for w in waits if w.get("loading")]
    assert len(loading) >= 3, waits
    members = {m["member"] for w in loading for m in w["loading"]}
    assert any(m.startswith("orders-pg-green-") for m in members), members
    assert any(m.startswith("orders-pg-r1-green-") for m in members), members
    for member in members:
        seen = [m for w in loading for m in w["loading"] if m["member"] == member]
        assert {m["status"] for m in seen} == {"storage-initialization"}, seen
        percents = [m["percent"] for m in seen]
        assert percents == sorted(percents) and percents[-1] > percents[0], (member, percents)
    assert any(t.startswith("loading data: orders-pg-green-") and t.endswith("%")
               for w in loading for t in w["pending_tasks"]), loading
    # Paced for a load (minutes between polls), and that pace is longer in all than the build
    # may take: the time was not counted against max_provisioning_minutes.
    assert all(w["next_delay_seconds"] == 300 for w in loading), [w["next_delay_seconds"] for w in loading]
    assert sum(w["next_delay_seconds"] for w in loading) > 10 * 60
    assert max(w.get("loading_seconds", 0) for w in waits) > 0, "the loading time is set aside"
    assert stack.state()["calls"]["rds"].get("DeleteDBInstance", 0) == 0, "green is never deleted for loading"
    assert [n["milestone"] for n in stack.notifications()] == ["started", "green_ready", "switched_over", "succeeded"]
    assert_invariants(stack, blue, request, run_failed=False)


# ------------------------------------------------------------ item 11
# (the deployment's status after a rolled-back switchover, SWITCHOVER_FAILED answers before it
#  returns to AVAILABLE, what the `switchover` execution finds when it starts)
ROLLED_BACK = [("sticky", 12, "SWITCHOVER_FAILED"), ("available", 12, "SWITCHOVER_FAILED"),
               ("available", 1, "AVAILABLE")]


@pytest.mark.parametrize("mode,polls,found", ROLLED_BACK,
                         ids=["sticky", "available later", "available at once"])
def test_after_a_switchover_rds_rolled_back_the_switchover_action_switches_the_same_green(stack, mode, polls, found):
    """RDS rolled the switchover back: blue and green intact. Whether the deployment stays
    SWITCHOVER_FAILED (sticky) or returns to AVAILABLE (after some answers) is not documented:
    under each, the failed run keeps green and says to run `switchover` again, and that action
    switches over this same deployment. Before: the `switchover` action refused a deployment
    still SWITCHOVER_FAILED at its precheck ("this deployment cannot be resumed: run action
    `abort`", which deletes green): the first two cases failed there; the third (AVAILABLE
    again by then) passed before too and stands for the other answer."""
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    blue = capture_blue(stack, "orders-pg")
    # 12: more answers than the failed run's own failure path reads, so the `switchover`
    # execution starts on a deployment still showing the failure.
    stack.faults(switchover_failed=True, switchover_in_progress_polls=1, switchover_failed_status=mode,
                 switchover_failed_polls=polls)
    rc, out, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 1 and out["Error"] == "SwitchoverFailed", err[-3000:]
    cause = out["Cause"]
    assert "green is intact and kept" in cause and "run action `switchover` again" in cause, cause
    [first] = deployments(stack)
    assert first["Status"] == found, first
    green = first["Target"].rsplit(":", 1)[-1]
    assert green in instances(stack), "green kept, as the message says"
    assert_invariants(stack, blue, request, run_failed=True, error="SwitchoverFailed")

    stack.faults(switchover_failed=False)
    rc, run, err = stack.execute({**request, "action": "switchover", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert run["deployment"]["id"] == first["BlueGreenDeploymentIdentifier"], "the same deployment"
    [precheck] = state_outputs(stack, "Precheck")
    adopted = [c["observed"] for c in precheck["report"]["checks"] if "will continue with it" in c["observed"]]
    assert len(adopted) == 1 and f"is {found}: will continue" in adopted[0], adopted
    assert instances(stack)["orders-pg"]["EngineVersion"] == "16.4"
    calls = stack.state()["calls"]["rds"]
    assert calls["CreateBlueGreenDeployment"] == 1 and calls["SwitchoverBlueGreenDeployment"] == 2, calls
    assert calls.get("DeleteDBInstance", 0) == 0, "nothing deleted on the way"


# ------------------------------------------------------------ item 12
def test_a_zero_etl_integration_created_after_the_plan_stops_the_run_at_the_guardrails(stack):
    """"During switchover, the blue and green environments can't have zero-ETL integrations."
    One created while green builds (after the plan passed) fails the run in the Guardrails step,
    before any switchover request, keeping green; doing what the message says (delete it, run
    `switchover`) switches over. Before: nothing read integrations after the plan: the run
    requested the switchover and RDS refused it (InvalidBlueGreenDeploymentStateFault)."""
    rds = stack.client("rds")
    request = {**seed_postgres_instance(rds), "action": "upgrade", "soak_hours": 0}
    blue = capture_blue(stack, "orders-pg")
    stack.faults(provisioning_polls=4)
    made = {}
    redshift = "arn:aws:redshift-serverless:us-east-1:123456789012:namespace/0e2e0000-0000-0000-0000-000000000000"

    def integration_once_green_is_requested():
        deadline = time.time() + 120
        while time.time() < deadline and not stack.state()["deployments"]:
            time.sleep(0.05)
        made.update(rds.create_integration(SourceArn=blue.arn, TargetArn=redshift, IntegrationName="orders-zetl"))

    creator = threading.Thread(target=integration_once_green_is_requested, daemon=True)
    creator.start()
    rc, out, err = stack.execute(request)
    creator.join(timeout=10)
    assert made, "the integration was created while green was building"
    assert rc == 1 and out["Error"] == "GuardrailViolated", err[-3000:]
    assert any(s.startswith("Guardrails") and "GuardrailViolated" in s for s in failed_states(err)), err[-3000:]
    cause = out["Cause"]
    for part in ("zero-ETL integration `orders-zetl` on blue orders-pg", "delete it", "run action `switchover`",
                 "recreate it with the new production orders-pg", "Green is kept ready"):
        assert part in cause, f"{part!r} in {cause}"
    assert stack.state()["calls"]["rds"].get("SwitchoverBlueGreenDeployment", 0) == 0, "no switchover requested"
    # The plan passed without it (created afterwards): the precheck's check said pass.
    [precheck] = state_outputs(stack, "Precheck")
    [zetl] = [c for c in precheck["report"]["checks"] if c["id"] == "zero-etl-integrations"]
    assert zetl["verdict"] == "pass", zetl
    assert [d["Status"] for d in deployments(stack)] == ["AVAILABLE"], "green kept"
    assert_invariants(stack, blue, request, run_failed=True, error="GuardrailViolated")

    # A plan now warns (not refuses: the create is allowed, the switchover is not).
    rc, plan, err = stack.execute({**request, "action": "plan"})
    assert rc == 0, err[-3000:]
    [zetl] = [c for c in plan["report"]["checks"] if c["id"] == "zero-etl-integrations"]
    assert zetl["verdict"] == "warn" and "orders-zetl" in zetl["observed"], zetl

    # What the message says to do.
    rds.delete_integration(IntegrationIdentifier=made["IntegrationArn"])
    rc, run, err = stack.execute({**request, "action": "switchover"})
    assert rc == 0, err[-3000:]
    assert instances(stack)["orders-pg"]["EngineVersion"] == "16.4"
    assert stack.state()["calls"]["rds"]["SwitchoverBlueGreenDeployment"] == 1


# ------------------------------------------------------------ item 13
def test_a_lagging_read_replica_of_blue_does_not_hold_a_postgres_major_switchover(stack):
    """OldestReplicationSlotLag also counts blue's read replicas' physical slots; the deployment's
    own (logical) slot is OldestLogicalReplicationSlotLag, preferred when it has datapoints.
    Before: the guardrails read OldestReplicationSlotLag only, held on the replica's 2 GiB and
    failed with GuardrailViolated."""
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    replica(rds, "orders-pg-r1", "orders-pg")
    stack.faults(blue_replica_slot_lag_bytes=2 * 1024 ** 3, replication_slot_lag_bytes=1024 * 1024)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    guardrails = state_outputs(stack, "Guardrails")[-1]["guardrails"]
    assert guardrails["decided_by"] == "OldestLogicalReplicationSlotLag", guardrails
    assert guardrails["holds"] == 0, guardrails
    assert instances(stack)["orders-pg"]["EngineVersion"] == "16.4"

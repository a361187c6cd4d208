"""What must hold on the emulator after any scenario, failed or not: one reusable assertion.

    blue = capture_blue(stack, "orders-pg")              # before the scenario
    ... run executions, inject faults ...
    assert_invariants(stack, blue, request, run_failed=True, error="GreenFailed")

The invariants (README "When something goes wrong"):
  1. At most one blue/green deployment per source (and per deployment name).
  2. Blue is never modified before switchover: while it is still production, its engine version,
     status, parameter group and deletion protection are what they were; after a switchover the
     old blue (found by its resource id, named `NAME-oldN` by RDS) still runs the old version on
     its old parameter group, and only `delete_old_blue` may have turned its deletion protection
     off.
  3. No green is left behind by a failed `prepare`/`upgrade` whose build failed (GreenFailed,
     ProvisioningTimedOut, before any switchover request: the only failures the failure path
     rolls back) nor by a successful `abort`: no deployment, no `NAME-green-*` database.
  4. Nothing of the source is deleted without its final snapshot `rbg-NAME-to-VERSION-final`,
     unless the request said `final_snapshot: false`; and the old blue only with `delete_old_blue`.
  5. Every failed run ends in the failure path: its last notification is `failed` naming the
     error, and a `Remediations` metric with Outcome=failed exists. A run that did not fail
     sends no `failed` notification.
"""

import re
from dataclasses import dataclass

# The failures after which the failure path deletes green: the build itself failed. Any other
# failure keeps a green that may be healthy.
ROLLS_BACK = {"GreenFailed", "ProvisioningTimedOut"}


@dataclass(frozen=True)
class Blue:
    """The source as it was before the scenario."""
    identifier: str
    kind: str  # "instance" | "cluster"
    arn: str
    resource_id: str
    engine_version: str
    status: str
    parameter_group: str
    deletion_protection: bool


def _instances(rds):
    return rds.describe_db_instances()["DBInstances"]


def _clusters(rds):
    return rds.describe_db_clusters()["DBClusters"]


def _view(db, kind):
    if kind == "instance":
        return dict(identifier=db["DBInstanceIdentifier"], arn=db["DBInstanceArn"], resource_id=db["DbiResourceId"],
                    engine_version=db["EngineVersion"], status=db["DBInstanceStatus"],
                    parameter_group=db["DBParameterGroups"][0]["DBParameterGroupName"],
                    deletion_protection=bool(db.get("DeletionProtection")))
    return dict(identifier=db["DBClusterIdentifier"], arn=db["DBClusterArn"], resource_id=db["DbClusterResourceId"],
                engine_version=db["EngineVersion"], status=db["Status"], parameter_group=db["DBClusterParameterGroup"],
                deletion_protection=bool(db.get("DeletionProtection")))


def _all(rds, kind):
    return [_view(db, kind) for db in (_instances(rds) if kind == "instance" else _clusters(rds))]


def capture_blue(stack, identifier):
    """The source's state before the scenario (an instance, else a cluster, by name)."""
    rds = stack.client("rds")
    for kind in ("instance", "cluster"):
        found = [v for v in _all(rds, kind) if v["identifier"] == identifier]
        if found:
            return Blue(kind=kind, **found[0])
    raise AssertionError(f"no database named {identifier}")


def _remediations(stack):
    cw = stack.client("cloudwatch")
    out = set()
    for m in cw.list_metrics(Namespace="RdsBlueGreen", MetricName="Remediations")["Metrics"]:
        dims = {d["Name"]: d["Value"] for d in m["Dimensions"]}
        out.add((dims["DBIdentifier"], dims["Trigger"], dims["Outcome"]))
    return out


def _final_snapshot(rds, blue, target_version):
    """The final snapshot of blue's old blue: by name, taken of a `NAME-oldN` database."""
    name = f"rbg-{blue.identifier}-to-{target_version.replace('.', '-')}-final"
    old = re.compile(rf"^{re.escape(blue.identifier)}-old\d+$")
    if blue.kind == "instance":
        snaps = rds.describe_db_snapshots(SnapshotType="manual")["DBSnapshots"]
        return [s for s in snaps if s["DBSnapshotIdentifier"] == name and old.match(s["DBInstanceIdentifier"])]
    snaps = rds.describe_db_cluster_snapshots(SnapshotType="manual")["DBClusterSnapshots"]
    return [s for s in snaps if s["DBClusterSnapshotIdentifier"] == name and old.match(s["DBClusterIdentifier"])]


def assert_invariants(stack, blue, request, *, run_failed, error=None, notes=None):
    """Asserts the five invariants above after a scenario on `blue` started with `request`
    (the last execution's input). `run_failed`: whether the last execution failed, with
    `error` its error name. `notes`: the notifications if the test already read them (reading
    drains the queue); otherwise they are read here. Returns the notifications."""
    rds = stack.client("rds")
    notes = stack.notifications() if notes is None else notes
    action = request.get("action", "plan")
    target = request["target_engine_version"]

    # 1. At most one deployment per source and per name.
    deployments = rds.describe_blue_green_deployments()["BlueGreenDeployments"]
    for key in ("Source", "BlueGreenDeploymentName"):
        values = [d[key] for d in deployments]
        dupes = {v for v in values if values.count(v) > 1}
        assert not dupes, f"more than one deployment per {key}: {deployments}"

    # 2. Blue, found by its resource id whatever its name is now.
    now = {v["resource_id"]: v for v in _all(rds, blue.kind)}
    physical = now.get(blue.resource_id)
    switched = physical is None or physical["identifier"] != blue.identifier
    if physical is not None and not switched:
        seen = {k: physical[k] for k in ("engine_version", "status", "parameter_group", "deletion_protection")}
        before = {"engine_version": blue.engine_version, "status": blue.status,
                  "parameter_group": blue.parameter_group, "deletion_protection": blue.deletion_protection}
        assert seen == before, f"blue {blue.identifier} was modified before any switchover: {before} -> {seen}"
    elif physical is not None:
        assert re.fullmatch(rf"{re.escape(blue.identifier)}-old\d+", physical["identifier"]), \
            f"blue renamed to {physical['identifier']}"
        assert physical["engine_version"] == blue.engine_version, "the old blue must keep the old version"
        assert physical["parameter_group"] == blue.parameter_group, "the old blue must keep its parameter group"
        if not request.get("delete_old_blue"):
            assert physical["deletion_protection"] == blue.deletion_protection, \
                "deletion protection of the old blue changed without delete_old_blue"
        production = [v for v in now.values() if v["identifier"] == blue.identifier]
        assert production and production[0]["engine_version"] == target, f"production after switchover: {production}"
        assert not [v for v in now.values() if re.search(r"-old\d+-old\d+$", v["identifier"])], "switched over twice"

    # 4. Nothing of the source deleted without its snapshot (or without being asked).
    if physical is None:
        assert request.get("delete_old_blue"), f"blue {blue.identifier} was deleted without delete_old_blue"
        if request.get("final_snapshot", True):
            snaps = _final_snapshot(rds, blue, target)
            assert snaps and snaps[0].get("Status") == "available", \
                f"the old blue of {blue.identifier} was deleted without its final snapshot"

    # 3. No green left behind by a rolled-back failure or an abort.
    failed_notes = [n for n in notes if n.get("milestone") == "failed"]
    last_failed = failed_notes[-1] if failed_notes else {}
    rolled_back = (run_failed and last_failed.get("route") in ("prepare", "upgrade")
                   and "switchover_requested" not in (last_failed.get("timeline") or {})
                   and error in ROLLS_BACK and last_failed.get("deployment"))
    if rolled_back or (action == "abort" and not run_failed):
        mine = [d for d in deployments if d["Source"] == blue.arn]
        assert not mine, f"a deployment was left behind: {mine}"
        green = re.compile(rf"^{re.escape(blue.identifier)}-green-")
        left = [v["identifier"] for v in now.values() if green.match(v["identifier"])]
        assert not left, f"green left behind: {left}"

    # 5. The failure path, and only for failures.
    trigger = request.get("trigger", "console")
    if run_failed:
        assert notes, "a failed run sent no notification"
        assert notes[-1]["milestone"] == "failed", [n["milestone"] for n in notes]
        if error:
            assert notes[-1]["error"]["name"] == error, notes[-1]["error"]
        assert (blue.identifier, trigger, "failed") in _remediations(stack), _remediations(stack)
    else:
        assert not failed_notes, f"a run that did not fail notified `failed`: {failed_notes}"
    return notes

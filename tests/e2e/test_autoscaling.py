"""Aurora Auto Scaling end to end (issue 22, item 18): blue/green does not copy an Aurora
cluster's Auto Scaling policies to green ("Auto Scaling policies are not copied to green
(reconfigure after switchover)", Aurora User Guide, blue-green-deployments-considerations.html,
as ../shared/reference/bluegreen-facts.md records it). The precheck reads them from Application
Auto Scaling (namespace `rds`, resource `cluster:<id>`, dimension `rds:cluster:ReadReplicaCount`)
with the role the template gives it (the emulator enforces that role's policies), the plan lists
each target and policy, and the switched-over notification says to register them again."""

import json

from harness import seed_aurora_postgres_cluster

CLUSTER = "ledger-aurora"
RESOURCE = f"cluster:{CLUSTER}"
DIMENSION = "rds:cluster:ReadReplicaCount"
READS = ("application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies")


def seed_with_auto_scaling(stack):
    """`ledger-aurora` with a replica-count target (1 to 4) and a target-tracking policy on it."""
    request = seed_aurora_postgres_cluster(stack.client("rds"), name=CLUSTER)
    aas = stack.client("application-autoscaling")
    aas.register_scalable_target(ServiceNamespace="rds", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
                                 MinCapacity=1, MaxCapacity=4)
    aas.put_scaling_policy(
        PolicyName="ledger-reader-cpu", ServiceNamespace="rds", ResourceId=RESOURCE, ScalableDimension=DIMENSION,
        PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={
            "TargetValue": 55.0,
            "PredefinedMetricSpecification": {"PredefinedMetricType": "RDSReaderAverageCPUUtilization"}})
    return request


def checks(run):
    return {c["id"]: c for c in run["report"]["checks"]}


def remove_actions(stack, binary, actions):
    """Takes `actions` out of every statement of a function's role (the stack is deployed again
    for the next test)."""
    iam = stack.client("iam")
    role = stack.role_arn(binary).rsplit("/", 1)[-1]
    removed = set()
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        for st in doc["Statement"]:
            listed = [st["Action"]] if isinstance(st["Action"], str) else st["Action"]
            kept = [a for a in listed if a not in actions]
            removed |= set(listed) - set(kept)
            st["Action"] = kept
        doc["Statement"] = [st for st in doc["Statement"] if st["Action"]]
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps(doc))
    stack.dirty = True
    assert removed == set(actions), f"the {binary} role granted {sorted(removed)}, not {sorted(actions)}"


def test_the_plan_lists_the_clusters_auto_scaling_read_with_the_precheck_role(stack):
    request = seed_with_auto_scaling(stack)
    rc, run, err = stack.execute({**request, "action": "plan"})
    assert rc == 0, err[-3000:]
    found = checks(run)
    c = found["auto-scaling"]
    assert c["verdict"] == "warn", c
    for part in (f"{RESOURCE} (rds:cluster:ReadReplicaCount, min 1, max 4)",
                 "ledger-reader-cpu (TargetTrackingScaling, RDSReaderAverageCPUUtilization at 55)",
                 "does not copy Auto Scaling policies to green"):
        assert part in c["observed"], (part, c)
    for part in ("after the switchover", f"takes the name {CLUSTER}",
                 f"--resource-id {RESOURCE} --scalable-dimension {DIMENSION} --min-capacity 1 --max-capacity 4",
                 "ledger-reader-cpu"):
        assert part in c["fix"], (part, c)
    assert "topology-read" not in found, found.get("topology-read")
    [target] = run["source"]["topology"]["auto_scaling"]
    assert (target["resource_id"], target["min_capacity"], target["max_capacity"]) == (RESOURCE, 1, 4)
    assert [p["name"] for p in target["policies"]] == ["ledger-reader-cpu"]
    # Read by the precheck's own role, as the template grants it, and listed in its row.
    calls = stack.iam()["calls"][stack.role_arn("precheck")]
    for action in READS:
        assert calls.get(action, 0) >= 1, (action, calls)
    assert stack.permission_violations() == []


def test_a_cluster_without_auto_scaling_passes(stack):
    request = seed_aurora_postgres_cluster(stack.client("rds"), name=CLUSTER)
    rc, run, err = stack.execute({**request, "action": "plan"})
    assert rc == 0, err[-3000:]
    assert checks(run)["auto-scaling"]["verdict"] == "pass"
    assert run["source"]["topology"]["auto_scaling"] == []
    assert stack.permission_violations() == []


def test_without_the_templates_grant_the_read_is_denied_and_the_plan_says_which_permission(stack):
    """The grant is what lets the precheck read: taken out of its role, the emulator denies the
    call as AWS would, and the plan warns naming the permission instead of passing."""
    request = seed_with_auto_scaling(stack)
    remove_actions(stack, "precheck", READS)
    rc, run, err = stack.execute({**request, "action": "plan"})
    assert rc == 0, err[-3000:]
    found = checks(run)
    assert "auto-scaling" not in found, found.get("auto-scaling")
    unread = found["topology-read"]
    assert unread["verdict"] == "warn", unread
    assert "Aurora Auto Scaling" in unread["observed"] and READS[0] in unread["observed"], unread
    denied = [d for d in stack.iam()["denied"] if d["role_arn"] == stack.role_arn("precheck")]
    assert [d["action"] for d in denied] == [READS[0]], denied


def test_the_switched_over_notification_says_to_register_auto_scaling_again(stack):
    request = seed_with_auto_scaling(stack)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    notes = {n["milestone"]: n for n in stack.notifications()}
    [reminder] = notes["switched_over"]["warnings"]
    for part in ("Aurora Auto Scaling is not copied to green",
                 f"register-scalable-target --service-namespace rds --resource-id {RESOURCE} "
                 f"--scalable-dimension {DIMENSION} --min-capacity 1 --max-capacity 4",
                 "put each scaling policy again", "ledger-reader-cpu"):
        assert part in reminder, (part, reminder)
    assert "warnings" not in notes["succeeded"], notes["succeeded"]
    assert stack.permission_violations() == []

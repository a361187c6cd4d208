"""Policy tests for infra/template.yaml.

Run:  .venv/bin/python -m pytest infra/test_policies.py
(infra/lint.sh runs them after cfn-lint and checkov.)

What is asserted:
* infra/permissions.yaml is the one list of what each function, state machine and trigger
  may call: every action of a row is allowed by its role for a request of a correct run (the
  role's policies, resolved as the local CloudFormation resolves them, evaluated by the
  emulator's IAM evaluator, tests/emulator/iam_policy.py), and every action a role allows is in
  its row (nothing granted unused); each function writes only its own log group;
* the two state machines' roles invoke exactly the functions of their own definition
  and start exactly the executions the definition starts; every ${...} of both
  definitions is substituted, and the machine ARNs built with !Sub match the names;
* the trigger roles grant exactly what they need; the schedule's default input is a
  valid fleet request; the optional Scheduled Event rule delivers the event unchanged;
* no statement anywhere has Action "*" or "rds:*", and no role action has a wildcard;
* every statement with Resource "*" holds only actions that have no resource-level
  permissions (allow-list below, cross-checked against the Service Authorization
  Reference data shipped with parliament when it is installed);
* every mutating RDS action on an existing database or deployment carries the opt-in
  tag condition (or is an ARN-scoped creation that the template documents);
* parliament (pinned) finds nothing in any role's policy, when installed.
"""

from __future__ import annotations

import json
import pathlib
import re
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "emulator"))
sys.path.insert(0, str(ROOT / "tests" / "local"))
import deploy  # noqa: E402  the local CloudFormation's resolver (Ref, Sub, GetAtt, If, conditions)
import iam_policy  # noqa: E402  the emulator's IAM evaluator

TEMPLATE = pathlib.Path(__file__).with_name("template.yaml")

OPT_IN_KEY = "aws:ResourceTag/bluegreen:managed"  # on databases: value "true"
# on blue/green deployments: the tag the create worker puts on them
# (crates/domain/src/model/names.rs, tags::MANAGED_BY)
DEPLOYMENT_TAG_KEY = "bluegreen:managed-by"
DEPLOYMENT_TAG_VALUE = "rds-bluegreen"

# Roles that publish to the (KMS-encrypted) notification topic, and the policy resource
# that carries their log/SNS/KMS statements (the key policy names the role: no cycle).
PUBLISHING_ROLES = {
    "RemediationMetricRole": "RemediationMetricNotifyPolicy",
    "CampaignRole": "CampaignNotifyPolicy",
}

WORKER_LOG_GROUP = {
    "ResolveRole": "ResolveLogGroup",
    "PrecheckRole": "PrecheckLogGroup",
    "CreateRole": "CreateLogGroup",
    "WaitRole": "WaitLogGroup",
    "GuardrailsRole": "GuardrailsLogGroup",
    "SwitchoverRole": "SwitchoverLogGroup",
    "VerifyRole": "VerifyLogGroup",
    "CleanupRole": "CleanupLogGroup",
    "AbortRole": "AbortLogGroup",
    "RemediationMetricRole": "RemediationMetricLogGroup",
    "CampaignRole": "CampaignLogGroup",
}

WORKER_FUNCTIONS = {
    "ResolveFunction": ("resolve", "ResolveRole", 60),
    "PrecheckFunction": ("precheck", "PrecheckRole", 60),
    "CreateFunction": ("create", "CreateRole", 30),
    "WaitFunction": ("wait", "WaitRole", 30),
    "GuardrailsFunction": ("guardrails", "GuardrailsRole", 30),
    "SwitchoverFunction": ("switchover", "SwitchoverRole", 30),
    "VerifyFunction": ("verify", "VerifyRole", 30),
    "CleanupFunction": ("cleanup", "CleanupRole", 30),
    "AbortFunction": ("abort", "AbortRole", 30),
    "RemediationMetricFunction": ("remediation-metric", "RemediationMetricRole", 30),
    "CampaignFunction": ("campaign", "CampaignRole", 60),
}

# The two state machines: role, definition, log group, and the explicit name that every
# !Sub-built ARN of the machine uses (no !Ref between the machines: no dependency cycle).
STATE_MACHINES = {
    "UpgradeStateMachine": {
        "role": "StateMachineRole",
        "definition": "../statemachine/upgrade.asl.json",
        "log_group": "StateMachineLogGroup",
        "name": "${AWS::StackName}-upgrade",
        "functions": [
            "PrecheckFunction",
            "CreateFunction",
            "WaitFunction",
            "GuardrailsFunction",
            "SwitchoverFunction",
            "VerifyFunction",
            "SqlFunction",  # conditional: test_the_sql_worker_is_wired_only_with_its_network
            "CleanupFunction",
            "AbortFunction",
            "RemediationMetricFunction",
        ],
        # HandOverFleet
        "starts": ["FleetStateMachine"],
    },
    "FleetStateMachine": {
        "role": "FleetStateMachineRole",
        "definition": "../statemachine/fleet.asl.json",
        "log_group": "FleetStateMachineLogGroup",
        "name": "${AWS::StackName}-fleet",
        "functions": ["ResolveFunction", "CampaignFunction", "RemediationMetricFunction"],
        # ContinueFleet (the upgrade executions are started by the campaign worker)
        "starts": ["FleetStateMachine"],
    },
}


def machine_arn(machine: str) -> dict:
    name = STATE_MACHINES[machine]["name"]
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:stateMachine:{name}"}


def machine_executions_arn(machine: str) -> dict:
    name = STATE_MACHINES[machine]["name"]
    return {"Fn::Sub": f"arn:${{AWS::Partition}}:states:${{AWS::Region}}:${{AWS::AccountId}}:execution:{name}:*"}


def definition_placeholders(machine: str) -> set[str]:
    text = (TEMPLATE.parent / STATE_MACHINES[machine]["definition"]).read_text(encoding="utf-8")
    return set(re.findall(r"\$\{(\w+)\}", text))


STEP_FUNCTIONS_LOG_DELIVERY = [
    "logs:CreateLogDelivery",
    "logs:GetLogDelivery",
    "logs:UpdateLogDelivery",
    "logs:DeleteLogDelivery",
    "logs:ListLogDeliveries",
    "logs:PutResourcePolicy",
    "logs:DescribeResourcePolicies",
    "logs:DescribeLogGroups",
]

# Actions with no resource-level permissions (Service Authorization Reference:
# no resource type in the action's row). Only these may use Resource "*".
NO_RESOURCE_LEVEL = {
    "rds:DescribeDBEngineVersions",
    "rds:DescribeDBMajorEngineVersions",
    "dms:DescribeEndpoints",
    "dms:DescribeReplicationTasks",
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "ec2:DescribeNetworkInterfaces",  # the sql function's VPC attachment
    "cloudwatch:GetMetricStatistics",
    "cloudwatch:PutMetricData",
    *STEP_FUNCTIONS_LOG_DELIVERY,
}

# Mutating RDS actions on resources that already exist: these must carry the
# opt-in tag condition unless the statement is an ARN-scoped creation/snapshot
# statement (listed by Sid, each explained in the template).
MUTATING_RDS = {
    "rds:CreateBlueGreenDeployment",
    "rds:SwitchoverBlueGreenDeployment",
    "rds:DeleteBlueGreenDeployment",
    "rds:ModifyDBInstance",
    "rds:ModifyDBCluster",
    "rds:PromoteReadReplica",
    "rds:PromoteReadReplicaDBCluster",
    "rds:DeleteDBInstance",
    "rds:DeleteDBCluster",
    "rds:DeleteDBClusterEndpoint",
    "rds:CreateDBSnapshot",
    "rds:CreateDBClusterSnapshot",
}
ARN_SCOPED_BY_DESIGN = {
    # (role, Sid): why no aws:ResourceTag condition
    ("CreateRole", "CreateDeploymentTaggedAsManaged"): "new deployment; aws:RequestTag enforced",
    ("CreateRole", "CreateDeploymentWithTargetParameterGroups"): "parameter groups only referenced",
    ("CleanupRole", "WriteAndTagNewSnapshots"): "snapshot being created does not exist yet",
    ("CleanupRole", "DeleteClusterNamesFinalSnapshot"): "final snapshot does not exist yet",
    ("AbortRole", "DeleteClusterNamesFinalSnapshot"): "final snapshot resource only",
}

# parliament's RESOURCE_MISMATCH looks at one statement at a time. An action that
# needs several resource types, where only some of them can carry the opt-in tag
# condition, is split over two statements on purpose; each half is then reported.
# (role, action, resource format parliament wanted in that statement) -> reason.
# (The last entry is of another kind: a resource type that cannot exist here.)
EXPECTED_RESOURCE_MISMATCH = {
    ("CreateRole", "rds:CreateBlueGreenDeployment", "arn:*:rds:*:*:deployment:*"):
        "source (tag condition) and target parameter groups (none) are separate from the new deployment (aws:RequestTag)",
    ("CleanupRole", "rds:CreateDBSnapshot", "arn:*:rds:*:*:db:*"):
        "new snapshot (no tag possible) is separate from the tag-conditioned source instance",
    ("CleanupRole", "rds:CreateDBSnapshot", "arn:*:rds:*:*:snapshot:*"):
        "tag-conditioned source instance is separate from the new snapshot",
    ("CleanupRole", "rds:CreateDBClusterSnapshot", "arn:*:rds:*:*:cluster:*"):
        "new cluster snapshot (no tag possible) is separate from the tag-conditioned source cluster",
    ("CleanupRole", "rds:CreateDBClusterSnapshot", "arn:*:rds:*:*:cluster-snapshot:*"):
        "tag-conditioned source cluster is separate from the new cluster snapshot",
    ("CleanupRole", "rds:DeleteDBCluster", "arn:*:rds:*:*:cluster:*"):
        "final-snapshot statement is separate from the tag-conditioned old-blue cluster",
    ("CleanupRole", "rds:DeleteDBCluster", "arn:*:rds:*:*:cluster-snapshot:*"):
        "tag-conditioned old-blue cluster is separate from the final snapshot",
    ("AbortRole", "rds:DeleteDBCluster", "arn:*:rds:*:*:cluster:*"):
        "final-snapshot statement is separate from the tag-conditioned green cluster",
    ("AbortRole", "rds:DeleteDBCluster", "arn:*:rds:*:*:cluster-snapshot:*"):
        "tag-conditioned green cluster is separate from the final-snapshot resource",
    # DescribeExecution lists two resource types, execution (STANDARD machines) and express
    # (EXPRESS machines); the upgrade machine is STANDARD, so execution: is the only one.
    ("CampaignRole", "states:DescribeExecution", "arn:*:states:*:*:express:*:*:*"):
        "the upgrade machine is STANDARD: its executions have execution: ARNs, never express: ones",
}


# ---------------------------------------------------------------------------
# CloudFormation-aware YAML loading
# ---------------------------------------------------------------------------
class CfnLoader(yaml.SafeLoader):
    """SafeLoader that turns !Ref/!Sub/!GetAtt/... into their JSON form."""


def _cfn_tag(loader: yaml.Loader, tag_suffix: str, node: yaml.Node):
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        return {"Fn::GetAtt": value.split(".", 1)}
    if tag_suffix == "Condition":
        return {"Condition": value}
    return {"Fn::" + tag_suffix: value}


CfnLoader.add_multi_constructor("!", _cfn_tag)


def load_template() -> dict:
    with TEMPLATE.open(encoding="utf-8") as fh:
        return yaml.load(fh, Loader=CfnLoader)  # noqa: S506 - SafeLoader subclass


@pytest.fixture(scope="module")
def template() -> dict:
    return load_template()


@pytest.fixture(scope="module")
def resources(template) -> dict:
    return template["Resources"]


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(resources: dict, role: str, include_conditional: bool = False) -> list[dict]:
    """All statements granted to `role`: inline policies plus AWS::IAM::Policy resources."""
    statements = []
    for policy in resources[role]["Properties"].get("Policies", []):
        statements += as_list(policy["PolicyDocument"]["Statement"])
    for res in resources.values():
        if res["Type"] not in ("AWS::IAM::Policy", "AWS::IAM::RolePolicy"):
            continue
        if "Condition" in res and not include_conditional:
            continue
        props = res["Properties"]
        targets = as_list(props.get("Roles", [])) + as_list(props.get("RoleName", []))
        if {"Ref": role} in targets:
            statements += as_list(props["PolicyDocument"]["Statement"])
    return statements


def actions_of(statements: list[dict]) -> list[str]:
    return sorted({a for s in statements for a in as_list(s["Action"])})


def all_policy_documents(resources: dict):
    """(resource, document) for every IAM/KMS policy document in the template."""
    for name, res in resources.items():
        props = res.get("Properties", {})
        for key in ("PolicyDocument", "KeyPolicy", "AssumeRolePolicyDocument"):
            if key in props:
                yield name, props[key]
        for policy in props.get("Policies", []) or []:
            yield name, policy["PolicyDocument"]


# ---------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------
# ---------------------------------------------------------------------------
# infra/permissions.yaml: what each role may call, against what each role allows
# ---------------------------------------------------------------------------
PERMISSIONS = yaml.safe_load((TEMPLATE.parent / "permissions.yaml").read_text())
ACCOUNT, REGION = "123456789012", "us-east-1"
# Every optional grant on (the conditional policies exist), with sample values.
ALL_ON = {
    "EnhancedMonitoringRoleArns": f"arn:aws:iam::{ACCOUNT}:role/rds-monitoring",
    "DatabaseKmsKeyArns": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/11111111-2222-3333-4444-555555555555",
    "DatabaseSubnetIds": "subnet-0123456789abcdef0",
    "DatabaseSecurityGroupId": "sg-0123456789abcdef0",
    "DatabaseSecretArns": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds-bluegreen/*",
    "DatabaseSecretKmsKeyArns": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/66666666-2222-3333-4444-555555555555",
    "DatabaseIamUser": "bluegreen_check",
    "NotificationTopicArns": f"arn:aws:sns:{REGION}:{ACCOUNT}:team-alerts",
    "NotificationTopicKmsKeyArns": f"arn:aws:kms:{REGION}:{ACCOUNT}:key/77777777-2222-3333-4444-555555555555",
    "ScheduleExpression": "rate(7 days)",
    "ScheduledEventExpression": "rate(7 days)",
}


def resolved_template(parameters=ALL_ON):
    """The template with every intrinsic function resolved as the local CloudFormation
    (tests/local/deploy.py) resolves it, physical names made up as CloudFormation would."""
    tpl = deploy.load_template()
    stack = deploy.Stack("rds-bluegreen", tpl, parameters, REGION, ACCOUNT, None, None, {}, ".")
    for name, res in tpl["Resources"].items():
        props = res.get("Properties") or {}
        kind = res["Type"]
        physical = f"rds-bluegreen-{name}-GENERATED"
        attrs = {}
        if kind == "AWS::IAM::Role":
            attrs["Arn"] = f"arn:aws:iam::{ACCOUNT}:role/{physical}"
        elif kind == "AWS::Serverless::Function":
            attrs["Arn"] = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{physical}"
        elif kind == "AWS::Logs::LogGroup":
            physical = stack.resolve(props["LogGroupName"])
            attrs["Arn"] = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{physical}:*"
        elif kind == "AWS::KMS::Key":
            physical = "0123abcd-0000-0000-0000-000000000000"
            attrs["Arn"] = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/{physical}"
        elif kind == "AWS::SNS::Topic":
            physical = f"arn:aws:sns:{REGION}:{ACCOUNT}:{physical}"
        elif kind == "AWS::Serverless::StateMachine":
            physical = f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{stack.resolve(props['Name'])}"
        stack.physical[name] = physical
        stack.attrs[name] = attrs
    return stack


def _statements_of(stack, role):
    """Every statement the role is granted (inline and policy resources whose condition holds)."""
    out = []
    res = stack.template["Resources"]
    for policy in res[role]["Properties"].get("Policies", []):
        out += as_list(stack.resolve(policy["PolicyDocument"])["Statement"])
    for name, r in res.items():
        if r["Type"] != "AWS::IAM::Policy" or ("Condition" in r and not stack.condition(r["Condition"])):
            continue
        if {"Ref": role} in as_list(r["Properties"]["Roles"]):
            out += as_list(stack.resolve(r["Properties"]["PolicyDocument"])["Statement"])
    return out


def rows_to_roles(stack):
    """(row name, row, role logical id) for every function, state machine and trigger: the
    role each one runs with, read from the template."""
    res = stack.template["Resources"]
    out = []
    for name, r in res.items():
        props = r.get("Properties") or {}
        if r["Type"] == "AWS::Serverless::Function":
            binary = props["CodeUri"].rstrip("/").rsplit("/", 1)[-1]
            out.append((f"function {binary}", PERMISSIONS["functions"][binary], props["Role"]["Fn::GetAtt"][0]))
        elif r["Type"] == "AWS::Serverless::StateMachine":
            machine = props["Name"]["Fn::Sub"].rsplit("-", 1)[-1]
            out.append((f"state machine {machine}", PERMISSIONS["state_machines"][machine],
                        props["Role"]["Fn::GetAtt"][0]))
    triggers = {"AlarmTriggerRule": "alarm-rule", "ScheduledEventRule": "scheduled-event-rule",
                "UpgradeSchedule": "schedule"}
    for name, row in triggers.items():
        props = res[name]["Properties"]
        target = props["Target"] if "Target" in props else props["Targets"][0]
        out.append((f"trigger {row}", PERMISSIONS["triggers"][row], target["RoleArn"]["Fn::GetAtt"][0]))
    return out


def _sar():
    import importlib.util
    spec = importlib.util.find_spec("parliament")
    data = json.loads((pathlib.Path(spec.submodule_search_locations[0]) / "iam_definition.json").read_text())
    return {svc["prefix"]: svc for svc in data}


def resource_type_of(arn, sar):
    """The SAR resource type an ARN (or ARN pattern) belongs to, from the reference's ARN formats."""
    if arn == "*":
        return ""
    service = arn.split(":")[2]
    for r in sar.get(service, {}).get("resources", []):
        parts = re.split(r"\$\{[^}]*\}", r["arn"])
        if re.fullmatch("(.*)".join(re.escape(p) for p in parts), arn):
            return r["resource"]
    return None


def _contexts():
    """The request contexts of a correct run: what RDS, SNS, KMS and IAM see when the stack acts on
    an opted-in database and on the deployments it tagged (iam_policy condition keys)."""
    base = {"aws:ResourceTag/bluegreen:managed": "true", "aws:ResourceTag/bluegreen:managed-by": "rds-bluegreen",
            "cloudwatch:namespace": "RdsBlueGreen", "kms:CallerAccount": ACCOUNT}
    variants = [
        {"aws:RequestTag/bluegreen:managed-by": "rds-bluegreen", "aws:TagKeys": ["bluegreen:managed-by"]},
        {"aws:RequestTag/bluegreen:managed": "true", "aws:TagKeys": ["bluegreen:managed", "team"]},
        {"aws:RequestTag/bluegreen:old-blue-of": "orders-pg", "aws:TagKeys": ["bluegreen:old-blue-of"]},
    ]
    services = [{"kms:ViaService": f"{s}.{REGION}.amazonaws.com", "iam:PassedToService": p}
                for s in ("rds", "sns", "secretsmanager") for p in ("monitoring.rds.amazonaws.com", "rds.amazonaws.com")]
    return [{**base, **v, **sv} for v in variants for sv in services]


CONTEXTS = _contexts()


def _candidates(statements, action, rtype, sar):
    """Concrete resources of type `rtype` that the role's statements name for `action` (each `*`
    filled in), or "*" for an action without resource types."""
    if rtype == "":
        return ["*"]
    out = []
    for st in statements:
        if st.get("Effect") != "Allow" or not any(iam_policy.evaluate_identity(
                [{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": a, "Resource": "*"}]}],
                action, "*", {}).effect == iam_policy.ALLOW for a in as_list(st.get("Action", []))):
            continue
        for pattern in as_list(st.get("Resource", [])):
            if pattern == "*":
                continue
            concrete = pattern.replace("*", "orders-pg-old1").replace("?", "x")
            if resource_type_of(concrete, sar) == rtype or resource_type_of(pattern, sar) == rtype:
                out.append(concrete)
    return out


@pytest.fixture(scope="module")
def resolved():
    return resolved_template()


@pytest.fixture(scope="module")
def sar():
    return _sar()


def _rows(stack):
    return [pytest.param(row, name, id=name) for name, row, _ in rows_to_roles(stack)]


def _row_actions(row, every_function=False):
    actions = {}
    for section in ("calls", "on_behalf", "optional"):
        actions.update(row.get(section) or {})
    if every_function:
        actions.update(PERMISSIONS["every_function"].get("on_behalf") or {})
    return actions


def test_every_function_state_machine_and_trigger_has_its_row(resolved):
    names = [name for name, _, _ in rows_to_roles(resolved)]
    assert len(names) == len(set(names))
    assert {n.split(" ", 1)[1] for n in names if n.startswith("function")} == set(PERMISSIONS["functions"])
    assert {n.split(" ", 2)[2] for n in names if n.startswith("state machine")} == set(PERMISSIONS["state_machines"])


def test_every_action_of_a_row_is_allowed_by_its_role_for_a_correct_run(resolved, sar):
    """Called (or checked on its behalf) but not granted: the run would be denied half-way."""
    missing = []
    for name, row, role in rows_to_roles(resolved):
        statements = _statements_of(resolved, role)
        docs = [{"Version": "2012-10-17", "Statement": statements}]
        for action, types in _row_actions(row, name.startswith("function")).items():
            for rtype in types:
                candidates = _candidates(statements, action, rtype, sar)
                if not any(iam_policy.evaluate_identity(docs, action, arn, ctx).effect == iam_policy.ALLOW
                           for arn in candidates for ctx in CONTEXTS):
                    missing.append(f"{name} ({role}): {action} on {rtype or 'no resource type'}")
    assert not missing, "\n".join(missing)


def test_every_action_a_role_allows_is_in_its_row(resolved):
    """Granted but never called: the role may do more than the code needs."""
    extra = []
    for name, row, role in rows_to_roles(resolved):
        allowed = set(_row_actions(row, name.startswith("function")))
        for st in _statements_of(resolved, role):
            for action in as_list(st.get("Action", [])):
                if st.get("Effect") == "Allow" and action not in allowed:
                    extra.append(f"{name} ({role}, {st.get('Sid')}): {action}")
    assert not extra, "\n".join(extra)


@pytest.mark.parametrize("role", sorted(WORKER_LOG_GROUP))
def test_worker_role_writes_only_its_own_log_group(resources, role):
    logs = [s for s in role_statements(resources, role) if s.get("Sid") == "WriteOwnLogs"]
    assert len(logs) == 1
    assert sorted(as_list(logs[0]["Action"])) == ["logs:CreateLogStream", "logs:PutLogEvents"]
    assert logs[0]["Resource"] == {"Fn::GetAtt": [WORKER_LOG_GROUP[role], "Arn"]}
    assert all(
        not a.startswith("logs:")
        for s in role_statements(resources, role)
        if s.get("Sid") != "WriteOwnLogs"
        for a in as_list(s["Action"])
    )


@pytest.mark.parametrize("function", sorted(WORKER_FUNCTIONS))
def test_function_wiring(template, resources, function):
    name, role, timeout = WORKER_FUNCTIONS[function]
    glob = template["Globals"]["Function"]
    props = resources[function]["Properties"]
    assert resources[function]["Type"] == "AWS::Serverless::Function"
    assert props["CodeUri"] == f"../target/lambda/{name}/"
    assert props["Role"] == {"Fn::GetAtt": [role, "Arn"]}
    assert props.get("Timeout", glob["Timeout"]) == timeout
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": WORKER_LOG_GROUP[role]}
    assert glob["Runtime"] == "provided.al2023"
    assert glob["Architectures"] == ["arm64"]
    assert glob["Handler"] == "bootstrap"
    assert glob["MemorySize"] == 128
    assert glob["Environment"]["Variables"]["NOTIFICATION_TOPIC_ARN"] == {"Ref": "NotificationTopic"}


def test_each_role_is_used_by_one_function_only(resources):
    roles = [resources[f]["Properties"]["Role"]["Fn::GetAtt"][0] for f in WORKER_FUNCTIONS]
    assert sorted(roles) == sorted(set(roles)) == sorted(WORKER_LOG_GROUP)


@pytest.mark.parametrize("machine", sorted(STATE_MACHINES))
def test_state_machine_role(resources, machine):
    spec = STATE_MACHINES[machine]
    statements = role_statements(resources, spec["role"], include_conditional=True)
    invoke = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert all(as_list(s["Action"]) == ["lambda:InvokeFunction"] for s in invoke)
    # one statement, plus the conditional sql worker's (its own policy, HasDatabaseNetwork)
    assert [s["Sid"] for s in invoke[1:]] == (["InvokeTheSqlWorker"] if "SqlFunctionArn" in
                                              definition_placeholders(machine) else [])
    unqualified, qualified = [], []
    for r in [r for s in invoke for r in as_list(s["Resource"])]:
        if "Fn::GetAtt" in r:
            assert r["Fn::GetAtt"][1] == "Arn", r
            unqualified.append(r["Fn::GetAtt"][0])
        else:
            m = re.fullmatch(r"\$\{(\w+)\.Arn\}:\*", r["Fn::Sub"])
            assert m, r
            qualified.append(m.group(1))
    # exactly the functions of this machine's definition, each unqualified and as ":*"
    # (versions/aliases), once
    used = sorted(f"{p[:-len('FunctionArn')]}Function" for p in definition_placeholders(machine)
                  if p.endswith("FunctionArn"))
    assert used == sorted(spec["functions"])
    assert sorted(unqualified) == sorted(qualified) == used
    assert len(unqualified) == len(set(unqualified))
    # StartExecution: exactly the machines the definition starts, by their !Sub ARN
    start = [s for s in statements if "states:StartExecution" in as_list(s["Action"])]
    assert [as_list(s["Action"]) for s in start] == [["states:StartExecution"]] * len(spec["starts"])
    assert [s["Resource"] for s in start] == [machine_arn(m) for m in spec["starts"]]
    assert all("Condition" not in s for s in start + invoke)
    assert actions_of(statements) == sorted(
        ["lambda:InvokeFunction", "states:StartExecution", *STEP_FUNCTIONS_LOG_DELIVERY]
    )
    # trusted by Step Functions of this account only
    (trust,) = resources[spec["role"]]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "states.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_each_state_machine_has_its_own_role(resources):
    roles = [resources[m]["Properties"]["Role"] for m in STATE_MACHINES]
    assert roles == [{"Fn::GetAtt": [STATE_MACHINES[m]["role"], "Arn"]} for m in STATE_MACHINES]
    assert len({STATE_MACHINES[m]["role"] for m in STATE_MACHINES}) == len(STATE_MACHINES)


@pytest.mark.parametrize("machine", sorted(STATE_MACHINES))
def test_state_machine_definition(resources, machine):
    spec = STATE_MACHINES[machine]
    sm = resources[machine]
    props = sm["Properties"]
    assert sm["Type"] == "AWS::Serverless::StateMachine"
    assert props["Type"] == "STANDARD"
    assert props["DefinitionUri"] == spec["definition"]
    # explicit name: what every !Sub-built ARN of this machine relies on
    assert props["Name"] == {"Fn::Sub": spec["name"]}
    subs = props["DefinitionSubstitutions"]
    for function in spec["functions"]:
        key = f"{function[:-len('Function')]}FunctionArn"
        if function == "SqlFunction":
            continue  # an !If on HasDatabaseNetwork, checked on its own
        assert subs[key] == {"Fn::GetAtt": [function, "Arn"]}, key
    # the other machine by !Sub (or, from fleet to upgrade only, !Ref), itself by !Sub
    if "FleetStateMachineArn" in subs:
        assert subs["FleetStateMachineArn"] == machine_arn("FleetStateMachine")
    if "UpgradeStateMachineArn" in subs:
        assert machine == "FleetStateMachine"
        assert subs["UpgradeStateMachineArn"] == {"Ref": "UpgradeStateMachine"}
    # nothing offered that the definition does not use (NotificationTopicArn excepted: it
    # was always offered to the upgrade definition, which leaves it to the workers' env)
    extra = set(subs) - definition_placeholders(machine)
    assert extra <= {"NotificationTopicArn"}, extra
    if "NotificationTopicArn" in subs:
        assert subs["NotificationTopicArn"] == {"Ref": "NotificationTopic"}
    assert props["Logging"]["Level"] == "ALL"
    # no execution data in the logs: the approval's task token is in a Task's parameters
    assert props["Logging"]["IncludeExecutionData"] is False
    (dest,) = props["Logging"]["Destinations"]
    assert dest == {"CloudWatchLogsLogGroup": {"LogGroupArn": {"Fn::GetAtt": [spec["log_group"], "Arn"]}}}
    log_name = resources[spec["log_group"]]["Properties"]["LogGroupName"]
    assert log_name == {"Fn::Sub": "/aws/vendedlogs/states/" + spec["name"]}


@pytest.mark.parametrize("machine", sorted(STATE_MACHINES))
def test_every_placeholder_of_both_definitions_is_substituted(resources, machine):
    subs = resources[machine]["Properties"]["DefinitionSubstitutions"]
    placeholders = definition_placeholders(machine)
    assert placeholders, machine
    assert placeholders <= set(subs), placeholders - set(subs)
    # the definitions use the machines' ARNs through these two placeholders only
    text = (TEMPLATE.parent / STATE_MACHINES[machine]["definition"]).read_text(encoding="utf-8")
    assert ":stateMachine:" not in text


def test_state_machine_arns_built_with_sub_match_the_names(resources):
    """Every states ARN in the template is built from one of the two explicit names."""
    names = {spec["name"] for spec in STATE_MACHINES.values()}
    found = set()

    def walk(value):
        if isinstance(value, dict):
            if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str) and ":states:" in value["Fn::Sub"] \
                    and ":states:::" not in value["Fn::Sub"]:  # service integrations name no machine
                m = re.fullmatch(
                    r"arn:\$\{AWS::Partition\}:states:\$\{AWS::Region\}:\$\{AWS::AccountId\}:"
                    r"(stateMachine|execution):(\$\{AWS::StackName\}-\w+)(:\*)?",
                    value["Fn::Sub"],
                )
                assert m, value
                assert m.group(2) in names, value
                assert (m.group(1) == "execution") == bool(m.group(3)), value
                found.add(m.group(0))
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(resources)
    assert found  # the walk saw them


def test_campaign_starts_and_describes_upgrade_executions_only(resources):
    statements = [
        s for s in role_statements(resources, "CampaignRole")
        if set(as_list(s["Action"])) & {"states:StartExecution", "states:DescribeExecution"}
    ]
    got = sorted((tuple(as_list(s["Action"])), json.dumps(s["Resource"], sort_keys=True)) for s in statements)
    assert got == sorted([
        (("states:StartExecution",), json.dumps(machine_arn("UpgradeStateMachine"), sort_keys=True)),
        (("states:DescribeExecution",), json.dumps(machine_executions_arn("UpgradeStateMachine"), sort_keys=True)),
    ])
    assert all("Condition" not in s for s in statements)
    # inline in the role (they do not name the key); the notify policy holds no states action
    inline = [s for p in resources["CampaignRole"]["Properties"]["Policies"]
              for s in as_list(p["PolicyDocument"]["Statement"])]
    assert actions_of(inline) == ["states:DescribeExecution", "states:StartExecution"]


def test_verify_tags_only_the_old_blue_with_the_marker(resources):
    (s,) = [s for s in role_statements(resources, "VerifyRole")
            if "rds:AddTagsToResource" in as_list(s["Action"])]
    assert as_list(s["Action"]) == ["rds:AddTagsToResource"]
    assert [r["Fn::Sub"] for r in as_list(s["Resource"])] == [
        "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:*-old*",
        "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:cluster:*-old*",
    ]
    assert s["Condition"] == {
        "StringEquals": {OPT_IN_KEY: "true"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["bluegreen:old-blue-of"]},
        "Null": {"aws:RequestTag/bluegreen:old-blue-of": "false"},
    }


def test_wait_only_resizes_opted_in_instances(resources):
    mutating = [s for s in role_statements(resources, "WaitRole")
                if not all(a.startswith("rds:Describe") for a in as_list(s["Action"]))
                and s.get("Sid") != "WriteOwnLogs"]
    (s,) = mutating
    assert as_list(s["Action"]) == ["rds:ModifyDBInstance"]
    assert s["Resource"] == {"Fn::Sub": "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:db:*"}
    assert s["Condition"] == {"StringEquals": {OPT_IN_KEY: "true"}}


TRIGGER_ROLES = {
    "SchedulerRole": ("UpgradeStateMachine", "HasSchedule", "scheduler.amazonaws.com"),
    "AlarmTriggerRole": ("UpgradeStateMachine", None, "events.amazonaws.com"),
    "ScheduledEventRuleRole": ("FleetStateMachine", "HasScheduledEventRule", "events.amazonaws.com"),
}


@pytest.mark.parametrize("role", sorted(TRIGGER_ROLES))
def test_trigger_roles_start_their_state_machine_only(resources, role):
    machine, condition, service = TRIGGER_ROLES[role]
    assert resources[role].get("Condition") == condition
    statements = role_statements(resources, role)
    assert actions_of(statements) == ["states:StartExecution"]
    assert all(s["Resource"] == {"Ref": machine} for s in statements)
    (trust,) = resources[role]["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": service}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}}


def test_alarm_rule_delivers_event_unchanged(resources):
    props = resources["AlarmTriggerRule"]["Properties"]
    pattern = props["EventPattern"]
    assert pattern["source"] == ["aws.cloudwatch"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"]["alarmName"] == [{"prefix": {"Ref": "AlarmNamePrefix"}}]
    assert pattern["detail"]["state"]["value"] == ["ALARM"]
    (target,) = props["Targets"]
    assert not {"Input", "InputPath", "InputTransformer"} & set(target)
    assert target["RoleArn"] == {"Fn::GetAtt": ["AlarmTriggerRole", "Arn"]}


def test_scheduled_event_rule_starts_the_fleet_with_the_event(template, resources):
    param = template["Parameters"]["ScheduledEventExpression"]
    assert param["Default"] == ""  # off unless asked for
    assert template["Conditions"]["HasScheduledEventRule"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "ScheduledEventExpression"}, ""]}]
    }
    pattern = re.compile(param["AllowedPattern"])
    for ok in ("", "rate(7 days)", "cron(0 3 ? * SUN *)"):
        assert pattern.fullmatch(ok), ok
    for bad in ("at(2026-12-06T03:00:00)", "cron()", "weekly"):
        assert not pattern.fullmatch(bad), bad
    rule = resources["ScheduledEventRule"]
    assert rule["Type"] == "AWS::Events::Rule"
    assert rule["Condition"] == "HasScheduledEventRule"
    props = rule["Properties"]
    assert props["ScheduleExpression"] == {"Ref": "ScheduledEventExpression"}
    assert "EventPattern" not in props
    (target,) = props["Targets"]
    # no Input of its own: EventBridge delivers the Scheduled Event, which the fleet machine
    # reads as a fleet run of every opted-in database
    assert not {"Input", "InputPath", "InputTransformer"} & set(target)
    assert target["Arn"] == {"Ref": "FleetStateMachine"}
    assert target["RoleArn"] == {"Fn::GetAtt": ["ScheduledEventRuleRole", "Arn"]}


def test_schedule_default_input_is_an_opt_in_fleet_request(template, resources):
    param = template["Parameters"]["ScheduleInput"]
    request = json.loads(param["Default"])
    assert re.fullmatch(param["AllowedPattern"], param["Default"])  # CloudFormation checks it too
    assert isinstance(request, dict)
    # a fleet request (a selector, no single database) ...
    assert "db_identifier" not in request
    tags = request["selector"]["tags"]
    assert isinstance(tags, dict) and len(tags) >= 1
    assert all(isinstance(k, str) and k and isinstance(v, str) for k, v in tags.items())
    # ... of the databases that opted in, started by the schedule ...
    assert tags == {"bluegreen:managed": "true"}
    assert request["trigger"] == "schedule"
    # ... and dry-run unless a database's own bluegreen:action tag says otherwise
    assert "action" not in request
    assert resources["UpgradeSchedule"]["Properties"]["Target"]["Input"] == {"Ref": "ScheduleInput"}
    assert resources["UpgradeSchedule"]["Properties"]["Target"]["Arn"] == {"Ref": "UpgradeStateMachine"}


def test_outputs_name_both_machines(template):
    outputs = template["Outputs"]
    assert outputs["StateMachineArn"]["Value"] == {"Ref": "UpgradeStateMachine"}
    assert outputs["FleetStateMachineArn"]["Value"] == {"Ref": "FleetStateMachine"}
    assert outputs["ScheduledEventRuleArn"]["Condition"] == "HasScheduledEventRule"


def test_no_star_or_rds_star_action_anywhere(resources):
    for name, doc in all_policy_documents(resources):
        for s in as_list(doc["Statement"]):
            for action in as_list(s.get("Action", [])) + as_list(s.get("NotAction", [])):
                assert action not in ("*", "rds:*"), (name, s.get("Sid"))


def test_role_actions_have_no_wildcards(resources):
    roles = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    for role in roles:
        for s in role_statements(resources, role, include_conditional=True):
            assert s["Effect"] == "Allow", (role, s.get("Sid"))
            assert "NotAction" not in s and "NotResource" not in s, (role, s.get("Sid"))
            for action in as_list(s["Action"]):
                assert "*" not in action, (role, s.get("Sid"), action)


def test_star_resource_only_for_actions_without_resource_level(resources):
    roles = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    seen = set()
    for role in roles:
        for s in role_statements(resources, role, include_conditional=True):
            if "*" in as_list(s["Resource"]):
                bad = set(as_list(s["Action"])) - NO_RESOURCE_LEVEL
                assert not bad, (role, s.get("Sid"), bad)
                seen |= set(as_list(s["Action"]))
    assert seen == NO_RESOURCE_LEVEL


def test_put_metric_data_limited_to_namespace(resources):
    for s in role_statements(resources, "RemediationMetricRole"):
        if "cloudwatch:PutMetricData" in as_list(s["Action"]):
            assert s["Condition"] == {"StringEquals": {"cloudwatch:namespace": "RdsBlueGreen"}}


@pytest.mark.parametrize("role", sorted(PUBLISHING_ROLES))
def test_publishing_roles_use_own_topic_and_key_only(resources, role):
    for s in role_statements(resources, role):
        actions = set(as_list(s["Action"]))
        if actions & {"sns:Publish"}:
            assert actions == {"sns:Publish"} and s["Resource"] == {"Ref": "NotificationTopic"}
        if actions & {"kms:GenerateDataKey", "kms:Decrypt"}:
            assert actions == {"kms:GenerateDataKey", "kms:Decrypt"}
            assert s["Resource"] == {"Fn::GetAtt": ["EncryptionKey", "Arn"]}
    # the log/SNS/KMS statements live in a separate policy (the key policy names the role),
    # and the function waits for it
    policy = resources[PUBLISHING_ROLES[role]]
    assert policy["Type"] == "AWS::IAM::Policy" and "Condition" not in policy
    assert policy["Properties"]["Roles"] == [{"Ref": role}]
    assert actions_of(as_list(policy["Properties"]["PolicyDocument"]["Statement"])) == sorted(
        ["logs:CreateLogStream", "logs:PutLogEvents", "sns:Publish", "kms:GenerateDataKey", "kms:Decrypt"]
    )
    (function,) = [f for f, (_, r, _) in WORKER_FUNCTIONS.items() if r == role]
    assert resources[function]["DependsOn"] == PUBLISHING_ROLES[role]


def test_campaign_notification_statements_mirror_remediation_metric(resources):
    def shape(policy):
        return [
            (s["Sid"], sorted(as_list(s["Action"])), s["Resource"])
            for s in resources[policy]["Properties"]["PolicyDocument"]["Statement"]
            if s["Sid"] != "WriteOwnLogs"
        ]

    assert shape("CampaignNotifyPolicy") == shape("RemediationMetricNotifyPolicy")


def test_resolve_describes_this_account_and_region_only(resources):
    expected = {
        "rds:DescribeDBInstances": "db:*",
        "rds:DescribeDBClusters": "cluster:*",
        "rds:DescribeBlueGreenDeployments": "deployment:*",
    }
    statements = [s for s in role_statements(resources, "ResolveRole") if s.get("Sid") != "WriteOwnLogs"]
    seen = []
    for s in statements:
        assert "Condition" not in s, s["Sid"]
        (action,) = as_list(s["Action"])
        (resource,) = as_list(s["Resource"])
        assert resource == {
            "Fn::Sub": f"arn:${{AWS::Partition}}:rds:${{AWS::Region}}:${{AWS::AccountId}}:{expected[action]}"
        }, s["Sid"]
        seen.append(action)
    assert sorted(seen) == sorted(expected)


@pytest.mark.parametrize("role", ["PrecheckRole", "VerifyRole"])
def test_filtered_describes_and_default_parameter_groups_are_allowed(resources, role):
    """describe_by_resource_id sends no identifier (a dbi-resource-id / db-cluster-resource-id
    filter), so it is authorised against the type's wildcard ARN; the precheck reads the
    target family's default group (default.<family>), which has a pg: ARN like any other."""
    rds_arn = "arn:${AWS::Partition}:rds:${AWS::Region}:${AWS::AccountId}:"
    wanted = {"rds:DescribeDBInstances": "db:*", "rds:DescribeDBClusters": "cluster:*"}
    if role == "PrecheckRole":
        wanted["rds:DescribeDBParameters"] = "pg:*"
        wanted["rds:DescribeDBClusterParameters"] = "cluster-pg:*"
    for action, arn_type in wanted.items():
        grants = [s for s in role_statements(resources, role)
                  if action in as_list(s["Action"]) and "Condition" not in s]
        assert any({"Fn::Sub": rds_arn + arn_type} in as_list(s["Resource"]) for s in grants), (role, action)


def test_mutating_rds_actions_require_opt_in_tag(resources):
    for role in WORKER_LOG_GROUP:
        for s in role_statements(resources, role):
            if not set(as_list(s["Action"])) & MUTATING_RDS:
                continue
            if (role, s.get("Sid")) in ARN_SCOPED_BY_DESIGN:
                continue
            if s.get("Sid") == "ProvisionGreenOnCallersBehalf":
                # creation of not-yet-existing green resources: nothing to delete/modify here
                assert not set(as_list(s["Action"])) & (MUTATING_RDS - {"rds:CreateBlueGreenDeployment"})
                continue
            cond = s.get("Condition", {}).get("StringEquals", {})
            resources_ = [r["Fn::Sub"] for r in as_list(s["Resource"])]
            if all(r.endswith(":deployment:*") for r in resources_):
                assert cond.get(f"aws:ResourceTag/{DEPLOYMENT_TAG_KEY}") == DEPLOYMENT_TAG_VALUE, (role, s.get("Sid"))
            else:
                assert not any(r.endswith(":deployment:*") for r in resources_), (role, s.get("Sid"))
                assert cond.get(OPT_IN_KEY) == "true", (role, s.get("Sid"))


def test_cleanup_can_only_remove_old_blue(resources):
    for s in role_statements(resources, "CleanupRole"):
        destructive = set(as_list(s["Action"])) & {
            "rds:ModifyDBInstance",
            "rds:DeleteDBInstance",
            "rds:ModifyDBCluster",
        }
        if destructive:
            for r in as_list(s["Resource"]):
                assert r["Fn::Sub"].endswith(("db:*-old*", "cluster:*-old*")), s["Sid"]
        if "rds:DeleteDBCluster" in as_list(s["Action"]):
            for r in as_list(s["Resource"]):
                assert r["Fn::Sub"].endswith(("cluster:*-old*", "cluster-snapshot:*")), s["Sid"]
                if r["Fn::Sub"].endswith("cluster-snapshot:*"):
                    assert as_list(s["Action"]) == ["rds:DeleteDBCluster"], s["Sid"]


def test_create_requires_managed_tag_on_new_deployment(resources):
    (s,) = [
        s
        for s in role_statements(resources, "CreateRole")
        if s.get("Sid") == "CreateDeploymentTaggedAsManaged"
    ]
    assert s["Condition"] == {"StringEquals": {f"aws:RequestTag/{DEPLOYMENT_TAG_KEY}": DEPLOYMENT_TAG_VALUE}}
    (tag,) = [s for s in role_statements(resources, "CreateRole") if s.get("Sid") == "TagNewDeployment"]
    assert tag["Condition"] == s["Condition"]


def test_optional_create_policies_are_conditional(resources):
    for name, cond in (
        ("CreatePassMonitoringRolePolicy", "HasMonitoringRoles"),
        ("CreateUseDatabaseKeyPolicy", "HasDatabaseKmsKeys"),
    ):
        assert resources[name]["Condition"] == cond
        assert resources[name]["Properties"]["Roles"] == [{"Ref": "CreateRole"}]
    extra = actions_of(
        [
            s
            for s in role_statements(resources, "CreateRole", include_conditional=True)
            if s.get("Sid") in ("PassSourceEnhancedMonitoringRole", "UseDatabaseKeyThroughRdsOnly")
        ]
    )
    # RDS User Guide, "AWS KMS key management": kms:CreateGrant and kms:DescribeKey on the key
    assert extra == sorted(["iam:PassRole", "kms:CreateGrant", "kms:DescribeKey"])


def test_topic_key(resources):
    key = resources["EncryptionKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    principals = [s["Principal"] for s in key["KeyPolicy"]["Statement"]]
    assert {"Service": "cloudwatch.amazonaws.com"} in principals
    for role in PUBLISHING_ROLES:
        assert {"AWS": {"Fn::GetAtt": [role, "Arn"]}} in principals
    role_principals = [p for p in principals if "Fn::GetAtt" in str(p)]
    assert sorted(p["AWS"]["Fn::GetAtt"][0] for p in role_principals) == sorted(PUBLISHING_ROLES)
    for s in key["KeyPolicy"]["Statement"]:
        if s["Principal"] in role_principals:
            assert sorted(as_list(s["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
    assert {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}} in principals
    assert resources["NotificationTopic"]["Properties"]["KmsMasterKeyId"] == {"Ref": "EncryptionKey"}


def test_log_groups_have_retention_parameter(resources):
    groups = [r for r in resources.values() if r["Type"] == "AWS::Logs::LogGroup"]
    # + the state machines'; the sql function's exists only with its network (see below)
    assert len([g for g in groups if "Condition" not in g]) == len(WORKER_FUNCTIONS) + len(STATE_MACHINES) == 13
    for g in groups:
        assert g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_key_policy_lets_logs_encrypt_every_log_group(resources):
    (s,) = [s for s in resources["EncryptionKey"]["Properties"]["KeyPolicy"]["Statement"]
            if s["Sid"] == "CloudWatchLogsEncryptsThisStacksLogGroups"]
    patterns = [p["Fn::Sub"] for p in s["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]]
    prefix = "arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
    for name, res in resources.items():
        if res["Type"] != "AWS::Logs::LogGroup":
            continue
        assert res["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["EncryptionKey", "Arn"]}, name
        arn = prefix + res["Properties"]["LogGroupName"]["Fn::Sub"]
        assert any(re.fullmatch(re.escape(p).replace(r"\*", ".*"), arn) for p in patterns), name


# ---------------------------------------------------------------------------
# Cross-checks against the Service Authorization Reference data (parliament)
# ---------------------------------------------------------------------------
# Actions newer than the IAM definitions parliament ships (infra/requirements.txt pins it):
# their rows in the Service Authorization Reference are checked by hand.
# rds:DescribeDBMajorEngineVersions: "Describes the properties of specific major versions of
# DB engines", no resource type, no condition key (Actions, resources, and condition keys for
# Amazon RDS).
NEWER_THAN_PARLIAMENT = {"rds:DescribeDBMajorEngineVersions"}


def test_no_resource_level_allow_list_matches_reference():
    import parliament  # infra/requirements.txt: a missing tool fails, naming it
    for action in sorted(NO_RESOURCE_LEVEL - NEWER_THAN_PARLIAMENT):
        service, name = action.split(":")
        (svc,) = [s for s in parliament.iam_definition if s["prefix"] == service]
        (privilege,) = [p for p in svc["privileges"] if p["privilege"] == name]
        assert all(not rt["resource_type"] for rt in privilege["resource_types"]), action


def test_parliament_finds_nothing(resolved):
    import parliament  # infra/requirements.txt: a missing tool fails, naming it
    resources = load_template()["Resources"]
    roles = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    problems = {}
    mismatches = set()
    for role in roles:
        doc = {
            "Version": "2012-10-17",
            "Statement": _statements_of(resolved, role),
        }
        policy = parliament.analyze_policy_string(json.dumps(doc))
        findings = []
        for f in policy.findings:
            if f.issue == "UNKNOWN_ACTION" and any(a in str(f.detail) for a in NEWER_THAN_PARLIAMENT):
                continue
            if f.issue == "RESOURCE_MISMATCH":
                for item in f.detail:
                    mismatches.add((role, item["action"], item["required_format"]))
            else:
                findings.append(f"{f.issue}: {f.detail}")
        if findings:
            problems[role] = findings
    assert not problems, json.dumps(problems, indent=2, default=str)
    assert mismatches == set(EXPECTED_RESOURCE_MISMATCH), sorted(mismatches ^ set(EXPECTED_RESOURCE_MISMATCH))


# ---------------------------------------------------------------------------
# The real SAM transform (aws-sam-translator, pinned): what CloudFormation gets
# ---------------------------------------------------------------------------
def test_sam_transform_adds_nothing_and_lints_clean(monkeypatch):
    import cfnlint.api as cfnlint_api  # infra/requirements.txt
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    tpl = load_template()
    for name, res in tpl["Resources"].items():
        # sam deploy uploads the local artefacts and rewrites these to S3 first
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
        if res["Type"] == "AWS::Serverless::StateMachine":
            res["Properties"]["DefinitionUri"] = f"s3://artifacts/{name}.asl.json"

    class NoManagedPolicies:
        def load(self):
            return {}

    out = transform(tpl, {}, NoManagedPolicies())
    # Every role is ours: SAM must not have created any role or policy.
    assert set(out["Resources"]) == set(tpl["Resources"])
    for function in WORKER_FUNCTIONS:
        assert out["Resources"][function]["Type"] == "AWS::Lambda::Function"
    for machine, spec in STATE_MACHINES.items():
        sm = out["Resources"][machine]
        assert sm["Type"] == "AWS::StepFunctions::StateMachine"
        assert sm["Properties"]["StateMachineType"] == "STANDARD"
        assert sm["Properties"]["StateMachineName"] == {"Fn::Sub": spec["name"]}
        assert sm["Properties"]["RoleArn"] == {"Fn::GetAtt": [spec["role"], "Arn"]}
    matches = cfnlint_api.lint(json.dumps(out))
    assert not matches, [str(m) for m in matches]


# ---------------------------------------------------------------------------
# Alarm and dashboard
# ---------------------------------------------------------------------------
def test_remediation_surge_alarm(resources):
    props = resources["RemediationSurgeAlarm"]["Properties"]
    (query,) = props["Metrics"]
    assert query["Expression"] == (
        "SELECT SUM(Remediations) FROM SCHEMA(RdsBlueGreen, DBIdentifier, Outcome, Trigger)"
    )
    assert query["Period"] == 3600 and query["ReturnData"] is True
    assert props["Threshold"] == {"Ref": "RemediationSurgeThreshold"}
    assert props["ComparisonOperator"] == "GreaterThanOrEqualToThreshold"
    assert props["AlarmActions"] == [{"Ref": "NotificationTopic"}]


def test_dashboard_body_is_json_with_the_required_widgets(template, resources):
    body = resources["Dashboard"]["Properties"]["DashboardBody"]["Fn::Sub"]
    assert "${!" not in body
    rendered = body.replace("${AWS::Region}", "us-east-1").replace(
        "${RemediationSurgeThreshold}", str(template["Parameters"]["RemediationSurgeThreshold"]["Default"])
    )
    assert "${" not in rendered
    dashboard = json.loads(rendered)
    expressions = [
        m["expression"]
        for w in dashboard["widgets"]
        for row in w["properties"]["metrics"]
        for m in row
        if isinstance(m, dict)
    ]
    text = "\n".join(expressions)
    assert "SEARCH('{RdsBlueGreen,DBIdentifier,Outcome,Trigger} MetricName=\"Remediations\"'" in text
    assert "GROUP BY Outcome" in text and "GROUP BY Trigger" in text
    for metric in ("UpgradeSeconds", "GreenProvisioningSeconds", "SwitchoverSeconds",
                   "ReplicaLag", "OldestReplicationSlotLag", "AuroraBinlogReplicaLag"):
        assert metric in text, metric


# ---------------------------------------------------------------------------
# The sql worker (crates/sql): the only role that reaches inside databases
# ---------------------------------------------------------------------------
SQL_POLICIES = {
    # policy resource: (condition, its only action, its resource)
    "SqlReadSecretsPolicy": ("HasDatabaseSecrets", "secretsmanager:GetSecretValue", {"Ref": "DatabaseSecretArns"}),
    "SqlSecretKeysPolicy": ("HasDatabaseSecretKeys", "kms:Decrypt", {"Ref": "DatabaseSecretKmsKeyArns"}),
    "SqlConnectPolicy": ("HasDatabaseIamUser", "rds-db:connect", {
        "Fn::Sub": "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:*/${DatabaseIamUser}"}),
}


def test_sql_role_statements(resources):
    statements = [s for s in role_statements(resources, "SqlRole") if s.get("Sid") != "WriteOwnLogs"]
    (logs,) = [s for s in role_statements(resources, "SqlRole") if s.get("Sid") == "WriteOwnLogs"]
    assert logs["Resource"] == {"Fn::GetAtt": ["SqlLogGroup", "Arn"]}
    for s in statements:
        if s["Action"] == "ec2:DescribeNetworkInterfaces":
            assert s["Resource"] == "*"
            continue
        for r in as_list(s["Resource"]):
            assert r["Fn::Sub"].startswith("arn:${AWS::Partition}:"), r
            assert ":${AWS::Region}:${AWS::AccountId}:" in r["Fn::Sub"], r
    (create,) = [s for s in statements if s["Action"] == "ec2:CreateNetworkInterface"]
    assert any(r["Fn::Sub"].endswith(":security-group/${DatabaseSecurityGroupId}") for r in create["Resource"])


@pytest.mark.parametrize("policy", sorted(SQL_POLICIES))
def test_sql_reads_only_the_listed_secrets_and_connects_as_one_user(resources, policy):
    condition, action, resource = SQL_POLICIES[policy]
    res = resources[policy]
    assert res["Condition"] == condition
    assert res["Properties"]["Roles"] == [{"Ref": "SqlRole"}]
    (statement,) = as_list(res["Properties"]["PolicyDocument"]["Statement"])
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Allow", action, resource)
    if action == "kms:Decrypt":
        assert statement["Condition"] == {"StringEquals": {
            "kms:ViaService": {"Fn::Sub": "secretsmanager.${AWS::Region}.${AWS::URLSuffix}"}}}


def test_the_sql_function_exists_only_with_its_network(template, resources):
    conditions = template["Conditions"]
    network = conditions["HasDatabaseNetwork"]["Fn::And"]
    assert {"Fn::Not": [{"Fn::Equals": [{"Fn::Join": ["", {"Ref": "DatabaseSubnetIds"}]}, ""]}]} in network
    assert {"Fn::Not": [{"Fn::Equals": [{"Ref": "DatabaseSecurityGroupId"}, ""]}]} in network
    for name in ("SqlFunction", "SqlRole", "SqlLogGroup"):
        assert resources[name]["Condition"] == "HasDatabaseNetwork", name
    for name in ("HasDatabaseSecrets", "HasDatabaseIamUser"):
        assert {"Condition": "HasDatabaseNetwork"} in conditions[name]["Fn::And"], name
    assert template["Outputs"]["SqlFunctionArn"]["Condition"] == "HasDatabaseNetwork"


def test_sql_function_wiring(template, resources):
    props = resources["SqlFunction"]["Properties"]
    assert props["CodeUri"] == "../target/lambda/sql/"
    assert props["Role"] == {"Fn::GetAtt": ["SqlRole", "Arn"]}
    assert props["Timeout"] == 60
    assert props["VpcConfig"] == {"SubnetIds": {"Ref": "DatabaseSubnetIds"},
                                  "SecurityGroupIds": [{"Ref": "DatabaseSecurityGroupId"}]}
    env = props["Environment"]["Variables"]
    assert env["DATABASE_CA_BUNDLE"] == {"Ref": "DatabaseCaBundlePath"}
    assert props["LoggingConfig"]["LogGroup"] == {"Ref": "SqlLogGroup"}
    group = resources["SqlLogGroup"]["Properties"]
    assert group["LogGroupName"] == {"Fn::Sub": "/aws/lambda/${AWS::StackName}-sql"}
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_no_other_role_or_function_reaches_databases(resources):
    database_actions = {"secretsmanager:GetSecretValue", "rds-db:connect", "ec2:CreateNetworkInterface"}
    for role in WORKER_LOG_GROUP:
        granted = set(actions_of(role_statements(resources, role, include_conditional=True)))
        assert not granted & database_actions, role
    for function in WORKER_FUNCTIONS:
        assert "VpcConfig" not in resources[function]["Properties"], function


def test_the_sql_worker_is_wired_only_with_its_network(resources):
    """With DatabaseSubnetIds and DatabaseSecurityGroupId: the upgrade machine invokes the sql
    function and the precheck admits runs naming a way in; without: the substitution names a
    function that does not exist and the precheck refuses such runs (DATABASE_CHECKS off)."""
    subs = resources["UpgradeStateMachine"]["Properties"]["DefinitionSubstitutions"]
    cond, deployed, missing = subs["SqlFunctionArn"]["Fn::If"]
    assert cond == "HasDatabaseNetwork"
    assert deployed == {"Fn::GetAtt": ["SqlFunction", "Arn"]}
    assert "sql-not-deployed" in missing["Fn::Sub"]
    env = resources["PrecheckFunction"]["Properties"]["Environment"]["Variables"]
    assert env["DATABASE_CHECKS"] == {"Fn::If": ["HasDatabaseNetwork", "on", "off"]}
    policy = resources["StateMachineInvokeSqlPolicy"]
    assert policy["Condition"] == "HasDatabaseNetwork"
    assert policy["Properties"]["Roles"] == [{"Ref": "StateMachineRole"}]
    (statement,) = policy["Properties"]["PolicyDocument"]["Statement"]
    assert statement["Action"] == "lambda:InvokeFunction"
    assert statement["Resource"] == [{"Fn::GetAtt": ["SqlFunction", "Arn"]}, {"Fn::Sub": "${SqlFunction.Arn}:*"}]
    # unconditionally, the state machine may invoke no sql function
    assert "SqlFunction" not in json.dumps(role_statements(resources, "StateMachineRole"))

"""Policy tests for infra/template.yaml.

Run:  .venv/bin/python -m pytest infra/test_policies.py
(infra/lint.sh runs them after cfn-lint and checkov.)

What is asserted:
* each worker role grants exactly its step's actions (the lists below, sorted),
  plus write access to its own log group and nothing else;
* the state machine and trigger roles grant exactly what they need;
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

import pytest
import yaml

TEMPLATE = pathlib.Path(__file__).with_name("template.yaml")

OPT_IN_KEY = "aws:ResourceTag/bluegreen:managed"  # on databases: value "true"
# on blue/green deployments: the tag the create worker puts on them
# (crates/domain/src/plan.rs MANAGED_BY_TAG / MANAGED_BY_VALUE)
DEPLOYMENT_TAG_KEY = "bluegreen:managed-by"
DEPLOYMENT_TAG_VALUE = "rds-bluegreen"

# ---------------------------------------------------------------------------
# Expected actions per worker role (logs:CreateLogStream/PutLogEvents on the
# role's own log group come on top, asserted separately).
# ---------------------------------------------------------------------------
EXPECTED_STEP_ACTIONS = {
    # Fleet requests: paginated, unfiltered describes of the whole account and Region.
    "ResolveRole": [
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:DescribeBlueGreenDeployments",
    ],
    "PrecheckRole": [
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:DescribeDBEngineVersions",
        "rds:DescribeDBParameterGroups",
        "rds:DescribeDBParameters",
        "rds:DescribeDBClusterParameterGroups",
        "rds:DescribeDBClusterParameters",
        "rds:DescribeOptionGroups",
        "rds:DescribeBlueGreenDeployments",
        "rds:DescribePendingMaintenanceActions",
        "rds:ListTagsForResource",
        "cloudwatch:GetMetricStatistics",
    ],
    "CreateRole": [
        "rds:CreateBlueGreenDeployment",
        "rds:DescribeBlueGreenDeployments",
        "rds:AddTagsToResource",
        "rds:CreateDBInstanceReadReplica",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:CreateDBCluster",
        "rds:CreateDBInstance",
        "rds:CreateDBClusterEndpoint",
    ],
    "WaitRole": [
        "rds:DescribeBlueGreenDeployments",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
    ],
    "GuardrailsRole": [
        "rds:DescribeBlueGreenDeployments",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "cloudwatch:GetMetricStatistics",
    ],
    "SwitchoverRole": [
        "rds:SwitchoverBlueGreenDeployment",
        "rds:DescribeBlueGreenDeployments",
        "rds:ModifyDBInstance",
        "rds:PromoteReadReplica",
        "rds:ModifyDBCluster",
        "rds:PromoteReadReplicaDBCluster",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
    ],
    "VerifyRole": [
        "rds:DescribeBlueGreenDeployments",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
    ],
    "CleanupRole": [
        "rds:DescribeBlueGreenDeployments",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:CreateDBSnapshot",
        "rds:CreateDBClusterSnapshot",
        "rds:DescribeDBSnapshots",
        "rds:DescribeDBClusterSnapshots",
        "rds:AddTagsToResource",
        "rds:DeleteBlueGreenDeployment",
        "rds:ModifyDBInstance",
        "rds:ModifyDBCluster",
        "rds:DeleteDBInstance",
        "rds:DeleteDBCluster",
    ],
    "AbortRole": [
        "rds:DescribeBlueGreenDeployments",
        "rds:DescribeDBInstances",
        "rds:DescribeDBClusters",
        "rds:DeleteBlueGreenDeployment",
        "rds:ModifyDBInstance",
        "rds:ModifyDBCluster",
        "rds:DeleteDBInstance",
        "rds:DeleteDBCluster",
        # Aurora User Guide, "Authorizing access to blue/green deployment operations":
        # deleting a deployment (with green) also needs DeleteDBClusterEndpoint.
        "rds:DeleteDBClusterEndpoint",
    ],
    "RemediationMetricRole": [
        "cloudwatch:PutMetricData",
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    ],
    # One closing notification per fleet run; no RDS, no CloudWatch.
    "TallyRole": [
        "sns:Publish",
        "kms:GenerateDataKey",
        "kms:Decrypt",
    ],
}

# Roles that publish to the (KMS-encrypted) notification topic, and the policy resource
# that carries their log/SNS/KMS statements (the key policy names the role: no cycle).
PUBLISHING_ROLES = {
    "RemediationMetricRole": "RemediationMetricNotifyPolicy",
    "TallyRole": "TallyNotifyPolicy",
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
    "TallyRole": "TallyLogGroup",
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
    "TallyFunction": ("tally", "TallyRole", 30),
}

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
@pytest.mark.parametrize("role", sorted(EXPECTED_STEP_ACTIONS))
def test_worker_role_grants_exactly_its_steps_actions(resources, role):
    statements = [
        s for s in role_statements(resources, role) if s.get("Sid") != "WriteOwnLogs"
    ]
    assert actions_of(statements) == sorted(EXPECTED_STEP_ACTIONS[role])


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
    assert sorted(roles) == sorted(set(roles)) == sorted(EXPECTED_STEP_ACTIONS)


def test_state_machine_role(resources):
    statements = role_statements(resources, "StateMachineRole")
    invoke = [s for s in statements if "lambda:InvokeFunction" in as_list(s["Action"])]
    assert len(invoke) == 1 and as_list(invoke[0]["Action"]) == ["lambda:InvokeFunction"]
    unqualified, qualified = [], []
    for r in as_list(invoke[0]["Resource"]):
        if "Fn::GetAtt" in r:
            assert r["Fn::GetAtt"][1] == "Arn", r
            unqualified.append(r["Fn::GetAtt"][0])
        else:
            m = re.fullmatch(r"\$\{(\w+)\.Arn\}:\*", r["Fn::Sub"])
            assert m, r
            qualified.append(m.group(1))
    assert len(WORKER_FUNCTIONS) == 11
    # exactly the eleven workers, each unqualified and as ":*" (versions/aliases), once
    assert sorted(unqualified) == sorted(qualified) == sorted(WORKER_FUNCTIONS)
    assert invoke[0]["Sid"] == "InvokeTheElevenWorkersOnly"
    assert actions_of(statements) == sorted(["lambda:InvokeFunction", *STEP_FUNCTIONS_LOG_DELIVERY])


def test_state_machine_definition(resources):
    sm = resources["UpgradeStateMachine"]
    props = sm["Properties"]
    assert sm["Type"] == "AWS::Serverless::StateMachine"
    assert props["Type"] == "STANDARD"
    assert props["DefinitionUri"] == "../statemachine/upgrade.asl.json"
    subs = props["DefinitionSubstitutions"]
    expected = {f"{f[:-len('Function')]}FunctionArn": f for f in WORKER_FUNCTIONS}
    for key, function in expected.items():
        assert subs[key] == {"Fn::GetAtt": [function, "Arn"]}, key
    assert subs["NotificationTopicArn"] == {"Ref": "NotificationTopic"}
    assert set(subs) == set(expected) | {"NotificationTopicArn"}
    # every ${...} placeholder of the definition is substituted, and every worker is used
    # (NotificationTopicArn is offered but the definition may leave it to the workers' env)
    definition = (TEMPLATE.parent / props["DefinitionUri"]).read_text(encoding="utf-8")
    placeholders = set(re.findall(r"\$\{(\w+)\}", definition))
    assert placeholders <= set(subs), placeholders - set(subs)
    assert set(expected) <= placeholders, set(expected) - placeholders
    assert props["Logging"]["Level"] == "ALL"
    assert props["Logging"]["IncludeExecutionData"] is True


@pytest.mark.parametrize("role", ["SchedulerRole", "AlarmTriggerRole"])
def test_trigger_roles_start_this_state_machine_only(resources, role):
    statements = role_statements(resources, role)
    assert actions_of(statements) == ["states:StartExecution"]
    assert all(s["Resource"] == {"Ref": "UpgradeStateMachine"} for s in statements)


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


def test_tally_notification_statements_mirror_remediation_metric(resources):
    def shape(policy):
        return [
            (s["Sid"], sorted(as_list(s["Action"])), s["Resource"])
            for s in resources[policy]["Properties"]["PolicyDocument"]["Statement"]
            if s["Sid"] != "WriteOwnLogs"
        ]

    assert shape("TallyNotifyPolicy") == shape("RemediationMetricNotifyPolicy")


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


def test_mutating_rds_actions_require_opt_in_tag(resources):
    for role in EXPECTED_STEP_ACTIONS:
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
    assert extra == sorted(["iam:PassRole", "kms:CreateGrant", "kms:DescribeKey", "kms:Decrypt", "kms:GenerateDataKey"])


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
    # + the state machine's; the sql function's exists only with its network (see below)
    assert len([g for g in groups if "Condition" not in g]) == len(WORKER_FUNCTIONS) + 1 == 12
    for g in groups:
        assert g["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# ---------------------------------------------------------------------------
# Cross-checks against the Service Authorization Reference data (parliament)
# ---------------------------------------------------------------------------
def _resolve(value, role_names):
    """Render intrinsic functions into plausible literal strings for parliament."""
    if isinstance(value, list):
        return [_resolve(v, role_names) for v in value]
    if isinstance(value, dict):
        if "Fn::Sub" in value:
            text = value["Fn::Sub"]
            text = text.replace("${AWS::Partition}", "aws").replace("${AWS::Region}", "us-east-1")
            text = text.replace("${AWS::AccountId}", "123456789012").replace("${AWS::URLSuffix}", "amazonaws.com")
            text = re.sub(r"\$\{(\w+)\.Arn\}", lambda m: f"arn:aws:lambda:us-east-1:123456789012:function:{m.group(1)}", text)
            return text
        if "Fn::GetAtt" in value:
            res = value["Fn::GetAtt"][0]
            if res.endswith("LogGroup"):
                return f"arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/{res}:*"
            if res.endswith("Function"):
                return f"arn:aws:lambda:us-east-1:123456789012:function:{res}"
            if res == "EncryptionKey":
                return "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
            return f"arn:aws:iam::123456789012:role/{res}"
        if "Ref" in value:
            ref = value["Ref"]
            if ref == "NotificationTopic":
                return "arn:aws:sns:us-east-1:123456789012:rds-bluegreen"
            if ref == "UpgradeStateMachine":
                return "arn:aws:states:us-east-1:123456789012:stateMachine:upgrade"
            if ref == "EnhancedMonitoringRoleArns":
                return ["arn:aws:iam::123456789012:role/rds-monitoring-role"]
            if ref == "DatabaseKmsKeyArns":
                return ["arn:aws:kms:us-east-1:123456789012:key/abcd1234-12ab-34cd-56ef-1234567890ab"]
            if ref == "DatabaseSecretArns":
                return ["arn:aws:secretsmanager:us-east-1:123456789012:secret:orders/bluegreen-check-*"]
            if ref == "DatabaseSecretKmsKeyArns":
                return ["arn:aws:kms:us-east-1:123456789012:key/0000abcd-12ab-34cd-56ef-1234567890ab"]
            return ref
        return {k: _resolve(v, role_names) for k, v in value.items()}
    return value


def test_no_resource_level_allow_list_matches_reference():
    parliament = pytest.importorskip("parliament")
    for action in sorted(NO_RESOURCE_LEVEL):
        service, name = action.split(":")
        (svc,) = [s for s in parliament.iam_definition if s["prefix"] == service]
        (privilege,) = [p for p in svc["privileges"] if p["privilege"] == name]
        assert all(not rt["resource_type"] for rt in privilege["resource_types"]), action


def test_parliament_finds_nothing():
    parliament = pytest.importorskip("parliament")
    resources = load_template()["Resources"]
    roles = [n for n, r in resources.items() if r["Type"] == "AWS::IAM::Role"]
    problems = {}
    mismatches = set()
    for role in roles:
        doc = {
            "Version": "2012-10-17",
            "Statement": _resolve(role_statements(resources, role, include_conditional=True), roles),
        }
        policy = parliament.analyze_policy_string(json.dumps(doc))
        findings = []
        for f in policy.findings:
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
    pytest.importorskip("samtranslator")
    cfnlint_api = pytest.importorskip("cfnlint.api")
    from samtranslator.translator.transform import transform

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    tpl = load_template()
    for name, res in tpl["Resources"].items():
        # sam deploy uploads the local artefacts and rewrites these to S3 first
        if res["Type"] == "AWS::Serverless::Function":
            res["Properties"]["CodeUri"] = f"s3://artifacts/{name}.zip"
        if res["Type"] == "AWS::Serverless::StateMachine":
            res["Properties"]["DefinitionUri"] = "s3://artifacts/upgrade.asl.json"

    class NoManagedPolicies:
        def load(self):
            return {}

    out = transform(tpl, {}, NoManagedPolicies())
    # Every role is ours: SAM must not have created any role or policy.
    assert set(out["Resources"]) == set(tpl["Resources"])
    for function in WORKER_FUNCTIONS:
        assert out["Resources"][function]["Type"] == "AWS::Lambda::Function"
    sm = out["Resources"]["UpgradeStateMachine"]
    assert sm["Type"] == "AWS::StepFunctions::StateMachine"
    assert sm["Properties"]["StateMachineType"] == "STANDARD"
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
SQL_ROLE_ACTIONS = [
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusters",
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
    "ec2:DescribeNetworkInterfaces",
]
SQL_POLICIES = {
    # policy resource: (condition, its only action, its resource)
    "SqlReadSecretsPolicy": ("HasDatabaseSecrets", "secretsmanager:GetSecretValue", {"Ref": "DatabaseSecretArns"}),
    "SqlSecretKeysPolicy": ("HasDatabaseSecretKeys", "kms:Decrypt", {"Ref": "DatabaseSecretKmsKeyArns"}),
    "SqlConnectPolicy": ("HasDatabaseIamUser", "rds-db:connect", {
        "Fn::Sub": "arn:${AWS::Partition}:rds-db:${AWS::Region}:${AWS::AccountId}:dbuser:*/${DatabaseIamUser}"}),
}


def test_sql_role_grants_exactly_its_actions(resources):
    statements = [s for s in role_statements(resources, "SqlRole") if s.get("Sid") != "WriteOwnLogs"]
    assert actions_of(statements) == sorted(SQL_ROLE_ACTIONS)
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
    for role in EXPECTED_STEP_ACTIONS:
        granted = set(actions_of(role_statements(resources, role, include_conditional=True)))
        assert not granted & database_actions, role
    for function in WORKER_FUNCTIONS:
        assert "VpcConfig" not in resources[function]["Properties"], function

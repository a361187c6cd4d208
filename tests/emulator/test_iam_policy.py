"""Self-tests of the IAM policy evaluator (tests/emulator/iam_policy.py): one or more tests per
rule, each naming the AWS documentation page the rule comes from.

Run: .venv/bin/python -m pytest -q -p no:cacheprovider tests/emulator/test_iam_policy.py
"""
import time

import pytest

from iam_policy import (ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Decision, Principal, authorize,
                        evaluate_identity, evaluate_resource_policy, key_policy_allows_iam)

IAM = "https://docs.aws.amazon.com/IAM/latest/UserGuide/"
ACCOUNT = "123456789012"
OTHER = "210987654321"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/BlueGreenRole"
SESSION_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/BlueGreenRole/session-1"
ROLE = Principal(SESSION_ARN, ACCOUNT, role_arn=ROLE_ARN)
OTHER_ROLE = Principal(f"arn:aws:sts::{ACCOUNT}:assumed-role/Other/s", ACCOUNT,
                       role_arn=f"arn:aws:iam::{ACCOUNT}:role/Other")
FOREIGN_ROLE = Principal(f"arn:aws:sts::{OTHER}:assumed-role/X/s", OTHER,
                         role_arn=f"arn:aws:iam::{OTHER}:role/X")
ROOT = Principal(f"arn:aws:iam::{ACCOUNT}:root", ACCOUNT)
LAMBDA = Principal("lambda.amazonaws.com", "", service="lambda.amazonaws.com")
DB = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders"


def policy(*statements, version="2012-10-17"):
    doc = {"Statement": list(statements)}
    if version:
        doc["Version"] = version
    return doc


def allow(action="*", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def effect(statements, action="rds:DescribeDBInstances", resource="*", context=None, version="2012-10-17"):
    if isinstance(statements, dict):
        statements = [statements]
    return evaluate_identity([policy(*statements, version=version)], action, resource, context or {}).effect


def cond(block, context, action="s3:GetObject", resource="*"):
    """Effect of a single Allow statement with the given Condition block."""
    return effect(allow(Condition=block), action, resource, context)


# --------------------------------------------------------------------------------------------
# Evaluation logic: explicit deny > allow > implicit deny
# --------------------------------------------------------------------------------------------

def test_default_is_implicit_deny():
    """reference_policies_evaluation-logic.html: every request is implicitly denied unless an
    Allow matches. https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html"""
    assert evaluate_identity([], "rds:DescribeDBInstances", "*", {}) == Decision(IMPLICIT_DENY, None)
    assert evaluate_identity([policy(allow("sns:Publish"))], "rds:DescribeDBInstances", "*", {}) \
        == Decision(IMPLICIT_DENY, None)


def test_allow_names_the_statement_sid_or_index():
    """reference_policies_evaluation-logic.html (an explicit Allow grants);
    reference_policies_elements_sid.html (Sid is optional, hence "#<index>")."""
    doc = policy(allow("sns:Publish"), allow("rds:*", Sid="Rds"))
    assert evaluate_identity([doc], "rds:DescribeDBInstances", "*", {}) == Decision(ALLOW, "Rds")
    assert evaluate_identity([doc], "sns:Publish", "*", {}) == Decision(ALLOW, "#0")


@pytest.mark.parametrize("order", ["deny-first", "deny-last"])
def test_explicit_deny_wins_regardless_of_order(order):
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-denyallow.html
    "An explicit deny in any policy overrides any allows" – order does not matter."""
    a, d = allow("rds:*", Sid="A"), deny("rds:DeleteDBInstance", Sid="D")
    stmts = [d, a] if order == "deny-first" else [a, d]
    assert evaluate_identity([policy(*stmts)], "rds:DeleteDBInstance", DB, {}) == Decision(EXPLICIT_DENY, "D")
    assert evaluate_identity([policy(*stmts)], "rds:StopDBInstance", DB, {}) == Decision(ALLOW, "A")
    # ... and across policies too
    assert evaluate_identity([policy(a), policy(d)], "rds:DeleteDBInstance", DB, {}).effect == EXPLICIT_DENY


def test_statement_may_be_a_single_object_and_elements_strings_or_lists():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    (Statement is a statement or an array; Action/Resource are a string or an array)."""
    doc = {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": ["sns:Publish", "rds:Stop*"],
                                                   "Resource": [DB, "arn:aws:sns:*"]}}
    assert evaluate_identity([doc], "rds:StopDBInstance", DB, {}).effect == ALLOW
    assert evaluate_identity([doc], "rds:StartDBInstance", DB, {}).effect == IMPLICIT_DENY


# --------------------------------------------------------------------------------------------
# Action / NotAction
# --------------------------------------------------------------------------------------------

def test_action_wildcards_and_case_insensitivity():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
    Action values are case-insensitive; * and ? wildcards."""
    assert effect(allow("rds:Describe*"), "rds:DescribeDBInstances") == ALLOW
    assert effect(allow("RDS:describe*"), "rds:DescribeDBClusters") == ALLOW
    assert effect(allow("rds:Describe*"), "rds:ModifyDBInstance") == IMPLICIT_DENY
    assert effect(allow("kms:GenerateDataKey*"), "kms:GenerateDataKeyWithoutPlaintext") == ALLOW
    assert effect(allow("kms:GenerateDataKey*"), "kms:Decrypt") == IMPLICIT_DENY
    assert effect(allow("*"), "anything:AtAll") == ALLOW
    assert effect(allow("rds:Stop?BInstance"), "rds:StopDBInstance") == ALLOW
    assert effect(allow("rds:Stop?Instance"), "rds:StopDBInstance") == IMPLICIT_DENY
    assert effect(allow("rds:*"), "rdsx:StopDBInstance") == IMPLICIT_DENY


def test_not_action():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notaction.html
    Allow + NotAction allows everything except the listed actions; Deny + NotAction denies them."""
    s = {"Effect": "Allow", "NotAction": ["iam:*", "kms:Decrypt"], "Resource": "*"}
    assert effect(s, "rds:StopDBInstance") == ALLOW
    assert effect(s, "iam:CreateUser") == IMPLICIT_DENY
    assert effect(s, "KMS:decrypt") == IMPLICIT_DENY
    d = {"Effect": "Deny", "NotAction": "rds:Describe*", "Resource": "*"}
    assert effect([allow(), d], "rds:DeleteDBInstance") == EXPLICIT_DENY
    assert effect([allow(), d], "rds:DescribeDBInstances") == ALLOW


# --------------------------------------------------------------------------------------------
# Resource / NotResource
# --------------------------------------------------------------------------------------------

def test_resource_wildcards_are_case_sensitive_and_cross_separators():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    ARNs with * (any characters, also past ':' and '/') and ? (one character); case-sensitive."""
    assert effect(allow(resource="arn:aws:rds:us-east-1:123456789012:db:*"), resource=DB) == ALLOW
    assert effect(allow(resource="arn:aws:rds:*"), resource=DB) == ALLOW                 # crosses ':'
    assert effect(allow(resource="arn:aws:s3:::bucket/*"), resource="arn:aws:s3:::bucket/a/b/c") == ALLOW
    assert effect(allow(resource="arn:aws:rds:us-east-1:123456789012:db:order?"), resource=DB) == ALLOW
    assert effect(allow(resource="arn:aws:rds:us-east-1:123456789012:db:ORDERS"), resource=DB) == IMPLICIT_DENY
    assert effect(allow(resource="arn:aws:rds:us-east-1:123456789012:db:orders-*"), resource=DB) == IMPLICIT_DENY
    assert effect(allow(resource="arn:aws:rds:us-east-1:123456789012:db:order?"),
                  resource=DB + "x") == IMPLICIT_DENY


def test_star_resource_matches_everything_and_star_request_only_star():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
    "Resource": "*" is every resource; an action without resource-level permissions ("*" in the
    request) is only allowed by "Resource": "*"."""
    assert effect(allow(resource="*"), resource=DB) == ALLOW
    assert effect(allow(resource="*"), resource="*") == ALLOW
    assert effect(allow(resource="**"), resource="*") == ALLOW
    assert effect(allow(resource="arn:aws:rds:*"), resource="*") == IMPLICIT_DENY
    assert effect(allow(resource=["arn:aws:rds:*", "*"]), resource="*") == ALLOW


def test_not_resource():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notresource.html"""
    s = {"Effect": "Allow", "Action": "rds:*", "NotResource": "arn:aws:rds:*:*:db:prod-*"}
    assert effect(s, "rds:StopDBInstance", DB) == ALLOW
    assert effect(s, "rds:StopDBInstance", f"arn:aws:rds:us-east-1:{ACCOUNT}:db:prod-1") == IMPLICIT_DENY
    d = {"Effect": "Deny", "Action": "rds:*", "NotResource": DB}
    assert effect([allow(), d], "rds:StopDBInstance", DB) == ALLOW
    assert effect([allow(), d], "rds:StopDBInstance", DB + "-2") == EXPLICIT_DENY


# --------------------------------------------------------------------------------------------
# Condition element: logic, operators
# --------------------------------------------------------------------------------------------

def test_condition_and_across_operators_and_keys_or_across_values():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html
    and reference_policies_elements_condition.html: operators AND, keys AND, values of one key OR."""
    block = {"StringEquals": {"aws:RequestedRegion": ["us-east-1", "eu-west-1"], "aws:PrincipalTag/team": "db"},
             "Bool": {"aws:SecureTransport": "true"}}
    ok = {"aws:RequestedRegion": "eu-west-1", "aws:PrincipalTag/team": "db", "aws:SecureTransport": True}
    assert cond(block, ok) == ALLOW
    assert cond(block, {**ok, "aws:RequestedRegion": "ap-south-1"}) == IMPLICIT_DENY
    assert cond(block, {**ok, "aws:PrincipalTag/team": "web"}) == IMPLICIT_DENY
    assert cond(block, {**ok, "aws:SecureTransport": False}) == IMPLICIT_DENY


def test_condition_key_names_case_insensitive_values_case_sensitive():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    "Condition key names are not case-sensitive"; StringEquals values are case-sensitive."""
    block = {"StringEquals": {"AWS:ResourceTag/BlueGreen:Managed": "true"}}
    assert cond(block, {"aws:resourcetag/bluegreen:managed": "true"}) == ALLOW
    assert cond(block, {"aws:ResourceTag/bluegreen:managed": "TRUE"}) == IMPLICIT_DENY


def test_string_operators():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String"""
    ctx = {"k": "Blue-Green"}
    assert cond({"StringEquals": {"k": "Blue-Green"}}, ctx) == ALLOW
    assert cond({"StringEquals": {"k": "blue-green"}}, ctx) == IMPLICIT_DENY
    assert cond({"StringNotEquals": {"k": ["a", "b"]}}, ctx) == ALLOW
    assert cond({"StringNotEquals": {"k": ["a", "Blue-Green"]}}, ctx) == IMPLICIT_DENY  # NOR of values
    assert cond({"StringEqualsIgnoreCase": {"k": "BLUE-green"}}, ctx) == ALLOW
    assert cond({"StringEqualsIgnoreCase": {"k": "blue"}}, ctx) == IMPLICIT_DENY
    assert cond({"StringNotEqualsIgnoreCase": {"k": "blue-GREEN"}}, ctx) == IMPLICIT_DENY
    assert cond({"StringNotEqualsIgnoreCase": {"k": "red"}}, ctx) == ALLOW
    # StringEquals has no wildcards
    assert cond({"StringEquals": {"k": "Blue-*"}}, ctx) == IMPLICIT_DENY


def test_string_like_wildcards():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
    StringLike: case-sensitive, * and ? anywhere in the value."""
    ctx = {"s3:prefix": "home/alice/docs"}
    assert cond({"StringLike": {"s3:prefix": "home/*"}}, ctx) == ALLOW
    assert cond({"StringLike": {"s3:prefix": "home/al?ce/*"}}, ctx) == ALLOW
    assert cond({"StringLike": {"s3:prefix": "Home/*"}}, ctx) == IMPLICIT_DENY
    assert cond({"StringLike": {"s3:prefix": ["x*", "*docs"]}}, ctx) == ALLOW
    assert cond({"StringNotLike": {"s3:prefix": "home/*"}}, ctx) == IMPLICIT_DENY
    assert cond({"StringNotLike": {"s3:prefix": "tmp/*"}}, ctx) == ALLOW


def test_numeric_operators():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric"""
    ctx = {"n": 10}
    cases = [("NumericEquals", "10", True), ("NumericEquals", 11, False),
             ("NumericNotEquals", "10", False), ("NumericNotEquals", "11", True),
             ("NumericLessThan", "11", True), ("NumericLessThan", "10", False),
             ("NumericLessThanEquals", "10", True), ("NumericLessThanEquals", "9.5", False),
             ("NumericGreaterThan", "9", True), ("NumericGreaterThan", "10", False),
             ("NumericGreaterThanEquals", "10", True), ("NumericGreaterThanEquals", "10.5", False)]
    for op, value, expected in cases:
        assert (cond({op: {"n": value}}, ctx) == ALLOW) is expected, (op, value)
    assert cond({"NumericEquals": {"n": "10"}}, {"n": "10.0"}) == ALLOW       # string context value
    assert cond({"NumericEquals": {"n": "10"}}, {"n": "ten"}) == IMPLICIT_DENY  # unparsable: no match


def test_date_operators_iso_and_epoch():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
    Dates in ISO 8601 or epoch (UNIX) time."""
    ctx = {"aws:CurrentTime": "2024-06-01T12:00:00Z", "aws:EpochTime": 1717243200}
    assert cond({"DateGreaterThan": {"aws:CurrentTime": "2024-01-01T00:00:00Z"}}, ctx) == ALLOW
    assert cond({"DateLessThan": {"aws:CurrentTime": "2024-01-01"}}, ctx) == IMPLICIT_DENY
    assert cond({"DateEquals": {"aws:CurrentTime": "1717243200"}}, ctx) == ALLOW            # epoch policy value
    assert cond({"DateEquals": {"aws:EpochTime": "2024-06-01T14:00:00+02:00"}}, ctx) == ALLOW  # epoch context
    assert cond({"DateNotEquals": {"aws:CurrentTime": "2024-06-01T12:00:00Z"}}, ctx) == IMPLICIT_DENY
    assert cond({"DateLessThanEquals": {"aws:CurrentTime": "2024-06-01T12:00:00Z"}}, ctx) == ALLOW
    assert cond({"DateGreaterThanEquals": {"aws:CurrentTime": "2024-06-01T12:00:01Z"}}, ctx) == IMPLICIT_DENY


def test_bool_operator():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean"""
    assert cond({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": True}) == ALLOW
    assert cond({"Bool": {"aws:SecureTransport": True}}, {"aws:SecureTransport": "true"}) == ALLOW
    assert cond({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": False}) == IMPLICIT_DENY
    assert cond({"Bool": {"aws:SecureTransport": "false"}}, {}) == IMPLICIT_DENY  # missing key: no match


def test_binary_equals():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_BinaryEquals
    The key's bytes are compared with the base-64 encoded value in the policy."""
    assert cond({"BinaryEquals": {"k": "QmluYXJ5VmFsdWU="}}, {"k": b"BinaryValue"}) == ALLOW
    assert cond({"BinaryEquals": {"k": "QmluYXJ5VmFsdWU="}}, {"k": "QmluYXJ5VmFsdWU="}) == ALLOW
    assert cond({"BinaryEquals": {"k": "QmluYXJ5VmFsdWU="}}, {"k": b"Other"}) == IMPLICIT_DENY


def test_ip_address_operators():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IPAddress"""
    block = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:db8::/32"]}}
    assert cond(block, {"aws:SourceIp": "203.0.113.7"}) == ALLOW
    assert cond(block, {"aws:SourceIp": "2001:db8::1"}) == ALLOW
    assert cond(block, {"aws:SourceIp": "198.51.100.1"}) == IMPLICIT_DENY
    assert cond({"IpAddress": {"aws:SourceIp": "203.0.113.7"}}, {"aws:SourceIp": "203.0.113.7"}) == ALLOW
    assert cond({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "198.51.100.1"}) == ALLOW
    assert cond({"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, {"aws:SourceIp": "203.0.113.9"}) == IMPLICIT_DENY


def test_arn_operators_compare_each_component():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
    ArnEquals/ArnLike: case-sensitive; each of the six colon-delimited components is checked
    separately and may contain * and ?."""
    topic = f"arn:aws:sns:us-east-1:{ACCOUNT}:alarms"
    ctx = {"aws:SourceArn": topic}
    assert cond({"ArnEquals": {"aws:SourceArn": topic}}, ctx) == ALLOW
    assert cond({"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{ACCOUNT}:*"}}, ctx) == ALLOW
    assert cond({"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-?:{ACCOUNT}:alarm?"}}, ctx) == ALLOW
    assert cond({"ArnLike": {"aws:SourceArn": f"arn:aws:SNS:*:{ACCOUNT}:*"}}, ctx) == IMPLICIT_DENY
    # a * stays inside its component: "sns:*" can't swallow region and account
    assert cond({"ArnLike": {"aws:SourceArn": "arn:aws:sns:*:alarms"}}, ctx) == IMPLICIT_DENY
    assert cond({"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{OTHER}:*"}}, ctx) == IMPLICIT_DENY
    # the resource part keeps its own colons
    fn = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:resize:live"
    assert cond({"ArnLike": {"aws:SourceArn": f"arn:aws:lambda:*:{ACCOUNT}:function:*"}}, {"aws:SourceArn": fn}) == ALLOW


def test_arn_negated_operators():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN"""
    ctx = {"aws:PrincipalArn": ROLE_ARN}
    assert cond({"ArnNotEquals": {"aws:PrincipalArn": ROLE_ARN}}, ctx) == IMPLICIT_DENY
    assert cond({"ArnNotEquals": {"aws:PrincipalArn": ROLE_ARN + "2"}}, ctx) == ALLOW
    assert cond({"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{ACCOUNT}:role/Blue*"}}, ctx) == IMPLICIT_DENY
    assert cond({"ArnNotLike": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/*"}}, ctx) == ALLOW


def test_if_exists_is_true_when_key_absent():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_IfExists
    "If the policy key is present ... the condition is processed as specified. If the key is not
    present, the condition element evaluates to true."""
    block = {"StringEqualsIfExists": {"ec2:InstanceType": "t3.micro"}}
    assert cond(block, {}) == ALLOW
    assert cond(block, {"ec2:InstanceType": "t3.micro"}) == ALLOW
    assert cond(block, {"ec2:InstanceType": "m5.large"}) == IMPLICIT_DENY
    assert cond({"NumericLessThanIfExists": {"n": "5"}}, {}) == ALLOW
    assert cond({"ArnLikeIfExists": {"aws:SourceArn": "arn:aws:sns:*:*:*"}}, {"aws:SourceArn": "x"}) == IMPLICIT_DENY


def test_missing_key_positive_false_negated_true():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html
    "If the key that you specify in a policy condition is not present in the request context,
    the values do not match": positive operators are false, negated operators true."""
    for op in ("StringEquals", "StringEqualsIgnoreCase", "StringLike", "NumericEquals", "DateEquals",
               "IpAddress", "ArnEquals", "ArnLike", "Bool", "BinaryEquals", "NumericLessThan"):
        value = {"IpAddress": "10.0.0.0/8", "ArnEquals": "arn:aws:s3:::b", "ArnLike": "arn:aws:s3:::b",
                 "Bool": "true", "BinaryEquals": "QQ==", "DateEquals": "2024-01-01"}.get(op, "1")
        assert cond({op: {"absent:key": value}}, {}) == IMPLICIT_DENY, op
    for op in ("StringNotEquals", "StringNotEqualsIgnoreCase", "StringNotLike", "NumericNotEquals",
               "DateNotEquals", "NotIpAddress", "ArnNotEquals", "ArnNotLike"):
        value = {"NotIpAddress": "10.0.0.0/8", "ArnNotEquals": "arn:aws:s3:::b", "ArnNotLike": "arn:aws:s3:::b",
                 "DateNotEquals": "2024-01-01"}.get(op, "1")
        assert cond({op: {"absent:key": value}}, {}) == ALLOW, op


def test_null_operator():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
    {"key": "true"}: the key is absent; {"key": "false"}: the key is present."""
    assert cond({"Null": {"aws:TokenIssueTime": "true"}}, {}) == ALLOW
    assert cond({"Null": {"aws:TokenIssueTime": "true"}}, {"aws:TokenIssueTime": "2024-01-01"}) == IMPLICIT_DENY
    assert cond({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": "2024-01-01"}) == ALLOW
    assert cond({"Null": {"aws:TokenIssueTime": False}}, {}) == IMPLICIT_DENY
    assert cond({"Null": {"aws:TokenIssueTime": "false"}}, {"aws:TokenIssueTime": None}) == IMPLICIT_DENY


# --------------------------------------------------------------------------------------------
# Multivalued context keys
# --------------------------------------------------------------------------------------------

def test_for_all_values():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    ForAllValues: true when every request value matches one of the policy values; also true when
    the key is absent or has no values."""
    block = {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}
    assert cond(block, {"aws:TagKeys": ["env"]}) == ALLOW
    assert cond(block, {"aws:TagKeys": ["env", "team"]}) == ALLOW
    assert cond(block, {"aws:TagKeys": ["env", "owner"]}) == IMPLICIT_DENY
    assert cond(block, {}) == ALLOW
    assert cond(block, {"aws:TagKeys": []}) == ALLOW
    neg = {"ForAllValues:StringNotLike": {"aws:TagKeys": "aws:*"}}
    assert cond(neg, {"aws:TagKeys": ["env", "team"]}) == ALLOW
    assert cond(neg, {"aws:TagKeys": ["env", "aws:x"]}) == IMPLICIT_DENY


def test_for_any_value():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    ForAnyValue: true when at least one request value matches; false when absent or empty."""
    block = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "team"]}}
    assert cond(block, {"aws:TagKeys": ["owner", "team"]}) == ALLOW
    assert cond(block, {"aws:TagKeys": ["owner"]}) == IMPLICIT_DENY
    assert cond(block, {}) == IMPLICIT_DENY
    assert cond(block, {"aws:TagKeys": []}) == IMPLICIT_DENY
    neg = {"ForAnyValue:StringNotEquals": {"aws:TagKeys": "env"}}
    assert cond(neg, {"aws:TagKeys": ["env", "team"]}) == ALLOW
    assert cond(neg, {"aws:TagKeys": ["env"]}) == IMPLICIT_DENY
    assert cond({"ForAnyValue:StringEqualsIfExists": {"aws:TagKeys": "env"}}, {}) == ALLOW


def test_list_context_value_with_plain_operator():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-single-vs-multi-valued-context-keys.html
    (multivalued keys "require" a set operator; without one, this evaluator treats a positive
    operator like ForAnyValue and a negated one as its complement: no request value matches)."""
    assert cond({"StringEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team", "env"]}) == ALLOW
    assert cond({"StringEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team"]}) == IMPLICIT_DENY
    assert cond({"StringNotEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team", "env"]}) == IMPLICIT_DENY
    assert cond({"StringNotEquals": {"aws:TagKeys": "env"}}, {"aws:TagKeys": ["team"]}) == ALLOW


# --------------------------------------------------------------------------------------------
# Policy variables
# --------------------------------------------------------------------------------------------

def test_policy_variables_in_resource_and_condition():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
    ${key} is replaced by the request context value (key name case-insensitive)."""
    s = allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}/*",
              Condition={"StringEquals": {"aws:ResourceTag/owner": "${aws:PrincipalTag/Team}"}})
    ctx = {"aws:username": "alice", "aws:principaltag/team": "db", "aws:ResourceTag/owner": "db"}
    assert effect(s, "s3:GetObject", "arn:aws:s3:::home/alice/notes.txt", ctx) == ALLOW
    assert effect(s, "s3:GetObject", "arn:aws:s3:::home/bob/notes.txt", ctx) == IMPLICIT_DENY
    assert effect(s, "s3:GetObject", "arn:aws:s3:::home/alice/x", {**ctx, "aws:ResourceTag/owner": "web"}) \
        == IMPLICIT_DENY


def test_substituted_values_are_literal_and_special_escapes():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-specialchars
    ${*}, ${?}, ${$} stand for the literal characters; a substituted value is never a wildcard."""
    like = {"StringLike": {"k": "a${*}b*"}}
    assert cond(like, {"k": "a*bcd"}) == ALLOW
    assert cond(like, {"k": "axbcd"}) == IMPLICIT_DENY
    assert cond({"StringEquals": {"k": "${$}{x}${?}"}}, {"k": "${x}?"}) == ALLOW
    s = allow("s3:GetObject", "arn:aws:s3:::home/${aws:username}")
    assert effect(s, "s3:GetObject", "arn:aws:s3:::home/anything", {"aws:username": "*"}) == IMPLICIT_DENY
    assert effect(s, "s3:GetObject", "arn:aws:s3:::home/*", {"aws:username": "*"}) == ALLOW


def test_unresolved_policy_variable_voids_the_statement():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html#policy-vars-no-value
    A variable whose key is not in the request context isn't substituted: the statement doesn't
    match (neither its Allow nor its Deny applies); ${key, 'default'} supplies a value."""
    res = "arn:aws:s3:::home/${aws:username}/*"
    assert effect(allow("s3:*", res), "s3:GetObject", "arn:aws:s3:::home/alice/x", {}) == IMPLICIT_DENY
    assert effect(allow("s3:*", ["arn:aws:s3:::other", res]), "s3:GetObject", "arn:aws:s3:::other", {}) \
        == IMPLICIT_DENY
    d = deny("s3:*", Condition={"StringNotEquals": {"s3:prefix": "${aws:username}"}})
    assert effect([allow(), d], "s3:ListBucket", "*", {"s3:prefix": "x"}) == ALLOW
    assert effect([allow(), d], "s3:ListBucket", "*", {"s3:prefix": "x", "aws:username": "bob"}) == EXPLICIT_DENY
    dflt = allow("s3:*", "arn:aws:s3:::home/${aws:username, 'guest'}/*")
    assert effect(dflt, "s3:GetObject", "arn:aws:s3:::home/guest/x", {}) == ALLOW
    # multivalued keys can't be variables
    assert cond({"StringEquals": {"k": "${aws:TagKeys}"}}, {"k": "a", "aws:TagKeys": ["a"]}) == IMPLICIT_DENY


def test_variables_are_literal_before_version_2012_10_17():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_version.html
    Policy variables need Version 2012-10-17; otherwise ${...} is literal text."""
    s = allow("s3:*", "arn:aws:s3:::home/${aws:username}")
    assert effect(s, "s3:GetObject", "arn:aws:s3:::home/${aws:username}", {"aws:username": "a"}, version=None) == ALLOW
    assert effect(s, "s3:GetObject", "arn:aws:s3:::home/a", {"aws:username": "a"}, version="2008-10-17") \
        == IMPLICIT_DENY


# --------------------------------------------------------------------------------------------
# Principal / NotPrincipal (resource-based policies)
# --------------------------------------------------------------------------------------------

def rp(principal, effect_="Allow", **extra):
    return {"Version": "2012-10-17",
            "Statement": [{"Effect": effect_, "Principal": principal, "Action": "sns:Publish",
                           "Resource": "*", **extra}]}


def rp_effect(principal_element, caller, **extra):
    return evaluate_resource_policy(rp(principal_element, **extra), caller, "sns:Publish", "*", {}).effect


def test_principal_everyone():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-anonymous
    "*" is everyone; {"AWS": "*"} is every AWS principal (here: not a service caller)."""
    for caller in (ROLE, FOREIGN_ROLE, ROOT, LAMBDA):
        assert rp_effect("*", caller) == ALLOW
    assert rp_effect({"AWS": "*"}, FOREIGN_ROLE) == ALLOW
    assert rp_effect({"AWS": ["*"]}, ROLE) == ALLOW
    assert rp_effect({"AWS": "*"}, LAMBDA) == IMPLICIT_DENY


def test_principal_account_forms():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts
    The account id and arn:aws:iam::<id>:root behave the same: any principal of that account."""
    for element in ({"AWS": ACCOUNT}, {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}):
        assert rp_effect(element, ROLE) == ALLOW
        assert rp_effect(element, ROOT) == ALLOW
        assert rp_effect(element, FOREIGN_ROLE) == IMPLICIT_DENY
        assert rp_effect(element, LAMBDA) == IMPLICIT_DENY


def test_principal_role_and_session():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-roles
    A role ARN matches the role's assumed-role sessions; a session ARN matches only that session."""
    assert rp_effect({"AWS": ROLE_ARN}, ROLE) == ALLOW
    assert rp_effect({"AWS": ROLE_ARN}, OTHER_ROLE) == IMPLICIT_DENY
    assert rp_effect({"AWS": SESSION_ARN}, ROLE) == ALLOW
    other_session = Principal(SESSION_ARN.replace("session-1", "session-2"), ACCOUNT, role_arn=ROLE_ARN)
    assert rp_effect({"AWS": SESSION_ARN}, other_session) == IMPLICIT_DENY
    assert rp_effect({"AWS": [OTHER_ROLE.role_arn, ROLE_ARN]}, ROLE) == ALLOW


def test_principal_service():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-services"""
    assert rp_effect({"Service": "lambda.amazonaws.com"}, LAMBDA) == ALLOW
    assert rp_effect({"Service": ["events.amazonaws.com", "lambda.amazonaws.com"]}, LAMBDA) == ALLOW
    assert rp_effect({"Service": "events.amazonaws.com"}, LAMBDA) == IMPLICIT_DENY
    assert rp_effect({"Service": "lambda.amazonaws.com"}, ROLE) == IMPLICIT_DENY


def test_not_principal_with_deny():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    Deny + NotPrincipal denies everyone except the listed principals; for a role session AWS may
    check the account, then the role, then the session, so all of them must be listed."""
    allow_all = {"Effect": "Allow", "Principal": "*", "Action": "sns:Publish", "Resource": "*"}

    def decide(listed, caller):
        doc = {"Version": "2012-10-17", "Statement": [allow_all, {
            "Effect": "Deny", "NotPrincipal": {"AWS": listed}, "Action": "sns:*", "Resource": "*"}]}
        return evaluate_resource_policy(doc, caller, "sns:Publish", "*", {}).effect

    full = [f"arn:aws:iam::{ACCOUNT}:root", ROLE_ARN, SESSION_ARN]
    assert decide(full, ROLE) == ALLOW
    assert decide([f"arn:aws:iam::{ACCOUNT}:root", ROLE_ARN], ROLE) == EXPLICIT_DENY  # session missing
    assert decide([SESSION_ARN], ROLE) == EXPLICIT_DENY                              # account missing
    assert decide(full, OTHER_ROLE) == EXPLICIT_DENY
    assert decide([ACCOUNT], ROOT) == ALLOW
    assert decide(full, FOREIGN_ROLE) == EXPLICIT_DENY


def test_trust_policy_with_condition():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
    and https://docs.aws.amazon.com/IAM/latest/UserGuide/confused-deputy.html (aws:SourceAccount in
    a role trust policy); a trust policy has no Resource element."""
    trust = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}
    role = f"arn:aws:iam::{ACCOUNT}:role/Fn"
    assert evaluate_resource_policy(trust, LAMBDA, "sts:AssumeRole", role, {"aws:SourceAccount": ACCOUNT}).effect == ALLOW
    assert evaluate_resource_policy(trust, LAMBDA, "sts:AssumeRole", role, {"aws:SourceAccount": OTHER}).effect \
        == IMPLICIT_DENY
    assert evaluate_resource_policy(trust, LAMBDA, "sts:AssumeRole", role, {}).effect == IMPLICIT_DENY
    assert evaluate_resource_policy(trust, LAMBDA, "sts:TagSession", role, {"aws:SourceAccount": ACCOUNT}).effect \
        == IMPLICIT_DENY


# --------------------------------------------------------------------------------------------
# Malformed policies
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("statement, message", [
    (allow(Condition={"StringEqualz": {"k": "v"}}), "unknown condition operator"),
    (allow(Condition={"ForAllValues:Null": {"k": "true"}}), "unknown condition operator"),
    ({"Effect": "allow", "Action": "*", "Resource": "*"}, "Effect"),
    ({"Effect": "Permit", "Action": "*", "Resource": "*"}, "Effect"),
    ({"Effect": "Allow", "Resource": "*"}, "Action / NotAction"),
    ({"Effect": "Allow", "Action": "*", "NotAction": "s3:*", "Resource": "*"}, "Action / NotAction"),
    ({"Effect": "Allow", "Action": "*"}, "Resource"),
    ({"Effect": "Allow", "Action": "*", "Resources": "*"}, "unknown element"),
    ({"Effect": "Allow", "Action": "*", "Resource": "*", "Principal": "*"}, "identity-based"),
    (allow("DescribeDBInstances"), "service:action"),
    (allow(Condition={"NumericLessThan": {"n": "ten"}}), "not a number"),
    (allow(Condition={"DateLessThan": {"d": "yesterday"}}), "not a date"),
    (allow(Condition={"IpAddress": {"aws:SourceIp": "300.1.1.1"}}), "not an IP"),
    (allow(Condition={"Bool": {"b": "yes"}}), "true or false"),
    (allow(Condition={"BinaryEquals": {"b": "not base64!"}}), "base64"),
    (allow(Condition={"StringEquals": {"k": []}}), "no values"),
    (allow(resource="arn:aws:s3:::${aws:username"), "malformed policy variable"),  # unterminated
    (allow(resource="arn:aws:s3:::$x/{y}"), None),   # "$" and braces alone are plain text
    (allow(resource="arn:aws:s3:::${a b}"), "malformed policy variable"),
])
def test_malformed_identity_policies_raise(statement, message):
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    (the emulator must not evaluate a policy AWS would reject)."""
    if message is None:
        evaluate_identity([policy(statement)], "s3:GetObject", "*", {})
        return
    with pytest.raises(ValueError, match=message):
        evaluate_identity([policy(statement)], "s3:GetObject", "*", {})


@pytest.mark.parametrize("doc, message", [
    ({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}, "Principal"),
    (rp({"AWS": "*"}) | {"Statement": [{"Effect": "Allow", "NotPrincipal": {"AWS": ACCOUNT},
                                         "Action": "*", "Resource": "*"}]}, "NotPrincipal"),
    (rp({"AWS": f"arn:aws:iam::{ACCOUNT}:role/*"}), "wildcards"),
    (rp({"Group": "x"}), "principal type"),
    (rp("arn:aws:iam::123456789012:root"), "Principal must be"),
    ({"Version": "2020-01-01", "Statement": []}, "Version"),
    ({"Statement": "nope"}, "Statement"),
    ([], "JSON object"),
])
def test_malformed_resource_policies_raise(doc, message):
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
    (Principal required in resource-based policies, no partial wildcards) and
    https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_notprincipal.html
    (NotPrincipal only with Deny)."""
    with pytest.raises(ValueError, match=message):
        evaluate_resource_policy(doc, ROLE, "sns:Publish", "*", {})


def test_malformed_statement_is_reported_even_after_a_deny():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
    Validation doesn't depend on the request: a bad statement raises even when a Deny decides first."""
    with pytest.raises(ValueError):
        evaluate_identity([policy(deny()), policy({"Effect": "Allow", "Resource": "*"})], "s3:GetObject", "*", {})
    with pytest.raises(ValueError, match="unknown condition operator"):
        evaluate_identity([policy(allow("iam:*", Condition={"Nope": {"k": "v"}}))], "s3:GetObject", "*", {})


# --------------------------------------------------------------------------------------------
# KMS key policies
# --------------------------------------------------------------------------------------------

KEY_ARN = f"arn:aws:kms:us-east-1:{ACCOUNT}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
ROOT_STATEMENT = {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                  "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*", "Resource": "*"}
ROLE_STATEMENT = {"Sid": "AllowRoleToUseKey", "Effect": "Allow", "Principal": {"AWS": ROLE_ARN},
                  "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*"}


def key_policy(*statements):
    return {"Version": "2012-10-17", "Id": "key-default-1", "Statement": list(statements)}


def test_key_policy_allows_iam():
    """https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
    The root-account statement on kms:* (no condition) is what lets IAM policies grant access."""
    assert key_policy_allows_iam(key_policy(ROOT_STATEMENT, ROLE_STATEMENT), ACCOUNT)
    assert key_policy_allows_iam(key_policy({**ROOT_STATEMENT, "Principal": {"AWS": ACCOUNT}}), ACCOUNT)
    assert key_policy_allows_iam(key_policy({**ROOT_STATEMENT, "Principal": {"AWS": [
        ROLE_ARN, f"arn:aws-cn:iam::{ACCOUNT}:root"]}}), ACCOUNT)
    assert key_policy_allows_iam(key_policy({**ROOT_STATEMENT, "Action": "*"}), ACCOUNT)
    assert not key_policy_allows_iam(key_policy(ROLE_STATEMENT), ACCOUNT)
    assert not key_policy_allows_iam(key_policy(ROOT_STATEMENT), OTHER)
    assert not key_policy_allows_iam(key_policy({**ROOT_STATEMENT, "Effect": "Deny"}), ACCOUNT)
    assert not key_policy_allows_iam(key_policy({**ROOT_STATEMENT, "Condition": {
        "StringEquals": {"kms:CallerAccount": ACCOUNT}}}), ACCOUNT)


def test_key_policy_allows_iam_for_a_given_action():
    """https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
    A root statement on fewer actions enables IAM for those actions only."""
    narrow = key_policy({**ROOT_STATEMENT, "Action": ["kms:Describe*", "kms:Decrypt"]})
    assert not key_policy_allows_iam(narrow, ACCOUNT)
    assert key_policy_allows_iam(narrow, ACCOUNT, action="kms:Decrypt")
    assert key_policy_allows_iam(narrow, ACCOUNT, action="kms:DescribeKey")
    assert not key_policy_allows_iam(narrow, ACCOUNT, action="kms:Encrypt")
    not_action = key_policy({**ROOT_STATEMENT, "Action": None} | {"NotAction": "iam:*"})
    del not_action["Statement"][0]["Action"]
    assert key_policy_allows_iam(not_action, ACCOUNT)
    not_kms = key_policy({k: v for k, v in ROOT_STATEMENT.items() if k != "Action"} | {"NotAction": "kms:Decrypt"})
    assert not key_policy_allows_iam(not_kms, ACCOUNT)
    assert key_policy_allows_iam(not_kms, ACCOUNT, action="kms:Encrypt")


def test_kms_key_policy_alone_decides_without_root_statement():
    """https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html
    and https://docs.aws.amazon.com/kms/latest/developerguide/control-access.html: without the
    root statement an IAM policy alone can't grant access to the key."""
    iam = [policy(allow("kms:*", Sid="IamKms"))]
    only_role = key_policy(ROLE_STATEMENT)
    assert authorize(iam, ROLE, "kms:Decrypt", KEY_ARN, {}, only_role, kind="kms") == Decision(ALLOW, "AllowRoleToUseKey")
    assert authorize([], ROLE, "kms:Decrypt", KEY_ARN, {}, only_role, kind="kms").effect == ALLOW
    assert authorize(iam, ROLE, "kms:Encrypt", KEY_ARN, {}, only_role, kind="kms").effect == IMPLICIT_DENY
    assert authorize(iam, OTHER_ROLE, "kms:Decrypt", KEY_ARN, {}, only_role, kind="kms").effect == IMPLICIT_DENY


def test_kms_root_statement_enables_iam_policies():
    """https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html#key-policy-default-allow-root-enable-iam
    The root statement doesn't itself give IAM principals access: it lets IAM policies grant."""
    kp = key_policy(ROOT_STATEMENT, ROLE_STATEMENT)
    iam = [policy(allow("kms:Encrypt", KEY_ARN, Sid="IamEncrypt"))]
    assert authorize(iam, OTHER_ROLE, "kms:Encrypt", KEY_ARN, {}, kp, kind="kms") == Decision(ALLOW, "IamEncrypt")
    assert authorize([], OTHER_ROLE, "kms:Encrypt", KEY_ARN, {}, kp, kind="kms").effect == IMPLICIT_DENY
    assert authorize(iam, OTHER_ROLE, "kms:Decrypt", KEY_ARN, {}, kp, kind="kms").effect == IMPLICIT_DENY
    assert authorize([], ROLE, "kms:Decrypt", KEY_ARN, {}, kp, kind="kms") == Decision(ALLOW, "AllowRoleToUseKey")
    # the account root itself is allowed by the root statement
    assert authorize([], ROOT, "kms:ScheduleKeyDeletion", KEY_ARN, {}, kp, kind="kms").effect == ALLOW
    # a conditional root statement enables IAM when its condition matches
    cond_root = key_policy({**ROOT_STATEMENT, "Condition": {"StringEquals": {"kms:ViaService": "rds.us-east-1.amazonaws.com"}}})
    via = {"kms:ViaService": "rds.us-east-1.amazonaws.com"}
    assert authorize(iam, OTHER_ROLE, "kms:Encrypt", KEY_ARN, via, cond_root, kind="kms").effect == ALLOW
    assert authorize(iam, OTHER_ROLE, "kms:Encrypt", KEY_ARN, {}, cond_root, kind="kms").effect == IMPLICIT_DENY


def test_kms_explicit_deny_anywhere_wins():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
    and https://docs.aws.amazon.com/kms/latest/developerguide/determining-access.html"""
    kp = key_policy(ROOT_STATEMENT, ROLE_STATEMENT)
    iam_deny = [policy(deny("kms:Decrypt", Sid="NoDecrypt"))]
    assert authorize(iam_deny, ROLE, "kms:Decrypt", KEY_ARN, {}, kp, kind="kms") == Decision(EXPLICIT_DENY, "NoDecrypt")
    kp_deny = key_policy(ROOT_STATEMENT, ROLE_STATEMENT, {"Sid": "DenyDelete", "Effect": "Deny", "Principal": "*",
                                                          "Action": "kms:ScheduleKeyDeletion", "Resource": "*"})
    assert authorize([policy(allow())], ROOT, "kms:ScheduleKeyDeletion", KEY_ARN, {}, kp_deny, kind="kms") \
        == Decision(EXPLICIT_DENY, "DenyDelete")


# --------------------------------------------------------------------------------------------
# authorize: same account, trust
# --------------------------------------------------------------------------------------------

TOPIC = f"arn:aws:sns:us-east-1:{ACCOUNT}:bluegreen-events"


def test_same_account_identity_or_resource_policy_allows():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
    "If either the identity-based policy or the resource-based policy within the same account
    allows the request and the other doesn't, the request is still allowed."""
    topic_policy = {"Version": "2012-10-17", "Statement": [{"Sid": "RolePublishes", "Effect": "Allow",
                                                            "Principal": {"AWS": ROLE_ARN},
                                                            "Action": "sns:Publish", "Resource": TOPIC}]}
    iam = [policy(allow("sns:Publish", TOPIC, Sid="IamPublish"))]
    assert authorize(iam, OTHER_ROLE, "sns:Publish", TOPIC, {}, topic_policy) == Decision(ALLOW, "IamPublish")
    assert authorize([], ROLE, "sns:Publish", TOPIC, {}, topic_policy) == Decision(ALLOW, "RolePublishes")
    assert authorize([], OTHER_ROLE, "sns:Publish", TOPIC, {}, topic_policy).effect == IMPLICIT_DENY
    assert authorize(iam, OTHER_ROLE, "sns:Publish", TOPIC, {}) == Decision(ALLOW, "IamPublish")  # no resource policy
    assert authorize([], OTHER_ROLE, "sns:Publish", TOPIC, {}).effect == IMPLICIT_DENY


def test_same_account_account_principal_only_delegates():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html#principal-accounts
    An account principal "delegates authority to the account": IAM policies must still allow."""
    topic_policy = {"Version": "2012-10-17", "Statement": [{"Sid": "Account", "Effect": "Allow",
                                                            "Principal": {"AWS": ACCOUNT},
                                                            "Action": "sns:Publish", "Resource": TOPIC}]}
    assert evaluate_resource_policy(topic_policy, ROLE, "sns:Publish", TOPIC, {}).effect == ALLOW
    assert authorize([], ROLE, "sns:Publish", TOPIC, {}, topic_policy).effect == IMPLICIT_DENY
    assert authorize([policy(allow("sns:*"))], ROLE, "sns:Publish", TOPIC, {}, topic_policy).effect == ALLOW
    assert authorize([], ROOT, "sns:Publish", TOPIC, {}, topic_policy).effect == ALLOW


def test_same_account_deny_in_either_policy_wins():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic_policy-eval-basics.html
    "An explicit deny in any of the policies overrides the allow."""
    topic_policy = {"Version": "2012-10-17", "Statement": [
        {"Sid": "All", "Effect": "Allow", "Principal": "*", "Action": "sns:*", "Resource": TOPIC},
        {"Sid": "NoDelete", "Effect": "Deny", "Principal": {"AWS": ROLE_ARN}, "Action": "sns:DeleteTopic",
         "Resource": TOPIC}]}
    assert authorize([policy(allow())], ROLE, "sns:DeleteTopic", TOPIC, {}, topic_policy) \
        == Decision(EXPLICIT_DENY, "NoDelete")
    assert authorize([policy(deny("sns:Publish", Sid="IamDeny"))], ROLE, "sns:Publish", TOPIC, {}, topic_policy) \
        == Decision(EXPLICIT_DENY, "IamDeny")
    assert authorize([], ROLE, "sns:Publish", TOPIC, {}, topic_policy) == Decision(ALLOW, "All")


def test_trust_kind_requires_the_trust_policy():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic-cross-account.html
    and reference_policies_elements_principal.html#principal-roles: a role trust policy must allow
    the caller (or its account, plus an IAM policy allowing sts:AssumeRole)."""
    target = f"arn:aws:iam::{ACCOUNT}:role/Target"
    iam = [policy(allow("sts:AssumeRole", target, Sid="MayAssume"))]
    by_role = {"Version": "2012-10-17", "Statement": [{"Sid": "TrustRole", "Effect": "Allow",
                                                       "Principal": {"AWS": ROLE_ARN}, "Action": "sts:AssumeRole"}]}
    by_account = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ACCOUNT},
                                                          "Action": "sts:AssumeRole"}]}
    assert authorize([], ROLE, "sts:AssumeRole", target, {}, by_role, kind="trust") == Decision(ALLOW, "TrustRole")
    assert authorize(iam, OTHER_ROLE, "sts:AssumeRole", target, {}, by_role, kind="trust").effect == IMPLICIT_DENY
    assert authorize(iam, OTHER_ROLE, "sts:AssumeRole", target, {}, by_account, kind="trust") == Decision(ALLOW, "MayAssume")
    assert authorize([], OTHER_ROLE, "sts:AssumeRole", target, {}, by_account, kind="trust").effect == IMPLICIT_DENY
    with pytest.raises(ValueError, match="kind"):
        authorize([], ROLE, "sts:AssumeRole", target, {}, by_role, kind="cross-account")


# --------------------------------------------------------------------------------------------
# Realistic statements from the project's CloudFormation template
# --------------------------------------------------------------------------------------------

RESIZE = {"Sid": "ResizeOptedInGreenInstances", "Effect": "Allow", "Action": "rds:ModifyDBInstance",
          "Resource": "arn:aws:rds:us-east-1:123456789012:db:*",
          "Condition": {"StringEquals": {"aws:ResourceTag/bluegreen:managed": "true"}}}
MARK_OLD = {"Sid": "MarkOptedInOldBlueOnly", "Effect": "Allow", "Action": "rds:AddTagsToResource",
            "Resource": ["arn:aws:rds:us-east-1:123456789012:db:*-old*",
                         "arn:aws:rds:us-east-1:123456789012:cluster:*-old*"],
            "Condition": {"StringEquals": {"aws:ResourceTag/bluegreen:managed": "true"},
                          "ForAllValues:StringEquals": {"aws:TagKeys": ["bluegreen:old-blue-of"]},
                          "Null": {"aws:RequestTag/bluegreen:old-blue-of": "false"}}}
METRICS = {"Sid": "PutMetricsInOwnNamespaceOnly", "Effect": "Allow", "Action": "cloudwatch:PutMetricData",
           "Resource": "*", "Condition": {"StringEquals": {"cloudwatch:namespace": "RdsBlueGreen"}}}
ROLE_POLICIES = [policy(RESIZE, MARK_OLD), policy(METRICS)]


def decide(action, resource, context):
    return evaluate_identity(ROLE_POLICIES, action, resource, context)


def test_realistic_resize_only_opted_in_instances():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html (aws:ResourceTag) and
    reference_policies_elements_condition_operators.html#Conditions_String"""
    green = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-green-abcdef"
    managed = {"aws:ResourceTag/bluegreen:managed": "true"}
    assert decide("rds:ModifyDBInstance", green, managed) == Decision(ALLOW, "ResizeOptedInGreenInstances")
    assert decide("rds:ModifyDBInstance", green, {}).effect == IMPLICIT_DENY
    assert decide("rds:ModifyDBInstance", green, {"aws:ResourceTag/bluegreen:managed": "True"}).effect == IMPLICIT_DENY
    assert decide("rds:ModifyDBCluster", green, managed).effect == IMPLICIT_DENY
    assert decide("rds:ModifyDBInstance", green.replace(ACCOUNT, OTHER), managed).effect == IMPLICIT_DENY
    assert decide("rds:ModifyDBInstance", green.replace(":db:", ":cluster:"), managed).effect == IMPLICIT_DENY


def test_realistic_mark_old_blue_only():
    """https://docs.aws.amazon.com/IAM/latest/UserGuide/access_tags.html#access_tags_control-tag-keys
    (aws:TagKeys with ForAllValues, aws:RequestTag with Null)."""
    old = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-old1"
    ctx = {"aws:ResourceTag/bluegreen:managed": "true", "aws:TagKeys": ["bluegreen:old-blue-of"],
           "aws:RequestTag/bluegreen:old-blue-of": "orders"}
    assert decide("rds:AddTagsToResource", old, ctx) == Decision(ALLOW, "MarkOptedInOldBlueOnly")
    assert decide("rds:AddTagsToResource", old.replace(":db:", ":cluster:"), ctx).effect == ALLOW
    assert decide("rds:AddTagsToResource", old.replace("-old1", "-green-x"), ctx).effect == IMPLICIT_DENY
    # an extra tag key in the request
    assert decide("rds:AddTagsToResource", old, {**ctx, "aws:TagKeys": ["bluegreen:old-blue-of", "env"]}).effect \
        == IMPLICIT_DENY
    # ForAllValues alone would pass with no tags; the Null condition requires the tag in the request
    no_tags = {"aws:ResourceTag/bluegreen:managed": "true"}
    assert decide("rds:AddTagsToResource", old, no_tags).effect == IMPLICIT_DENY
    assert decide("rds:AddTagsToResource", old, {**ctx, "aws:ResourceTag/bluegreen:managed": "false"}).effect \
        == IMPLICIT_DENY


def test_realistic_metrics_namespace():
    """https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/iam-cw-condition-keys-namespace.html
    (cloudwatch:namespace; PutMetricData has no resource-level permissions, hence "*")."""
    assert decide("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "RdsBlueGreen"}) \
        == Decision(ALLOW, "PutMetricsInOwnNamespaceOnly")
    assert decide("cloudwatch:PutMetricData", "*", {"cloudwatch:namespace": "AWS/RDS"}).effect == IMPLICIT_DENY
    assert decide("cloudwatch:PutMetricData", "*", {}).effect == IMPLICIT_DENY


def test_evaluation_is_fast_enough_for_every_request():
    """Not an AWS rule: the emulator calls this for every request, so compiled policies and
    patterns are cached (reference for the rules: reference_policies_evaluation-logic.html)."""
    ctx = {"aws:ResourceTag/bluegreen:managed": "true", "aws:TagKeys": ["bluegreen:old-blue-of"],
           "aws:RequestTag/bluegreen:old-blue-of": "orders"}
    old = f"arn:aws:rds:us-east-1:{ACCOUNT}:db:orders-old1"
    decide("rds:AddTagsToResource", old, ctx)
    start = time.perf_counter()
    for _ in range(2000):
        decide("rds:AddTagsToResource", old, ctx)
    assert (time.perf_counter() - start) / 2000 < 0.001  # well under a millisecond per call

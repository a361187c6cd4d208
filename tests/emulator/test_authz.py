"""Self-tests of the emulator's IAM (authz.py): each rule with its AWS source.

Requests signed with credentials the emulator issued to a role (as Lambda, Step Functions,
EventBridge or Scheduler do) are authorized as IAM would; the harness's own credentials are the
account's root. Run: .venv/bin/python -m pytest tests/emulator/test_authz.py -q
"""
import importlib.util
import json
import os
import signal
import subprocess
import sys
import urllib.error
import urllib.request

from control import control
from pathlib import Path

import boto3
import pytest
import yaml
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
sys.path.insert(0, str(HERE))
import authz  # noqa: E402

ACCOUNT, REGION = "123456789012", "us-east-1"


def sar():
    """parliament's copy of the Service Authorization Reference: {action: {resource types}}."""
    spec = importlib.util.find_spec("parliament")
    data = json.loads((Path(spec.submodule_search_locations[0]) / "iam_definition.json").read_text())
    out = {}
    for service in data:
        for p in service["privileges"]:
            types = {r["resource_type"].rstrip("*") for r in p["resource_types"]}
            out[f"{service['prefix']}:{p['privilege']}".lower()] = types
    return out


# ---------------------------------------------------------------- the operations table against the SAR
def test_every_resource_type_an_operation_builds_is_one_the_sar_lists_for_its_action():
    """Service Authorization Reference: each action's resource types. An operation whose checks
    named a type the SAR does not list for the action would authorize against the wrong ARN."""
    reference = sar()
    # newer than parliament 1.6.4's copy of the reference (the RDS API reference documents it)
    newer = {"rds:describedbmajorengineversions"}
    for (service, operation), meta in authz.OPERATIONS.items():
        action = meta["action"].lower()
        if action in newer:
            continue
        assert action in reference, f"{action} is not in the Service Authorization Reference"
        listed = {t.lower() for t in reference[action]}
        for kind in meta["types"]:
            assert kind.lower() in listed or (kind == "" and listed <= {""}), \
                f"{service}:{operation} builds a {kind or 'no-resource'} check; the SAR lists {sorted(listed)}"


def test_every_call_of_the_permission_table_is_modelled():
    """The end-to-end suite only proves the template when every operation the stack calls is
    authorized as IAM would: none falls through to the root's allow-all."""
    table = yaml.safe_load((ROOT / "infra" / "permissions.yaml").read_text())
    modelled = {meta["action"] for meta in authz.OPERATIONS.values()}
    rows = [*table["functions"].items(), *table["state_machines"].items(), *table["triggers"].items()]
    for name, row in rows:
        for action in (row.get("calls") or {}):
            assert action in modelled, f"{name} calls {action}, which tests/emulator/authz.py does not model"


# ---------------------------------------------------------------- against a running emulator
@pytest.fixture(scope="module")
def endpoint(emulator):
    return emulator


def root(endpoint, service):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))


TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}


@pytest.fixture
def account(endpoint):
    control(endpoint, "/_emulator/reset", {})

    class Account:
        def client(self, service):
            return root(endpoint, service)

        def role(self, name, *statements, trust=TRUST):
            iam = self.client("iam")
            arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
            if statements:
                iam.put_role_policy(RoleName=name, PolicyName="p", PolicyDocument=json.dumps(
                    {"Version": "2012-10-17", "Statement": list(statements)}))
            return arn

        def as_role(self, role_arn, service, via="lambda.amazonaws.com"):
            creds = control(endpoint, "/_emulator/sts/assume-role-as-service",
                            {"RoleArn": role_arn, "Service": via, "RoleSessionName": "fn"})
            return boto3.client(service, region_name=REGION, endpoint_url=endpoint,
                                aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                                aws_session_token=creds["SessionToken"],
                                config=Config(retries={"total_max_attempts": 1}))

        def iam_state(self, **knobs):
            return control(endpoint, "/_emulator/iam", knobs if knobs else None)

    return Account()


def allow(action, resource="*", condition=None, sid="S"):
    st = {"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource}
    if condition:
        st["Condition"] = condition
    return st


def db_arn(name):
    return f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{name}"


def make_pg(rds, name="prod", tags=None, **kw):
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="postgres", EngineVersion="13.15",
                           DBInstanceClass="db.t3.micro", MasterUsername="app", MasterUserPassword="password123",
                           AllocatedStorage=20, BackupRetentionPeriod=7,
                           Tags=[{"Key": k, "Value": v} for k, v in (tags or {}).items()], **kw)


def denied(call):
    with pytest.raises(ClientError) as e:
        call()
    return e.value


def test_a_role_session_is_denied_what_its_policies_do_not_allow_and_answers_as_aws(account):
    """IAM User Guide, "Policy evaluation logic": no allow = implicit deny. The RDS Query API
    answers AccessDenied, HTTP 403, "User: <assumed-role ARN> is not authorized to perform: <action>
    on resource: <ARN> because no identity-based policy allows the <action> action"."""
    make_pg(account.client("rds"))
    arn = account.role("reader", allow("rds:DescribeDBInstances", db_arn("other")))
    rds = account.as_role(arn, "rds")
    err = denied(lambda: rds.describe_db_instances(DBInstanceIdentifier="prod"))
    assert err.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert err.response["Error"]["Code"] == "AccessDenied"
    assert err.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/reader/fn is not authorized to perform: "
        f"rds:DescribeDBInstances on resource: {db_arn('prod')} because no identity-based policy allows the "
        "rds:DescribeDBInstances action")


def test_the_harness_credentials_are_the_accounts_root_and_are_not_checked(account):
    make_pg(account.client("rds"))
    assert account.client("rds").describe_db_instances()["DBInstances"]


def test_a_describe_without_identifier_is_authorized_on_the_types_wildcard_arn(account):
    """RDS authorizes a listing call on `db:*`: a policy naming one database does not allow it."""
    make_pg(account.client("rds"))
    one = account.as_role(account.role("one", allow("rds:DescribeDBInstances", db_arn("prod"))), "rds")
    assert denied(one.describe_db_instances).response["Error"]["Code"] == "AccessDenied"
    every = account.as_role(account.role("every", allow("rds:DescribeDBInstances", db_arn("*"))), "rds")
    assert every.describe_db_instances()["DBInstances"]


def test_a_tag_condition_reads_the_tags_of_the_resource_acted_on_not_its_clusters(account):
    """IAM User Guide, aws:ResourceTag: "the tag key-value pair attached to the resource" of the
    request. An Aurora cluster's tag does not opt its member instances in."""
    rds = account.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", EngineVersion="13.12",
                          MasterUsername="app", MasterUserPassword="password123",
                          Tags=[{"Key": "bluegreen:managed", "Value": "true"}])
    rds.create_db_instance(DBInstanceIdentifier="ledger-1", DBClusterIdentifier="ledger", Engine="aurora-postgresql",
                           DBInstanceClass="db.r6g.large")
    opted = {"StringEquals": {"aws:ResourceTag/bluegreen:managed": "true"}}
    arn = account.role("modifier", allow("rds:ModifyDBInstance", db_arn("*"), opted),
                       allow("rds:ModifyDBCluster", f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:*", opted, sid="C"))
    client = account.as_role(arn, "rds")
    client.modify_db_cluster(DBClusterIdentifier="ledger", DeletionProtection=False)
    err = denied(lambda: client.modify_db_instance(DBInstanceIdentifier="ledger-1", DeletionProtection=False))
    assert db_arn("ledger-1") in err.response["Error"]["Message"]
    rds.add_tags_to_resource(ResourceName=db_arn("ledger-1"), Tags=[{"Key": "bluegreen:managed", "Value": "true"}])
    client.modify_db_instance(DBInstanceIdentifier="ledger-1", DeletionProtection=False)


def test_request_tags_and_tag_keys_are_the_tags_in_the_request(account):
    """aws:RequestTag/KEY and aws:TagKeys: the tags the request passes (IAM User Guide)."""
    make_pg(account.client("rds"), "prod-old1", tags={"bluegreen:managed": "true"})
    arn = account.role("marker", allow("rds:AddTagsToResource", db_arn("*-old*"), {
        "StringEquals": {"aws:ResourceTag/bluegreen:managed": "true"},
        "ForAllValues:StringEquals": {"aws:TagKeys": ["bluegreen:old-blue-of"]}}))
    rds = account.as_role(arn, "rds")
    rds.add_tags_to_resource(ResourceName=db_arn("prod-old1"), Tags=[{"Key": "bluegreen:old-blue-of", "Value": "prod"}])
    denied(lambda: rds.add_tags_to_resource(ResourceName=db_arn("prod-old1"),
                                            Tags=[{"Key": "bluegreen:managed", "Value": "false"}]))


def test_an_explicit_deny_wins(account):
    make_pg(account.client("rds"))
    arn = account.role("denied", allow("rds:DescribeDBInstances", "*"),
                       {"Sid": "No", "Effect": "Deny", "Action": "rds:Describe*", "Resource": db_arn("prod")})
    err = denied(lambda: account.as_role(arn, "rds").describe_db_instances(DBInstanceIdentifier="prod"))
    assert "with an explicit deny in an identity-based policy" in err.response["Error"]["Message"]


def test_a_service_assumes_a_role_only_when_its_trust_policy_allows_it(endpoint, account):
    """IAM User Guide, "Roles terms and concepts": the trust policy names who may assume the role."""
    arn = account.role("for-lambda")
    with pytest.raises(urllib.error.HTTPError) as e:
        control(endpoint, "/_emulator/sts/assume-role-as-service",
                {"RoleArn": arn, "Service": "states.amazonaws.com"})
    assert e.value.code == 403
    assert control(endpoint, "/_emulator/sts/assume-role-as-service",
                   {"RoleArn": arn, "Service": "lambda.amazonaws.com"})["AccessKeyId"]


# ---------------------------------------------------------------- what RDS checks on the caller's behalf
CREATE = allow("rds:CreateBlueGreenDeployment", "*", sid="Create")
ON_BEHALF = allow(["rds:CreateDBInstanceReadReplica", "rds:AddTagsToResource"], "*", sid="OnBehalf")


def create_bg(client, name="prod"):
    return client.create_blue_green_deployment(BlueGreenDeploymentName=f"bg-{name}", Source=db_arn(name),
                                               TargetEngineVersion="16.4")


def test_create_needs_the_actions_rds_performs_for_the_caller(account):
    """RDS User Guide, "Authorizing access to blue/green deployment operations": the creator needs
    rds:CreateBlueGreenDeployment, rds:AddTagsToResource, rds:CreateDBInstanceReadReplica."""
    make_pg(account.client("rds"), tags={"team": "orders"})
    only_create = account.as_role(account.role("create-only", CREATE), "rds")
    err = denied(lambda: create_bg(only_create))
    assert "rds:CreateDBInstanceReadReplica" in err.response["Error"]["Message"]
    assert account.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"] == [], \
        "a denied create creates nothing"
    assert create_bg(account.as_role(account.role("creator", CREATE, ON_BEHALF), "rds"))


def test_create_of_a_monitored_source_needs_pass_role_on_its_monitoring_role(account):
    """Service Authorization Reference: rds:CreateDBInstanceReadReplica's dependent iam:PassRole;
    Enhanced Monitoring's role is passed to RDS's monitoring service."""
    monitoring = account.role("monitoring", trust={"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "monitoring.rds.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    make_pg(account.client("rds"), MonitoringRoleArn=monitoring, MonitoringInterval=60)
    assert account.client("rds").describe_db_instances()["DBInstances"][0]["MonitoringRoleArn"] == monitoring
    without = account.as_role(account.role("no-pass", CREATE, ON_BEHALF), "rds")
    err = denied(lambda: create_bg(without))
    assert f"iam:PassRole on resource: {monitoring}" in err.response["Error"]["Message"]
    passer = account.role("pass", CREATE, ON_BEHALF, allow("iam:PassRole", monitoring, {
        "StringEquals": {"iam:PassedToService": "monitoring.rds.amazonaws.com"}}, sid="Pass"))
    assert create_bg(account.as_role(passer, "rds"))


def _key(account, policy_statements):
    kms = account.client("kms")
    return kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": policy_statements}))["KeyMetadata"]


ROOT_STATEMENT = {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
                  "Action": "kms:*", "Resource": "*"}


def test_an_encrypted_source_uses_the_aws_managed_key_by_default_which_needs_no_grant(account):
    """RDS User Guide, "AWS KMS key management": "By default, the RDS AWS managed key (aws/rds) is
    used"; its key policy lets the account's principals use it through RDS."""
    make_pg(account.client("rds"), StorageEncrypted=True)
    key = account.client("rds").describe_db_instances()["DBInstances"][0]["KmsKeyId"]
    meta = account.client("kms").describe_key(KeyId=key)["KeyMetadata"]
    assert meta["KeyManager"] == "AWS" and key == meta["Arn"]
    assert create_bg(account.as_role(account.role("creator", CREATE, ON_BEHALF), "rds"))


def test_a_customer_managed_key_needs_create_grant_and_describe_key_through_rds(account):
    """RDS User Guide, "AWS KMS key management": creating with a customer managed key needs
    kms:CreateGrant and kms:DescribeKey on it; the key policy decides, IAM counts when the key
    policy lets it (KMS Developer Guide, "Default key policy")."""
    key = _key(account, [ROOT_STATEMENT])
    make_pg(account.client("rds"), StorageEncrypted=True, KmsKeyId=key["KeyId"])
    assert account.client("rds").describe_db_instances()["DBInstances"][0]["KmsKeyId"] == key["Arn"]
    without = account.as_role(account.role("no-key", CREATE, ON_BEHALF), "rds")
    assert "kms:CreateGrant" in denied(lambda: create_bg(without)).response["Error"]["Message"]
    with_key = account.role("key", CREATE, ON_BEHALF, allow(["kms:CreateGrant", "kms:DescribeKey"], key["Arn"], {
        "StringEquals": {"kms:ViaService": f"rds.{REGION}.amazonaws.com"}}, sid="Key"))
    assert create_bg(account.as_role(with_key, "rds"))


def test_a_key_policy_without_the_account_statement_ignores_iam(account):
    """KMS Developer Guide: without the statement that enables IAM policies, "IAM policies cannot
    grant access to the key"."""
    key = _key(account, [{"Sid": "Someone", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/x"},
                          "Action": "kms:*", "Resource": "*"}])
    arn = account.role("describer", allow("kms:DescribeKey", "*"))
    err = denied(lambda: account.as_role(arn, "kms").describe_key(KeyId=key["Arn"]))
    assert err.response["Error"]["Code"] == "AccessDeniedException"


def _switchover_ready(account, opted_members):
    rds = account.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", EngineVersion="13.12",
                          MasterUsername="app", MasterUserPassword="password123",
                          Tags=[{"Key": "bluegreen:managed", "Value": "true"}])
    tags = [{"Key": "bluegreen:managed", "Value": "true"}] if opted_members else []
    rds.create_db_instance(DBInstanceIdentifier="ledger-1", DBClusterIdentifier="ledger", Engine="aurora-postgresql",
                           DBInstanceClass="db.r6g.large", Tags=tags)
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bg-ledger", TargetEngineVersion="16.4",
                                          Source=f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:ledger",
                                          Tags=[{"Key": "bluegreen:managed-by", "Value": "rds-bluegreen"}])
    rds.describe_blue_green_deployments()  # the first poll
    opted = {"StringEquals": {"aws:ResourceTag/bluegreen:managed": "true"}}
    arn = account.role("switcher", allow("rds:SwitchoverBlueGreenDeployment", "*", sid="Sw"),
                       allow(["rds:ModifyDBInstance", "rds:PromoteReadReplica"], db_arn("*"), opted, sid="I"),
                       allow(["rds:ModifyDBCluster", "rds:PromoteReadReplicaDBCluster"],
                             f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:*", opted, sid="C"))
    return bg["BlueGreenDeployment"]["BlueGreenDeploymentIdentifier"], account.as_role(arn, "rds")


def test_switchover_per_member_reads_each_members_own_tags(account):
    """RDS/Aurora User Guide: the switchover's caller needs ModifyDBInstance/ModifyDBCluster and the
    promotions. On which members RDS checks them is not documented: `per_member` (the default)
    checks each, with its own tags (green's copied from its blue member)."""
    account.iam_state(member_authorization="per_member")
    ident, client = _switchover_ready(account, opted_members=False)
    err = denied(lambda: client.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=ident))
    assert "rds:ModifyDBInstance" in err.response["Error"]["Message"] and ":db:ledger-1" in err.response["Error"]["Message"]


def test_switchover_primary_only_checks_the_clusters_alone(account):
    """The other plausible answer: only the deployment's source and target."""
    account.iam_state(member_authorization="primary_only")
    ident, client = _switchover_ready(account, opted_members=False)
    client.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=ident)


def test_switchover_per_member_passes_when_every_member_is_opted_in(account):
    account.iam_state(member_authorization="per_member")
    ident, client = _switchover_ready(account, opted_members=True)
    client.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=ident)


def test_green_copies_each_blue_members_own_tags(account):
    """RDS/Aurora User Guide, considerations: "tags from the blue environment are copied to the
    green environment" — each green member has its blue member's tags (moto gave every green member
    the cluster's)."""
    account.iam_state(member_authorization="per_member")
    _switchover_ready(account, opted_members=False)
    rds = account.client("rds")
    green = [d for d in rds.describe_db_instances()["DBInstances"] if d["DBInstanceIdentifier"].startswith("ledger-1-green")]
    assert green and green[0]["TagList"] == []
    cluster = [c for c in rds.describe_db_clusters()["DBClusters"] if c["DBClusterIdentifier"].startswith("ledger-green")]
    assert {"Key": "bluegreen:managed", "Value": "true"} in cluster[0]["TagList"]


def test_publishing_to_an_encrypted_topic_needs_the_keys_data_key_actions(account):
    """SNS Developer Guide, "Encryption at rest": publishers need kms:GenerateDataKey* and
    kms:Decrypt on the topic's key."""
    key = _key(account, [ROOT_STATEMENT])
    topic = account.client("sns").create_topic(Name="t", Attributes={"KmsMasterKeyId": key["Arn"]})["TopicArn"]
    publish_only = account.as_role(account.role("pub", allow("sns:Publish", topic)), "sns")
    err = denied(lambda: publish_only.publish(TopicArn=topic, Message="m"))
    assert "kms:GenerateDataKey" in err.response["Error"]["Message"]
    both = account.role("pub-key", allow("sns:Publish", topic),
                        allow(["kms:GenerateDataKey", "kms:Decrypt"], key["Arn"], sid="K"))
    account.as_role(both, "sns").publish(TopicArn=topic, Message="m")


def test_put_metric_data_is_authorized_on_its_namespace(account):
    """CloudWatch: PutMetricData has no resource; cloudwatch:namespace is its condition key."""
    arn = account.role("metrics", allow("cloudwatch:PutMetricData", "*",
                                        {"StringEquals": {"cloudwatch:namespace": "RdsBlueGreen"}}))
    cw = account.as_role(arn, "cloudwatch")
    cw.put_metric_data(Namespace="RdsBlueGreen", MetricData=[{"MetricName": "m", "Value": 1}])
    denied(lambda: cw.put_metric_data(Namespace="Other", MetricData=[{"MetricName": "m", "Value": 1}]))


def test_an_operation_no_row_models_is_denied_and_recorded(account):
    arn = account.role("anything", allow("*", "*"))
    ec2 = account.as_role(arn, "ec2")
    denied(ec2.describe_vpcs)
    assert any("DescribeVpcs" in u["operation"] for u in account.iam_state()["unmodelled"])


def test_what_each_role_called_is_recorded_for_the_permission_table(account):
    make_pg(account.client("rds"))
    arn = account.role("reader", allow("rds:DescribeDBInstances", "*"))
    account.as_role(arn, "rds").describe_db_instances()
    assert account.iam_state()["calls"][arn] == {"rds:DescribeDBInstances": 1}


if os.environ.get("AUTHZ_SELFTEST_DEBUG"):  # pragma: no cover
    print(sorted(authz.OPERATIONS))


def test_a_read_replica_has_the_tags_it_was_created_with_not_its_primarys(account):
    """API reference, CreateDBInstanceReadReplica: `Tags` are the new instance's (moto gave the
    replica the primary's): a replica opts in on its own."""
    rds = account.client("rds")
    make_pg(rds, tags={"bluegreen:managed": "true"})
    rds.create_db_instance_read_replica(DBInstanceIdentifier="prod-r1", SourceDBInstanceIdentifier="prod")
    rds.create_db_instance_read_replica(DBInstanceIdentifier="prod-r2", SourceDBInstanceIdentifier="prod",
                                        Tags=[{"Key": "bluegreen:managed", "Value": "true"}])
    tags = {d["DBInstanceIdentifier"]: d["TagList"] for d in rds.describe_db_instances()["DBInstances"]}
    assert tags["prod-r1"] == [] and tags["prod-r2"] == [{"Key": "bluegreen:managed", "Value": "true"}]


def test_a_custom_endpoint_has_its_own_tags_listed_and_copied_to_its_green(account):
    """ListTagsForResource / AddTagsToResource work on cluster-endpoint ARNs (moto: nothing); green's
    copy of an endpoint gets that endpoint's tags."""
    rds = account.client("rds")
    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", EngineVersion="13.12",
                          MasterUsername="app", MasterUserPassword="password123")
    rds.create_db_instance(DBInstanceIdentifier="ledger-1", DBClusterIdentifier="ledger", Engine="aurora-postgresql",
                           DBInstanceClass="db.r6g.large")
    rds.create_db_cluster_endpoint(DBClusterIdentifier="ledger", DBClusterEndpointIdentifier="reports",
                                   EndpointType="READER", StaticMembers=["ledger-1"])
    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-endpoint:reports"
    assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == []
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": "bluegreen:managed", "Value": "true"}])
    assert rds.list_tags_for_resource(ResourceName=arn)["TagList"] == [{"Key": "bluegreen:managed", "Value": "true"}]
    rds.create_blue_green_deployment(BlueGreenDeploymentName="bg", TargetEngineVersion="16.4",
                                     Source=f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:ledger")
    green = [e for e in rds.describe_db_cluster_endpoints()["DBClusterEndpoints"]
             if e.get("EndpointType") == "CUSTOM" and e["DBClusterEndpointIdentifier"].startswith("reports-green-")]
    assert rds.list_tags_for_resource(ResourceName=green[0]["DBClusterEndpointArn"])["TagList"] == \
        [{"Key": "bluegreen:managed", "Value": "true"}]

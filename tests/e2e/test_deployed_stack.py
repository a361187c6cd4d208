"""What deploys is what runs: the stack deployed from infra/template.yaml, with IAM enforced as
AWS evaluates it (tests/emulator/authz.py) and events routed by the template's own rules. Each
test names the defect of the template or the product it shows fixed (issue 20)."""

import json
import os

import pytest
import subprocess
import sys
import time

import deploy
from harness import (ACCOUNT, OPT_IN, REGION, ROOT, _start, _stop, seed_aurora_postgres_cluster,
                     seed_postgres_instance, tag_for_fleet)


def executions(stack, machine="upgrade"):
    return stack.sfn.list_executions(stateMachineArn=stack.machines[machine])["executions"]


def instance(stack, name):
    found = stack.client("rds").describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [name]}])
    return found["DBInstances"][0] if found["DBInstances"] else None


def remove_statement(stack, binary, sid):
    """Takes one statement out of a function's role (the stack is then deployed again for the next test)."""
    iam = stack.client("iam")
    role = stack.role_arn(binary).rsplit("/", 1)[-1]
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        doc = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        kept = [st for st in doc["Statement"] if st.get("Sid") != sid]
        if len(kept) != len(doc["Statement"]):
            iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=json.dumps({**doc, "Statement": kept}))
            stack.dirty = True
            return
    raise AssertionError(f"no statement {sid} in the {binary} function's role")


# ---------------------------------------------------------------- the enforcement can fail
def test_removing_one_action_from_one_role_fails_the_run_with_access_denied_naming_it(stack):
    request = seed_postgres_instance(stack.client("rds"))
    remove_statement(stack, "switchover", "SwitchoverManagedDeploymentOnly")
    rc, out, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 1, err[-3000:]
    assert "is not authorized to perform: rds:SwitchoverBlueGreenDeployment" in out["Cause"], out
    assert f"assumed-role/{stack.role_arn('switchover').rsplit('/', 1)[-1]}/" in out["Cause"]
    assert instance(stack, "orders-pg")["EngineVersion"] == "13.15", "production is untouched"
    [deployment] = stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"]
    assert deployment["Status"] == "AVAILABLE", "green stays prepared: a switchover was asked for and refused"


def test_every_call_of_a_full_upgrade_is_in_its_workers_row_of_the_permission_table(stack):
    """The harness fails a run whose role called anything outside infra/permissions.yaml; this
    shows it looks at every function of a full upgrade, not none."""
    request = seed_postgres_instance(stack.client("rds"))
    rc, _, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    called = {stack.deployed.role_of_function().get(role) for role in stack.iam()["calls"]}
    assert {"precheck", "create", "wait", "guardrails", "switchover", "verify", "cleanup",
            "remediation-metric"} <= called, called
    assert stack.permission_violations() == []


# ---------------------------------------------------------------- the alarm rule
def test_the_stacks_own_surge_alarm_going_to_alarm_starts_no_run(stack):
    """RemediationSurgeAlarm has a generated name, `<stack>-RemediationSurgeAlarm-...`, which starts
    with the default AlarmNamePrefix (`rds-bluegreen-`): AlarmTriggerRule must not start a run
    against it (a refused run notifies "failed" and counts one more remediation)."""
    surge = stack.deployed.physical["RemediationSurgeAlarm"]
    assert surge.startswith(stack.deployed.parameters["AlarmNamePrefix"]), surge
    rule = f"rule/{stack.rule_name('AlarmTriggerRule')}"
    seed_postgres_instance(stack.client("rds"))
    stack.set_alarm_state(surge, "ALARM")
    # A real database alarm afterwards: once its delivery is there, the surge's would be too.
    stack.alarm("rds-bluegreen-orders-pg-eol", {"DBInstanceIdentifier": "orders-pg"})
    assert stack.await_delivery(rule) is not None
    time.sleep(0.5)
    started = [d for d in stack.deliveries() if d["source"] == rule]
    assert len(started) == 1, started
    inputs = [json.loads(stack.sfn.describe_execution(executionArn=e["executionArn"])["input"])
              for e in executions(stack)]
    assert [i["detail"]["alarmName"] for i in inputs] == ["rds-bluegreen-orders-pg-eol"]


def test_an_alarm_with_another_prefix_or_no_database_dimension_or_back_to_ok_starts_nothing(stack):
    seed_postgres_instance(stack.client("rds"))
    stack.alarm("orders-pg-cpu", {"DBInstanceIdentifier": "orders-pg"})  # not the prefix
    stack.alarm("rds-bluegreen-queue-depth", {"QueueName": "jobs"}, namespace="AWS/SQS",
                metric="ApproximateNumberOfMessagesVisible")  # no database
    stack.alarm("rds-bluegreen-orders-pg-ok", {"DBInstanceIdentifier": "orders-pg"}, state="ALARM")
    stack.set_alarm_state("rds-bluegreen-orders-pg-ok", "OK")
    rule = f"rule/{stack.rule_name('AlarmTriggerRule')}"
    assert stack.await_delivery(rule) is not None  # the one ALARM with prefix and dimension
    time.sleep(0.5)
    assert len([d for d in stack.deliveries() if d["source"] == rule]) == 1


# ---------------------------------------------------------------- secrets stay out of the logs
def test_the_approval_task_token_is_not_in_the_state_machine_logs(stack):
    """The approval Task passes its token in its parameters; with IncludeExecutionData the state
    machine's log group would hold every token (Step Functions logs the events' data)."""
    request = seed_postgres_instance(stack.client("rds"))
    name = "approval-logs"
    stack.control("stepfunctions", {"executions": {name: {"max_wait_seconds": 1}}})
    arn = stack.sfn.start_execution(stateMachineArn=stack.machines["upgrade"], name=name, input=json.dumps(
        {**request, "action": "upgrade", "require_approval": True, "soak_hours": 0}))["executionArn"]
    token, deadline = None, time.time() + 180
    while token is None and time.time() < deadline:
        for event in stack.history(arn):
            params = (event.get("taskScheduledEventDetails") or {}).get("parameters")
            if params and "task_token" in params:
                token = json.loads(params)["Payload"]["task_token"]
        time.sleep(0.25)
    assert token, "the run reached its approval"
    group = stack.deployed.physical["StateMachineLogGroup"]
    logs = stack.client("logs")
    messages = [e["message"] for s in logs.describe_log_streams(logGroupName=group)["logStreams"]
                for e in logs.get_log_events(logGroupName=group, logStreamName=s["logStreamName"])["events"]]
    logged = [json.loads(m) for m in messages if json.loads(m)["execution_arn"] == arn]
    assert any(m["type"] == "TaskScheduled" for m in logged), "the machine logs its events (level ALL)"
    assert not [m for m in messages if token in m], "no task token in the logs"
    stack.sfn.stop_execution(executionArn=arn)


# ---------------------------------------------------------------- a fleet run locally
def test_make_execute_with_a_fleet_request_follows_the_fleet_to_its_end(stack, tmp_path):
    """`make execute` handed a fleet over and then stopped the local Lambda service under the
    running fleet: nothing was upgraded. It now follows the fleet execution to its end."""
    rds = stack.client("rds")
    tag_for_fleet(rds, seed_postgres_instance(rds, name="local-fleet-pg"), wave="7")
    request = tmp_path / "fleet.json"
    request.write_text(json.dumps({"selector": {"tags": {"bluegreen:wave": "7"}}, "action": "upgrade",
                                   "soak_hours": 0}))
    env = {**os.environ, "AWS_ENDPOINT_URL": stack.endpoint, "AWS_ACCESS_KEY_ID": "testing",
           "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION}
    stack.dirty = True  # execute.py deploys the stack again into this emulator
    done = subprocess.run([sys.executable, str(ROOT / "tests" / "e2e" / "execute.py"), "--input", str(request)],
                          capture_output=True, text=True, timeout=900, env=env, cwd=ROOT / "tests" / "e2e")
    assert done.returncode == 0, done.stderr[-3000:]
    assert "handed over to the fleet state machine: following" in done.stderr
    output = json.loads(done.stdout.strip().splitlines()[-1])
    assert [(r["db_identifier"], r["outcome"]) for r in output["rows"]] == [("local-fleet-pg", "succeeded")], output
    assert instance(stack, "local-fleet-pg")["EngineVersion"] == "16.4"


# ---------------------------------------------------------------- the partition
def test_in_aws_cn_the_definitions_carry_the_partitions_arns_and_a_fleet_is_handed_over(stack):
    """`arn:aws:states:::...` was written into the definitions: wrong in aws-cn and aws-us-gov.
    The stack deployed in cn-north-1 (its own local Lambda service there), and a fleet request
    handed over through the aws-cn states:startExecution integration, with IAM enforced."""
    env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_REGION": "cn-north-1", "AWS_DEFAULT_REGION": "cn-north-1", "AWS_ENDPOINT_URL": stack.endpoint}
    lambdas, url = _start([sys.executable, str(ROOT / "tests" / "local" / "lambda_service.py"), "--port", "0",
                           "--account", ACCOUNT], "lambda service listening on", env, stack.workdir / "cn-lambda.log")
    stack.dirty = True  # the next test gets a fresh account (and the emulator's Lambda wiring back)
    try:
        deployed = deploy.deploy(lambda service, region="cn-north-1": stack.client(service, "cn-north-1"), url,
                                 "cn-north-1", ACCOUNT, {}, stack.bin_dir)
        stack.control("stepfunctions", {"lambda_endpoint": url})
        sfn = stack.client("stepfunctions", "cn-north-1")
        for arn in (deployed.outputs["StateMachineArn"], deployed.outputs["FleetStateMachineArn"]):
            definition = sfn.describe_state_machine(stateMachineArn=arn)["definition"]
            assert "arn:aws:" not in definition and "arn:aws-cn:states:::" in definition, arn
        tag_for_fleet(stack.client("rds", "cn-north-1"), seed_postgres_instance(stack.client("rds", "cn-north-1")))
        started = sfn.start_execution(stateMachineArn=deployed.outputs["StateMachineArn"],
                                      input=json.dumps({"selector": {"tags": {"bluegreen:wave": "1"}}}))
        desc = _wait(sfn, started["executionArn"])
        assert desc["status"] == "SUCCEEDED", desc
        fleet = _wait(sfn, json.loads(desc["output"])["fleet_execution"])
        assert fleet["status"] == "SUCCEEDED", fleet
        assert [r["outcome"] for r in json.loads(fleet["output"])["rows"]] == ["planned"]
        assert stack.iam()["denied"] == []
    finally:
        _stop(lambdas)


def _wait(sfn, arn, timeout=300):
    deadline = time.time() + timeout
    while time.time() < deadline:
        desc = sfn.describe_execution(executionArn=arn)
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.25)
    raise AssertionError(f"{arn} still running")


@pytest.mark.parametrize("members", ["per_member", "primary_only"])
def test_an_aurora_cluster_whose_members_are_opted_in_upgrades_with_delete_old_blue(stack, members):
    """Cleanup deletes the old blue's member instances (each conditioned on its own tag): with
    every member tagged as the README says, the run completes, whether RDS authorizes the
    switchover's renames per member or on the clusters alone (not documented)."""
    stack.iam(member_authorization=members)
    request = seed_aurora_postgres_cluster(stack.client("rds"))
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0, "delete_old_blue": True})
    assert rc == 0, err[-3000:]
    assert run["cleanup"]["old_blue_deleted"] is True
    names = {c["DBClusterIdentifier"] for c in stack.client("rds").describe_db_clusters()["DBClusters"]}
    assert names == {"ledger-aurora"}, names


def test_an_aurora_green_with_a_custom_endpoint_is_aborted_member_by_member(stack):
    """Abort deletes green with DeleteTarget: RDS asks the caller for DeleteDBInstance on each green
    instance and DeleteDBClusterEndpoint on each green endpoint (Aurora User Guide), each under its
    own tag, copied from its blue."""
    rds = stack.client("rds")
    request = seed_aurora_postgres_cluster(rds)
    rds.create_db_cluster_endpoint(DBClusterIdentifier="ledger-aurora", DBClusterEndpointIdentifier="reporting",
                                   EndpointType="READER", StaticMembers=["ledger-aurora-2"], Tags=OPT_IN)
    rc, _, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err[-3000:]
    rc, _, err = stack.execute({**request, "action": "abort"})
    assert rc == 0, err[-3000:]
    assert stack.iam()["denied"] == []
    assert {c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"]} == {"ledger-aurora"}
    assert sorted(e["DBClusterEndpointIdentifier"] for e in rds.describe_db_cluster_endpoints()["DBClusterEndpoints"]
                  if e.get("EndpointType") == "CUSTOM") == ["reporting"]


# ---------------------------------------------------------------- the opt-in tag, per resource
def precheck_failure(out):
    assert out["Error"] == "PrecheckFailed", out
    return out["Cause"]


def test_an_untagged_database_is_refused_at_precheck_with_nothing_created(stack):
    request = seed_postgres_instance(stack.client("rds"), Tags=[{"Key": "team", "Value": "orders"}])
    rc, plan, err = stack.execute(request)
    assert rc == 0, err[-3000:]
    [check] = [c for c in plan["report"]["checks"] if c["id"] == "opt-in"]
    assert check["verdict"] == "fail" and "orders-pg" in check["observed"]
    assert "aws rds add-tags-to-resource --resource-name arn:aws:rds:us-east-1:123456789012:db:orders-pg " \
           "--tags Key=bluegreen:managed,Value=true" in check["fix"]
    rc, out, err = stack.execute({**request, "action": "prepare"})
    assert rc == 1 and "opt-in" in precheck_failure(out), err[-3000:]
    assert stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"] == []
    assert stack.iam()["denied"] == [], "refused before any call the roles may not make"


def test_an_aurora_member_without_the_tag_is_refused_at_precheck_naming_it(stack):
    """Cleanup with delete_old_blue deletes the old member instances, each conditioned on its own
    tag: without the precheck, the run would be denied half-way (after the switchover)."""
    rds = stack.client("rds")
    request = seed_aurora_postgres_cluster(rds)
    rds.remove_tags_from_resource(ResourceName=f"arn:aws:rds:{REGION}:{ACCOUNT}:db:ledger-aurora-2",
                                  TagKeys=["bluegreen:managed"])
    rc, out, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0, "delete_old_blue": True})
    assert rc == 1, err[-3000:]
    cause = precheck_failure(out)
    assert "ledger-aurora-2" in cause and "ledger-aurora-1" not in cause.split("opt-in", 1)[1].split("]")[0], cause
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == []


def test_a_read_replica_without_the_tag_is_refused_at_precheck_naming_it(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    rds.create_db_instance_read_replica(DBInstanceIdentifier="orders-pg-r1", SourceDBInstanceIdentifier="orders-pg",
                                        DBInstanceClass="db.r6g.large")  # no Tags: a replica's tags are its own
    rc, out, err = stack.execute({**request, "action": "prepare"})
    assert rc == 1 and "orders-pg-r1" in precheck_failure(out), err[-3000:]
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == []


def test_an_instance_with_an_opted_in_replica_upgrades_and_deletes_the_old_ones(stack):
    """Every member tagged as the README says: the whole run, cleanup with delete_old_blue
    included (the old replica deleted under its own tag), goes through with IAM enforced."""
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    rds.create_db_instance_read_replica(DBInstanceIdentifier="orders-pg-r1", SourceDBInstanceIdentifier="orders-pg",
                                        DBInstanceClass="db.r6g.large", Tags=OPT_IN)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0, "delete_old_blue": True})
    assert rc == 0, err[-3000:]
    names = {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]}
    assert names == {"orders-pg", "orders-pg-r1"}, names
    assert stack.iam()["denied"] == []


# ---------------------------------------------------------------- what RDS asks the creator for
def monitoring_role(stack):
    return stack.client("iam").create_role(RoleName="rds-monitoring", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"Service": "monitoring.rds.amazonaws.com"}}]}))["Role"]["Arn"]


def test_a_source_with_enhanced_monitoring_needs_its_role_given_to_the_stack(stack):
    """RDS asks the creator for iam:PassRole on the source's monitoring role: refused at precheck
    while the stack was not given it, upgraded once EnhancedMonitoringRoleArns names it."""
    role = monitoring_role(stack)
    request = seed_postgres_instance(stack.client("rds"), MonitoringRoleArn=role, MonitoringInterval=60)
    rc, out, err = stack.execute({**request, "action": "prepare"})
    assert rc == 1 and "monitoring-role" in precheck_failure(out) and role in out["Cause"], err[-3000:]
    assert stack.iam()["denied"] == []
    stack.deploy(fresh=False, EnhancedMonitoringRoleArns=role)  # the operator updates the stack
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"


def test_a_source_with_a_customer_managed_key_needs_the_key_given_to_the_stack(stack):
    """RDS asks the creator for kms:CreateGrant and kms:DescribeKey on a customer managed key:
    refused at precheck while the stack was not given it, upgraded once DatabaseKmsKeyArns names it."""
    key = stack.client("kms").create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "kms:*",
         "Resource": "*"}]}))["KeyMetadata"]["Arn"]
    request = seed_postgres_instance(stack.client("rds"), KmsKeyId=key)
    rc, out, err = stack.execute({**request, "action": "prepare"})
    assert rc == 1 and "kms-key" in precheck_failure(out) and key in out["Cause"], err[-3000:]
    stack.deploy(fresh=False, DatabaseKmsKeyArns=key)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"


def test_the_aws_managed_key_needs_nothing_from_the_stack(stack):
    request = seed_postgres_instance(stack.client("rds"))  # StorageEncrypted, no KmsKeyId: aws/rds
    rc, run, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err[-3000:]
    [check] = [c for c in run["report"]["checks"] if c["id"] == "kms-key"]
    assert check["verdict"] == "pass" and "AWS managed" in check["observed"], check


# ---------------------------------------------------------------- the documented topic override
def test_notification_topic_arn_works_once_the_stack_may_publish_to_it(stack):
    sns, sqs = stack.client("sns"), stack.client("sqs")
    topic = sns.create_topic(Name="team-alerts")["TopicArn"]
    queue = sqs.create_queue(QueueName="team-alerts")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
    request = {**seed_postgres_instance(stack.client("rds")), "notification_topic_arn": topic}
    rc, out, err = stack.execute({**request, "action": "prepare"})
    assert rc == 1 and "notification-topic" in precheck_failure(out), err[-3000:]
    stack.deploy(fresh=False, NotificationTopicArns=topic)
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    bodies = [json.loads(m["Body"]) for m in sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]]
    assert "succeeded" in [b["milestone"] for b in bodies], bodies

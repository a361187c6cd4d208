"""Self-tests of events.py: CloudWatch alarm state changes on EventBridge, event patterns as AWS
matches them, Step Functions targets started with their role, schedule rules and Scheduler.

Run: .venv/bin/python -m pytest tests/emulator/test_events.py -q
"""
import json
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

from control import control
from pathlib import Path

import boto3
import pytest
from botocore.config import Config

HERE = Path(__file__).resolve().parent
ACCOUNT, REGION = "123456789012", "us-east-1"


@pytest.fixture(scope="module")
def endpoint(emulator):
    return emulator


@pytest.fixture
def aws(endpoint):
    control(endpoint, "/_emulator/reset", {})

    def client(service):
        return boto3.client(service, region_name=REGION, endpoint_url=endpoint, aws_access_key_id="testing",
                            aws_secret_access_key="testing", config=Config(retries={"total_max_attempts": 1}))
    client.endpoint = endpoint
    return client


def machine(aws, principal="events.amazonaws.com", allowed=True):
    """A state machine (one Pass state), and a role `principal` may assume to start it."""
    arn = aws("stepfunctions").create_state_machine(
        name="m", roleArn=f"arn:aws:iam::{ACCOUNT}:role/none",
        definition=json.dumps({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    iam = aws("iam")
    role = iam.create_role(RoleName="starter", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": principal},
                                                "Action": "sts:AssumeRole",
                                                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}}]}))["Role"]["Arn"]
    if allowed:
        iam.put_role_policy(RoleName="starter", PolicyName="p", PolicyDocument=json.dumps({
            "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "states:StartExecution",
                                                    "Resource": arn}]}))
    return arn, role


def deliveries(aws, n=1, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = control(aws.endpoint, "/_emulator/events")["deliveries"]
        if len(found) >= n:
            return found
        time.sleep(0.05)
    return control(aws.endpoint, "/_emulator/events")["deliveries"]


def rds_alarm(aws, name="rds-bluegreen-orders", dims=None):
    aws("cloudwatch").put_metric_alarm(
        AlarmName=name, Namespace="AWS/RDS", MetricName="CPUUtilization", Statistic="Average", Period=300,
        EvaluationPeriods=1, Threshold=80.0, ComparisonOperator="GreaterThanThreshold",
        Dimensions=[{"Name": k, "Value": v} for k, v in (dims or {"DBInstanceIdentifier": "orders-pg"}).items()])


def rule_to(aws, target, role, pattern):
    events = aws("events")
    events.put_rule(Name="r", EventPattern=json.dumps(pattern))
    events.put_targets(Rule="r", Targets=[{"Id": "t", "Arn": target, "RoleArn": role}])


def test_an_alarm_state_change_is_an_event_shaped_as_cloudwatch_sends_it(aws):
    """CloudWatch User Guide, "Alarm events and EventBridge": detail-type "CloudWatch Alarm State
    Change", source aws.cloudwatch, resources [alarm ARN], detail with alarmName, state,
    previousState and configuration.metrics[].metricStat.metric {namespace, name, dimensions}."""
    arn, role = machine(aws)
    rule_to(aws, arn, role, {"source": ["aws.cloudwatch"]})
    rds_alarm(aws)
    aws("cloudwatch").set_alarm_state(AlarmName="rds-bluegreen-orders", StateValue="ALARM", StateReason="r")
    [d] = deliveries(aws)
    execution = aws("stepfunctions").describe_execution(executionArn=d["execution_arn"])
    event = json.loads(execution["input"])
    assert event["detail-type"] == "CloudWatch Alarm State Change" and event["source"] == "aws.cloudwatch"
    assert event["resources"] == [f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:rds-bluegreen-orders"]
    assert event["detail"]["state"]["value"] == "ALARM" and event["detail"]["previousState"]["value"] == "OK"
    metric = event["detail"]["configuration"]["metrics"][0]["metricStat"]["metric"]
    assert metric == {"namespace": "AWS/RDS", "name": "CPUUtilization", "dimensions": {"DBInstanceIdentifier": "orders-pg"}}
    assert isinstance(event["time"], str) and event["time"].endswith("Z")


def test_setting_the_same_state_again_sends_no_event(aws):
    """Only a change of state is an event."""
    arn, role = machine(aws)
    rule_to(aws, arn, role, {"source": ["aws.cloudwatch"]})
    rds_alarm(aws)
    aws("cloudwatch").set_alarm_state(AlarmName="rds-bluegreen-orders", StateValue="OK", StateReason="r")
    time.sleep(0.5)
    assert control(aws.endpoint, "/_emulator/events")["deliveries"] == []


def test_a_pattern_on_a_field_of_an_array_of_objects_matches_any_element(aws):
    """EventBridge User Guide, "Event patterns" (arrays; exists; $or): the pattern of the
    template's alarm rule, which requires a database dimension."""
    arn, role = machine(aws)
    dims = {"DBInstanceIdentifier": [{"exists": True}]}
    rule_to(aws, arn, role, {"source": ["aws.cloudwatch"], "detail": {"$or": [
        {"configuration": {"metrics": {"metricStat": {"metric": {"dimensions": dims}}}}},
        {"configuration": {"metrics": {"metricStat": {"metric": {"dimensions": {
            "DBClusterIdentifier": [{"exists": True}]}}}}}}]}})
    cw = aws("cloudwatch")
    rds_alarm(aws, "db")
    rds_alarm(aws, "cluster", {"DBClusterIdentifier": "ledger"})
    cw.put_metric_alarm(AlarmName="math", EvaluationPeriods=1, Threshold=3, ComparisonOperator="GreaterThanThreshold",
                        Metrics=[{"Id": "q", "Expression": "SELECT SUM(Remediations) FROM RdsBlueGreen", "Period": 3600,
                                  "ReturnData": True}])
    for name in ("math", "db", "cluster"):
        cw.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="r")
    found = deliveries(aws, 2)
    time.sleep(0.3)
    found = control(aws.endpoint, "/_emulator/events")["deliveries"]
    inputs = [json.loads(aws("stepfunctions").describe_execution(executionArn=d["execution_arn"])["input"])
              for d in found]
    assert sorted(e["detail"]["alarmName"] for e in inputs) == ["cluster", "db"]


def test_a_schedule_rule_gets_no_put_event_only_its_scheduled_event(aws):
    """EventBridge User Guide, "Creating a rule that runs on a schedule": the target receives a
    "Scheduled Event" with the rule's ARN in resources; events put on the bus do not match."""
    arn, role = machine(aws)
    events = aws("events")
    events.put_rule(Name="weekly", ScheduleExpression="rate(7 days)")
    events.put_targets(Rule="weekly", Targets=[{"Id": "t", "Arn": arn, "RoleArn": role}])
    events.put_events(Entries=[{"Source": "x", "DetailType": "y", "Detail": "{}"}])
    time.sleep(0.3)
    assert control(aws.endpoint, "/_emulator/events")["deliveries"] == []
    control(aws.endpoint, "/_emulator/events/fire", {"Rule": "weekly"})
    [d] = deliveries(aws)
    event = json.loads(aws("stepfunctions").describe_execution(executionArn=d["execution_arn"])["input"])
    assert event["detail-type"] == "Scheduled Event" and event["resources"] == [events.describe_rule(Name="weekly")["Arn"]]


def test_the_target_role_must_trust_eventbridge_and_allow_the_start(aws):
    """EventBridge User Guide, "Using IAM roles to send events to targets"."""
    arn, role = machine(aws, principal="lambda.amazonaws.com")
    rule_to(aws, arn, role, {"source": ["x"]})
    aws("events").put_events(Entries=[{"Source": "x", "DetailType": "y", "Detail": "{}"}])
    [d] = deliveries(aws)
    assert "could not assume" in d["error"]


def test_a_target_role_without_start_execution_is_denied(aws):
    arn, role = machine(aws, allowed=False)
    rule_to(aws, arn, role, {"source": ["x"]})
    aws("events").put_events(Entries=[{"Source": "x", "DetailType": "y", "Detail": "{}"}])
    [d] = deliveries(aws)
    assert d["error"].startswith("AccessDeniedException") and "states:StartExecution" in d["error"]


def test_a_scheduler_schedule_starts_its_target_with_its_input_and_role(aws):
    """EventBridge Scheduler User Guide: the schedule assumes its RoleArn (scheduler.amazonaws.com)
    and sends Input as the execution's input."""
    arn, role = machine(aws, principal="scheduler.amazonaws.com")
    aws("scheduler").create_schedule(Name="s", ScheduleExpression="rate(1 day)", FlexibleTimeWindow={"Mode": "OFF"},
                                     Target={"Arn": arn, "RoleArn": role, "Input": '{"a": 1}'})
    control(aws.endpoint, "/_emulator/scheduler/fire", {"Name": "s"})
    [d] = deliveries(aws)
    assert d["source"] == "schedule/default/s"
    assert json.loads(aws("stepfunctions").describe_execution(executionArn=d["execution_arn"])["input"]) == {"a": 1}
    with pytest.raises(urllib.error.HTTPError):
        control(aws.endpoint, "/_emulator/scheduler/fire", {"Name": "missing"})

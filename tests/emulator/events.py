"""Events in the emulator: CloudWatch alarms that tell EventBridge, EventBridge rules and
EventBridge Scheduler schedules that start Step Functions executions with their target's role,
and event patterns matched as AWS matches them. Each behaviour has its source here and a
self-test in test_events.py.

- CloudWatch: "CloudWatch sends an event to Amazon EventBridge whenever a CloudWatch alarm
  changes alarm state" (CloudWatch User Guide, "Alarm events and EventBridge"), on the default
  bus of the alarm's account and Region, shaped as that page shows: detail-type "CloudWatch
  Alarm State Change", source aws.cloudwatch, resources [the alarm's ARN], detail {alarmName,
  state, previousState, configuration {description, metrics}}. Only a change of state sends one.
- EventBridge targets: a Step Functions state machine target is started with the target's
  RoleArn, which EventBridge assumes as events.amazonaws.com (EventBridge User Guide, "Using
  IAM roles to send events to targets"); the input is the matched event itself unless the
  target has Input or InputPath. Delivery is asynchronous: what happened is in
  GET /_emulator/events (deliveries, with the execution ARN or the error).
- Event patterns: "If the value in the event is an array, then the event pattern matches if the
  intersection of the event pattern array and the event array is non-empty", and arrays of
  objects are matched field by field (EventBridge User Guide, "Event patterns", "Arrays"):
  moto flattens objects only, so a pattern on `detail.configuration.metrics.metricStat...`
  never matched; here lists of objects are flattened as AWS does.
- A rule with a ScheduleExpression and no EventPattern matches no event that is put on the bus
  (moto: every event); its targets receive "Scheduled Event"s only (EventBridge User Guide,
  "Creating a rule that runs on a schedule"): POST /_emulator/events/fire {"Rule": NAME} sends
  the one it would send now (a test-speed knob: the schedule's own time is not waited for).
- EventBridge Scheduler: POST /_emulator/scheduler/fire {"Name": NAME, "GroupName": "default"}
  starts the schedule's target now (in the background: GET /_emulator/events shows the
  delivery, source "schedule/GROUP/NAME") as the schedule would (its RoleArn assumed as
  scheduler.amazonaws.com, its Input as the input; EventBridge Scheduler User Guide, "Templated
  targets", "Set up the execution role"). A test-speed knob, like the one above.
"""

import datetime
import json
import os
import threading
import uuid

import authz

DELIVERIES = []  # {"source", "target", "execution_arn" | "error"}
LOCK = threading.Lock()


def reset():
    with LOCK:
        DELIVERIES.clear()


def _iso(value=None):
    value = value or datetime.datetime.now(datetime.timezone.utc)
    if isinstance(value, (int, float)):
        value = datetime.datetime.fromtimestamp(value, datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _start_execution(source, target_arn, role_arn, service, account, region, text):
    """StartExecution signed with the target's role, through the emulator's own front (so IAM
    authorizes it as it would on AWS). Recorded in DELIVERIES."""
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError

    record = {"source": source, "target": target_arn, "role": role_arn}
    try:
        creds = authz.assume_role_as_service({"RoleArn": role_arn, "Service": service,
                                              "RoleSessionName": service.split(".")[0]})
        sfn = boto3.client("stepfunctions", region_name=region, endpoint_url=f"http://localhost:{os.environ['MOTO_PORT']}",
                           aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                           aws_session_token=creds["SessionToken"], config=Config(retries={"max_attempts": 0}))
        record["execution_arn"] = sfn.start_execution(stateMachineArn=target_arn, input=text)["executionArn"]
    except (PermissionError, KeyError) as e:
        record["error"] = f"{service} could not assume {role_arn}: {e}"
    except ClientError as e:
        err = e.response.get("Error", {})
        record["error"] = f"{err.get('Code')}: {err.get('Message')}"
    with LOCK:
        DELIVERIES.append(record)
    return record


def _deliver(source, target, event, account, region, service):
    """One target of a rule or schedule, in the background as EventBridge delivers."""
    arn = target.get("Arn", "")
    if ":states:" not in arn or ":stateMachine:" not in arn:
        return False
    if "Input" in target:
        text = target["Input"]
    elif "InputPath" in target:
        import jsonpath_ng
        found = [m.value for m in jsonpath_ng.parse(target["InputPath"]).find(event)]
        text = json.dumps(found[0] if found else None)
    else:
        text = json.dumps(event)
    role = target.get("RoleArn")
    if not role:
        with LOCK:
            DELIVERIES.append({"source": source, "target": arn, "error": "the target has no RoleArn"})
        return True
    threading.Thread(target=_start_execution, args=(source, arn, role, service, account, region, text),
                     daemon=True).start()
    return True


def _flatten(node, prefix="", out=None):
    """AWS's flattening: objects by key path, arrays of objects into lists of their leaves."""
    out = {} if out is None else out
    if isinstance(node, dict):
        for k, v in node.items():
            _flatten(v, f"{prefix}.{k}" if prefix else k, out)
    elif isinstance(node, list) and any(isinstance(v, dict) for v in node):
        for v in node:
            if isinstance(v, dict):
                sub = _flatten(v, prefix, {})
                for k, leaf in sub.items():
                    values = leaf if isinstance(leaf, list) else [leaf]
                    out.setdefault(k, [])
                    if not isinstance(out[k], list):
                        out[k] = [out[k]]
                    out[k].extend(values)
            else:
                out.setdefault(prefix, []).append(v)
    else:
        out[prefix] = node
    return out


def install():
    from moto.cloudwatch import models as cw
    from moto.events import models as ev

    # ---- event patterns: arrays of objects, as AWS flattens them
    ev.EventPattern._flatten_dict = staticmethod(lambda node, prefix="", result=None: _flatten(node, prefix, result))
    orig_named = ev.EventPattern._does_item_match_named_filter

    def named(item, pattern):
        # `exists` on a list of leaves: present when the list is not empty
        if isinstance(item, list) and list(pattern)[0] != "exists":
            return any(orig_named(i, pattern) for i in item)
        if isinstance(item, list):
            return (len(item) > 0) == list(pattern.values())[0]
        return orig_named(item, pattern)

    ev.EventPattern._does_item_match_named_filter = staticmethod(named)

    # ---- rules: Step Functions targets, schedule rules, AWS's event fields
    orig_send = ev.Rule.send_to_targets

    def send_to_targets(self, original_event, transform_input=True):
        if self.scheduled_expression and not self.event_pattern._pattern \
                and original_event.get("detail-type") != "Scheduled Event":
            return  # a schedule rule matches no event put on the bus
        if self.state != "ENABLED":
            return
        event = dict(original_event)
        event.pop("ingestion-time", None)
        if not isinstance(event.get("time"), str):
            event["time"] = _iso(event.get("time"))
        if not self.event_pattern.matches_event(event):
            return
        others = []
        for target in self.targets:
            if not _deliver(f"rule/{self.name}", target, event, self.account_id, self.region_name,
                            "events.amazonaws.com"):
                others.append(target)
        if others:
            saved = self.targets
            self.targets = others
            try:
                orig_send(self, event, transform_input)
            finally:
                self.targets = saved

    ev.Rule.send_to_targets = send_to_targets

    # ---- CloudWatch: a change of alarm state is an event on the default bus
    orig_set = cw.CloudWatchBackend.set_alarm_state

    def set_alarm_state(self, alarm_name, reason, reason_data, state_value):
        alarm = self.alarms.get(alarm_name)
        previous = (alarm.state_value, alarm.state_reason, alarm.state_reason_data,
                    alarm.state_updated_timestamp) if alarm else None
        orig_set(self, alarm_name, reason, reason_data, state_value)
        if alarm is None or previous[0] == state_value:
            return
        put_alarm_event(self.account_id, self.region_name, alarm, previous)

    cw.CloudWatchBackend.set_alarm_state = set_alarm_state


def _metrics_of(alarm):
    """The alarm's metrics as the event's `configuration.metrics` lists them."""
    if alarm.metric_data_queries:
        out = []
        for q in alarm.metric_data_queries:
            item = {"id": q.id, "returnData": str(q.return_data).lower() != "false"}
            if q.expression:
                item["expression"] = q.expression
                if q.label:
                    item["label"] = q.label
                if q.period:
                    item["period"] = int(q.period)
            if q.metric_stat:
                m = q.metric_stat.metric
                item["metricStat"] = {"metric": {"namespace": m.namespace, "name": m.metric_name,
                                                 "dimensions": {d.name: d.value for d in m.dimensions}},
                                      "period": int(q.metric_stat.period), "stat": q.metric_stat.stat}
            out.append(item)
        return out
    if alarm.metric_name:
        return [{"id": str(uuid.uuid4()), "returnData": True,
                 "metricStat": {"metric": {"namespace": alarm.namespace, "name": alarm.metric_name,
                                           "dimensions": {d.name: d.value for d in alarm.dimensions}},
                                "period": int(alarm.period or 60), "stat": alarm.statistic}}]
    return []


def put_alarm_event(account, region, alarm, previous):
    from moto.events.models import events_backends

    def state(value, reason, data, when):
        out = {"value": value, "reason": reason, "timestamp": when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"}
        if data and data != "{}":
            out["reasonData"] = data
        return out

    configuration = {"description": alarm.description or ""}
    if getattr(alarm, "rule", None):
        configuration["alarmRule"] = alarm.rule
    else:
        configuration["metrics"] = _metrics_of(alarm)
    detail = {"alarmName": alarm.name,
              "state": state(alarm.state_value, alarm.state_reason, alarm.state_reason_data,
                             alarm.state_updated_timestamp),
              "previousState": state(*previous), "configuration": configuration}
    events_backends[account][region].put_events([{
        "Source": "aws.cloudwatch", "DetailType": "CloudWatch Alarm State Change", "Detail": json.dumps(detail),
        "Resources": [alarm.alarm_arn]}])


def fire_rule(account, region, name, bus="default"):
    from moto.events.models import events_backends
    backend = events_backends[account][region]
    rule = backend.describe_event_bus(bus).rules.get(name)
    if rule is None:
        raise KeyError(f"no rule {name} on bus {bus}")
    if not rule.scheduled_expression:
        raise ValueError(f"rule {name} has no ScheduleExpression")
    event = {"version": "0", "id": str(uuid.uuid4()), "detail-type": "Scheduled Event", "source": "aws.events",
             "account": account, "time": _iso(), "region": region, "resources": [rule.arn], "detail": {}}
    before = len(DELIVERIES)
    for target in rule.targets:
        _deliver(f"rule/{name}", target, event, account, region, "events.amazonaws.com")
    return {"event": event, "targets": len(rule.targets), "deliveries_before": before}


def fire_schedule(account, region, name, group="default"):
    from moto.scheduler.models import scheduler_backends
    schedule = scheduler_backends[account][region].get_schedule(group, name)
    target = schedule.target
    t = {"Arn": target.get("Arn"), "RoleArn": target.get("RoleArn")}
    if target.get("Input") is not None:
        t["Input"] = target["Input"]
    if schedule.state != "ENABLED":
        raise ValueError(f"schedule {name} is {schedule.state}")
    source = f"schedule/{group}/{name}"
    with LOCK:
        before = len([d for d in DELIVERIES if d["source"] == source])
    # In the background, as the schedule fires: GET /_emulator/events shows the delivery.
    threading.Thread(target=_start_execution, args=(source, t["Arn"], t["RoleArn"], "scheduler.amazonaws.com",
                                                    account, region, t.get("Input", "{}")), daemon=True).start()
    return {"source": source, "deliveries_before": before}


def control(method, path, data):
    account = data.get("Account", os.environ.get("MOTO_ACCOUNT_ID", "123456789012"))
    region = data.get("Region", "us-east-1")
    if method == "GET" and path == "/_emulator/events":
        with LOCK:
            return {"deliveries": list(DELIVERIES)}
    if method == "POST" and path == "/_emulator/events/fire":
        return fire_rule(account, region, data["Rule"], data.get("EventBusName", "default"))
    if method == "POST" and path == "/_emulator/scheduler/fire":
        return fire_schedule(account, region, data["Name"], data.get("GroupName", "default"))
    raise ValueError(f"no route {method} {path}")

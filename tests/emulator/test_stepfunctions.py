"""Checks the emulator's Step Functions (stepfunctions.py): moto's executing interpreter behind
the real API, Task calls by function ARN through the emulator to the local Lambda service
(tests/local/lambda_service.py, here running small Python functions), the test-speed wait cap,
stop_after, and the Step Functions quotas and formats AWS has.

Run: .venv/bin/python -m pytest tests/emulator -q
"""
import json
import re
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta, timezone
from pathlib import Path

import boto3
import pytest
from botocore.exceptions import ClientError

HERE = Path(__file__).parent
ROOT = HERE.parents[1]
REGION, ACCOUNT = "us-east-1", "123456789012"
ROLE = f"arn:aws:iam::{ACCOUNT}:role/states"
FUNCTIONS = ["echo", "big", "fail", "clock", "counter"]

# One runtime for every test function: the Lambda Runtime API loop, behaviour by function name.
RUNTIME = '''\
import json, os, sys, time, urllib.request
api, name = os.environ["AWS_LAMBDA_RUNTIME_API"], os.environ["AWS_LAMBDA_FUNCTION_NAME"]
calls = 0
def post(rid, kind, body):
    req = urllib.request.Request(f"http://{api}/2018-06-01/runtime/invocation/{rid}/{kind}",
                                 data=json.dumps(body).encode(), method="POST")
    urllib.request.urlopen(req).read()
while True:
    r = urllib.request.urlopen(f"http://{api}/2018-06-01/runtime/invocation/next")
    rid, event = r.headers["Lambda-Runtime-Aws-Request-Id"], json.loads(r.read() or b"null")
    calls += 1
    arn = r.headers["Lambda-Runtime-Invoked-Function-Arn"]
    try:
        if name == "echo":
            out = event
        elif name == "big":
            out = {"data": "x" * event["bytes"]}
        elif name == "fail":
            raise RuntimeError(event.get("message", "boom") if isinstance(event, dict) else "boom")
        elif name == "clock":
            now = time.time()  # the target is set at the first check, `delay` seconds later
            out = {**event, "now": now, "target": event.get("target") or now + event["delay"]}
        elif name == "counter":
            out = {"calls": calls, "arn": arn}
        post(rid, "response", out)
    except Exception as e:
        post(rid, "error", {"errorType": (event or {}).get("type", type(e).__name__), "errorMessage": str(e)})
'''


def _start(cmd, prefix):
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline().strip()
    assert line.startswith(prefix), line
    return proc, line.rsplit(" ", 1)[-1]


def _stop(proc):
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    bin_dir = tmp_path_factory.mktemp("functions")
    for name in FUNCTIONS:
        path = bin_dir / name
        path.write_text(f"#!{sys.executable}\n" + RUNTIME)
        path.chmod(0o755)
    emulator, endpoint = _start([sys.executable, str(HERE / "launcher.py"), "--port", "0"], "emulator listening on")
    lambdas, lambda_url = _start([sys.executable, str(ROOT / "tests" / "local" / "lambda_service.py"),
                                  "--bin-dir", str(bin_dir), "--port", "0", "--functions", ",".join(FUNCTIONS)],
                                 "lambda service listening on")
    yield {"endpoint": endpoint, "lambda": lambda_url}
    _stop(lambdas)
    _stop(emulator)


def control(stack, body=None, path="/_emulator/stepfunctions"):
    req = urllib.request.Request(stack["endpoint"] + path, method="GET" if body is None else "POST",
                                 data=None if body is None else json.dumps(body).encode())
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


@pytest.fixture
def sfn(stack):
    control(stack, {}, "/_emulator/reset")
    control(stack, {"lambda_endpoint": stack["lambda"], "max_wait_seconds": 0.2, "history_event_limit": 25_000})
    # The machines' role: Step Functions assumes it (as states.amazonaws.com) for every call it makes.
    client(stack, "iam").create_role(RoleName="states", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"},
                                                "Action": "sts:AssumeRole"}]}))
    client(stack, "iam").put_role_policy(RoleName="states", PolicyName="all", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["lambda:InvokeFunction", "states:*"],
                                                "Resource": "*"}]}))
    return client(stack, "stepfunctions")


def client(stack, service, endpoint=None):
    return boto3.client(service, region_name=REGION, endpoint_url=endpoint or stack["endpoint"],
                        aws_access_key_id="testing", aws_secret_access_key="testing")


def yaml_template():
    sys.path.insert(0, str(ROOT / "tests" / "local"))
    import deploy
    return deploy.load_template()


def fn(name, region=REGION, account=ACCOUNT):
    return f"arn:aws:lambda:{region}:{account}:function:{name}"


def task(name, **extra):
    return {"Type": "Task", "Resource": fn(name), **extra}


def run(sfn, states, start_at=None, execution_input=None, name=None, timeout=60, before_start=None):
    """Creates a state machine, starts it, waits for the end. Returns (describe, history events)."""
    definition = {"StartAt": start_at or next(iter(states)), "States": states}
    machine = f"m-{time.time_ns()}"
    arn = sfn.create_state_machine(name=machine, definition=json.dumps(definition), roleArn=ROLE)["stateMachineArn"]
    name = name or f"e-{time.time_ns()}"
    if before_start:
        before_start(name)
    body = json.dumps(execution_input or {}, separators=(",", ":"), ensure_ascii=False)
    ex = sfn.start_execution(stateMachineArn=arn, name=name, input=body)["executionArn"]
    deadline = time.time() + timeout
    while time.time() < deadline:
        desc = sfn.describe_execution(executionArn=ex)
        if desc["status"] != "RUNNING":
            return desc, history(sfn, ex)
        time.sleep(0.05)
    raise AssertionError(f"execution still running after {timeout}s")


def history(sfn, arn):
    events, token = [], None
    while True:
        page = sfn.get_execution_history(executionArn=arn, maxResults=1000, **({"nextToken": token} if token else {}))
        events += page["events"]
        token = page.get("nextToken")
        if not token:
            return events


def entered(events):
    return [e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered")]


# ---------------------------------------------------------------- wiring
def test_moto_port_is_the_emulators_port(stack, sfn):
    assert control(stack)["moto_port"] == stack["endpoint"].rsplit(":", 1)[-1]


def test_a_lambda_task_invokes_the_function_by_arn_through_the_emulator(sfn):
    desc, events = run(sfn, {"Echo": task("echo", End=True)}, execution_input={"hello": "world"})
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"]) == {"hello": "world"}
    scheduled = [e for e in events if e["type"] == "LambdaFunctionScheduled"]
    assert scheduled[0]["lambdaFunctionScheduledEventDetails"]["resource"] == fn("echo")


def test_the_lambda_service_answers_by_percent_encoded_arn_name_and_partial_arn(stack):
    lam = client(stack, "lambda", endpoint=stack["lambda"])  # boto3 sends the ARN percent-encoded
    for name in (fn("counter"), "counter", f"{ACCOUNT}:function:counter", f"{fn('counter')}:$LATEST"):
        out = json.loads(lam.invoke(FunctionName=name, Payload=b"{}")["Payload"].read())
        assert out["arn"].startswith(fn("counter")), (name, out)
    raw = urllib.request.Request(stack["lambda"] + "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A"
                                 "123456789012%3Afunction%3Aecho/invocations", data=b'{"a":1}', method="POST")
    with urllib.request.urlopen(raw) as r:
        assert json.loads(r.read()) == {"a": 1}


def test_the_lambda_service_refuses_another_account_or_region_as_aws_does(stack):
    lam = client(stack, "lambda", endpoint=stack["lambda"])
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=fn("echo", region="eu-west-1"), Payload=b"{}")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == "Functions from 'eu-west-1' are not reachable in this region ('us-east-1')"
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName=fn("echo", account="999999999999"), Payload=b"{}")
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    assert e.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert "lambda:InvokeFunction" in e.value.response["Error"]["Message"]
    with pytest.raises(ClientError) as e:
        lam.invoke(FunctionName="ghost", Payload=b"{}")
    assert e.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert e.value.response["Error"]["Message"] == f"Function not found: {fn('ghost')}"


def test_a_function_error_is_the_errortype_with_the_payload_as_cause_and_is_retried_and_caught(sfn):
    states = {"Fail": task("fail", Retry=[{"ErrorEquals": ["Boom"], "IntervalSeconds": 30, "MaxAttempts": 2}],
                           Catch=[{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Caught"}],
                           End=True),
              "Caught": {"Type": "Pass", "End": True}}
    started = time.time()
    desc, events = run(sfn, states, execution_input={"type": "Boom", "message": "it broke"})
    assert time.time() - started < 10, "retry intervals are capped"
    assert desc["status"] == "SUCCEEDED"
    error = json.loads(desc["output"])["error"]
    assert error["Error"] == "Boom" and json.loads(error["Cause"])["errorMessage"] == "it broke"
    assert len([e for e in events if e["type"] == "LambdaFunctionFailed"]) == 3, "one try and two retries"


def test_a_lambda_service_error_is_named_lambda_exception(sfn):
    states = {"Ghost": {"Type": "Task", "Resource": fn("ghost"), "End": True,
                        "Catch": [{"ErrorEquals": ["Lambda.ResourceNotFoundException"], "Next": "Caught"}]},
              "Caught": {"Type": "Pass", "End": True}}
    desc, _ = run(sfn, states)
    assert desc["status"] == "SUCCEEDED", desc
    out = json.loads(desc["output"])
    assert out["Error"] == "Lambda.ResourceNotFoundException" and "Function not found" in out["Cause"]


def test_an_unreachable_lambda_service_is_a_recorded_bridge_error(stack, sfn):
    control(stack, {"lambda_endpoint": "http://127.0.0.1:9"})
    desc, _ = run(sfn, {"Echo": task("echo", End=True)})
    assert desc["status"] == "FAILED"
    errors = control(stack)["bridge_errors"]
    assert errors and "unreachable" in errors[-1]["error"]


# ---------------------------------------------------------------- test-speed wait cap
@pytest.mark.parametrize("wait", [
    {"Seconds": 30}, {"SecondsPath": "$.s"},
    {"Timestamp": (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")},
    {"TimestampPath": "$.t"}], ids=["Seconds", "SecondsPath", "Timestamp", "TimestampPath"])
def test_every_kind_of_wait_is_capped(sfn, wait):
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    started = time.time()
    desc, _ = run(sfn, {"W": {"Type": "Wait", **wait, "End": True}}, execution_input={"s": 30, "t": later})
    assert desc["status"] == "SUCCEEDED", desc
    assert time.time() - started < 5


def test_a_fractional_cap_and_real_waits(stack, sfn):
    started = time.time()
    desc, _ = run(sfn, {"W": {"Type": "Wait", "Seconds": 5, "End": True}})
    assert desc["status"] == "SUCCEEDED" and time.time() - started < 3, "0.2 s cap (moto alone loops forever)"
    control(stack, {"max_wait_seconds": None})
    started = time.time()
    run(sfn, {"W": {"Type": "Wait", "Seconds": 1, "End": True}})
    assert time.time() - started >= 1, "no cap: the real wait"


def test_a_cap_per_execution_overrides_the_global_one(stack, sfn):
    control(stack, {"max_wait_seconds": None})
    started = time.time()
    desc, _ = run(sfn, {"W": {"Type": "Wait", "Seconds": 30, "End": True}},
                  before_start=lambda name: control(stack, {"executions": {name: {"max_wait_seconds": 0}}}))
    assert desc["status"] == "SUCCEEDED" and time.time() - started < 5


def test_a_capped_wait_that_rechecks_the_clock_still_waits_for_real_time(sfn):
    """A poll loop (check, wait an hour, check again) ends when the real time has come: the cap
    makes it check more often, it does not make time pass."""
    states = {"Check": task("clock", Next="Due"),
              "Due": {"Type": "Choice", "Choices": [{"Variable": "$.now", "NumericGreaterThanEqualsPath": "$.target",
                                                     "Next": "Done"}], "Default": "Later"},
              "Later": {"Type": "Wait", "Seconds": 3600, "Next": "Check"},
              "Done": {"Type": "Succeed"}}
    started = time.time()
    desc, events = run(sfn, states, execution_input={"delay": 1.5})
    assert desc["status"] == "SUCCEEDED"
    out = json.loads(desc["output"])
    assert out["now"] >= out["target"] and time.time() - started >= 1.5
    assert entered(events).count("Check") >= 3, "capped at 0.2 s, the loop checked several times"


# ---------------------------------------------------------------- stop_after
def test_stop_after_abandons_the_execution_right_after_that_answer(stack, sfn):
    states = {"Items": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 1, "Next": "After",
                        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "A",
                                          "States": {"A": task("echo", Next="B"), "B": task("echo", End=True)}}},
              "After": task("echo", End=True)}
    desc, events = run(sfn, states, execution_input={"items": [1, 2, 3]},
                       before_start=lambda name: control(stack, {"executions": {name: {"stop_after": "A:2"}}}))
    assert desc["status"] == "ABORTED"
    names = [e["stateEnteredEventDetails"]["name"] for e in events if e["type"] == "TaskStateEntered"]
    assert names == ["A", "B", "A"], "the second answer of A is the last thing that happened"
    assert len([e for e in events if e["type"] == "LambdaFunctionSucceeded"]) == 3
    assert events[-1]["type"] == "ExecutionAborted"
    assert control(stack)["stopped"][desc["name"]] == "A #2"


# ---------------------------------------------------------------- quotas
def test_a_state_output_over_256_kib_fails_the_execution_and_states_all_does_not_catch_it(sfn):
    states = {"Copy": task("echo", ResultPath="$.copy", Next="Next",
                           Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}]),
              "Next": {"Type": "Pass", "End": True}, "Caught": {"Type": "Pass", "End": True}}
    desc, events = run(sfn, states, execution_input={"pad": "x" * 140_000})
    assert desc["status"] == "FAILED" and desc["error"] == "States.DataLimitExceeded", desc
    assert "Caught" not in entered(events) and "Next" not in entered(events)


def test_exactly_256_kib_is_within_the_quota(sfn):
    overhead = len(json.dumps({"pad": ""}, separators=(",", ":")))
    ok, _ = run(sfn, {"P": {"Type": "Pass", "End": True}}, execution_input={"pad": "x" * (262_144 - overhead)})
    assert ok["status"] == "SUCCEEDED", ok
    too_big, _ = run(sfn, {"P": {"Type": "Pass", "Parameters": {"pad.$": "$.pad", "b": 1}, "End": True}},
                     execution_input={"pad": "x" * (262_144 - overhead)})
    assert too_big["status"] == "FAILED" and too_big["error"] == "States.DataLimitExceeded"
    # Bytes of UTF-8: an "é" is 2 of them (not the 6 of a \u00e9 escape).
    accents, _ = run(sfn, {"P": {"Type": "Pass", "End": True}}, execution_input={"pad": "é" * ((262_144 - overhead) // 2)})
    assert accents["status"] == "SUCCEEDED", accents


def test_start_execution_refuses_an_input_over_256_kib(sfn):
    arn = sfn.create_state_machine(name=f"in-{time.time_ns()}", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": True}}}))["stateMachineArn"]
    overhead = len(json.dumps({"pad": ""}, separators=(",", ":")))
    with pytest.raises(ClientError) as e:
        sfn.start_execution(stateMachineArn=arn, input=json.dumps({"pad": "x" * (262_145 - overhead)},
                                                                  separators=(",", ":")))
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert sfn.list_executions(stateMachineArn=arn)["executions"] == []
    sfn.start_execution(stateMachineArn=arn, input=json.dumps({"pad": "x" * (262_144 - overhead)}, separators=(",", ":")))


def test_a_task_result_over_256_kib_is_data_limit_exceeded_which_aws_lets_states_all_catch(sfn):
    """AWS (LocalStack's recorded AWS run, test_states_errors snapshot): a Lambda result over
    the quota fails the Task with States.DataLimitExceeded, and a `States.ALL` catcher does catch it."""
    states = {"Big": task("big", Catch=[{"ErrorEquals": ["States.ALL"], "Next": "Caught"}], End=True),
              "Caught": {"Type": "Pass", "End": True}}
    desc, events = run(sfn, states, execution_input={"bytes": 300_000})
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["Error"] == "States.DataLimitExceeded"
    failed = [e for e in events if e["type"] == "LambdaFunctionFailed"][0]["lambdaFunctionFailedEventDetails"]
    assert failed["cause"] == (f"The state/task '{fn('big')}' returned a result with a size exceeding "
                               "the maximum number of bytes service limit.")


def test_the_history_holds_25000_events_then_the_execution_fails(stack, sfn):
    control(stack, {"history_event_limit": 60})
    loop = {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}
    desc, events = run(sfn, loop)
    assert desc["status"] == "FAILED"
    assert desc["error"] == "States.Runtime"
    assert desc["cause"] == "The execution reached the maximum number of history events (60)."
    assert len(events) == 60 and events[-1]["type"] == "ExecutionFailed"
    # Exactly at the limit, ExecutionSucceeded as the last event: the execution succeeds.
    chain = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(28)}
    chain["P28"] = {"Type": "Pass", "End": True}  # 1 + 29 * 2 + 1 = 60 events
    desc, events = run(sfn, chain)
    assert desc["status"] == "SUCCEEDED" and len(events) == 60


def test_the_real_history_limit_is_25000(stack, sfn):
    assert control(stack)["history_event_limit"] == 25_000
    desc, events = run(sfn, {"A": {"Type": "Pass", "Next": "B"}, "B": {"Type": "Pass", "Next": "A"}}, timeout=300)
    assert desc["cause"] == "The execution reached the maximum number of history events (25000)."
    assert len(events) == 25_000


def test_a_failure_cause_and_error_are_cut_to_32768_and_256_characters(sfn):
    desc, events = run(sfn, {"F": {"Type": "Fail", "Error": "E" * 300, "Cause": "c" * 40_000}})
    assert desc["status"] == "FAILED"
    assert len(desc["error"]) == 256 and len(desc["cause"]) == 32_768
    details = events[-1]["executionFailedEventDetails"]
    assert len(details["error"]) == 256 and len(details["cause"]) == 32_768


def test_send_task_failure_refuses_a_cause_over_32768_characters(sfn):
    with pytest.raises(ClientError) as e:
        sfn.send_task_failure(taskToken="t", error="E", cause="c" * 32_769)
    assert e.value.response["Error"]["Code"] == "ValidationException"
    assert "less than or equal to 32768" in e.value.response["Error"]["Message"]


def test_send_task_failure_fails_the_waiting_task_with_its_error_and_cause(sfn):
    states = {"Wait": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken", "End": True,
                       "Parameters": {"FunctionName": fn("echo"), "Payload": {"token.$": "$$.Task.Token"}}}}
    definition = json.dumps({"StartAt": "Wait", "States": states})
    arn = sfn.create_state_machine(name=f"cb-{time.time_ns()}", definition=definition, roleArn=ROLE)["stateMachineArn"]
    ex = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
    token = None
    for _ in range(100):
        for e in history(sfn, ex):
            if e["type"] == "TaskSubmitted":
                token = json.loads(e["taskSubmittedEventDetails"]["output"])["Payload"]["token"]
        if token:
            break
        time.sleep(0.05)
    sfn.send_task_failure(taskToken=token, error="Refused", cause="the operator said no")
    for _ in range(100):
        desc = sfn.describe_execution(executionArn=ex)
        if desc["status"] != "RUNNING":
            break
        time.sleep(0.05)
    assert (desc["status"], desc.get("error"), desc.get("cause")) == ("FAILED", "Refused", "the operator said no")


def _callback_machine(sfn, timeout_field, then=None):
    """A waitForTaskToken Task (token in the Payload, as AwaitApproval has it), then `then`."""
    states = {"Wait": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke.waitForTaskToken",
                       "Parameters": {"FunctionName": fn("echo"), "Payload": {"token.$": "$$.Task.Token"}},
                       **timeout_field,
                       "Catch": [{"ErrorEquals": ["States.Timeout"], "ResultPath": "$.timed_out", "Next": "TimedOut"}],
                       **({"Next": then[0]} if then else {"End": True})},
              "TimedOut": {"Type": "Pass", "End": True}}
    if then:
        states[then[0]] = then[1]
    definition = json.dumps({"StartAt": "Wait", "States": states})
    return sfn.create_state_machine(name=f"cb-{time.time_ns()}", definition=definition, roleArn=ROLE)["stateMachineArn"]


def _token(sfn, ex):
    for _ in range(200):
        for e in history(sfn, ex):
            if e["type"] == "TaskScheduled":
                return json.loads(e["taskScheduledEventDetails"]["parameters"])["Payload"]["token"]
        time.sleep(0.05)
    raise AssertionError("no TaskScheduled")


def _ended(sfn, ex, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        desc = sfn.describe_execution(executionArn=ex)
        if desc["status"] != "RUNNING":
            return desc
        time.sleep(0.05)
    raise AssertionError(f"{ex} still running")


def test_max_callback_timeout_seconds_caps_a_callback_tasks_timeout(stack, sfn):
    # The knob (per execution): an approval's TimeoutSecondsPath of hours times out in 1 s, with
    # States.Timeout (TaskTimedOut in the history), as the real timeout would.
    arn = _callback_machine(sfn, {"TimeoutSecondsPath": "$.timeout"})
    name = f"e-{time.time_ns()}"
    control(stack, {"executions": {name: {"max_callback_timeout_seconds": 1}}})
    started = time.time()
    ex = sfn.start_execution(stateMachineArn=arn, name=name, input=json.dumps({"timeout": 3600}))["executionArn"]
    desc = _ended(sfn, ex)
    assert desc["status"] == "SUCCEEDED" and time.time() - started < 15, desc
    assert json.loads(desc["output"])["timed_out"]["Error"] == "States.Timeout"
    assert "TaskTimedOut" in [e["type"] for e in history(sfn, ex)]
    # Without the knob, the task keeps waiting.
    other = sfn.start_execution(stateMachineArn=arn, input=json.dumps({"timeout": 3600}))["executionArn"]
    _token(sfn, other)
    time.sleep(1.5)
    assert sfn.describe_execution(executionArn=other)["status"] == "RUNNING"
    sfn.stop_execution(executionArn=other)
    with pytest.raises(urllib.error.HTTPError):
        control(stack, {"max_callback_timeout_seconds": -1})


def test_an_answered_token_is_closed_a_second_answer_is_task_timed_out(stack, sfn):
    # AWS: SendTaskSuccess on the token of a Task that has ended answers TaskTimedOut, even
    # while the execution runs on (here in a 30 s Wait); an unknown token is InvalidToken.
    arn = _callback_machine(sfn, {"TimeoutSeconds": 600},
                            then=("Hold", {"Type": "Wait", "Seconds": 30, "End": True}))
    name = f"e-{time.time_ns()}"
    control(stack, {"executions": {name: {"max_wait_seconds": None}}})
    ex = sfn.start_execution(stateMachineArn=arn, name=name, input="{}")["executionArn"]
    token = _token(sfn, ex)
    sfn.send_task_success(taskToken=token, output=json.dumps({"approved_by": "ana"}))
    for _ in range(100):
        if "Hold" in entered(history(sfn, ex)):
            break
        time.sleep(0.05)
    for call in (lambda: sfn.send_task_success(taskToken=token, output="{}"),
                 lambda: sfn.send_task_failure(taskToken=token, error="Rejected", cause="late")):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.response["Error"]["Code"] == "TaskTimedOut"
    with pytest.raises(ClientError) as e:
        sfn.send_task_success(taskToken="not-a-token", output="{}")
    assert e.value.response["Error"]["Code"] == "InvalidToken"
    sfn.stop_execution(executionArn=ex)


# ---------------------------------------------------------------- formats and features the definition uses
def test_context_times_are_iso_8601_with_milliseconds_and_z(sfn):
    desc, _ = run(sfn, {"P": {"Type": "Pass", "Parameters": {"start.$": "$$.Execution.StartTime",
                                                              "entered.$": "$$.State.EnteredTime"}, "End": True}})
    out = json.loads(desc["output"])
    for value in out.values():
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value), out


def test_max_concurrency_path_jitter_and_max_delay(sfn):
    states = {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$.mc", "End": True,
                    "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "T",
                                      "States": {"T": task("fail", End=True, Retry=[{
                                          "ErrorEquals": ["Boom"], "IntervalSeconds": 5, "MaxAttempts": 1,
                                          "BackoffRate": 2, "MaxDelaySeconds": 60, "JitterStrategy": "FULL"}],
                                          Catch=[{"ErrorEquals": ["States.ALL"], "Next": "C"}]),
                                          "C": {"Type": "Pass", "End": True}}}}}
    desc, _ = run(sfn, states, execution_input={"items": [{"type": "Boom"}] * 3, "mc": 2})
    assert desc["status"] == "SUCCEEDED", desc
    assert [r["Error"] for r in json.loads(desc["output"])] == ["Boom"] * 3


def test_the_products_definitions_are_accepted(sfn):
    pascal = re.compile(r"\$\{([A-Za-z0-9]+?)(Function|StateMachine)Arn\}")
    # the service integrations' ARNs, as the template substitutes them in the aws partition
    integrations = {}
    for name in ("UpgradeStateMachine", "FleetStateMachine"):
        subs = yaml_template()["Resources"][name]["Properties"]["DefinitionSubstitutions"]
        integrations.update({k: v["Fn::Sub"].replace("${AWS::Partition}", "aws") for k, v in subs.items()
                             if k.endswith("IntegrationArn")})
    for path in sorted((ROOT / "statemachine").glob("*.asl.json")):
        text = pascal.sub(lambda m: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:x" if m.group(2) == "Function"
                          else f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:x", path.read_text())
        text = re.sub(r"\$\{(\w+IntegrationArn)\}", lambda m: integrations[m.group(1)], text)
        sfn.create_state_machine(name=path.name.split(".")[0], definition=text, roleArn=ROLE)


def test_a_child_execution_runs_and_inherits_its_parents_cap(stack, sfn):
    control(stack, {"max_wait_seconds": None})
    child = sfn.create_state_machine(name=f"child-{time.time_ns()}", roleArn=ROLE, definition=json.dumps(
        {"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 30, "Next": "E"}, "E": task("echo", End=True)}}))
    states = {"Child": {"Type": "Task", "Resource": "arn:aws:states:::states:startExecution.sync:2", "End": True,
                        "Parameters": {"StateMachineArn": child["stateMachineArn"],
                                       "Input": {"x": 1, "AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID.$": "$$.Execution.Id"}},
                        "OutputPath": "$.Output"}}
    started = time.time()
    desc, _ = run(sfn, states, before_start=lambda name: control(stack, {"executions": {name: {"max_wait_seconds": 0}}}))
    assert desc["status"] == "SUCCEEDED", desc
    assert json.loads(desc["output"])["x"] == 1
    assert time.time() - started < 10


def test_execution_history_comes_in_pages_as_on_aws(sfn):
    chain = {f"P{i}": {"Type": "Pass", "Next": f"P{i + 1}"} for i in range(59)}
    chain["P59"] = {"Type": "Pass", "End": True}  # 122 events
    desc, events = run(sfn, chain, execution_input={"secret": "data"})
    assert len(events) == 122
    first = sfn.get_execution_history(executionArn=desc["executionArn"])
    assert len(first["events"]) == 100 and first["nextToken"], "100 events per page by default"
    rest = sfn.get_execution_history(executionArn=desc["executionArn"], nextToken=first["nextToken"])
    assert [e["id"] for e in first["events"] + rest["events"]] == list(range(1, 123)) and "nextToken" not in rest
    last = sfn.get_execution_history(executionArn=desc["executionArn"], reverseOrder=True, maxResults=1,
                                     includeExecutionData=False)["events"][0]
    assert last["type"] == "ExecutionSucceeded" and "output" not in last["executionSucceededEventDetails"]

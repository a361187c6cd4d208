"""The real parts, started for a local run: the extended moto emulator (whose Step Functions
runs the state machines: moto's executing interpreter, see tests/emulator/stepfunctions.py),
the local Lambda service (tests/local/lambda_service.py), and the stack deployed into them from
infra/template.yaml by tests/local/deploy.py, as `sam deploy` would: its roles and policies,
its functions (each running as its own role), both state machines with the template's
DefinitionSubstitutions, the topic, the rules, the schedules, the alarms. IAM is enforced on
every request the stack's roles sign (tests/emulator/authz.py); the harness itself signs as
the account's root, as an operator with administrator rights does.

Used by `make demo`, `make execute` and the end-to-end tests. Nothing here replaces product
code: the template, the state machines, the binaries and the AWS API calls are the real ones;
executions are started and followed through the real Step Functions API (StartExecution,
DescribeExecution, GetExecutionHistory), or arrive through the template's own EventBridge
rules and schedules.
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import yaml
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "local"))
import deploy  # noqa: E402

REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
               "AWS_DEFAULT_REGION": REGION}
POLL_SECONDS = 0.25
# The cap on every Wait state and Retry interval of the executions tests start (a test-speed
# knob of the emulator, not AWS behaviour; README "Waits in tests"). A capped wait only returns
# early: a loop that re-checks (green's readiness, a hold until a window opens) re-checks sooner
# and still waits for real time.
WAIT_CAP_SECONDS = 0.25
# The services whose state is the deployed stack's: kept by `reset` between tests. CloudWatch
# is not (its metrics are the tests'): its alarm and dashboard are created again.
STACK_SERVICES = ["iam", "sts", "kms", "sns", "sqs", "logs", "events", "scheduler", "s3", "cloudformation",
                  "stepfunctions", "lambda"]
CLIENT_LOCK = threading.Lock()  # creating boto3 clients is not thread-safe (the deploy creates in parallel)
PERMISSIONS = ROOT / "infra" / "permissions.yaml"
# The parameters the end-to-end stack is deployed with, beyond samconfig.toml's: the sql worker
# exists (its network: the local Lambda service does not attach functions to a VPC) and may read
# the secrets named rds-bluegreen/* (what the tests create).
E2E_PARAMETERS = {
    "DatabaseSubnetIds": "subnet-0e2e0000000000001,subnet-0e2e0000000000002",
    "DatabaseSecurityGroupId": "sg-0e2e0000000000001",
    "DatabaseSecretArns": f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:rds-bluegreen/*",
}


def _start(cmd, ready_prefix, env, log_path, timeout=60):
    """Start a server process and wait for its `... listening on URL` line."""
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env, text=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith(ready_prefix):
            return proc, line.strip().rsplit(" ", 1)[-1]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{cmd[1]} did not start; see {log_path}")


def _stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


# ---------------------------------------------------------------- definitions
def _all_states(sm):
    """Every state of a definition by name, Map processors and Parallel branches included."""
    for name, state in (sm.get("States") or {}).items():
        yield name, state
        for branch in state.get("Branches", []):
            yield from _all_states(branch)
        processor = state.get("ItemProcessor") or state.get("Iterator")
        if processor:
            yield from _all_states(processor)


def _matches(error_equals, error):
    return error in error_equals or "States.ALL" in error_equals or \
        ("States.TaskFailed" in error_equals and not error.startswith("States."))


class Progress:
    """Turns history events into the progress lines of a run: `[  12.3s] Precheck[0] (Task)`,
    `Precheck[0] failed: Error: cause`, `retry n/max after Error`, `caught Error -> Next`."""

    def __init__(self, states, started, emit):
        self.states, self.started, self.emit = states, started, emit
        self.where = {}  # event id -> Map iteration index (None outside a Map)
        self.current, self.failed, self.retries = {}, {}, {}

    def line(self, event, text):
        ts = event["timestamp"]
        seconds = (ts - self.started).total_seconds() if hasattr(ts, "tzinfo") else 0.0
        self.emit(f"[{seconds:6.1f}s] {text}")

    def __call__(self, event):
        kind, eid = event["type"], event["id"]
        index = self.where.get(event.get("previousEventId"))
        if kind == "MapIterationStarted":
            index = event["mapIterationStartedEventDetails"].get("index")
        elif kind.startswith("MapState") or kind.startswith("Execution"):
            index = None
        self.where[eid] = index
        at = "" if index is None else f"[{index}]"
        if kind.endswith("StateEntered"):
            name = event["stateEnteredEventDetails"]["name"]
            self.current[index], self.failed[index], self.retries[index] = name, None, {}
            self.line(event, f"{name}{at} ({kind[:-len('StateEntered')]})")
        elif kind.endswith(("Failed", "TimedOut")) and not kind.startswith(("Execution", "Map", "Parallel")) \
                and kind not in ("FailStateEntered",):
            details = next((v for k, v in event.items() if k.endswith("EventDetails")), {}) or {}
            error = details.get("error") or ("States.Timeout" if kind.endswith("TimedOut") else "")
            cause = details.get("cause") or ""
            self.failed[index] = error
            self.line(event, f"{self.current.get(index)}{at} failed: {error}: {_short(cause)}")
        elif kind in ("LambdaFunctionScheduled", "TaskScheduled") and self.failed.get(index):
            error, name = self.failed[index], self.current.get(index)
            retriers = (self.states.get(name) or {}).get("Retry", [])
            i = next((n for n, r in enumerate(retriers) if _matches(r.get("ErrorEquals", []), error)), None)
            if i is not None:
                self.retries[index][i] = self.retries[index].get(i, 0) + 1
                self.line(event, f"{name}{at} retry {self.retries[index][i]}/{retriers[i].get('MaxAttempts', 3)} "
                                 f"after {error}")
            self.failed[index] = None
        elif kind.endswith("StateExited") and self.failed.get(index):
            error, name = self.failed[index], self.current.get(index)
            catchers = (self.states.get(name) or {}).get("Catch", [])
            catcher = next((c for c in catchers if _matches(c.get("ErrorEquals", []), error)), None)
            if catcher:
                self.line(event, f"{name}{at} caught {error} -> {catcher.get('Next')}")
            self.failed[index] = None
        elif kind == "ExecutionSucceeded":
            self.line(event, "execution succeeded")
        elif kind == "ExecutionTimedOut":
            self.line(event, "execution timed out")


def _short(value):
    text = value if isinstance(value, str) else json.dumps(value)
    return f"{text[:300]}..." if text and len(text) > 300 else text


class Stack:
    """An emulator (unless one is given), the local Lambda service, and the stack deployed from
    infra/template.yaml (`deploy`), with a queue subscribed to its notification topic (so tests
    can read what was sent)."""

    def __init__(self, endpoint=None, bin_dir=None, workdir=None, parameters=None, env_overrides=None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rds-bluegreen-"))
        self.bin_dir = Path(bin_dir or ROOT / "target" / "debug")
        self.endpoint = endpoint
        self.emulator = self.lambdas = None
        self.lambda_endpoint = None
        self.parameters = dict(E2E_PARAMETERS if parameters is None else parameters)
        self.env_overrides = dict(env_overrides or {})
        self.last_execution_arn = None
        self.child_max_wait_seconds = WAIT_CAP_SECONDS
        self.deployed = None
        self.dirty = False
        self._clients = {}

    def __enter__(self):
        env = {**os.environ, **CREDENTIALS}
        try:
            if not self.endpoint:
                self.emulator, self.endpoint = _start(
                    [sys.executable, str(ROOT / "tests" / "emulator" / "launcher.py"), "--port", "0"],
                    "emulator listening on", env, self.workdir / "emulator.log")
            env.update({"AWS_ENDPOINT_URL": self.endpoint, "RUST_LOG": os.environ.get("RUST_LOG", "info")})
            self.lambdas, self.lambda_endpoint = _start(
                [sys.executable, str(ROOT / "tests" / "local" / "lambda_service.py"),
                 "--port", "0", "--log-dir", str(self.workdir / "functions"), "--account", ACCOUNT],
                "lambda service listening on", env, self.workdir / "lambda-service.log")
            self.sfn = self.client("stepfunctions")
            self.deploy()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        _stop(self.lambdas)
        _stop(self.emulator)

    # ------------------------------------------------------------ the stack
    def deploy(self, fresh=True, **parameters):
        """A fresh account (the emulator wiped) with the stack deployed from the template, with
        the e2e parameters and these on top. Returns the deployment (tests/local/deploy.py).
        `fresh=False`, and an emulator someone else started (AWS_ENDPOINT_URL, e.g. `make
        emulator` seeded by hand), keep the account: the stack's earlier deployment there is
        deleted and deployed again with these parameters (as an operator changes them)."""
        if fresh and self.emulator is not None:
            self.control("reset", {})
        self._wire_lambda(force=True)
        self.dirty = bool(parameters)  # the next test gets the e2e parameters again
        merged = {**self.parameters, **parameters}
        self.deployed = deploy.deploy(self.client, self.lambda_endpoint, REGION, ACCOUNT, merged, self.bin_dir,
                                      self.env_overrides)
        out = self.deployed.outputs
        self.machines = {"upgrade": out["StateMachineArn"], "fleet": out["FleetStateMachineArn"]}
        self.topic_arn = out["NotificationTopicArn"]
        described = {name: self.sfn.describe_state_machine(stateMachineArn=arn) for name, arn in self.machines.items()}
        self.definitions = {name: d["definition"] for name, d in described.items()}
        self.machine_roles = {name: d["roleArn"] for name, d in described.items()}
        self.queue_url = self._subscribe_queue()
        return self.deployed

    def reset(self):
        """The account as the deployment left it, for the next test: every service's state that
        is not the stack's is dropped (RDS, CloudWatch's metrics, Secrets Manager, ...); the
        stack stays (a test-speed knob of the emulator, `keep`), unless a test changed it or
        deployed other parameters, which deploys it again."""
        if self.deployed is None or self.dirty:
            self.deploy()
            return
        self.control("reset", {"keep": STACK_SERVICES})
        self.deployed.recreate("AWS::CloudWatch::Alarm", "AWS::CloudWatch::Dashboard")
        self.notifications()  # the queue outlives the reset: drain it
        self._wire_lambda(force=True)

    def function_name(self, binary):
        """The deployed function that runs `binary` (CloudFormation named it)."""
        return self.deployed.function_name(binary)

    def role_arn(self, binary):
        return next(f["role_arn"] for f in self.deployed.functions.values() if f["binary"] == binary)

    # ------------------------------------------------------------ AWS clients
    def client(self, service, region=REGION):
        """A client signed as the account's root (cached: botocore clients are thread-safe and
        take tens of milliseconds to make)."""
        key = (service, region)
        with CLIENT_LOCK:
            if key not in self._clients:
                self._clients[key] = boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                                                  aws_access_key_id="testing", aws_secret_access_key="testing",
                                                  config=Config(retries={"max_attempts": 5, "mode": "standard"}))
            return self._clients[key]

    def _subscribe_queue(self):
        """An SQS queue subscribed to the stack's topic (as an operator subscribes a consumer)."""
        sns, sqs = self.client("sns"), self.client("sqs")
        queue_url = sqs.create_queue(QueueName="rds-bluegreen-notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn,
                      Attributes={"RawMessageDelivery": "true"})
        return queue_url

    def notifications(self):
        """Every notification body published so far (drains the queue)."""
        sqs, bodies = self.client("sqs"), []
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return bodies
            for m in msgs:
                bodies.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def control(self, path, body=None):
        req = urllib.request.Request(f"{self.endpoint}/_emulator/{path}",
                                     data=None if body is None else json.dumps(body).encode(),
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.loads(r.read())

    def lambdas_control(self, body):
        """The local Lambda service's test knobs (tests/local/lambda_service.py); a function by
        the binary it runs (`{"hang_once": "wait"}`)."""
        if "hang_once" in body:
            body = {**body, "hang_once": self.function_name(body["hang_once"])}
        req = urllib.request.Request(f"{self.lambda_endpoint}/_local/control", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def faults(self, **knobs):
        return self.control("faults", knobs)

    def state(self):
        return self.control("state")

    def iam(self, **knobs):
        """What the emulator's IAM saw (calls per role, denials); knobs: member_authorization."""
        return self.control("iam", knobs) if knobs else self.control("iam")

    def _wire_lambda(self, force=False):
        """The emulator's Step Functions invokes the workers at self.lambda_endpoint (by function
        ARN); set again when a caller swapped it (bench/run.py records invocations that way)."""
        if force or getattr(self, "_wired", None) != self.lambda_endpoint:
            # Executions the workers start themselves (the fleet's children, a hand-over) are
            # capped too, as the harness caps its own (WAIT_CAP_SECONDS, a test-speed knob).
            self.control("stepfunctions", {"lambda_endpoint": self.lambda_endpoint,
                                           "max_wait_seconds": self.child_max_wait_seconds})
            self._wired = self.lambda_endpoint

    # ------------------------------------------------------------ state machines
    def ensure_state_machines(self):
        """{machine: ARN} of the deployed stack (upgrade, fleet)."""
        return dict(self.machines)

    def permission_violations(self):
        """Calls of the stack's roles outside their row of infra/permissions.yaml, operations the
        emulator's IAM does not model, and the denials so far: [message]."""
        table = yaml.safe_load(PERMISSIONS.read_text())
        rows = {}
        for f in self.deployed.functions.values():
            rows[f["role_arn"]] = ("function " + f["binary"], table["functions"].get(f["binary"], {}))
        for name, role in self.machine_roles.items():
            rows[role] = ("state machine " + name, table["state_machines"].get(name, {}))
        seen = self.iam()
        out = [f"{u['principal']} called {u['operation']}, which the emulator's IAM does not model "
               "(tests/emulator/authz.py OPERATIONS)" for u in seen["unmodelled"]]
        for role, calls in seen["calls"].items():
            if role not in rows:
                continue
            what, row = rows[role]
            allowed = set(row.get("calls") or {}) | set(row.get("optional") or {})
            for action in sorted(set(calls) - allowed):
                out.append(f"{what} called {action}, which is not in its row of infra/permissions.yaml")
        return out

    def wait_for(self, execution_arn, timeout=600):
        """Follows an execution this harness did not start (a fleet's child, a hand-over) until it
        ends. Returns (exit code, output) as `execute` does (0 succeeded, 1 failed)."""
        deadline = time.time() + timeout
        while True:
            desc = self.sfn.describe_execution(executionArn=execution_arn)
            if desc["status"] != "RUNNING":
                break
            if time.time() > deadline:
                raise AssertionError(f"{execution_arn} not done after {timeout}s")
            time.sleep(POLL_SECONDS)
        if desc["status"] == "SUCCEEDED":
            return 0, json.loads(desc.get("output") or "null")
        return 1, {"Error": desc.get("error", desc["status"]), "Cause": desc.get("cause", "")}

    def last_state_output(self, execution_arn, key):
        """The output of the last state of an execution that carried `key` (the fleet's table, for
        a fleet that ended FleetIncomplete)."""
        for event in reversed(self.history(execution_arn)):
            details = event.get("stateExitedEventDetails") or {}
            try:
                output = json.loads(details.get("output") or "null")
            except ValueError:
                continue
            if isinstance(output, dict) and key in output:
                return output
        return None

    def history(self, execution_arn, include_data=True):
        """Every event of an execution's history (GetExecutionHistory, all pages)."""
        events, token = [], None
        while True:
            page = self.sfn.get_execution_history(executionArn=execution_arn, maxResults=1000,
                                                  includeExecutionData=include_data,
                                                  **({"nextToken": token} if token else {}))
            events += page["events"]
            token = page.get("nextToken")
            if not token:
                return events

    # ------------------------------------------------------------ executions
    def execute(self, request, max_wait_seconds=WAIT_CAP_SECONDS, progress=None, timeout=600, stop_after=None, machine="upgrade",
                name=None):
        """Runs one execution of a state machine through the Step Functions API. Returns
        (exit code, output, stderr text); the execution's ARN is in `self.last_execution_arn`.
        Exit 0: succeeded (output = its output); 1: failed or timed out (output = {Error, Cause});
        2: harness error (e.g. StartExecution refused the input); 3: abandoned right after the
        N-th answer of Task state `stop_after` ("STATE" or "STATE:N"), before the state machine
        went on (StopExecution; the function's work is done, nothing after it ran).
        `max_wait_seconds` caps every Wait state and Retry interval (a test-speed knob, not AWS
        behaviour; None = real waits)."""
        run = _Run(self, progress)
        text = request if isinstance(request, str) else json.dumps(request)
        name = name or str(uuid.uuid4())
        settings = {"max_wait_seconds": max_wait_seconds}
        if stop_after:
            settings["stop_after"] = stop_after
        try:
            self._wire_lambda()
            if machine not in self.machines:
                return run.harness_error(f"no state machine {machine!r} in the deployed stack")
            self.control("stepfunctions", {"executions": {name: settings}})
            run.mark()
            started = self.sfn.start_execution(stateMachineArn=self.machines[machine], name=name, input=text)
        except urllib.error.HTTPError as e:
            return run.harness_error(f"emulator control API refused {settings}: {e.read().decode(errors='replace')}")
        except ClientError as e:
            error = e.response.get("Error", {})
            return run.harness_error(f"StartExecution refused the input: {error.get('Code')}: {error.get('Message')}")
        except (BotoCoreError, OSError) as e:
            return run.harness_error(f"Step Functions at {self.endpoint} unreachable: {e}")
        cap = "" if max_wait_seconds is None else f", waits capped at {max_wait_seconds:g}s"
        return run.follow(started["executionArn"], machine, timeout, cap)

    def follow(self, execution_arn, progress=None, timeout=600):
        """Follows an execution someone else started (a rule, a schedule, a hand-over) as `execute`
        follows its own: (exit code, output, stderr text)."""
        run = _Run(self, progress)
        run.mark(fresh=False)
        machine = next((m for m, arn in self.machines.items()
                        if execution_arn.startswith(arn.replace(":stateMachine:", ":execution:") + ":")), "upgrade")
        return run.follow(execution_arn, machine, timeout, "")

    # ------------------------------------------------------------ the template's ways in
    def deliveries(self):
        return self.control("events")["deliveries"]

    def await_delivery(self, source, count_before=0, timeout=30):
        """The delivery (EventBridge rule or schedule `source`, e.g. "rule/NAME") after the first
        `count_before`: {"execution_arn"} or {"error"}; None when nothing was delivered."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            found = [d for d in self.deliveries() if d["source"] == source]
            if len(found) > count_before:
                return found[count_before]
            time.sleep(0.1)
        return None

    def rule_name(self, logical_id):
        return self.deployed.physical[logical_id]

    def alarm(self, name, dimensions, state="ALARM", metric="CPUUtilization", namespace="AWS/RDS"):
        """A CloudWatch alarm on an RDS metric (created if new) set to `state`: CloudWatch puts
        the state change on EventBridge, the template's rules decide what starts."""
        cw = self.client("cloudwatch")
        if not cw.describe_alarms(AlarmNames=[name])["MetricAlarms"]:
            cw.put_metric_alarm(AlarmName=name, Namespace=namespace, MetricName=metric, Statistic="Average",
                                Period=300, EvaluationPeriods=1, Threshold=80.0,
                                ComparisonOperator="GreaterThanThreshold",
                                Dimensions=[{"Name": k, "Value": v} for k, v in dimensions.items()])
        self.set_alarm_state(name, state)

    def set_alarm_state(self, name, state="ALARM"):
        self.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state,
                                                  StateReason=f"Threshold Crossed (set by the test): {state}")

    def through_rule(self, logical_id, trigger, progress=None, timeout=600, max_wait_seconds=WAIT_CAP_SECONDS):
        """`trigger()` (an alarm change, a put event), then the execution the template's rule
        `logical_id` started, followed to its end: (exit code, output, stderr) as `execute`, or
        (None, None, why) when the rule started nothing."""
        source = f"rule/{self.rule_name(logical_id)}"
        before = len([d for d in self.deliveries() if d["source"] == source])
        self._cap_next_executions(max_wait_seconds)
        trigger()
        delivery = self.await_delivery(source, before, timeout=10)
        return self._followed(delivery, source, progress, timeout)

    def fire_schedule(self, progress=None, timeout=600, max_wait_seconds=WAIT_CAP_SECONDS):
        """The template's EventBridge Scheduler schedule, fired now (a test-speed knob)."""
        schedule = self.deployed.physical[self.deployed.by_type("AWS::Scheduler::Schedule")[0]]
        self._cap_next_executions(max_wait_seconds)
        fired = self.control("scheduler/fire", {"Name": schedule})
        delivery = self.await_delivery(fired["source"], fired["deliveries_before"])
        return self._followed(delivery, fired["source"], progress, timeout)

    def fire_rule(self, logical_id, progress=None, timeout=600, max_wait_seconds=WAIT_CAP_SECONDS):
        """The template's schedule rule `logical_id`, firing now (a test-speed knob)."""
        source = f"rule/{self.rule_name(logical_id)}"
        before = len([d for d in self.deliveries() if d["source"] == source])
        self._cap_next_executions(max_wait_seconds)
        self.control("events/fire", {"Rule": self.rule_name(logical_id)})
        return self._followed(self.await_delivery(source, before), source, progress, timeout)

    def _cap_next_executions(self, max_wait_seconds):
        # Executions a rule or schedule starts are named by AWS: the cap is the global one.
        self.control("stepfunctions", {"max_wait_seconds": max_wait_seconds})

    def _followed(self, delivery, source, progress, timeout):
        if delivery is None:
            return None, None, f"{source} started nothing"
        if "error" in delivery:
            return 2, None, f"{source} could not start the execution: {delivery['error']}"
        self.last_execution_arn = delivery["execution_arn"]
        return self.follow(delivery["execution_arn"], progress, timeout)


class _Run:
    """Following one execution: its progress lines, and what the emulator saw meanwhile."""

    def __init__(self, stack, progress):
        self.stack, self.progress, self.lines = stack, progress, []

    def emit(self, line):
        self.lines.append(line + "\n")
        if self.progress:
            self.progress(line)

    def harness_error(self, message):
        self.emit(f"harness error: {message}")
        return 2, None, "".join(self.lines)

    def mark(self, fresh=True):
        self.bridge_errors = len(self.stack.control("stepfunctions")["bridge_errors"]) if fresh else 0
        self.denials = len(self.stack.iam()["denied"]) if fresh else 0

    def follow(self, arn, machine, timeout, cap):
        stack = self.stack
        stack.last_execution_arn = arn
        self.emit(f"execution {arn} (lambda endpoint {stack.lambda_endpoint}{cap})")
        states = dict(_all_states(json.loads(stack.definitions[machine])))
        started = stack.sfn.describe_execution(executionArn=arn)["startDate"]
        follow = Progress(states, started, self.emit)
        deadline, token, seen = time.time() + timeout, None, 0
        while True:
            desc = stack.sfn.describe_execution(executionArn=arn)
            while True:  # the last page grows until it is full, then a nextToken appears
                page = stack.sfn.get_execution_history(executionArn=arn, maxResults=1000, includeExecutionData=False,
                                                       **({"nextToken": token} if token else {}))
                for event in page["events"][seen:]:
                    follow(event)
                seen = len(page["events"])
                if not page.get("nextToken"):
                    break
                token, seen = page["nextToken"], 0
            if desc["status"] != "RUNNING":
                break
            if time.time() > deadline:
                stack.sfn.stop_execution(executionArn=arn, error="HarnessTimeout", cause=f"not done after {timeout}s")
                return self.harness_error(f"execution not done after {timeout}s: stopped")
            time.sleep(POLL_SECONDS)
        status = desc["status"]
        sfn_state = stack.control("stepfunctions")
        if len(sfn_state["bridge_errors"]) > self.bridge_errors:
            return self.harness_error(sfn_state["bridge_errors"][-1]["error"])
        for denied in stack.iam()["denied"][self.denials:]:
            self.emit(f"IAM denied ({denied['why'] or denied['operation']}): {denied['message']}")
        violations = stack.permission_violations()
        if violations:
            return self.harness_error("; ".join(violations))
        name = arn.rsplit(":", 1)[-1]
        if status == "SUCCEEDED":
            return 0, json.loads(desc.get("output") or "null"), "".join(self.lines)
        if status == "ABORTED" and name in sfn_state["stopped"]:
            self.emit(f"stopped after {sfn_state['stopped'][name]}: the execution is abandoned here")
            return 3, None, "".join(self.lines)
        if status == "TIMED_OUT":
            out = {"Error": "States.Timeout", "Cause": "the state machine TimeoutSeconds elapsed"}
        elif status == "ABORTED":
            out = {"Error": desc.get("error") or "ExecutionAborted", "Cause": desc.get("cause") or ""}
        else:
            out = {"Error": desc.get("error", ""), "Cause": desc.get("cause", "")}
        self.emit(f"execution {status.lower()}: {out['Error']}: {out['Cause']}")
        return 1, out, "".join(self.lines)


# ---------------------------------------------------------------- realistic databases
# What an operator tags to opt a database in (README, "Opting in"): the instance or cluster and
# everything of it that RDS copies to green, each Aurora member and each read replica.
OPT_IN = [{"Key": "bluegreen:managed", "Value": "true"}]


def opt_in(tags=None, opted_in=True):
    return list(tags or []) + (OPT_IN if opted_in else [])


def seed_postgres_instance(rds, name="orders-pg", version="13.15", target_family="postgres16",
                           logical_replication=True, target_group=True, **overrides):
    """An RDS PostgreSQL instance on a custom parameter group (logical replication on, as a
    major-version blue/green needs), and the target version's parameter group."""
    major = version.split(".")[0]
    source_group, target_group_name = f"{name}-pg{major}", f"{name}-{target_family.replace('postgres', 'pg')}"
    rds.create_db_parameter_group(DBParameterGroupName=source_group, DBParameterGroupFamily=f"postgres{major}",
                                  Description=f"{name} PostgreSQL {major}")
    params = [{"ParameterName": "max_replication_slots", "ParameterValue": "20", "ApplyMethod": "pending-reboot"},
              {"ParameterName": "max_wal_senders", "ParameterValue": "20", "ApplyMethod": "pending-reboot"}]
    if logical_replication:
        params.append({"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"})
    rds.modify_db_parameter_group(DBParameterGroupName=source_group, Parameters=params)
    if target_group:
        rds.create_db_parameter_group(DBParameterGroupName=target_group_name, DBParameterGroupFamily=target_family,
                                      Description=f"{name} target")
    args = dict(DBInstanceIdentifier=name, Engine="postgres", EngineVersion=version, DBInstanceClass="db.r6g.large",
                AllocatedStorage=200, MasterUsername="app", MasterUserPassword="correct-horse-battery",
                DBParameterGroupName=source_group, BackupRetentionPeriod=7, DeletionProtection=True, MultiAZ=True,
                StorageEncrypted=True, Tags=[{"Key": "team", "Value": "orders"}, {"Key": "bluegreen:managed", "Value": "true"}])
    args.update(overrides)
    rds.create_db_instance(**args)
    return {"db_identifier": name, "target_engine_version": "16.4", "target_db_parameter_group_name": target_group_name}


def seed_mysql_instance(rds, name="billing-mysql", version="5.7.44", opted_in=True):
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-57", DBParameterGroupFamily="mysql5.7", Description="5.7")
    rds.modify_db_parameter_group(DBParameterGroupName=f"{name}-57", Parameters=[
        {"ParameterName": "binlog_format", "ParameterValue": "ROW", "ApplyMethod": "immediate"}])
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-80", DBParameterGroupFamily="mysql8.0", Description="8.0")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="mysql", EngineVersion=version, DBInstanceClass="db.r6g.large",
                           AllocatedStorage=100, MasterUsername="admin", MasterUserPassword="correct-horse-battery",
                           DBParameterGroupName=f"{name}-57", BackupRetentionPeriod=7, Tags=opt_in(opted_in=opted_in))
    return {"db_identifier": name, "target_engine_version": "8.0.39", "target_db_parameter_group_name": f"{name}-80"}


def seed_aurora_postgres_cluster(rds, name="ledger-aurora", version="13.12", opted_in=True):
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-13", DBParameterGroupFamily="aurora-postgresql13",
                                          Description="13")
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-13", Parameters=[
        {"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}])
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-16", DBParameterGroupFamily="aurora-postgresql16",
                                          Description="16")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion=version,
                          MasterUsername="app", MasterUserPassword="correct-horse-battery",
                          DBClusterParameterGroupName=f"{name}-13", BackupRetentionPeriod=7,
                          Tags=opt_in(opted_in=opted_in))
    for i in (1, 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{i}", DBClusterIdentifier=name, Engine="aurora-postgresql",
                               DBInstanceClass="db.r6g.large", Tags=opt_in(opted_in=opted_in))
    return {"db_identifier": name, "target_engine_version": "16.4", "target_db_cluster_parameter_group_name": f"{name}-16"}


def seed_aurora_mysql_cluster(rds, name="billing-aurora", version="5.7.mysql_aurora.2.11.2",
                              target="8.0.mysql_aurora.3.05.2", members=2, opted_in=True):
    """An Aurora MySQL 2 (5.7) cluster with binary logging on (ROW) in its cluster parameter
    group, as a blue/green deployment of Aurora MySQL needs, and the target's groups."""
    src_group, dst_group = f"{name}-57"[:255], f"{name}-80"[:255]
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=src_group, DBParameterGroupFamily="aurora-mysql5.7",
                                          Description="5.7")
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=src_group, Parameters=[
        {"ParameterName": "binlog_format", "ParameterValue": "ROW", "ApplyMethod": "pending-reboot"}])
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=dst_group, DBParameterGroupFamily="aurora-mysql8.0",
                                          Description="8.0")
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=dst_group, Parameters=[
        {"ParameterName": "binlog_format", "ParameterValue": "ROW", "ApplyMethod": "pending-reboot"}])
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-mysql", EngineVersion=version,
                          MasterUsername="admin", MasterUserPassword="correct-horse-battery",
                          DBClusterParameterGroupName=src_group, BackupRetentionPeriod=7,
                          Tags=opt_in(opted_in=opted_in))
    for i in range(1, members + 1):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{i}"[:63], DBClusterIdentifier=name,
                               Engine="aurora-mysql", DBInstanceClass="db.r6g.large", Tags=opt_in(opted_in=opted_in))
    return {"db_identifier": name, "target_engine_version": target, "target_db_cluster_parameter_group_name": dst_group}


def tag_for_fleet(rds, request, wave="1", kind="db", **extra_tags):
    """Tags a seeded database so a fleet selects it: the wave, the opt-in, and its request
    fields as `bluegreen:` tags (what a team sets once on each database)."""
    name = request["db_identifier"]
    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:{kind}:{name}"
    tags = {"bluegreen:wave": wave, "bluegreen:managed": "true"}
    tags.update({f"bluegreen:{k.replace('_', '-')}": str(v) for k, v in request.items() if k != "db_identifier"})
    tags.update(extra_tags)
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return name


def seed_fleet(rds, postgres=0, mysql=0, aurora=0, wave="1", prefix="fleet"):
    """Mixed engines, each database tagged into `wave`. Returns {name: engine}."""
    seeded = {}
    for i in range(postgres):
        seeded[tag_for_fleet(rds, seed_postgres_instance(rds, name=f"{prefix}-pg-{i:02d}"), wave)] = "postgres"
    for i in range(mysql):
        seeded[tag_for_fleet(rds, seed_mysql_instance(rds, name=f"{prefix}-my-{i:02d}"), wave)] = "mysql"
    for i in range(aurora):
        request = seed_aurora_postgres_cluster(rds, name=f"{prefix}-au-{i:02d}")
        seeded[tag_for_fleet(rds, request, wave, kind="cluster")] = "aurora-postgresql"
    return seeded

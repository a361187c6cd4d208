"""The real parts, started for a local run: the extended moto emulator (whose Step Functions
runs the state machines: moto's executing interpreter, see tests/emulator/stepfunctions.py),
the worker binaries behind a local Lambda service, and every statemachine/*.asl.json created in
the emulator's Step Functions as it would be deployed.

Used by `make demo`, `make execute` and the end-to-end tests. Nothing here replaces product
code: the state machines, the binaries and the AWS API calls are the real ones; executions are
started and followed through the real Step Functions API (StartExecution, DescribeExecution,
GetExecutionHistory).
"""

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

ROOT = Path(__file__).resolve().parents[2]
MACHINES = ROOT / "statemachine"
DEFINITION = MACHINES / "upgrade.asl.json"
REGION = "us-east-1"
ACCOUNT = "123456789012"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/rds-bluegreen-state-machine"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
               "AWS_DEFAULT_REGION": REGION}
POLL_SECONDS = 0.25


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
def pascal_to_kebab(name):
    """RemediationMetric -> remediation-metric (the function and state machine names)."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1-\2", name)
    return re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1-\2", name).lower()


def machine_arn(name):
    return f"arn:aws:states:{REGION}:{ACCOUNT}:stateMachine:{name}"


def definitions(directory=MACHINES):
    """{machine name: definition text} for every *.asl.json, with the deploy-time substitutions
    done as SAM would: ${PascalNameFunctionArn} -> arn:aws:lambda:REGION:ACCOUNT:function:kebab-name,
    ${PascalNameStateMachineArn} -> arn:aws:states:REGION:ACCOUNT:stateMachine:kebab-name."""
    out = {}
    for path in sorted(Path(directory).glob("*.asl.json")):
        text = re.sub(r"\$\{([A-Za-z0-9]+)FunctionArn\}",
                      lambda m: f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{pascal_to_kebab(m.group(1))}",
                      path.read_text())
        text = re.sub(r"\$\{([A-Za-z0-9]+)StateMachineArn\}", lambda m: machine_arn(pascal_to_kebab(m.group(1))), text)
        unresolved = sorted(set(re.findall(r"\$\{[^}]*\}", text)))
        if unresolved:
            raise RuntimeError(f"unresolved substitution(s) in {path.name}: {', '.join(unresolved)}")
        out[path.name[:-len(".asl.json")]] = text
    return out


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
    """An emulator (unless one is given), a notification topic with a queue subscribed to it
    (so tests can read what was sent), the workers behind a local Lambda service, and the state
    machines in the emulator's Step Functions."""

    def __init__(self, endpoint=None, bin_dir=None, workdir=None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rds-bluegreen-"))
        self.bin_dir = Path(bin_dir or ROOT / "target" / "debug")
        self.endpoint = endpoint
        self.emulator = self.lambdas = None
        self.lambda_endpoint = None
        self.definitions = definitions()
        self.last_execution_arn = None
        self.child_max_wait_seconds = 1

    def __enter__(self):
        env = {**os.environ, **CREDENTIALS}
        try:
            if not self.endpoint:
                self.emulator, self.endpoint = _start(
                    [sys.executable, str(ROOT / "tests" / "emulator" / "launcher.py"), "--port", "0"],
                    "emulator listening on", env, self.workdir / "emulator.log")
            self.topic_arn, self.queue_url = self._notification_topic()
            # DATABASE_CHECKS: as the template sets it when the sql worker is deployed.
            env.update({"AWS_ENDPOINT_URL": self.endpoint, "NOTIFICATION_TOPIC_ARN": self.topic_arn,
                        "DATABASE_CHECKS": "on",
                        "RUST_LOG": os.environ.get("RUST_LOG", "info")})
            self.lambdas, self.lambda_endpoint = _start(
                [sys.executable, str(ROOT / "tests" / "local" / "lambda_service.py"), "--bin-dir", str(self.bin_dir),
                 "--port", "0", "--log-dir", str(self.workdir / "functions"), "--account", ACCOUNT],
                "lambda service listening on", env, self.workdir / "lambda-service.log")
            self._wire_lambda()
            self.sfn = self.client("stepfunctions")
            self.ensure_state_machines()
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc):
        _stop(self.lambdas)
        _stop(self.emulator)

    # ------------------------------------------------------------ AWS clients
    def client(self, service):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing",
                            config=Config(retries={"max_attempts": 5, "mode": "standard"}))

    def _notification_topic(self):
        sns, sqs = self.client("sns"), self.client("sqs")
        topic = sns.create_topic(Name="rds-bluegreen-notifications")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="rds-bluegreen-notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        return topic, queue_url

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
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def lambdas_control(self, body):
        """The local Lambda service's test knobs (tests/local/lambda_service.py)."""
        req = urllib.request.Request(f"{self.lambda_endpoint}/_local/control", data=json.dumps(body).encode(),
                                     method="POST", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def faults(self, **knobs):
        return self.control("faults", knobs)

    def state(self):
        return self.control("state")

    def _wire_lambda(self):
        """The emulator's Step Functions invokes the workers at self.lambda_endpoint (by function
        ARN); set again when a caller swapped it (bench/run.py records invocations that way)."""
        if getattr(self, "_wired", None) != self.lambda_endpoint:
            # Executions the workers start themselves (the fleet's children, a hand-over) are
            # capped too: 1 s, as the harness caps its own (a test-speed knob).
            self.control("stepfunctions", {"lambda_endpoint": self.lambda_endpoint,
                                           "max_wait_seconds": self.child_max_wait_seconds})
            self._wired = self.lambda_endpoint

    # ------------------------------------------------------------ state machines
    def ensure_state_machines(self):
        """Creates every statemachine/*.asl.json that is not there (an emulator reset wipes them).
        Returns {name: ARN}."""
        existing = {m["name"]: m["stateMachineArn"] for m in self.sfn.list_state_machines()["stateMachines"]}
        for name, text in self.definitions.items():
            if name not in existing:
                existing[name] = self.sfn.create_state_machine(name=name, definition=text, roleArn=ROLE_ARN,
                                                               type="STANDARD")["stateMachineArn"]
        return existing

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
    def execute(self, request, max_wait_seconds=1, progress=None, timeout=600, stop_after=None, machine="upgrade",
                name=None):
        """Runs one execution of a state machine through the Step Functions API. Returns
        (exit code, output, stderr text); the execution's ARN is in `self.last_execution_arn`.
        Exit 0: succeeded (output = its output); 1: failed or timed out (output = {Error, Cause});
        2: harness error (e.g. StartExecution refused the input); 3: abandoned right after the
        N-th answer of Task state `stop_after` ("STATE" or "STATE:N"), before the state machine
        went on (StopExecution; the function's work is done, nothing after it ran).
        `max_wait_seconds` caps every Wait state and Retry interval (a test-speed knob, not AWS
        behaviour; None = real waits)."""
        err_lines = []

        def emit(line):
            err_lines.append(line + "\n")
            if progress:
                progress(line)

        def harness_error(message):
            emit(f"harness error: {message}")
            return 2, None, "".join(err_lines)

        text = request if isinstance(request, str) else json.dumps(request)
        name = name or str(uuid.uuid4())
        settings = {"max_wait_seconds": max_wait_seconds}
        if stop_after:
            settings["stop_after"] = stop_after
        try:
            self._wire_lambda()
            machines = self.ensure_state_machines()
            if machine not in machines:
                return harness_error(f"no state machine {machine!r} (statemachine/{machine}.asl.json)")
            self.control("stepfunctions", {"executions": {name: settings}})
            bridge_errors = len(self.control("stepfunctions")["bridge_errors"])
            started = self.sfn.start_execution(stateMachineArn=machines[machine], name=name, input=text)
        except urllib.error.HTTPError as e:
            return harness_error(f"emulator control API refused {settings}: {e.read().decode(errors='replace')}")
        except ClientError as e:
            error = e.response.get("Error", {})
            return harness_error(f"StartExecution refused the input: {error.get('Code')}: {error.get('Message')}")
        except (BotoCoreError, OSError) as e:
            return harness_error(f"Step Functions at {self.endpoint} unreachable: {e}")
        arn = self.last_execution_arn = started["executionArn"]
        cap = "" if max_wait_seconds is None else f", waits capped at {max_wait_seconds:g}s"
        emit(f"execution {arn} (lambda endpoint {self.lambda_endpoint}{cap})")
        states = dict(_all_states(json.loads(self.definitions[machine])))
        follow = Progress(states, started["startDate"], emit)
        deadline, token, seen = time.time() + timeout, None, 0
        while True:
            desc = self.sfn.describe_execution(executionArn=arn)
            while True:  # the last page grows until it is full, then a nextToken appears
                page = self.sfn.get_execution_history(executionArn=arn, maxResults=1000, includeExecutionData=False,
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
                self.sfn.stop_execution(executionArn=arn, error="HarnessTimeout", cause=f"not done after {timeout}s")
                return harness_error(f"execution not done after {timeout}s: stopped")
            time.sleep(POLL_SECONDS)
        status = desc["status"]
        sfn_state = self.control("stepfunctions")
        if len(sfn_state["bridge_errors"]) > bridge_errors:
            return harness_error(sfn_state["bridge_errors"][-1]["error"])
        if status == "SUCCEEDED":
            return 0, json.loads(desc.get("output") or "null"), "".join(err_lines)
        if status == "ABORTED" and name in sfn_state["stopped"]:
            emit(f"stopped after {sfn_state['stopped'][name]}: the execution is abandoned here")
            return 3, None, "".join(err_lines)
        if status == "TIMED_OUT":
            out = {"Error": "States.Timeout", "Cause": "the state machine TimeoutSeconds elapsed"}
        elif status == "ABORTED":
            out = {"Error": desc.get("error") or "ExecutionAborted", "Cause": desc.get("cause") or ""}
        else:
            out = {"Error": desc.get("error", ""), "Cause": desc.get("cause", "")}
        emit(f"execution {status.lower()}: {out['Error']}: {out['Cause']}")
        return 1, out, "".join(err_lines)


# ---------------------------------------------------------------- realistic databases
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


def seed_mysql_instance(rds, name="billing-mysql", version="5.7.44"):
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-57", DBParameterGroupFamily="mysql5.7", Description="5.7")
    rds.modify_db_parameter_group(DBParameterGroupName=f"{name}-57", Parameters=[
        {"ParameterName": "binlog_format", "ParameterValue": "ROW", "ApplyMethod": "immediate"}])
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-80", DBParameterGroupFamily="mysql8.0", Description="8.0")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="mysql", EngineVersion=version, DBInstanceClass="db.r6g.large",
                           AllocatedStorage=100, MasterUsername="admin", MasterUserPassword="correct-horse-battery",
                           DBParameterGroupName=f"{name}-57", BackupRetentionPeriod=7)
    return {"db_identifier": name, "target_engine_version": "8.0.39", "target_db_parameter_group_name": f"{name}-80"}


def seed_aurora_postgres_cluster(rds, name="ledger-aurora", version="13.12"):
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-13", DBParameterGroupFamily="aurora-postgresql13",
                                          Description="13")
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-13", Parameters=[
        {"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}])
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-16", DBParameterGroupFamily="aurora-postgresql16",
                                          Description="16")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion=version,
                          MasterUsername="app", MasterUserPassword="correct-horse-battery",
                          DBClusterParameterGroupName=f"{name}-13", BackupRetentionPeriod=7)
    for i in (1, 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{i}", DBClusterIdentifier=name, Engine="aurora-postgresql",
                               DBInstanceClass="db.r6g.large")
    return {"db_identifier": name, "target_engine_version": "16.4", "target_db_cluster_parameter_group_name": f"{name}-16"}


def seed_aurora_mysql_cluster(rds, name="billing-aurora", version="5.7.mysql_aurora.2.11.2",
                              target="8.0.mysql_aurora.3.05.2", members=2):
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
                          DBClusterParameterGroupName=src_group, BackupRetentionPeriod=7)
    for i in range(1, members + 1):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{i}"[:63], DBClusterIdentifier=name,
                               Engine="aurora-mysql", DBInstanceClass="db.r6g.large")
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

"""Step Functions in the emulator: moto's executing interpreter (a port of LocalStack's, in
moto/stepfunctions/parser/) behind the real Step Functions API, wired to the local Lambda
service, plus what AWS does that the interpreter does not.

install() (called from launcher.install_patches) turns on moto's `execute_state_machine`
mode: CreateStateMachine parses the ASL, StartExecution runs it in a thread, DescribeExecution,
GetExecutionHistory, StopExecution, SendTask* and nested `states:startExecution.sync:2` work as
on AWS. The interpreter calls Lambda with boto3 at http://localhost:$MOTO_PORT, invoking by
function ARN (percent-encoded in the path, as the SDKs send it): the emulator's WSGI front hands
those requests to handle_lambda(), which forwards them unchanged to the local Lambda service
(tests/local/lambda_service.py) whose URL is set through the control API.

Test-speed knobs (NOT AWS behaviour), control API `POST /_emulator/stepfunctions`:
  {"lambda_endpoint": "http://127.0.0.1:PORT"}    where Lambda Invoke calls go
  {"max_wait_seconds": 1}                          cap every Wait state (Seconds, SecondsPath,
                                                   Timestamp, TimestampPath) and every Retry
                                                   interval at 1 s; null = real waits
  {"max_callback_timeout_seconds": 2}              cap the timeout of every callback Task
                                                   (`.waitForTaskToken`: TimeoutSeconds or
                                                   TimeoutSecondsPath, e.g. the approval's hours)
                                                   at 2 s; null = real timeouts
  {"executions": {"NAME": {"max_wait_seconds": 0, "max_callback_timeout_seconds": 2,
                           "stop_after": "STATE:N"}}}
      per execution name (set before StartExecution; child executions started with
      states:startExecution.sync:2 inherit their parent's): its own cap; stop_after abandons the
      execution (StopExecution, status ABORTED) right after the N-th successful answer of Task
      state STATE, before the state machine goes on: the function's work is done, nothing after
      it runs
  {"history_event_limit": N}                       self-tests only: lower the 25,000 quota
  GET /_emulator/stepfunctions                     the settings, stopped executions, bridge errors

A capped wait returns early; a state machine that re-checks (poll loops, a switchover window)
keeps working, it only re-checks sooner.

AWS behaviour added or fixed (each has a self-test in test_stepfunctions.py):
  - history: 25,000 events per execution; event 25,000 is ExecutionSucceeded or the execution
    fails with States.Runtime "The execution reached the maximum number of history events (25000)."
  - failure error/cause at most 256 / 32,768 characters (ExecutionFailedEventDetails, DescribeExecution);
    SendTaskFailure refuses longer values with ValidationException, and passes its cause on
    (moto drops it).
  - payload quota: 256 KiB = 262,144 bytes of UTF-8 of the compact JSON is within the limit
    (moto: strictly less, and measured with ", " / ": " separators).
  - $$.Execution.StartTime and $$.State.EnteredTime as AWS renders them: 2024-05-01T12:00:00.123Z
    (moto: a datetime object, which breaks DescribeExecution of any output that carries it).
  - any number of executions: moto's StartExecution fails from the second execution in a Region on
    ("cannot pickle '_thread.RLock' object").
  - GetExecutionHistory pages (maxResults, default 100; nextToken; reverseOrder;
    includeExecutionData), as on AWS (moto: everything at once).
  - StartExecution refuses an input over 256 KiB (ValidationException); moto starts it.
  - StartExecution without a name: a UUID, as on AWS (moto: None, and the next one is "the same").
  - nested executions (arn:aws:states:::states:startExecution[.sync[:2]]): the Task's parameters and
    answer are mapped to and from the API's names, as on AWS (moto: every such Task fails).
  - a task token is closed once its Task has ended (answered, timed out, failed): SendTaskSuccess /
    SendTaskFailure / SendTaskHeartbeat on it answer TaskTimedOut, as on AWS (moto accepts a
    second answer to a running execution's closed token silently).
  - Lambda API errors reach the state machine as `Lambda.<ErrorCode>` (e.g.
    Lambda.TooManyRequestsException, Lambda.ResourceNotFoundException), not `Exception`.
"""

import copy
import os
import datetime
import http.client
import json
import threading
import time
import urllib.parse
import uuid

from botocore.exceptions import ClientError
from moto.core.config import default_user_config
from moto.stepfunctions.exceptions import ValidationException
from moto.stepfunctions.parser import quotas
from moto.stepfunctions.parser.api import ExecutionFailedEventDetails, HistoryEventType
from moto.stepfunctions.parser.asl.component.common.error_name.custom_error_name import CustomErrorName
from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
from moto.stepfunctions.parser.asl.component.common.retry.max_attempts_decl import MaxAttemptsOutcome
from moto.stepfunctions.parser.asl.component.common.retry.retrier_outcome import RetrierOutcome
from moto.stepfunctions.parser.asl.component.state import state as state_module
from moto.stepfunctions.parser.asl.component.state.exec.state_task import lambda_eval_utils
from moto.stepfunctions.parser.asl.component.state.exec.state_task import state_task_lambda
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import WaitFunction
from moto.stepfunctions.parser.asl.eval.environment import Environment
from moto.stepfunctions.parser.asl.eval.event.event_manager import EventManager
from moto.stepfunctions.parser.asl.eval.program_state import ProgramStopped
from moto.stepfunctions.parser.asl.utils import boto_client as boto_client_module
from moto.stepfunctions.parser.backend import execution as execution_module
from moto.stepfunctions.parser.backend.execution_worker import ExecutionWorker

HISTORY_EVENT_LIMIT = 25_000  # Step Functions Standard: events per execution history (hard quota)
MAX_ERROR_CHARS, MAX_CAUSE_CHARS = 256, 32_768  # ExecutionFailedEventDetails length constraints
MAX_PAYLOAD_BYTES = 256 * 1024  # input/output of a state, task result, execution input/output
HISTORY_LIMIT_CAUSE = "The execution reached the maximum number of history events ({})."
TERMINAL_EVENTS = {HistoryEventType.ExecutionSucceeded, HistoryEventType.ExecutionFailed,
                   HistoryEventType.ExecutionAborted, HistoryEventType.ExecutionTimedOut}


class Config:
    def __init__(self):
        self.lock = threading.RLock()
        self.lambda_endpoint = None
        self.max_wait_seconds = None  # global cap; None = real waits
        self.max_callback_timeout_seconds = None  # global cap of callback Task timeouts; None = real
        self.executions = {}  # execution name -> {"max_wait_seconds", "stop_after"}
        self.answers = {}  # execution name -> {state: successful answers}
        self.stopped = {}  # execution name -> "STATE #N"
        self.bridge_errors = []  # Lambda calls the emulator could not hand to the Lambda service
        self.history_event_limit = HISTORY_EVENT_LIMIT
        self.parents = {}  # child execution name -> parent execution name

    def update(self, body):
        with self.lock:
            for key, value in body.items():
                if key == "lambda_endpoint":
                    if value is not None and not str(value).startswith(("http://", "https://")):
                        raise ValueError(f"lambda_endpoint must be an http(s) URL, not {value!r}")
                    self.lambda_endpoint = value.rstrip("/") if value else None
                elif key == "max_wait_seconds":
                    self.max_wait_seconds = _cap(value)
                elif key == "max_callback_timeout_seconds":
                    self.max_callback_timeout_seconds = _cap(value)
                elif key == "history_event_limit":
                    if not isinstance(value, int) or value < 3:
                        raise ValueError("history_event_limit must be an integer >= 3")
                    self.history_event_limit = value
                elif key == "executions":
                    for name, settings in value.items():
                        unknown = set(settings) - {"max_wait_seconds", "max_callback_timeout_seconds", "stop_after"}
                        if unknown:
                            raise ValueError(f"unknown execution setting(s) {sorted(unknown)}")
                        for knob in ("max_wait_seconds", "max_callback_timeout_seconds"):
                            if knob in settings:
                                _cap(settings[knob])
                        if settings.get("stop_after") is not None:
                            _parse_stop_after(settings["stop_after"])
                        self.executions[name] = dict(settings)
                else:
                    raise ValueError(f"unknown Step Functions setting {key!r}")

    def snapshot(self):
        with self.lock:
            return {"lambda_endpoint": self.lambda_endpoint, "max_wait_seconds": self.max_wait_seconds,
                    "max_callback_timeout_seconds": self.max_callback_timeout_seconds,
                    "moto_port": os.environ.get("MOTO_PORT"),
                    "history_event_limit": self.history_event_limit, "executions": self.executions,
                    "stopped": self.stopped, "bridge_errors": self.bridge_errors}

    def settings_for(self, name):
        """The execution's own settings, else its parent's (a child started by an execution)."""
        with self.lock:
            seen = set()
            while name is not None and name not in seen:
                seen.add(name)
                if name in self.executions:
                    return self.executions[name]
                name = self.parents.get(name)
            return {}

    def cap_for(self, env, knob="max_wait_seconds"):
        settings = self.settings_for(_execution_name(env))
        return _cap(settings[knob]) if knob in settings else getattr(self, knob)


def _cap(value):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
        raise ValueError(f"max_wait_seconds must be a number >= 0 or null, not {value!r}")
    return float(value)


def _parse_stop_after(spec):
    state, _, n = str(spec).partition(":")
    if not state or (n and (not n.isdigit() or int(n) < 1)):
        raise ValueError(f"stop_after must be STATE or STATE:N (N >= 1), not {spec!r}")
    return state, int(n or 1)


CONFIG = Config()


def _execution_name(env):
    try:
        return env.states.context_object.context_object_data["Execution"]["Name"]
    except (AttributeError, KeyError, TypeError):
        return None


def _sleep(env, seconds):
    """Sleeps `seconds`, returning early when the execution stops, fails or times out."""
    deadline = time.monotonic() + max(0.0, seconds)
    while env.is_running():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        env.program_state_event.wait(min(left, 1.0))


def _aws_timestamp(value):
    """2024-05-01T12:00:00.123Z: how Step Functions renders times in the context object."""
    if isinstance(value, str):
        return value
    value = value.astimezone(datetime.timezone.utc)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# ---------------------------------------------------------------- patches of the interpreter
def _patch_waits():
    def eval_body(self, env):
        # Wait states: Seconds, SecondsPath, Timestamp, TimestampPath all compute seconds here.
        # Test-speed cap (not AWS): min(real wait, cap). moto's own _wait_interval rounds the
        # time waited down to whole seconds and waits again, forever for a fractional wait.
        seconds = self._get_wait_seconds(env=env)
        cap = CONFIG.cap_for(env)
        _sleep(env, seconds if cap is None else min(seconds, cap))

    WaitFunction._eval_body = eval_body


def _patch_retries():
    def eval_body(self, env):
        # moto's RetrierDecl._eval_body, with the interval capped (test speed, not AWS) and an
        # interruptible sleep (StopExecution during a retry interval ends it, as on AWS).
        self.error_equals.eval(env)
        if not env.stack.pop():
            env.stack.append(RetrierOutcome.Skipped)
            return
        self.max_attempts.eval(env=env)
        if env.stack.pop() == MaxAttemptsOutcome.EXHAUSTED:
            env.stack.append(RetrierOutcome.Failed)
            return
        self.interval_seconds.eval(env=env)
        self.backoff_rate.eval(env=env)
        self.max_delay_seconds.eval(env=env)
        self.jitter_strategy.eval(env=env)
        interval = env.stack.pop()
        cap = CONFIG.cap_for(env)
        _sleep(env, interval if cap is None else min(interval, cap))
        env.stack.append(RetrierOutcome.Executed)

    retrier_decl.RetrierDecl._eval_body = eval_body


def _patch_payload_quota():
    # AWS: "Maximum input or output size for a task, state, or execution: 256 KiB of data as a
    # UTF-8 encoded string" -- 262,144 bytes is within the quota. moto counts `len < 262144` of
    # json.dumps with ", " and ": " separators and \uXXXX escapes (a few percent more than the
    # payload itself; 6 bytes instead of 2 for an "é").
    def is_within_size_quota(value):
        text = value if isinstance(value, str) else \
            json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)
        return len(text.encode("utf-8")) <= MAX_PAYLOAD_BYTES

    for module in (quotas, state_module, state_task_lambda, state_task_service):
        module.is_within_size_quota = is_within_size_quota


def _patch_context_times():
    # AWS renders $$.Execution.StartTime and $$.State.EnteredTime as 2024-05-01T12:00:00.123Z.
    # moto puts the execution's start datetime object in the context (DescribeExecution then
    # fails serializing any output that carries it) and EnteredTime as isoformat() (+00:00, us).
    orig_env = ExecutionWorker._get_evaluation_environment

    def get_evaluation_environment(self):
        details = self._evaluation_details.execution_details
        details.start_time = _aws_timestamp(details.start_time)
        env = orig_env(self)
        env.event_manager._emu_root = env
        return env

    ExecutionWorker._get_evaluation_environment = get_evaluation_environment

    class _Clock:
        timezone = datetime.timezone

        class datetime(datetime.datetime):  # noqa: N801 - stands in for the datetime module's class
            def isoformat(self, *a, **k):
                return _aws_timestamp(self)

    state_module.datetime = _Clock  # state.py: datetime.datetime.now(tz=datetime.timezone.utc).isoformat()


def _patch_callbacks():
    from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import state_task_service_callback
    from moto.stepfunctions.parser.asl.eval.callback import callback

    # Test-speed knob (not AWS): a callback Task (.waitForTaskToken) times out after at most
    # max_callback_timeout_seconds, whatever its TimeoutSeconds(Path) says (an approval waits
    # hours on AWS); it then fails with States.Timeout as a real timeout does.
    base = state_task_service_callback.StateTaskServiceCallback
    orig_wait = base._eval_wait_for_task_token

    def eval_wait_for_task_token(self, env, timeout_seconds, callback_endpoint, heartbeat_endpoint):
        cap = CONFIG.cap_for(env, "max_callback_timeout_seconds")
        if cap is not None and (timeout_seconds is None or timeout_seconds > cap):
            timeout_seconds = cap
        return orig_wait(self, env=env, timeout_seconds=timeout_seconds, callback_endpoint=callback_endpoint,
                         heartbeat_endpoint=heartbeat_endpoint)

    base._eval_wait_for_task_token = eval_wait_for_task_token

    # AWS: once its Task has ended, a token is closed: SendTaskSuccess/Failure/Heartbeat answer
    # TaskTimedOut ("the task associated with the token has already been closed"). moto lets a
    # second answer through while the execution runs (the Task ignores it), and its own
    # closed-token branch fails constructing the error (HTTP 500).
    orig_interrupt = callback.CallbackEndpoint.interrupt_all

    def interrupt_all(self):
        orig_interrupt(self)
        self._emu_closed = True

    callback.CallbackEndpoint.interrupt_all = interrupt_all

    from moto.core.exceptions import AWSError
    from moto.stepfunctions.parser.api import ExecutionStatus
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    class TaskTimedOut(AWSError):
        TYPE = "TaskTimedOut"
        STATUS = 400

    def closed(backend, token):
        for execution in backend._get_executions(ExecutionStatus.RUNNING):
            env = getattr(getattr(execution, "exec_worker", None), "env", None)
            endpoint = env.callback_pool_manager.get(token) if env is not None else None
            if endpoint is not None:
                return getattr(endpoint, "_emu_closed", False)
        return False

    def refuse_closed(method):
        def answer(self, task_token, *args, **kwargs):
            if closed(self, task_token):
                raise TaskTimedOut("Task Timed Out: 'Provided task does not exist anymore'")
            return method(self, task_token, *args, **kwargs)
        return answer

    for name in ("send_task_success", "send_task_failure", "send_task_heartbeat"):
        setattr(StepFunctionsParserBackend, name, refuse_closed(getattr(StepFunctionsParserBackend, name)))


def _patch_history_limit():
    orig_add = EventManager.add_event
    lock = threading.Lock()

    def add_event(self, context, event_type, event_details=None, timestamp=None, update_source_event_id=True):
        # AWS: "When an execution reaches 24,999 events, it waits for the next event to happen.
        # If the event number 25,000 is ExecutionSucceeded, the execution finishes successfully;
        # if not, the ExecutionFailed event is logged and the execution fails" (error
        # States.Runtime, cause "The execution reached the maximum number of history events (25000).")
        limit = CONFIG.history_event_limit
        fail_root = None
        with lock:
            error = getattr(self, "_emu_history_error", None)
            if error is None and self._event_id_gen._next_id - 1 >= limit - 1 \
                    and event_type != HistoryEventType.ExecutionSucceeded:
                error = ExecutionFailedEventDetails(error="States.Runtime", cause=HISTORY_LIMIT_CAUSE.format(limit))
                self._emu_history_error = error
                fail_root = getattr(self, "_emu_root", None)
            if error is not None:
                if event_type not in TERMINAL_EVENTS or getattr(self, "_emu_history_closed", False):
                    event_type = None  # nothing else is recorded past the limit
                else:
                    self._emu_history_closed = True
                    event_type = HistoryEventType.ExecutionFailed
                    event_details = {"executionFailedEventDetails": dict(error)}
        if fail_root is not None:
            fail_root.set_error(error)  # the program then logs ExecutionFailed as event 25,000
        if event_type is None:
            return self._event_id_gen._next_id - 1
        return orig_add(self, context, event_type, event_details, timestamp, update_source_event_id)

    EventManager.add_event = add_event

    orig_set_error = Environment.set_error

    def set_error(self, error):
        # A stopped execution stays ABORTED (AWS: StopExecution ends it, whatever its states do
        # next); moto turns a stop during a Map iteration into an AttributeError and FAILED.
        if isinstance(self._program_state, ProgramStopped):
            self.program_state_event.set()
            self.program_state_event.clear()
            return None
        # Once the history is full, that is the execution's failure, whatever else fails after.
        error = getattr(self.event_manager, "_emu_history_error", None) or error
        # AWS: ExecutionFailedEventDetails / DescribeExecution error is at most 256 characters,
        # cause at most 32,768: longer ones are cut to that length.
        if error:
            error = dict(error)
            if isinstance(error.get("error"), str):
                error["error"] = error["error"][:MAX_ERROR_CHARS]
            if isinstance(error.get("cause"), str):
                error["cause"] = error["cause"][:MAX_CAUSE_CHARS]
        return orig_set_error(self, error)

    Environment.set_error = set_error


# Step Functions Developer Guide, "Logging in CloudWatch Logs": with a logging configuration,
# each history event is written to the log group as JSON {id, type, details, previous_event_id,
# event_timestamp, execution_arn}; level ALL logs every event, ERROR the failures, FATAL the
# execution's own failure; "If IncludeExecutionData is false, the input, output and parameters
# ... are not included". OFF (moto's default) logs nothing.
_DATA_KEYS = {"input", "inputDetails", "output", "outputDetails", "parameters", "result", "resultDetails"}
_FATAL = {"ExecutionFailed", "ExecutionAborted", "ExecutionTimedOut"}


def _logging_of(manager):
    cached = getattr(manager, "_emu_logging", None)
    if cached is not None:
        return cached
    cached = False
    root = getattr(manager, "_emu_root", None)
    try:
        data = root.states.context_object.context_object_data
        machine_arn, execution_arn = data["StateMachine"]["Id"], data["Execution"]["Id"]
        from moto.stepfunctions.parser.models import stepfunctions_parser_backends
        account, region = machine_arn.split(":")[4], machine_arn.split(":")[3]
        machine = stepfunctions_parser_backends[account][region].describe_state_machine(machine_arn)
        conf = getattr(machine, "loggingConfiguration", None) or {}
        level = conf.get("level", "OFF")
        groups = [d["cloudWatchLogsLogGroup"]["logGroupArn"] for d in conf.get("destinations") or []
                  if "cloudWatchLogsLogGroup" in d]
        if level != "OFF" and groups:
            cached = {"level": level, "data": bool(conf.get("includeExecutionData")), "groups": groups,
                      "execution_arn": execution_arn, "account": account, "region": region,
                      "stream": f"states/{machine_arn.rsplit(':', 1)[-1]}/{execution_arn.rsplit(':', 1)[-1]}"}
    except (AttributeError, KeyError, TypeError, IndexError):
        return False  # not known yet: try again on the next event
    manager._emu_logging = cached
    return cached


def _log_event(manager, event):
    conf = _logging_of(manager)
    if not conf:
        return
    kind = event.get("type")
    kind = getattr(kind, "value", kind)
    if conf["level"] == "ERROR" and not str(kind).endswith(("Failed", "TimedOut", "Aborted")):
        return
    if conf["level"] == "FATAL" and kind not in _FATAL:
        return
    details = next((v for k, v in event.items() if k.endswith("EventDetails")), {}) or {}
    details = {k: v for k, v in dict(details).items() if conf["data"] or k not in _DATA_KEYS}
    ts = event.get("timestamp")
    message = {"id": str(event.get("id")), "type": kind, "details": details,
               "previous_event_id": str(event.get("previousEventId", 0)),
               "event_timestamp": str(int(ts.timestamp() * 1000)) if hasattr(ts, "timestamp") else str(ts),
               "execution_arn": conf["execution_arn"]}
    from moto.logs.models import logs_backends
    logs = logs_backends[conf["account"]][conf["region"]]
    for arn in conf["groups"]:
        group = arn.split(":log-group:", 1)[-1].removesuffix(":*")
        if group not in logs.groups:
            continue
        with _LOG_LOCK:
            if conf["stream"] not in logs.groups[group].streams:
                logs.create_log_stream(group, conf["stream"])
            logs.put_log_events(group, conf["stream"], [{"timestamp": int(time.time() * 1000),
                                                         "message": json.dumps(message, default=str)}])


_LOG_LOCK = threading.Lock()


def _patch_logging():
    orig_add = EventManager.add_event

    def add_event(self, context, event_type, event_details=None, timestamp=None, update_source_event_id=True):
        out = orig_add(self, context, event_type, event_details, timestamp, update_source_event_id)
        try:
            with self._mutex:
                event = self._history_event_list[-1] if self._history_event_list else None
            if event is not None:
                _log_event(self, event)
        except Exception:  # logging never changes an execution
            pass
        return out

    EventManager.add_event = add_event


def _patch_lambda_errors():
    orig_from_error = state_task_lambda.StateTaskLambda._from_error

    def from_error(self, env, ex):
        # AWS: an error of the Lambda service itself (not of the function) reaches the state
        # machine as Lambda.<exception name>, e.g. Lambda.TooManyRequestsException,
        # Lambda.ServiceException, Lambda.ResourceNotFoundException; moto names them all `Exception`.
        failure = orig_from_error(self, env, ex)
        if isinstance(ex, ClientError):
            code = ex.response.get("Error", {}).get("Code") or "ServiceException"
            name = code if code.startswith("Lambda.") else f"Lambda.{code}"
            status = ex.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = ex.response.get("Error", {}).get("Message", "")
            failure.error_name = CustomErrorName(name)
            for details in failure.event_details.values():
                details["error"] = name
                details["cause"] = (f"{message} (Service: AWSLambda; Status Code: {status}; Error Code: {code}; "
                                    f"Request ID: {ex.response.get('ResponseMetadata', {}).get('RequestId', '')})")
        return failure

    state_task_lambda.StateTaskLambda._from_error = from_error


def _patch_stop_after():
    orig = state_task_lambda.StateTaskLambda._eval_execution

    def eval_execution(self, env):
        orig(self, env)  # raises on a function error or timeout: those are not answers
        name = _execution_name(env)
        spec = CONFIG.executions.get(name, {}).get("stop_after")
        if not spec:
            return
        state, n = _parse_stop_after(spec)
        current = env.states.context_object.context_object_data.get("State", {}).get("Name")
        if current != state:
            return
        with CONFIG.lock:
            seen = CONFIG.answers.setdefault(name, {})
            seen[state] = seen.get(state, 0) + 1
            if seen[state] != n:
                return
            CONFIG.stopped[name] = f"{state} #{n}"
        root = getattr(env.event_manager, "_emu_root", None)
        if root is not None:
            # Synchronously, in the interpreter's thread, before the answer goes any further.
            root.set_stop(stop_date=datetime.datetime.now(tz=datetime.timezone.utc), error="StoppedAfter",
                          cause=f"stopped after {state} #{n}: the execution is abandoned here (test harness)")

    state_task_lambda.StateTaskLambda._eval_execution = eval_execution


def _patch_child_executions():
    # A child started with states:startExecution.sync:2 gets AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID
    # in its input (as on AWS, when the parent passes it): remember the parent for the test knobs.
    orig_init = execution_module.Execution.__init__

    def init(self, *a, **kw):
        orig_init(self, *a, **kw)
        parent = (self.input_data or {}).get("AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID") \
            if isinstance(self.input_data, dict) else None
        if isinstance(parent, str):
            with CONFIG.lock:
                CONFIG.parents[self.name] = parent.rsplit(":", 1)[-1]

    execution_module.Execution.__init__ = init


def _patch_clients():
    # Step Functions calls other services with the state machine's role: it assumes the role as
    # the states.amazonaws.com service principal (the role's trust policy must allow it) and
    # signs with those credentials, which the emulator authorizes as IAM would (authz.py).
    # One client per (service, region, role) is enough: botocore clients are thread-safe,
    # creating them is not (and costs tens of ms of CPU each).
    import authz

    orig = boto_client_module.boto_client_for
    cache, lock = {}, threading.Lock()

    def boto_client_for(region, service, state_credentials=None):
        role_arn = getattr(state_credentials, "role_arn", None)
        key = (region, service, boto_client_module.moto_server_port(), role_arn)
        with lock:
            client, access_key = cache.get(key, (None, None))
            with authz.REGISTRY.lock:
                valid = access_key is None or access_key in authz.REGISTRY.sessions
            if client is None or not valid:
                if role_arn is None:
                    client, access_key = orig(region=region, service=service, state_credentials=None), None
                else:
                    try:
                        creds = authz.assume_role_as_service({"RoleArn": role_arn, "Service": "states.amazonaws.com",
                                                              "RoleSessionName": "states-execution"})
                    except (PermissionError, KeyError) as e:
                        # AWS: "Neither the global service principal states.amazonaws.com, nor the
                        # regional one is authorized to assume the provided role."
                        raise ClientError({"Error": {"Code": "AccessDeniedException", "Message": str(e)},
                                           "ResponseMetadata": {"HTTPStatusCode": 403}}, "AssumeRole") from None
                    import boto3
                    from botocore.config import Config as BotoConfig
                    client = boto3.client(
                        service, region_name=region, endpoint_url=f"http://localhost:{boto_client_module.moto_server_port()}",
                        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"],
                        config=BotoConfig(parameter_validation=False, retries={"max_attempts": 0, "total_max_attempts": 1},
                                          connect_timeout=900, read_timeout=900))
                    access_key = creds["AccessKeyId"]
                cache[key] = (client, access_key)
            return client

    boto_client_module.boto_client_for = boto_client_for
    lambda_eval_utils.boto_client_for = boto_client_for
    import sys
    for mod in list(sys.modules.values()):
        if getattr(mod, "__name__", "").startswith("moto.stepfunctions.parser") and \
                getattr(mod, "boto_client_for", None) is orig:
            mod.boto_client_for = boto_client_for


def _patch_send_task_failure():
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend
    orig = StepFunctionsParserBackend.send_task_failure

    def send_task_failure(self, task_token, error=None, cause=None):
        # AWS: "1 validation error detected: Value at 'cause' failed to satisfy constraint:
        # Member must have length less than or equal to 32768" (and 256 for error).
        for field, value, limit in (("error", error, MAX_ERROR_CHARS), ("cause", cause, MAX_CAUSE_CHARS)):
            if isinstance(value, str) and len(value) > limit:
                raise ValidationException(f"1 validation error detected: Value at '{field}' failed to satisfy "
                                          f"constraint: Member must have length less than or equal to {limit}")
        return orig(self, task_token, error, cause)

    StepFunctionsParserBackend.send_task_failure = send_task_failure

    from moto.core.responses import EmptyResult
    from moto.stepfunctions.responses import StepFunctionResponse

    def send_task_failure_response(self):
        # moto's handler drops `cause`: AWS hands both error and cause to the waiting Task.
        self.stepfunction_backend.send_task_failure(self._get_param("taskToken"), error=self._get_param("error"),
                                                    cause=self._get_param("cause"))
        return EmptyResult()

    StepFunctionResponse.send_task_failure = send_task_failure_response


def _patch_start_execution_snapshot():
    # moto's StartExecution deep-copies the state machine to pin the definition the execution
    # runs, and with it every earlier execution (their interpreter state holds locks) and the
    # backend: the second StartExecution in a Region fails with "cannot pickle '_thread.RLock'".
    # AWS runs any number of executions: copy the machine without its executions.
    from moto.stepfunctions.models import StateMachine

    def deepcopy(self, memo):
        clone = self.__class__.__new__(self.__class__)
        memo[id(self)] = clone
        for key, value in vars(self).items():
            if key == "executions":
                value = []
            elif key != "backend":
                value = copy.deepcopy(value, memo)
            setattr(clone, key, value)
        return clone

    StateMachine.__deepcopy__ = deepcopy

    # AWS: StartExecution without a name gets a UUID; moto names it None (ARN ...:None), so a
    # second unnamed execution of the same machine is taken for the first one.
    from moto.stepfunctions.parser.models import StepFunctionsParserBackend

    orig_start = StepFunctionsParserBackend.start_execution

    def start_execution(self, state_machine_arn, name=None, execution_input=None, trace_header=None):
        # AWS: StartExecution `input` is at most 256 KiB ("Maximum input or output size for a
        # task, state, or execution"); a larger one is refused by the API, no execution starts.
        if isinstance(execution_input, str) and len(execution_input.encode("utf-8")) > MAX_PAYLOAD_BYTES:
            raise ValidationException("1 validation error detected: Value at 'input' failed to satisfy constraint: "
                                      f"Member must have length less than or equal to {MAX_PAYLOAD_BYTES}")
        return orig_start(self, state_machine_arn, name or str(uuid.uuid4()), execution_input, trace_header)

    StepFunctionsParserBackend.start_execution = start_execution


def _patch_service_integrations():
    # AWS (and LocalStack, whose interpreter this is) maps a service integration's parameters
    # (StateMachineArn, Input) onto the API's own member names (stateMachineArn, input) and the
    # answer back (executionArn -> ExecutionArn); moto stubbed both out, so every
    # arn:aws:states:::states:startExecution(.sync, .sync:2) Task fails with States.Runtime.
    import botocore.session
    from botocore import xform_name

    session, lock, models = botocore.session.get_session(), threading.Lock(), {}
    base = state_task_service.StateTaskService

    def operation(self, boto_service_name, service_action_name):
        service = self._get_boto_service_name(boto_service_name=boto_service_name)
        action = self._get_boto_service_action(service_action_name=service_action_name)
        with lock:
            if service not in models:
                model = session.get_service_model(service)
                models[service] = (model, {xform_name(op): op for op in model.operation_names})
        model, names = models[service]
        return model.operation_model(names[action]) if action in names else None

    def normalise_parameters(self, parameters, boto_service_name=None, service_action_name=None):
        op = operation(self, boto_service_name, service_action_name)
        if op is not None and op.input_shape is not None and isinstance(parameters, dict):
            self._to_boto_request(parameters, op.input_shape)

    def normalise_response(self, response, boto_service_name=None, service_action_name=None):
        op = operation(self, boto_service_name, service_action_name)
        if op is not None and op.output_shape is not None:
            self._from_boto_response(response, op.output_shape)

    base._normalise_parameters, base._normalise_response = normalise_parameters, normalise_response


def _patch_history_paging():
    # AWS GetExecutionHistory: maxResults (1-1000, 0 or absent = 100 per page), nextToken,
    # reverseOrder, includeExecutionData=false (no input/output in the events). moto answers
    # every event at once and ignores all four.
    import base64

    from moto.stepfunctions.exceptions import InvalidToken
    from moto.stepfunctions.responses import StepFunctionResponse

    data_keys = {"input", "inputDetails", "output", "outputDetails", "parameters"}

    def get_execution_history(self):
        arn = self._get_param("executionArn")
        execution = self.stepfunction_backend.describe_execution(execution_arn=arn)
        env = getattr(getattr(execution, "exec_worker", None), "env", None)
        if env is None:
            events = self.stepfunction_backend.get_execution_history(arn)["events"]
        else:  # moto deep-copies the whole history per call: copy only the page asked for
            manager = env.event_manager
            with manager._mutex:
                events = list(manager._history_event_list)
        size = int(self._get_param("maxResults") or 0) or 100
        if not 1 <= size <= 1000:
            raise ValidationException(f"1 validation error detected: Value '{size}' at 'maxResults' failed to "
                                      "satisfy constraint: Member must have value less than or equal to 1000")
        token = self._get_param("nextToken")
        start = 0
        if token:
            try:
                start = json.loads(base64.b64decode(token))["o"]
            except (ValueError, KeyError, TypeError):
                raise InvalidToken("Invalid token") from None
        ordered = list(reversed(events)) if self._get_param("reverseOrder") else list(events)
        page = copy.deepcopy(ordered[start:start + size]) if env is not None else ordered[start:start + size]
        if self._get_param("includeExecutionData") is False:
            page = [{k: ({dk: dv for dk, dv in v.items() if dk not in data_keys} if isinstance(v, dict) else v)
                     for k, v in e.items()} for e in page]
        result = {"events": [_wire_event(e) for e in page]}
        if start + size < len(ordered):
            result["nextToken"] = base64.b64encode(json.dumps({"o": start + size}).encode()).decode()
        # Speed: moto's model-driven serializer takes ~2 s for a page of 1000 events, and the
        # harness follows executions by polling this; the JSON protocol's body is just this.
        self.response_headers["Content-Type"] = "application/x-amz-json-1.0"
        return json.dumps(result, default=str)

    StepFunctionResponse.get_execution_history = get_execution_history


def _wire_event(event):
    """A history event as the awsJson protocol sends it: timestamps in epoch seconds, no nulls."""
    def clean(value):
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items() if v is not None}
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, datetime.datetime):
            return value.timestamp()
        if hasattr(value, "value") and not isinstance(value, (str, int, float, bool)):
            return value.value  # enums (HistoryEventType, ...)
        return value

    out = clean(dict(event))
    ts = out.get("timestamp")
    if isinstance(ts, str):
        out["timestamp"] = datetime.datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp()
    return out


def _patch_jsonpath_cache():
    # Speed only: the interpreter parses every JSONPath ("$", "$.wait.next_delay_seconds", ...)
    # each time a state uses it, and jsonpath_ng builds a new PLY parser for each parse (about
    # 2.5 ms): most of the interpreter's time. Parsed paths are immutable, so cache them.
    import functools

    import jsonpath_ng
    import jsonpath_ng.ext
    from moto.stepfunctions.parser.asl.component.common.path import result_path
    from moto.stepfunctions.parser.asl.utils import json_path

    json_path.parse = functools.lru_cache(maxsize=4096)(jsonpath_ng.ext.parse)
    result_path.parse = functools.lru_cache(maxsize=4096)(jsonpath_ng.parse)


_installed = False


def install():
    global _installed
    if _installed:
        return
    default_user_config.setdefault("stepfunctions", {})["execute_state_machine"] = True
    _patch_waits()
    _patch_retries()
    _patch_payload_quota()
    _patch_context_times()
    _patch_history_limit()
    _patch_logging()
    _patch_lambda_errors()
    _patch_stop_after()
    _patch_child_executions()
    _patch_clients()
    _patch_send_task_failure()
    _patch_callbacks()
    _patch_start_execution_snapshot()
    _patch_service_integrations()
    _patch_history_paging()
    _patch_jsonpath_cache()
    _installed = True


def serve_on(port):
    """The interpreter reaches Lambda (and nested Step Functions) at localhost:$MOTO_PORT."""
    os.environ["MOTO_PORT"] = str(port)


# ---------------------------------------------------------------- Lambda Invoke bridge
def is_lambda_invoke(service, environ):
    path = environ.get("PATH_INFO", "")
    return service == "lambda" and environ.get("REQUEST_METHOD") == "POST" and \
        path.startswith("/2015-03-31/functions/") and path.endswith("/invocations")


FORWARD_HEADERS = ("Content-Type", "X-Amz-Invocation-Type", "X-Amz-Log-Type", "X-Amz-Client-Context")
RETURN_HEADERS = ("content-type", "x-amz-function-error", "x-amz-executed-version", "x-amzn-errortype",
                  "x-amzn-requestid", "x-amz-log-result")


def handle_lambda(environ, body, start_response):
    """Hands an Invoke to the local Lambda service, path (percent-encoded ARN) unchanged."""
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI") or urllib.parse.quote(environ.get("PATH_INFO", ""))
    endpoint = CONFIG.lambda_endpoint
    if not endpoint:
        return _bridge_error(start_response, raw, "no lambda_endpoint set (POST /_emulator/stepfunctions)")
    url = urllib.parse.urlsplit(endpoint)
    headers = {h: environ[f"HTTP_{h.upper().replace('-', '_')}"] for h in FORWARD_HEADERS[1:]
               if f"HTTP_{h.upper().replace('-', '_')}" in environ}
    headers["Content-Type"] = environ.get("CONTENT_TYPE") or "application/json"
    conn_cls = http.client.HTTPSConnection if url.scheme == "https" else http.client.HTTPConnection
    try:
        conn = conn_cls(url.hostname, url.port, timeout=900)  # Lambda's longest function timeout
        conn.request("POST", (url.path.rstrip("/") + raw), body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        out = [(k, v) for k, v in resp.getheaders() if k.lower() in RETURN_HEADERS]
        conn.close()
    except OSError as e:
        return _bridge_error(start_response, raw, f"Lambda service {endpoint} unreachable: {e}")
    start_response(f"{resp.status} {resp.reason}", out + [("Content-Length", str(len(data)))])
    return [data]


def _bridge_error(start_response, path, message):
    with CONFIG.lock:
        CONFIG.bridge_errors.append({"time": time.time(), "path": path, "error": message})
    data = json.dumps({"Type": "Service", "message": message}).encode()
    start_response("502 Bad Gateway", [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ServiceException"),
                                      ("Content-Length", str(len(data)))])
    return [data]


# ---------------------------------------------------------------- control API
def control(method, data):
    if method == "POST":
        CONFIG.update(dict(data))
    elif method != "GET":
        raise ValueError(f"{method} /_emulator/stepfunctions: use GET or POST")
    return copy.deepcopy(CONFIG.snapshot())

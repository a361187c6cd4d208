"""A local Lambda service: the Invoke API in front, the Lambda Runtime API behind, and the
real worker binaries in between.

Why not `cargo lambda watch`: it compiles a function on its first invoke (a Task's
TimeoutSeconds fires during the compile) and answers a function error with HTTP 500, where
AWS answers 200 with `X-Amz-Function-Error`. This service runs the binaries that `cargo build`
already produced, one long-lived process per function as Lambda keeps a warm sandbox, and
answers exactly as AWS does:

    POST /2015-03-31/functions/FUNCTION/invocations  body = event
      FUNCTION: a name, NAME:$LATEST, ACCOUNT:function:NAME or the function ARN, percent-encoded
      as the SDKs send it (Step Functions invokes by ARN)
      -> 200, body = the function's result
      -> 200 + X-Amz-Function-Error: Unhandled, body = {"errorType", "errorMessage"}
      -> 404 ResourceNotFoundException: no such function, or an ARN of another Region
         ("Functions from 'eu-west-1' are not reachable in this region ('us-east-1')")
      -> 403 AccessDeniedException: an ARN of another account

Functions are registered the way CloudFormation creates them (tests/local/deploy.py):

    PUT    /_local/functions/NAME  {"binary", "environment", "timeout", "memory", "role_arn",
                                    "log_group", "architectures"}
    DELETE /_local/functions       every function (a new deployment replaces them all)

Each function process gets its own Runtime API port (`AWS_LAMBDA_RUNTIME_API`), the
environment Lambda sets (its reserved variables, the function's own variables from the
template, and the temporary credentials of its execution role, which Lambda obtains by
assuming the role as the `lambda.amazonaws.com` service principal: the emulator checks the
role's trust policy), and from this service's own environment only what stands for "the AWS
endpoints of this machine" (`AWS_ENDPOINT_URL*`) and RUST_LOG. A process that dies
mid-invocation answers `Runtime.ExitError` and is started again on the next invoke, as
Lambda does; the function's timeout is its own (`Sandbox.Timedout`).

Run: python tests/local/lambda_service.py --port 9001 [--log-dir DIR] [--account 123456789012]
     [--bin-dir DIR --functions a,b]   (the emulator's self-tests: functions with no role,
                                        running with this service's credentials)
Prints `lambda service listening on http://127.0.0.1:PORT` when ready.
"""

import argparse
import http.server
import json
import os
import queue
import re
import signal
import socketserver
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

REGION = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


# From this service's environment, a function sees only the endpoints (the emulator stands
# for AWS) and the log level; everything else comes from its configuration, as on Lambda.
PASSED_THROUGH = ("PATH", "RUST_LOG", "RUST_BACKTRACE", "AWS_ENDPOINT_URL")


class Function:
    """One function: its process, its Runtime API, and the queue of pending invocations."""

    def __init__(self, name, binary, account, log_dir, timeout, environment=None, role_arn=None, memory=128):
        self.name, self.binary, self.account = name, binary, account
        self.log_dir, self.timeout = log_dir, timeout
        self.environment, self.role_arn, self.memory = dict(environment or {}), role_arn, memory
        self.log_group = None
        self.credentials = {}
        self.pending = queue.Queue()
        self.waiting = {}  # request id -> (event, result queue)
        self.lock = threading.Lock()
        self.process = None
        self.current = None  # request id being processed
        self.runtime = ThreadingServer(("127.0.0.1", 0), self._runtime_handler())
        threading.Thread(target=self.runtime.serve_forever, daemon=True).start()
        self.cold_starts = 0
        self.hang_once = None  # test knob: see Invoke.do_POST

    @property
    def arn(self):
        return f"arn:aws:lambda:{REGION}:{self.account}:function:{self.name}"

    def ensure_running(self):
        with self.lock:
            if self.process and self.process.poll() is None:
                return
            if self.role_arn is None:  # the emulator's self-tests: no role, this service's credentials
                env = dict(os.environ)
            else:
                env = {k: v for k, v in os.environ.items() if k in PASSED_THROUGH or k.startswith("AWS_ENDPOINT_URL_")}
                env.update(self.environment)
                env.update(self.credentials)
            env.update({
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.runtime.server_address[1]}",
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.memory),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": self.log_group or f"/aws/lambda/{self.name}",
                "AWS_LAMBDA_LOG_STREAM_NAME": "local",
                "AWS_REGION": REGION,
                "AWS_DEFAULT_REGION": REGION,
            })
            out = open(os.path.join(self.log_dir, f"{self.name}.log"), "ab") if self.log_dir else subprocess.DEVNULL
            self.process = subprocess.Popen([self.binary], env=env, stdout=out, stderr=subprocess.STDOUT)
            self.cold_starts += 1
            threading.Thread(target=self._watch, args=(self.process,), daemon=True).start()

    def _watch(self, process):
        process.wait()
        # A crash mid-invocation answers the caller instead of leaving it hanging.
        with self.lock:
            rid = self.current
            self.current = None
        if rid and rid in self.waiting:
            _, results = self.waiting.pop(rid)
            results.put(("error", {"errorType": "Runtime.ExitError",
                                   "errorMessage": f"RequestId: {rid} Error: Runtime exited with status {process.returncode}"}))

    def invoke(self, event_bytes):
        self.ensure_running()
        rid = str(uuid.uuid4())
        results = queue.Queue()
        self.waiting[rid] = (event_bytes, results)
        self.pending.put(rid)
        try:
            return results.get(timeout=self.timeout)
        except queue.Empty:
            self.waiting.pop(rid, None)
            # Lambda kills a timed-out sandbox; so do we.
            if self.process and self.process.poll() is None:
                self.process.kill()
            return ("error", {"errorType": "Sandbox.Timedout",
                              "errorMessage": f"RequestId: {rid} Error: Task timed out after {self.timeout:.2f} seconds"})

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
        self.runtime.shutdown()

    def _runtime_handler(self):
        fn = self

        class Runtime(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _reply(self, status, body=b"", headers=None):
                self.send_response(status)
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if not self.path.endswith("/runtime/invocation/next"):
                    return self._reply(404)
                while True:
                    rid = fn.pending.get()
                    if rid in fn.waiting:
                        break
                event, _ = fn.waiting[rid]
                with fn.lock:
                    fn.current = rid
                deadline = int((time.time() + fn.timeout) * 1000)
                self._reply(200, event, {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": rid,
                    "Lambda-Runtime-Deadline-Ms": str(deadline),
                    "Lambda-Runtime-Invoked-Function-Arn": fn.arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                })

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = self.path.strip("/").split("/")
                if parts[-2:] == ["init", "error"]:
                    sys.stderr.write(f"{fn.name}: init error: {body[:500]!r}\n")
                    return self._reply(202)
                if len(parts) >= 5 and parts[-3] == "invocation":
                    rid, kind = parts[-2], parts[-1]
                    with fn.lock:
                        if fn.current == rid:
                            fn.current = None
                    waiter = fn.waiting.pop(rid, None)
                    if waiter:
                        if kind == "response":
                            waiter[1].put(("ok", body))
                        else:
                            try:
                                payload = json.loads(body or b"{}")
                            except ValueError:
                                payload = {"errorType": "Runtime.Unknown", "errorMessage": body.decode(errors="replace")}
                            waiter[1].put(("error", payload))
                    return self._reply(202, b"{}", {"Content-Type": "application/json"})
                self._reply(404)

        return Runtime


def assume_role(role_arn, session_name):
    """Lambda's own AssumeRole of the execution role, as the lambda.amazonaws.com service
    principal (the emulator evaluates the role's trust policy): the function's credentials."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        raise RuntimeError("AWS_ENDPOINT_URL is not set: the lambda service needs the emulator to assume roles")
    body = json.dumps({"RoleArn": role_arn, "RoleSessionName": session_name, "Service": "lambda.amazonaws.com"})
    req = urllib.request.Request(f"{endpoint.rstrip('/')}/_emulator/sts/assume-role-as-service", data=body.encode(),
                                 method="POST", headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            creds = json.loads(r.read())
    except urllib.error.HTTPError as e:
        raise RuntimeError(f"Lambda could not assume {role_arn}: {e.read().decode(errors='replace')}") from None
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"],
            "AWS_SESSION_TOKEN": creds["SessionToken"]}


FUNCTION_REF = re.compile(r"^(?:arn:aws[a-z-]*:lambda:(?P<region>[a-z0-9-]+):)?(?:(?P<account>\d{12}):function:)?"
                          r"(?P<name>[A-Za-z0-9_-]+)(?::(?P<qualifier>[A-Za-z0-9$_-]+))?$")


def resolve(functions, ref, account):
    """A function by name, name:qualifier, partial ARN (ACCOUNT:function:NAME) or ARN, as Invoke
    accepts it. Returns (function, None) or (None, (HTTP status, error code, message)) as AWS answers."""
    m = FUNCTION_REF.match(ref)
    if not m:
        return None, (400, "ValidationException", f"1 validation error detected: Value '{ref}' at 'functionName' "
                      "failed to satisfy constraint: Member must satisfy regular expression pattern: "
                      "(arn:(aws[a-zA-Z-]*)?:lambda:)?([a-z]{2}(-gov)?-[a-z]+-\\d{1}:)?(\\d{12}:)?(function:)?"
                      "([a-zA-Z0-9-_\\.]+)(:(\\$LATEST|[a-zA-Z0-9-_]+))?")
    region, owner, name, qualifier = m.group("region"), m.group("account"), m.group("name"), m.group("qualifier")
    if region and region != REGION:
        return None, (404, "ResourceNotFoundException",
                      f"Functions from '{region}' are not reachable in this region ('{REGION}')")
    arn = f"arn:aws:lambda:{REGION}:{owner or account}:function:{name}" + (f":{qualifier}" if qualifier else "")
    if owner and owner != account:
        return None, (403, "AccessDeniedException",
                      f"User: arn:aws:sts::{account}:assumed-role/StatesExecutionRole/local is not authorized to "
                      f"perform: lambda:InvokeFunction on resource: {arn} because no resource-based policy allows "
                      "the lambda:InvokeFunction action")
    fn = functions.get(name)
    if fn is None or qualifier not in (None, "$LATEST"):
        return None, (404, "ResourceNotFoundException", f"Function not found: {arn}")
    return fn, None


def register(functions, name, spec, account, log_dir):
    """PUT /_local/functions/NAME: creates (or replaces) a function as CloudFormation would."""
    for key in ("binary", "role_arn", "timeout"):
        if key not in spec:
            raise ValueError(f"function {name}: {key} is required")
    if not os.access(spec["binary"], os.X_OK):
        raise ValueError(f"function {name}: no executable {spec['binary']}: run `cargo build` first")
    fn = Function(name, spec["binary"], account, log_dir, float(spec["timeout"]), spec.get("environment"),
                  spec["role_arn"], int(spec.get("memory", 128)))
    fn.log_group = spec.get("log_group")
    try:  # CreateFunction fails when Lambda cannot assume the role ("cannot be assumed by Lambda")
        fn.credentials = assume_role(spec["role_arn"], name)
    except RuntimeError as e:
        fn.stop()
        raise ValueError(f"function {name}: {e}") from None
    old = functions.get(name)
    functions[name] = fn
    if old:
        old.stop()


def invoke_handler(functions, account, log_dir=None):
    class Invoke(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def _reply(self, status, body, headers=None):
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):
            if self.path == "/_local/state":
                state = {n: {"cold_starts": f.cold_starts, "running": bool(f.process and f.process.poll() is None)}
                         for n, f in functions.items()}
                return self._reply(200, json.dumps(state).encode())
            self._reply(404, b'{"message": "not found"}')

        def do_PUT(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b"{}"
            if not self.path.startswith("/_local/functions/"):
                return self._reply(404, b'{"message": "unknown path"}')
            try:
                register(functions, self.path.rsplit("/", 1)[-1], json.loads(body), account, log_dir)
            except (ValueError, TypeError) as e:
                return self._reply(400, json.dumps({"message": str(e)}).encode())
            self._reply(200, b'{"ok": true}')

        def do_DELETE(self):
            if self.path != "/_local/functions":
                return self._reply(404, b'{"message": "unknown path"}')
            for name in list(functions):
                functions.pop(name).stop()
            self._reply(200, b'{"ok": true}')

        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b"{}"
            if self.path == "/_local/control":
                # Test knob, not Lambda behaviour: {"hang_once": "wait", "seconds": 2} makes the next
                # invocation of `wait` time out as Lambda reports a function past its timeout
                # (200, X-Amz-Function-Error, errorType Sandbox.Timedout), without running it.
                knobs = json.loads(body or b"{}")
                name = knobs.get("hang_once")
                if name not in functions:
                    return self._reply(400, json.dumps({"message": f"no function {name!r}"}).encode())
                functions[name].hang_once = float(knobs.get("seconds", 2))
                return self._reply(200, b'{"ok": true}')
            parts = self.path.split("?")[0].strip("/").split("/")
            if len(parts) != 4 or parts[0] != "2015-03-31" or parts[1] != "functions" or parts[3] != "invocations":
                return self._reply(404, b'{"message": "unknown path"}')
            fn, error = resolve(functions, urllib.parse.unquote(parts[2]), account)
            if error:
                status, code, message = error
                return self._reply(status, json.dumps({"Type": "User", "message": message}).encode(),
                                   {"x-amzn-ErrorType": code})
            hang, fn.hang_once = fn.hang_once, None
            if hang is not None:
                time.sleep(hang)
                kind, payload = "error", {"errorType": "Sandbox.Timedout", "errorMessage":
                                          f"RequestId: {uuid.uuid4()} Error: Task timed out after {hang:.2f} seconds"}
            else:
                kind, payload = fn.invoke(body)
            if kind == "ok":
                return self._reply(200, payload, {"X-Amz-Executed-Version": "$LATEST"})
            self._reply(200, json.dumps(payload).encode(),
                        {"X-Amz-Function-Error": "Unhandled", "X-Amz-Executed-Version": "$LATEST"})

    return Invoke


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--bin-dir", help="static functions (no role): where their binaries are")
    p.add_argument("--functions", default="", help="static functions (no role), by binary name")
    p.add_argument("--port", type=int, default=9001)
    p.add_argument("--log-dir", default=None)
    p.add_argument("--account", default="123456789012")
    p.add_argument("--timeout", type=float, default=60.0, help="per-invocation timeout, seconds")
    args = p.parse_args(argv)
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    functions = {}
    for name in filter(None, args.functions.split(",")):
        binary = os.path.join(args.bin_dir or ".", name)
        if not os.access(binary, os.X_OK):
            sys.exit(f"lambda service: no executable {binary}: run `cargo build` first")
        functions[name] = Function(name, binary, args.account, args.log_dir, args.timeout)
    server = ThreadingServer(("127.0.0.1", args.port), invoke_handler(functions, args.account, args.log_dir))

    def stop(*_):
        for f in functions.values():
            f.stop()
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"lambda service listening on http://127.0.0.1:{server.server_address[1]}", flush=True)
    server.serve_forever()
    for f in functions.values():
        f.stop()


if __name__ == "__main__":
    main()

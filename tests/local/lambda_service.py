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

Each function process gets its own Runtime API port (`AWS_LAMBDA_RUNTIME_API`), the
environment Lambda sets, and the caller's AWS_* variables (so `AWS_ENDPOINT_URL` points the
SDK at the emulator). A process that dies mid-invocation answers `Runtime.ExitError` and is
started again on the next invoke, as Lambda does.

Run: python tests/local/lambda_service.py --bin-dir target/debug --port 9001 \
        [--functions precheck,create,...] [--log-dir DIR] [--account 123456789012]
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
import urllib.parse
import uuid

REGION = os.environ.get("AWS_REGION", os.environ.get("AWS_DEFAULT_REGION", "us-east-1"))


class ThreadingServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


class Function:
    """One function: its process, its Runtime API, and the queue of pending invocations."""

    def __init__(self, name, binary, account, log_dir, timeout):
        self.name, self.binary, self.account = name, binary, account
        self.log_dir, self.timeout = log_dir, timeout
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
            env = dict(os.environ)
            env.update({
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.runtime.server_address[1]}",
                "AWS_LAMBDA_FUNCTION_NAME": self.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{self.name}",
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


def invoke_handler(functions, account):
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
    p.add_argument("--bin-dir", required=True, help="where the worker binaries are (target/debug)")
    p.add_argument("--functions", default="resolve,precheck,create,wait,guardrails,switchover,verify,cleanup,abort,remediation-metric,campaign,sql")
    p.add_argument("--port", type=int, default=9001)
    p.add_argument("--log-dir", default=None)
    p.add_argument("--account", default="123456789012")
    p.add_argument("--timeout", type=float, default=60.0, help="per-invocation timeout, seconds")
    args = p.parse_args(argv)
    if args.log_dir:
        os.makedirs(args.log_dir, exist_ok=True)
    functions = {}
    for name in args.functions.split(","):
        binary = os.path.join(args.bin_dir, name)
        if not os.access(binary, os.X_OK):
            sys.exit(f"lambda service: no executable {binary}: run `cargo build` first")
        functions[name] = Function(name, binary, args.account, args.log_dir, args.timeout)
    server = ThreadingServer(("127.0.0.1", args.port), invoke_handler(functions, args.account))

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

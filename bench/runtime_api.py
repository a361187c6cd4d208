"""A tiny Lambda Runtime API for measuring one function process at a time (loopback only).

`Sandbox(cmd, env).start()` spawns the process with AWS_LAMBDA_RUNTIME_API pointing here and
returns when the process asks for its first event (`GET /2018-06-01/runtime/invocation/next`):
the end of Lambda's Init phase. `cold_start_ms` is the time from just before the spawn to that
request. `invoke(event)` hands out one event and waits for `POST .../response` (or `/error`);
its duration is from the moment the event is written to the moment the response arrives, what
Lambda reports as Duration. `peak_rss_kb()` is the process's VmHWM (Lambda's "Max Memory Used").
"""

import http.server
import json
import queue
import socketserver
import subprocess
import threading
import time
import uuid

FUNCTION_ENV = {
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
    "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
    "AWS_LAMBDA_LOG_STREAM_NAME": "bench",
}
STOP = object()


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        pass  # a killed process resets its keep-alive connection: expected, not news


class Sandbox:
    def __init__(self, cmd, env, name, log_path=None, account="123456789012", region="us-east-1"):
        self.cmd, self.name, self.log_path = cmd, name, log_path
        self.arn = f"arn:aws:lambda:{region}:{account}:function:{name}"
        self.events, self.results = queue.Queue(), queue.Queue()
        self.first_next = threading.Event()
        self.t_spawn = self.t_first_next = self.t_sent = None
        self.server = _Server(("127.0.0.1", 0), self._handler())
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.env = {**env, **FUNCTION_ENV, "AWS_LAMBDA_FUNCTION_NAME": name,
                    "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
                    "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_address[1]}"}
        self.process = None

    # ---------------------------------------------------------------- lifecycle
    def start(self, timeout=30):
        out = open(self.log_path, "ab") if self.log_path else subprocess.DEVNULL
        self.t_spawn = time.perf_counter_ns()
        self.process = subprocess.Popen(self.cmd, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        if out is not subprocess.DEVNULL:
            out.close()
        if not self.first_next.wait(timeout):
            self.stop()
            raise RuntimeError(f"{self.name}: no GET /next within {timeout}s (see {self.log_path})")
        return self

    @property
    def cold_start_ms(self):
        return (self.t_first_next - self.t_spawn) / 1e6

    def invoke(self, event, timeout=60):
        """(ok, payload, duration_ms) of one invocation."""
        self.events.put(json.dumps(event).encode())
        try:
            kind, body, t_done = self.results.get(timeout=timeout)
        except queue.Empty:
            raise RuntimeError(f"{self.name}: no response within {timeout}s (see {self.log_path})") from None
        return kind == "response", json.loads(body or b"null"), (t_done - self.t_sent) / 1e6

    def peak_rss_kb(self):
        return self._status_kb("VmHWM")

    def rss_kb(self):
        return self._status_kb("VmRSS")

    def _status_kb(self, field):
        with open(f"/proc/{self.process.pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
        raise RuntimeError(f"no {field} for {self.name}")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.events.put(STOP)  # releases a handler blocked in GET /next
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ---------------------------------------------------------------- the Runtime API
    def _handler(self):
        box = self

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
                if box.t_first_next is None:
                    box.t_first_next = time.perf_counter_ns()
                    box.first_next.set()
                event = box.events.get()
                if event is STOP:
                    self.close_connection = True
                    return self._reply(503)
                rid = str(uuid.uuid4())
                box.t_sent = time.perf_counter_ns()
                self._reply(200, event, {
                    "Content-Type": "application/json",
                    "Lambda-Runtime-Aws-Request-Id": rid,
                    "Lambda-Runtime-Deadline-Ms": str(int((time.time() + 60) * 1000)),
                    "Lambda-Runtime-Invoked-Function-Arn": box.arn,
                    "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
                })

            def do_POST(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                t = time.perf_counter_ns()
                parts = self.path.strip("/").split("/")
                if parts[-2:] == ["init", "error"]:
                    box.results.put(("error", body, t))
                elif len(parts) >= 5 and parts[-3] == "invocation":
                    box.results.put((parts[-1], body, t))
                else:
                    return self._reply(404)
                self._reply(202, b"{}", {"Content-Type": "application/json"})

        return Runtime

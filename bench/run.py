"""`make bench`: build the deployable workers and measure them on this machine.

  1. Build: `cargo lambda build --release` for x86_64 (measured here) and `--arm64` (deployed);
     sizes of each stripped `bootstrap` and of its zip.
  2. One `upgrade` on the real interpreter (bench/upgrade.py): statemachine/upgrade.asl.json
     executing on the emulator's Step Functions, the real binaries behind the local Lambda
     service (a recording proxy in front of it: per invocation, the duration and the emulator's
     AWS call counters), the deployment scripted by the emulator's knobs with as many polls as
     the product's own delays give a 45-minute build; state transitions from
     GetExecutionHistory, cost per upgrade.
  3. On a tiny Runtime API (bench/runtime_api.py), for every worker and for the boto3 precheck
     (bench/boto3_precheck.py): cold start (spawn -> first GET /next), peak RSS after one
     invocation, and warm latency of precheck, create (adopt path) and wait.
  4. A campaign of 1, 100 and 500 databases in one fleet execution (bench/fleet.py).
  5. The sql worker (bench/sql.py): size, cold start, and a precheck of a database with 5,000
     tables on a throwaway PostgreSQL (tests/db/servers.py), with its own targets.
Writes bench/results.md and prints the tables. Loopback only; every loop is bounded.

  python bench/run.py [--runs 20] [--skip-build]
Builds go to CARGO_TARGET_DIR (default: target/), as with any cargo command.
"""

import argparse
import datetime
import json
import math
import os
import platform
import shutil
import subprocess
import sys
import time
import urllib.parse
import urllib.request
import zipfile
from collections import Counter, defaultdict
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from threading import Thread

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "bench")]
from harness import CREDENTIALS, Stack, seed_fleet, seed_postgres_instance  # noqa: E402
from runtime_api import Sandbox  # noqa: E402
import fleet  # noqa: E402
import upgrade as upgrade_bench  # noqa: E402  (one upgrade on the real interpreter, bench/upgrade.py)
import sql as sql_bench  # noqa: E402  (the sql worker: its own targets, bench/sql.py)

OUT = ROOT / "bench" / "out"
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")
WORKERS = ["resolve", "precheck", "create", "wait", "guardrails", "switchover", "verify", "cleanup",
           "abort", "remediation-metric", "campaign", "sql"]
# make bench's floor (bench/floor): an empty lambda_runtime function, the workers' profile; never deployed.
FLOOR = "floor"
CHANGING = ("switchover", "verify", "cleanup", "abort")
MIB = 1024 * 1024
# Published list prices, us-east-1 (update here if they change): https://aws.amazon.com/step-functions/pricing/
# and https://aws.amazon.com/lambda/pricing/ (Arm, first 6 billion GB-seconds per month).
SFN_PER_TRANSITION = 0.025 / 1000
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334
LAMBDA_PER_REQUEST = 0.20 / 1_000_000
LAMBDA_MEMORY_GB = 128 / 1024
TARGETS = {"floor_ratio": 1.3, "cold_ms": 10.0, "cold_ratio": 20.0, "rss_mib": 32.0, "bootstrap_mib": 8.0,
           "transitions": 150, "detection_s": 60.0}


def log(msg):
    print(f"[bench] {msg}", file=sys.stderr, flush=True)


def stats(xs):
    """(median, p95) with the nearest-rank p95."""
    s = sorted(xs)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return median, s[max(0, math.ceil(0.95 * n) - 1)]


# ---------------------------------------------------------------- 1. build and sizes
def build(skip):
    env = {**os.environ, "PATH": f"{ROOT / '.venv' / 'bin'}:{os.environ['PATH']}"}
    dirs = {"x86_64": TARGET / "lambda-x86_64", "arm64": TARGET / "lambda"}
    if not skip:
        for arch, flags in (("x86_64", ["--lambda-dir", str(dirs["x86_64"])]), ("arm64", ["--arm64"])):
            log(f"cargo lambda build --release ({arch}); a cold LTO build takes minutes")
            subprocess.run(["cargo", "lambda", "build", "--release", "--locked", *flags], cwd=ROOT, env=env,
                           check=True)
    bins = {arch: {w: d / w / "bootstrap" for w in WORKERS + [FLOOR]} for arch, d in dirs.items()}
    missing = [str(p) for b in bins.values() for p in b.values() if not p.exists()]
    if missing:
        sys.exit(f"bench: missing {missing[0]} (and {len(missing) - 1} more): run without --skip-build")
    return bins


def sizes(bins):
    out = {}
    for arch, paths in bins.items():
        for w, path in paths.items():
            zpath = OUT / "zip" / arch / f"{w}.zip"
            zpath.parent.mkdir(parents=True, exist_ok=True)
            info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
            info.external_attr = 0o100755 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
                z.writestr(info, path.read_bytes())
            symtab = subprocess.run(["readelf", "-S", str(path)], capture_output=True, text=True).stdout
            out[(arch, w)] = {"bootstrap": path.stat().st_size, "zip": zpath.stat().st_size,
                              "stripped": ".symtab" not in symtab}
    return out


# ---------------------------------------------------------------- 2. a recorded upgrade
def variant(fn, inp, out):
    """The kind of invocation (which path the worker took), from its input and output."""
    out, inp = out or {}, inp or {}
    if fn == "create":  # precheck records the deployment when ours exists: create adopts it
        return "adopted" if inp.get("deployment") else "created"
    if fn == "wait":
        return (out.get("wait") or {}).get("status", "")
    if fn == "guardrails":
        return (out.get("guardrails") or {}).get("verdict", "")
    if fn == "switchover":
        return "already_started" if (out.get("switchover") or {}).get("already_started") else "requested"
    if fn == "cleanup":
        if (out.get("cleanup") or {}).get("done"):
            return "done"
        return "snapshot_pending" if (inp.get("cleanup") or {}).get("snapshot_identifier") else "snapshot_started"
    if fn == "abort":
        return "done" if (out.get("abort") or {}).get("done") else "deleting"
    if fn == "remediation-metric":
        return inp.get("milestone", "")
    if fn == "resolve":
        return f"{len(out.get('pending') or [])} selected"
    if fn == "campaign":
        return out.get("next", "")
    if fn == "sql":
        return "no way in (run unchanged)" if not (out.get("database") or inp.get("run", {}).get("database")) \
            else inp.get("op", "")
    return ""


def emulator_calls(stack):
    """{"rds:DescribeDBInstances": n, "cloudwatch:...": n, "sns:...": n} so far."""
    names = {"monitoring": "cloudwatch"}
    return Counter({f"{names.get(svc, svc)}:{op}": n for svc, ops in stack.state()["calls"].items()
                    for op, n in ops.items()})


class Recorder:
    """An Invoke API proxy in front of the local Lambda service: per invocation, the function,
    its input and output, the duration, and the AWS calls the emulator counted meanwhile."""

    def __init__(self, stack):
        self.stack, self.records, target = stack, [], stack.lambda_endpoint
        rec = self

        class Proxy(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                before = emulator_calls(rec.stack)
                t0 = time.perf_counter()
                req = urllib.request.Request(target + self.path, data=body, method="POST")
                with urllib.request.urlopen(req, timeout=120) as r:
                    payload, error = r.read(), r.headers.get("X-Amz-Function-Error")
                ms = (time.perf_counter() - t0) * 1000
                calls = emulator_calls(rec.stack) - before
                # the function by the binary it runs (CloudFormation named it)
                name = urllib.parse.unquote(self.path.split("/")[3]).rsplit(":", 1)[-1]
                fn = next((f["binary"] for f in rec.stack.deployed.functions.values() if f["name"] == name), name)
                inp, out = json.loads(body or b"null"), json.loads(payload or b"null")
                rec.records.append({"function": fn, "variant": variant(fn, inp, out), "ms": ms,
                                    "error": error, "calls": dict(calls), "input": inp, "output": out})
                self.send_response(200)
                if error:
                    self.send_header("X-Amz-Function-Error", error)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = HTTPServer(("127.0.0.1", 0), Proxy)
        Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def recorded(stack):
    """A wrapper for bench/upgrade.py: runs its execution with the Recorder in front of the
    local Lambda service, returns (its result, the records)."""
    def wrap(run):
        rec, direct = Recorder(stack), stack.lambda_endpoint
        stack.lambda_endpoint = rec.url
        try:
            result = run()
        finally:
            stack.lambda_endpoint = direct
            rec.close()
        stack._wire_lambda()
        failed = [r["function"] for r in rec.records if r["error"]]
        if failed:
            sys.exit(f"bench: invocations failed during the upgrade: {failed}")
        return result, rec.records
    return wrap


def upgrade_totals(u, cold_ms):
    """Lambda time and cost of the upgrade: every invocation at its recorded duration; the
    snapshot's pending polls (not run, see bench/upgrade.py) at the mean of the run's cleanups."""
    records = u["records"]
    cleanup_ms = [r["ms"] for r in records if r["function"] == "cleanup"] or [0]
    extra = u["snapshot_pending_polls"]
    ms = [r["ms"] for r in records] + [sum(cleanup_ms) / len(cleanup_ms)] * extra
    n = len(ms)
    billed_ms = sum(math.ceil(x) for x in ms)
    # Upper bound: every invocation pays its function's Init (cold start) too.
    functions = [r["function"] for r in records] + ["cleanup"] * extra
    cold_bound_ms = billed_ms + sum(math.ceil(cold_ms.get(f, 0)) for f in functions)
    gb_s = billed_ms / 1000 * LAMBDA_MEMORY_GB
    cost = {"sfn": u["aws_transitions"] * SFN_PER_TRANSITION, "lambda_requests": n * LAMBDA_PER_REQUEST,
            "lambda_compute": gb_s * LAMBDA_ARM_PER_GB_SECOND,
            "lambda_compute_cold": cold_bound_ms / 1000 * LAMBDA_MEMORY_GB * LAMBDA_ARM_PER_GB_SECOND,
            "lambda_compute_1s_each": n * LAMBDA_MEMORY_GB * LAMBDA_ARM_PER_GB_SECOND}
    cost["total"] = cost["sfn"] + cost["lambda_requests"] + cost["lambda_compute"]
    return {"invocations": n, "billed_ms": billed_ms, "cold_bound_ms": cold_bound_ms, "gb_s": gb_s, "cost": cost}


# ---------------------------------------------------------------- 4. processes on the Runtime API
invoke_service = sql_bench.invoke_service  # one Invoke of a deployed function, by the binary it runs


def prepared(stack, name):
    request = seed_postgres_instance(stack.client("rds"), name=name)
    rc, run, err = stack.execute({**request, "action": "prepare"}, max_wait_seconds=0)
    if rc != 0:
        sys.exit(f"bench: prepare of {name} failed:\n{err[-3000:]}")
    return request, run


class Measure:
    def __init__(self, stack, bins, runs):
        self.stack, self.bins, self.runs = stack, bins, runs
        self.env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": stack.endpoint,
                    "NOTIFICATION_TOPIC_ARN": stack.topic_arn, "RUST_LOG": "info"}
        for k in ("SSL_CERT_FILE", "SSL_CERT_DIR"):  # Lambda sets neither: the compiled-in roots
            self.env.pop(k, None)
        (OUT / "logs").mkdir(parents=True, exist_ok=True)

    def cmd(self, fn):
        fn = fn.split("+")[0]
        if fn == "boto3-precheck":
            return [sys.executable, str(ROOT / "bench" / "boto3_precheck.py")]
        return [str(self.bins[fn])]

    def sandbox(self, fn):
        env = dict(self.env)
        if "+" in fn:  # the system trust store instead of the compiled-in roots, through SSL_CERT_*
            bundle, dirs = system_trust_store()
            env["SSL_CERT_FILE"] = str(bundle)
            if fn.endswith("+system"):
                env["SSL_CERT_DIR"] = ":".join(str(d) for d in dirs)
        return Sandbox(self.cmd(fn), env, fn.split("+")[0], log_path=OUT / "logs" / f"{fn}.log")

    def spawn(self, fn, event):
        """One fresh process: cold start, RSS at init, one invocation, peak RSS after it."""
        with self.sandbox(fn) as box:
            init_kb = box.rss_kb()
            ok, out, ms = box.invoke(event)
            return {"cold_ms": box.cold_start_ms, "init_rss_kb": init_kb, "peak_kb": box.peak_rss_kb(),
                    "first_ms": ms, "ok": ok, "out": out}

    def interleaved(self, fns, events):
        """N fresh processes of each of `fns` (the floor among them), interleaved: run r spawns
        every function once, in an order rotated by one each run, so that whatever else the
        machine does falls on all of them alike and the ratios to the floor of the same run
        cancel it."""
        for fn in fns:  # one untimed spawn each: page cache and .pyc files warm for every runtime
            with self.sandbox(fn):
                pass
        rows = {fn: [] for fn in fns}
        for r in range(self.runs):
            k = r % len(fns)
            for fn in fns[k:] + fns[:k]:
                rows[fn].append(self.spawn(fn, events[fn]))
        return rows

    def warm(self, fn, event):
        """One process: a first invocation, then N timed warm ones."""
        with self.sandbox(fn) as box:
            box.invoke(event)
            results = [box.invoke(event) for _ in range(self.runs)]
        bad = [out for ok, out, _ in results if not ok]
        if bad:
            sys.exit(f"bench: warm {fn} failed: {str(bad[0])[:2000]}")
        return [ms for _, _, ms in results]

    def all(self):
        stack = self.stack
        request, run = prepared(stack, "bench-pg")
        _, run_abort = prepared(stack, "bench-abort")
        precheck_event = {"input": {**request, "action": "upgrade"},
                          "execution": {"id": "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen:bench",
                                        "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}}
        go = invoke_service(stack, "guardrails", run)
        events = {"precheck": precheck_event, "boto3-precheck": precheck_event, "create": run, "wait": run,
                  "guardrails": run, "remediation-metric": {"milestone": "green_ready", "run": run},
                  "resolve": fleet_request(stack), "campaign": mid_campaign(stack),
                  # No way into the database in this run: the op returns the run unchanged (the
                  # sql worker's own figures, on a real PostgreSQL, are bench/sql.py's section).
                  "sql": {"op": "precheck", "run": run}}
        cold, warm, paths = {}, {}, {}
        # Read-only on the prepared deployment first: precheck, create (adopt), wait, guardrails.
        events["precheck+system"] = events["precheck+bundle"] = precheck_event
        events["floor"] = {"bench": "the floor echoes its event"}
        read_only = ["floor", "resolve", "precheck", "precheck+system", "precheck+bundle", "boto3-precheck", "create",
                     "wait", "guardrails", "remediation-metric", "campaign", "sql"]
        log(f"{', '.join(read_only)}: {self.runs} cold starts each, interleaved")
        cold.update(self.interleaved(read_only, events))
        for fn in ["precheck", "boto3-precheck", "create", "wait"]:
            log(f"{fn}: {self.runs} warm invocations")
            warm[fn] = self.warm(fn, events[fn])
        # Then the steps that change it, in the state machine's order: an untimed first
        # invocation of each does the change (and gives the next step its input); the timed
        # ones take the idempotent path, as a retried or re-run step does. Each is interleaved
        # with the floor alone: interleaved with each other, a later step (cleanup deletes the
        # deployment record) would change what an earlier one finds.
        events["switchover"], events["abort"] = go, run_abort
        first = {"switchover": self.spawn("switchover", go)}
        events["verify"] = invoke_service(stack, "wait", first["switchover"]["out"])
        for fn in CHANGING:
            if fn not in first:
                first[fn] = self.spawn(fn, events[fn])
            if fn == "verify":
                events["cleanup"] = first["verify"]["out"]
            log(f"floor, {fn}: {self.runs} cold starts each, interleaved")
            pair = self.interleaved([FLOOR, fn], events)
            cold[fn], cold[f"{FLOOR} (beside {fn})"] = pair[fn], pair[FLOOR]
            events[f"{FLOOR} (beside {fn})"] = events[FLOOR]
        for fn, rows in cold.items():
            paths[fn] = Counter(variant(fn.replace("boto3-", "").split("+")[0], events[fn], r["out"]) if r["ok"] else
                                f"error {r['out'].get('errorType')}" for r in rows)
        return cold, warm, paths


def fleet_request(stack):
    """resolve's event: a fleet request as the fleet machine's Receive wraps it (the selection
    pages through the account: the databases seeded so far)."""
    return {"input": {"selector": {"tags": {"bluegreen:managed": "true"}}, "max_concurrency": 5},
            "execution": {"id": "arn:aws:states:us-east-1:123456789012:execution:fleet:bench-resolve",
                          "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat()},
            "upgrade_state_machine": stack.ensure_state_machines()["upgrade"]}


def mid_campaign(stack):
    """campaign's event: a fleet run document mid-campaign, taken from a real fleet execution
    (three databases planned one at a time): its first CampaignStep's output, with the first
    database's execution running and two pending. Replayed, the step finds that execution
    ended, folds its row in and starts the next one (StartExecution with the same name and
    input: the same execution, idempotent)."""
    seed_fleet(stack.client("rds"), postgres=3, wave="replay", prefix="replay")
    rc, out, err = stack.execute({"selector": {"tags": {"bluegreen:wave": "replay"}}, "action": "plan",
                                  "max_concurrency": 1}, machine="fleet", max_wait_seconds=0)
    if rc != 0:
        sys.exit(f"bench: the fleet for campaign's event failed ({rc}):\n{err[-3000:]}")
    entered = None
    for e in stack.history(stack.last_execution_arn):
        if e["type"] == "TaskStateEntered":
            entered = e["stateEnteredEventDetails"]["name"]
        if e["type"] == "TaskStateExited" and entered == "CampaignStep":
            doc = json.loads(e["stateExitedEventDetails"]["output"])
            if doc.get("running") and doc.get("pending"):
                return doc
    sys.exit("bench: no mid-campaign document in the fleet's history")


def system_trust_store():
    """What the SDK's HTTPS client loads when it uses the system store (rustls-native-certs with
    openssl-probe 0.2 on Linux): the first CA bundle found, and every certificate directory found."""
    files = ("/etc/ssl/certs/ca-certificates.crt", "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
             "/etc/pki/tls/certs/ca-bundle.crt", "/etc/ssl/ca-bundle.pem", "/etc/pki/tls/cacert.pem",
             "/etc/ssl/cert.pem", "/opt/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/certs/cacert.pem")
    bundle = next((Path(p) for p in files if Path(p).exists()), None)
    if bundle is None:
        sys.exit("bench: no CA bundle found")
    dirs = [Path(d) for d in ("/etc/ssl/certs", "/etc/pki/tls/certs", "/etc/security/certificates") if Path(d).exists()]
    return bundle, dirs


# ---------------------------------------------------------------- report
def cpu_model():
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def fmt_usd(x):
    return f"${x:.6f}"


def report(args, size, u, totals, cold, warm, paths, load):
    L = []
    add = L.append
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    add("# rds-bluegreen benchmark\n")
    add(f"Generated by `make bench` (bench/run.py) on {now}. Machine: {cpu_model()}, {os.cpu_count()} CPUs, "
        f"{platform.system()} {platform.release()}; load average {load[0]:.2f} at the start, {load[1]:.2f} at the "
        f"end (a shared machine: whatever else runs inflates the timings). Rust {rustc_version()}. Timings are "
        f"median / p95 over {args.runs} runs (nearest-rank p95). MiB = 1,048,576 bytes.\n")

    cs = {fn: stats([r["cold_ms"] for r in rows]) for fn, rows in cold.items()}
    fr, ffr = floor_ratios(cold)
    pk = {fn: stats([r["peak_kb"] / 1024 for r in rows]) for fn, rows in cold.items()}
    ws = {fn: stats(ms) for fn, ms in warm.items()}
    worst_cold = max(WORKERS, key=lambda w: cs[w][0])
    worst_peak = max(WORKERS, key=lambda w: pk[w][1])
    ratio = cs["boto3-precheck"][0] / cs["precheck"][0]
    # The AWS-only workers; the sql worker (database clients) has its own size goal below.
    aws_only = {k: v for k, v in size.items() if k[1] not in ("sql", FLOOR)}
    big = max(aws_only.items(), key=lambda kv: kv[1]["bootstrap"])
    big_arm = max(((k, v) for k, v in aws_only.items() if k[0] == "arm64"), key=lambda kv: kv[1]["bootstrap"])
    detect = u["sweep_detection"]
    worst_detect, mean_detect = max(detect), sum(detect) / len(detect)
    worst_ratio = max(WORKERS, key=lambda w: fr[w][0])
    checks = [
        ("floor", "Cold start ÷ the floor's in the same run, median (slowest worker)",
         f"{fr[worst_ratio][0]:.2f}× ({worst_ratio}; p95 {fr[worst_ratio][1]:.2f}×)",
         f"≤ {TARGETS['floor_ratio']}×", fr[worst_ratio][0] <= TARGETS["floor_ratio"]),
        ("cold", "Cold start median (slowest worker)", f"{cs[worst_cold][0]:.1f} ms ({worst_cold})",
         f"≤ {TARGETS['cold_ms']:.0f} ms", cs[worst_cold][0] <= TARGETS["cold_ms"]),
        ("ratio", "Cold start: boto3 precheck ÷ Rust precheck (medians)", f"{ratio:.0f}×",
         f"≥ {TARGETS['cold_ratio']:.0f}×", ratio >= TARGETS["cold_ratio"]),
        ("rss", "Peak RSS after one invocation, p95 (largest worker)", f"{pk[worst_peak][1]:.1f} MiB ({worst_peak})",
         f"≤ {TARGETS['rss_mib']:.0f} MiB", pk[worst_peak][1] <= TARGETS["rss_mib"]),
        ("size", "Stripped bootstrap (largest; sql has its own goal)",
         f"{big[1]['bootstrap'] / MIB:.2f} MiB ({big[0][1]}, {big[0][0]}); arm64, which deploys: "
         f"{big_arm[1]['bootstrap'] / MIB:.2f} MiB ({big_arm[0][1]})",
         f"≤ {TARGETS['bootstrap_mib']:.0f} MiB",
         big[1]["bootstrap"] <= TARGETS["bootstrap_mib"] * MIB and all(x["stripped"] for x in size.values())),
        ("transitions", "State transitions, one 45-minute upgrade on the real interpreter",
         f"{u['transitions']} ({u['transitions_measured']} in the history + {3 * u['snapshot_pending_polls']} for "
         f"the snapshot's polls); {u['aws_transitions']} without the emulator-only guardrail hold",
         f"≤ {TARGETS['transitions']} (issue 16: ≤ {upgrade_bench.TRANSITIONS_BEFORE})",
         u["transitions"] <= TARGETS["transitions"]),
        ("detection", "Detection latency, green ready → switchover requested (computed from the domain's delays)",
         f"worst {worst_detect:.1f} s, expected {mean_detect:.1f} s", f"≤ {TARGETS['detection_s']:.0f} s",
         worst_detect <= TARGETS["detection_s"]),
    ]
    add("## Targets\n")
    add("| target | measured | goal | |\n| --- | --- | --- | --- |")
    for _, name, value, goal, ok in checks:
        add(f"| {name} | {value} | {goal} | {'met' if ok else '**missed**'} |")
    add("")

    add("## Workers: cold start and memory (x86_64 release build, this machine)\n")
    add("Cold start: from just before the process is spawned to its first `GET /runtime/invocation/next` on "
        "bench/runtime_api.py, i.e. Lambda's Init Duration, with the SDK clients built (`serve` builds them before "
        "`lambda_runtime::run`). RSS at init: VmRSS at that moment. Peak RSS: VmHWM after one invocation of a fresh "
        "process (Lambda's Max Memory Used). First invocation: that invocation's duration against the emulator.\n")
    add("The floor (bench/floor, never deployed): an empty `lambda_runtime` function built with the same profile "
        "and tokio runtime, echoing its event. Every function's processes are interleaved with the floor's, run by "
        "run (bench/run.py `interleaved`), and **÷ floor** is the median / p95 of the per-run ratios, so the "
        "machine's load cancels out; the steps that change the deployment (switchover, verify, cleanup, abort) "
        "are each interleaved with the floor alone (its rows not shown). **Init + first invocation**: the cold "
        "start plus the first invocation's duration against the same local endpoint (work moved out of init "
        "shows up there).\n")
    add("| worker | cold start ms | ÷ floor | init + first invocation ms | ÷ floor | RSS at init MiB | "
        "peak RSS MiB | path taken |")
    add("| --- | --- | --- | --- | --- | --- | --- | --- |")
    labels = {"precheck+system": "precheck, system trust store ¹", "precheck+bundle": "precheck, CA bundle only ¹",
              "boto3-precheck": "boto3 precheck", FLOOR: "**floor**"}
    for fn in [FLOOR] + [w for w in WORKERS if w not in CHANGING] + ["precheck+system", "precheck+bundle",
                                                                     "boto3-precheck"] + list(CHANGING):
        rows = cold[fn]
        init = stats([r["init_rss_kb"] / 1024 for r in rows])
        total = stats([r["cold_ms"] + r["first_ms"] for r in rows])
        path = ", ".join(f"{k or 'ok'} ×{n}" for k, n in paths[fn].items())
        add(f"| {labels.get(fn, fn)} | {cs[fn][0]:.1f} / {cs[fn][1]:.1f} | {fr[fn][0]:.2f}× / {fr[fn][1]:.2f}× | "
            f"{total[0]:.1f} / {total[1]:.1f} | {ffr[fn][0]:.2f}× / {ffr[fn][1]:.2f}× | {init[0]:.1f} / {init[1]:.1f} | "
            f"{pk[fn][0]:.1f} / {pk[fn][1]:.1f} | {path} |")
    bundle, dirs = system_trust_store()
    nfiles = sum(1 for d in dirs for _ in d.iterdir())
    add(f"\n¹ The workers' HTTPS client trusts the five Amazon Trust Services roots compiled into them "
        f"(crates/aws/src/config.rs), in the `aws` and `aws-us-gov` partitions. Elsewhere (China, the isolated "
        f"partitions, the European Sovereign Cloud), or when SSL_CERT_FILE or SSL_CERT_DIR is set, it loads the "
        f"system trust store instead, as the SDK does by default (rustls-native-certs). These rows take that path "
        f"through the variables: the system store as openssl-probe finds it here ({bundle} plus every file of "
        f"{', '.join(map(str, dirs))}: {nfiles} entries), which is what every worker loaded before the roots were "
        f"compiled in; and a CA bundle alone (SSL_CERT_FILE only: a layout like Lambda's provided.al2023).\n")
    add("Replayed events (a prepared deployment of `bench-pg`, PostgreSQL 13.15 → 16.4, seeded with "
        "tests/e2e/harness.py): precheck (`upgrade`, adopting it), create (the **adopt** path: the deployment exists, "
        "so every invocation is idempotent), wait (a ready poll), guardrails (go), remediation-metric (green_ready); "
        "then switchover, verify, cleanup and abort (on `bench-abort`), each after an untimed first invocation that "
        "makes the change (requests the switchover, starts the snapshot, deletes green): the timed ones take the "
        "idempotent path a retried step takes.\n")

    add("## Warm invocation latency (one process, after its first invocation; local emulator)\n")
    add("| worker | median ms | p95 ms |\n| --- | --- | --- |")
    for fn, label in [("precheck", "precheck"), ("create", "create (adopt path, idempotent)"),
                      ("wait", "wait (ready poll)"), ("boto3-precheck", "boto3 precheck")]:
        add(f"| {label} | {ws[fn][0]:.1f} | {ws[fn][1]:.1f} |")
    add("\nMost of this is the emulator (moto, in Python) answering 9 RDS/CloudWatch calls for a precheck; it takes "
        "the same time whichever client asks.\n")

    add("## Rust precheck vs boto3 precheck (bench/boto3_precheck.py: same calls, same Runtime API, same emulator)\n")
    add("| | Rust | boto3 | boto3 ÷ Rust |\n| --- | --- | --- | --- |")
    for label, r, b in [("cold start, median ms", cs["precheck"][0], cs["boto3-precheck"][0]),
                        ("cold start, p95 ms", cs["precheck"][1], cs["boto3-precheck"][1]),
                        ("warm latency, median ms", ws["precheck"][0], ws["boto3-precheck"][0]),
                        ("warm latency, p95 ms", ws["precheck"][1], ws["boto3-precheck"][1]),
                        ("peak RSS, median MiB", pk["precheck"][0], pk["boto3-precheck"][0]),
                        ("peak RSS, p95 MiB", pk["precheck"][1], pk["boto3-precheck"][1])]:
        add(f"| {label} | {r:.1f} | {b:.1f} | {b / r:.1f}× |")
    add("")

    add("## Deployable sizes (`cargo lambda build --release`, `[profile.release]` of Cargo.toml; zip: deflate -9)\n")
    add("| worker | bootstrap x86_64 | zip x86_64 | bootstrap arm64 | zip arm64 |\n| --- | --- | --- | --- | --- |")
    for fn in WORKERS + [FLOOR]:
        x, a = size[("x86_64", fn)], size[("arm64", fn)]
        add(f"| {fn} | {x['bootstrap'] / MIB:.2f} MiB | {x['zip'] / MIB:.2f} MiB | {a['bootstrap'] / MIB:.2f} MiB | "
            f"{a['zip'] / MIB:.2f} MiB |")
    unstripped = [f"{a}/{w}" for (a, w), x in size.items() if not x["stripped"]]
    add("\nEvery bootstrap is stripped (no `.symtab` in `readelf -S`).\n" if not unstripped else
        f"\n**Not stripped: {', '.join(unstripped)}.**\n")

    c = totals["cost"]
    add(upgrade_bench.section(u).rstrip() + "\n")
    add("Cost at published list prices (us-east-1): Step Functions Standard $0.025 per 1,000 state transitions "
        "(https://aws.amazon.com/step-functions/pricing/); Lambda Arm $0.0000133334 per GB-second and $0.20 per 1M "
        "requests (https://aws.amazon.com/lambda/pricing/), functions of 128 MB; RDS API calls are free.\n")
    add("| item | quantity | cost |\n| --- | --- | --- |")
    add(f"| Step Functions state transitions (on AWS: without the emulator-only hold) | {u['aws_transitions']} | "
        f"{fmt_usd(c['sfn'])} |")
    add(f"| Lambda requests | {totals['invocations']} | {fmt_usd(c['lambda_requests'])} |")
    add(f"| Lambda duration: each invocation at its duration in the run above (rounded up to 1 ms; the snapshot's "
        f"polls at the run's mean cleanup) | {totals['billed_ms']} ms = {totals['gb_s']:.3f} GB-s | "
        f"{fmt_usd(c['lambda_compute'])} |")
    add(f"| **total per upgrade** | | **{fmt_usd(c['total'])}** |")
    add(f"\nWith every invocation also paying its function's Init (an upper bound: {totals['cold_bound_ms']} ms) "
        f"Lambda duration would be {fmt_usd(c['lambda_compute_cold'])}; at a full second per invocation "
        f"{fmt_usd(c['lambda_compute_1s_each'])}: Step Functions dominates either way, so the cost per upgrade is "
        f"essentially transitions × $0.000025.\n")

    add("## Missed targets: why, and what would reach them\n")
    missed = {key for key, _, _, _, ok in checks if not ok}
    if not missed:
        add("None: every target is met.\n")
    if "floor" in missed:
        extra = {w: cs[w][0] - cs[FLOOR if w not in CHANGING else f"{FLOOR} (beside {w})"][0] for w in WORKERS}
        add(f"- **Cold start ÷ floor** ({fr[worst_ratio][0]:.2f}× for {worst_ratio}, the floor "
            f"{cs[FLOOR][0]:.1f} ms): what a worker does before its first `/next` that the floor does not is "
            f"`logs::init` (the JSON subscriber and its filter), `aws_config::load` (environment, the default "
            f"credential and Region chains, no file or network read in Lambda), building its clients, and the "
            f"start of a binary {size[('x86_64', worst_ratio)]['bootstrap'] / size[('x86_64', FLOOR)]['bootstrap']:.1f}"
            f"× the floor's (pages touched, relocations). Medians over the floor: "
            f"{', '.join(f'{w} +{extra[w]:.1f} ms' for w in sorted(extra, key=extra.get, reverse=True)[:4])}.")
    if "cold" in missed or "ratio" in missed:
        add(f"- **Cold start** ({cs[worst_cold][0]:.1f} ms median for {worst_cold}). The trust store is already "
            f"compiled in (the system store would add {cs['precheck+system'][0] - cs['precheck'][0]:.1f} ms to "
            f"precheck, row ¹); what is left is process start, `aws_config::load` and the three clients, and "
            f"lambda_runtime's own start. A loaded machine inflates all of it: check the load average above.")
    if "transitions" in missed or u["aws_transitions"] > upgrade_bench.TRANSITIONS_BEFORE:
        add(f"- **State transitions** ({u['aws_transitions']} on AWS, {u['transitions']} on the emulator; issue 16: "
            f"≤ {upgrade_bench.TRANSITIONS_BEFORE}, target ≤ {TARGETS['transitions']}): each green poll costs 3 "
            f"({u['polls']} polls here), and `BUILD_DELAY` (crates/domain/src/model/schedule.rs) sets most of them; the "
            f"database Choices (DatabaseAccess, FinishAccess) and NeedsApproval cost "
            f"3 per upgrade even without a way into the database or an approval. `BUILD_DELAY` 120 → 140 s gives 2 "
            f"polls (6 transitions) fewer on this timeline, worst detection +0.5 s (bench/upgrade.py `timeline`).")
    if "detection" in missed:
        add(f"- **Detection latency** (worst {worst_detect:.1f} s): the AVAILABLE-with-a-task-left delay plus "
            f"SHORT_DELAY to confirm; shorten the former (each second less costs polls).")
    if "rss" in missed:
        add(f"- **Peak memory** ({pk[worst_peak][1]:.1f} MiB): see the worker's invocation path above.")
    if "size" in missed:
        add(f"- **Bootstrap size** ({big[1]['bootstrap'] / MIB:.2f} MiB, {big[0][1]} on {big[0][0]}; "
            f"{big_arm[1]['bootstrap'] / MIB:.2f} MiB on arm64): the profile is already `opt-level = \"z\"`, fat LTO, "
            f"trace events compiled out. precheck carries the most: every read of the plan (the topology: proxies, "
            f"custom endpoints, global clusters, integrations; the lifecycle; and the AWS DMS client). What would "
            f"reach the goal on x86_64: those reads in a worker of their own (one more state and cold start per "
            f"run), or fewer aws-config features (no SSO/STS credential providers).")
    add("")
    return "\n".join(L) + "\n", checks




def floor_ratios(cold):
    """{fn: (median, p95)} of each run's cold start ÷ the floor's in the same run, and of its
    cold start + first invocation ÷ the floor's."""
    def floor_of(fn):
        return f"{FLOOR} (beside {fn})" if fn in CHANGING else fn if fn.startswith(f"{FLOOR} (") else FLOOR
    cold_r, total_r = {}, {}
    for fn, rows in cold.items():
        base = cold[floor_of(fn)]
        cold_r[fn] = stats([r["cold_ms"] / b["cold_ms"] for r, b in zip(rows, base)])
        total_r[fn] = stats([(r["cold_ms"] + r["first_ms"]) / (b["cold_ms"] + b["first_ms"])
                             for r, b in zip(rows, base)])
    return cold_r, total_r


def rustc_version():
    try:
        return subprocess.run(["rustc", "--version"], capture_output=True, text=True).stdout.split()[1]
    except (OSError, IndexError):
        return "?"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=20, help="samples per figure (at least 20 for results.md)")
    ap.add_argument("--skip-build", action="store_true", help="measure the binaries already built")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    load_start = os.getloadavg()[0]
    bins = build(args.skip_build)
    size = sizes(bins)
    link = OUT / "bin"  # the layout tests/local/lambda_service.py expects: DIR/<name>
    shutil.rmtree(link, ignore_errors=True)
    link.mkdir()
    for w, p in bins["x86_64"].items():
        (link / w).symlink_to(p)
    (OUT / "stack").mkdir(exist_ok=True)
    with Stack(bin_dir=link, workdir=OUT / "stack") as stack:
        log("one upgrade on the real interpreter (bench/upgrade.py)")
        u = upgrade_bench.measure(stack, log=log, recorder=recorded(stack))
        measure = Measure(stack, bins["x86_64"], args.runs)
        cold, warm, paths = measure.all()
        log("campaigns of 1, 100 and 500 databases (bench/fleet.py)")
        fleet_rows = fleet.measure(stack, (1, 100, 500), log=log)
        log("the sql worker: size, cold start, a 5,000-table precheck on a local PostgreSQL")
        sql_rows = sql_bench.measure(stack, {"x86_64": TARGET / "lambda-x86_64" / "sql" / "bootstrap",
                                             "arm64": TARGET / "lambda" / "sql" / "bootstrap"}, args.runs, log,
                                     OUT / "sql")
    cold_ms = {fn: stats([r["cold_ms"] for r in rows])[0] for fn, rows in cold.items()}
    totals = upgrade_totals(u, cold_ms)
    (OUT / "raw.json").write_text(json.dumps({
        "upgrade": {k: v for k, v in u.items() if k != "output"} | {
            "records": [{k: v for k, v in r.items() if k not in ("input", "output")} for r in u["records"]]}, "cold": {fn: [{k: v for k, v in r.items() if k != "out"} for r in rows] for fn, rows in cold.items()},
        "warm": warm, "fleet": fleet_rows, "sizes": {f"{a}/{w}": s for (a, w), s in size.items()}}, indent=1, default=str))
    text, checks = report(args, size, u, totals, cold, warm, paths, (load_start, os.getloadavg()[0]))
    text += "\n" + fleet.section(fleet_rows)
    text += "\n" + sql_bench.section(sql_rows)
    (ROOT / "bench" / "results.md").write_text(text)
    print(text)
    log("wrote bench/results.md; raw samples in bench/out/raw.json")


if __name__ == "__main__":
    main()

"""The `sql` worker's figures, for `make bench` (bench/run.py calls `measure` and `section`) or
on their own:

  python bench/sql.py [--bin target/lambda-x86_64/sql/bootstrap] [--runs 20]

- Stripped bootstrap size (x86_64 and, when built, arm64) and its zip.
- Cold start on bench/runtime_api.py (spawn -> first GET /next, Lambda's Init), RSS.
- A precheck of a database with 5,000 tables (500 of them without a primary key), against the
  local PostgreSQL 15 of tests/db/servers.py, through the emulator (the instance's endpoint
  mapped to it, the login from a Secrets Manager secret): the `precheck` op's duration, cold
  (first invocation of a fresh process) and warm.
Targets: cold start <= 15 ms, stripped bootstrap <= 10 MiB, the 5,000-table precheck <= 2 s.
"""

import argparse
import datetime
import json
import os
import subprocess
import sys
import urllib.request
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "bench"), str(ROOT / "tests" / "db")]
from harness import CREDENTIALS, Stack, seed_postgres_instance  # noqa: E402
from runtime_api import Sandbox  # noqa: E402
import servers as dbservers  # noqa: E402

MIB = 1024 * 1024
TARGETS = {"cold_ms": 15.0, "bootstrap_mib": 10.0, "precheck_5000_s": 2.0}
TABLES, WITHOUT_KEY = 5000, 500
TARGET = Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target")


def stats(xs):
    s = sorted(xs)
    n = len(s)
    median = s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2
    return median, s[max(0, -(-95 * n // 100) - 1)]


def size_of(path, out_dir):
    zpath = out_dir / f"{path.parent.name}-{path.name}.zip"
    info = zipfile.ZipInfo("bootstrap", date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = 0o100755 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    with zipfile.ZipFile(zpath, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        z.writestr(info, path.read_bytes())
    symtab = subprocess.run(["readelf", "-S", str(path)], capture_output=True, text=True).stdout
    return {"bootstrap": path.stat().st_size, "zip": zpath.stat().st_size, "stripped": ".symtab" not in symtab}


def seed_5000(pg):
    pg.psql("CREATE DATABASE bench_5000")
    for start in range(1, TABLES + 1, 500):  # 500 per transaction: within the lock table
        end = start + 499
        pg.psql(f"DO $$ BEGIN FOR i IN {start}..{end} LOOP "
                f"IF i <= {WITHOUT_KEY} THEN EXECUTE format('CREATE TABLE t%s (id int, v int)', i); "
                f"ELSE EXECUTE format('CREATE TABLE t%s (id int PRIMARY KEY, v int)', i); END IF; "
                f"END LOOP; END $$", db="bench_5000")


def invoke_service(stack, fn, event):
    name = stack.function_name(fn)  # the deployed function that runs binary `fn`
    req = urllib.request.Request(f"{stack.lambda_endpoint}/2015-03-31/functions/{name}/invocations",
                                 data=json.dumps(event).encode(), method="POST")
    with urllib.request.urlopen(req, timeout=120) as r:
        if r.headers.get("X-Amz-Function-Error"):
            sys.exit(f"bench: setup invocation of {fn} failed: {r.read()[:2000]!r}")
        return json.loads(r.read())


def measure(stack, bins, runs, log, out_dir):
    """bins: {"x86_64": path, "arm64": path or None}."""
    out_dir.mkdir(parents=True, exist_ok=True)
    sizes = {arch: size_of(p, out_dir) for arch, p in bins.items() if p and p.exists()}
    with dbservers.Servers() as db:
        blue = next(p for p in db.parts if isinstance(p, dbservers.Postgres) and p.name == "postgres")
        log(f"sql: seeding a database with {TABLES} tables ({WITHOUT_KEY} without a primary key)")
        seed_5000(blue)
        request = seed_postgres_instance(stack.client("rds"), name="bench-sql")
        stack.control("endpoints", {"DBInstanceIdentifier": "bench-sql", "Port": blue.port})
        arn = stack.client("secretsmanager").create_secret(
            Name="rds-bluegreen/bench-sql/check", SecretString=json.dumps(
                {"username": "bluegreen_check", "password": dbservers.PASSWORDS["bluegreen_check"]}))["ARN"]
        execution = {"id": "arn:aws:states:us-east-1:123456789012:execution:rds-bluegreen:bench-sql",
                     "started_at": datetime.datetime.now(datetime.timezone.utc).isoformat()}
        run = invoke_service(stack, "precheck", {"input": {**request, "database_secret_arn": arn},
                                                 "execution": execution})
        event = {"op": "precheck", "run": run}
        env = {**os.environ, **CREDENTIALS, "AWS_ENDPOINT_URL": stack.endpoint, "RUST_LOG": "info",
               "NOTIFICATION_TOPIC_ARN": stack.topic_arn, "DATABASE_CA_BUNDLE": db.info["ca_bundle"]}
        for k in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            env.pop(k, None)
        cmd = [str(bins["x86_64"])]
        log(f"sql: {runs} cold starts, each with one 5,000-table precheck")
        with Sandbox(cmd, env, "sql", log_path=out_dir / "sql.log"):
            pass  # page cache warm
        cold = []
        for _ in range(runs):
            with Sandbox(cmd, env, "sql", log_path=out_dir / "sql.log") as box:
                init_kb = box.rss_kb()
                ok, out, ms = box.invoke(event)
                if not ok:
                    sys.exit(f"bench: the sql precheck failed: {str(out)[:2000]}")
                cold.append({"cold_ms": box.cold_start_ms, "init_rss_kb": init_kb, "peak_kb": box.peak_rss_kb(),
                             "first_ms": ms, "out": out})
        log(f"sql: {runs} warm 5,000-table prechecks")
        with Sandbox(cmd, env, "sql", log_path=out_dir / "sql.log") as box:
            box.invoke(event)
            warm = [box.invoke(event)[2] for _ in range(runs)]
    checks = {c["id"]: c for c in cold[0]["out"]["database"]["precheck"]["checks"]}
    return {"sizes": sizes, "cold": [{k: v for k, v in r.items() if k != "out"} for r in cold], "warm_ms": warm,
            "tables_without_key": checks["tables-without-primary-key"]["observed"][:120]}


def section(rows):
    cs = stats([r["cold_ms"] for r in rows["cold"]])
    init = stats([r["init_rss_kb"] / 1024 for r in rows["cold"]])
    peak = stats([r["peak_kb"] / 1024 for r in rows["cold"]])
    first = stats([r["first_ms"] for r in rows["cold"]])
    warm = stats(rows["warm_ms"])
    biggest = max(s["bootstrap"] for s in rows["sizes"].values())
    lines = ["## The sql worker (crates/sql: the only one linking database clients)\n",
             "| target | measured | goal | |", "| --- | --- | --- | --- |"]
    for name, value, goal, ok in [
        ("Cold start median", f"{cs[0]:.1f} ms (p95 {cs[1]:.1f})", f"≤ {TARGETS['cold_ms']:.0f} ms",
         cs[0] <= TARGETS["cold_ms"]),
        ("Stripped bootstrap (largest)", f"{biggest / MIB:.2f} MiB", f"≤ {TARGETS['bootstrap_mib']:.0f} MiB",
         biggest <= TARGETS["bootstrap_mib"] * MIB and all(s["stripped"] for s in rows["sizes"].values())),
        (f"Precheck of a database with {TABLES:,} tables, warm median", f"{warm[0] / 1000:.2f} s (p95 {warm[1] / 1000:.2f})",
         f"≤ {TARGETS['precheck_5000_s']:.0f} s", warm[1] <= TARGETS["precheck_5000_s"] * 1000),
    ]:
        lines.append(f"| {name} | {value} | {goal} | {'met' if ok else '**missed**'} |")
    lines += ["", "| figure | median / p95 |", "| --- | --- |",
              f"| RSS at init | {init[0]:.1f} / {init[1]:.1f} MiB |",
              f"| peak RSS after one 5,000-table precheck | {peak[0]:.1f} / {peak[1]:.1f} MiB |",
              f"| first invocation (cold process: TLS, secret, every database) | {first[0]:.0f} / {first[1]:.0f} ms |",
              f"| warm invocation | {warm[0]:.0f} / {warm[1]:.0f} ms |"]
    for arch, s in sorted(rows["sizes"].items()):
        lines.append(f"| bootstrap {arch} | {s['bootstrap'] / MIB:.2f} MiB (zip {s['zip'] / MIB:.2f} MiB) |")
    lines.append(f"\nThe precheck: the `precheck` op through the emulator (DescribeDBInstances, GetSecretValue) to "
                 f"the local PostgreSQL 15 over TLS, every database of the instance visited; its finding: "
                 f"`{rows['tables_without_key']}…`\n")
    return "\n".join(lines) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", type=Path, default=TARGET / "lambda-x86_64" / "sql" / "bootstrap")
    ap.add_argument("--arm64-bin", type=Path, default=TARGET / "lambda" / "sql" / "bootstrap")
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    if not args.bin.exists():
        sys.exit(f"bench/sql.py: no {args.bin}: build it (cargo lambda build --release, or give --bin)")
    out = ROOT / "bench" / "out" / "sql"
    out.mkdir(parents=True, exist_ok=True)
    log = lambda m: print(f"[bench] {m}", file=sys.stderr, flush=True)  # noqa: E731
    (out / "stack").mkdir(exist_ok=True)
    with Stack(bin_dir=ROOT / "target" / "debug", workdir=out / "stack") as stack:
        rows = measure(stack, {"x86_64": args.bin, "arm64": args.arm64_bin}, args.runs, log, out)
    (out / "raw.json").write_text(json.dumps(rows, indent=1))
    print(section(rows))


if __name__ == "__main__":
    main()

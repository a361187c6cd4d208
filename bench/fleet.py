"""Fleet benchmark: one execution of the real state machine (local runner, the workers behind the
local Lambda service, the extended emulator) upgrading 1, 10 and 50 emulated databases of mixed
engines (60 % PostgreSQL instances, 20 % MySQL instances, 20 % Aurora PostgreSQL clusters), five at
a time, soak 0. Reports the wall time and the RDS calls, in total and per database.

Standalone: .venv/bin/python bench/fleet.py [--bin-dir target/debug] [--sizes 1,10,50]
`make bench` runs it too (bench/run.py) and adds the table to bench/results.md.
"""

import argparse
import math
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "e2e")]
from harness import Stack, seed_fleet  # noqa: E402

# On AWS a batch takes about as long as its slowest green build plus the switchover: the
# simulated upgrade's 45-minute build and 1-minute switchover (bench/results.md).
AWS_BATCH_MINUTES = 45 + 1 + 2


def mix(n):
    mysql = aurora = n // 5
    return {"postgres": n - mysql - aurora, "mysql": mysql, "aurora": aurora}


def measure(stack, sizes, max_concurrency=5, log=print):
    rows = []
    for n in sizes:
        stack.control("reset", {})
        stack.topic_arn, stack.queue_url = stack._notification_topic()
        engines = mix(n)
        seed_fleet(stack.client("rds"), **engines)
        stack.faults(provisioning_polls=1, tasks_in_progress_polls=1)
        stack.control("reset", {"counters_only": True})
        log(f"fleet of {n}: {engines}")
        t0 = time.perf_counter()
        rc, out, err = stack.execute({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "upgrade",
                                      "soak_hours": 0, "max_concurrency": max_concurrency},
                                     max_wait_seconds=1, timeout=7200)
        wall = time.perf_counter() - t0
        if rc != 0:
            sys.exit(f"bench: the fleet of {n} did not succeed ({rc}):\n{err[-3000:]}")
        outcomes = Counter(r["outcome"] for r in out["results"])
        calls = stack.state()["calls"].get("rds", {})
        total = sum(calls.values())
        batches = math.ceil(n / max_concurrency)
        rows.append({
            "databases": n, "engines": engines, "outcomes": dict(outcomes), "wall_s": wall,
            "wall_per_db_s": wall / n, "rds_calls": total, "rds_calls_per_db": total / n,
            "describe_instances_per_db": calls.get("DescribeDBInstances", 0) / n,
            "batches": batches, "aws_hours": batches * AWS_BATCH_MINUTES / 60,
        })
        log(f"fleet of {n}: {wall:.1f} s, {total} RDS calls ({total / n:.1f} per database), {dict(outcomes)}")
    return rows


def section(rows, max_concurrency=5):
    lines = [
        "## Fleet: one execution, many databases",
        "",
        f"`bench/fleet.py`: the real state machine over N emulated databases of mixed engines (60 % PostgreSQL,"
        f" 20 % MySQL, 20 % Aurora PostgreSQL), `max_concurrency` {max_concurrency}, soak 0, waits capped at"
        " 1 s; upgrade, soak once, clean up. Wall time here is the local stack's (emulator and"
        " runner); on AWS a fleet takes about (batches × (build + switchover)) + soak + cleanups.",
        "",
        "| databases | outcome | wall time here | per database | RDS calls | per database | DescribeDBInstances per database | batches | on AWS (45-min builds), upgrade phase |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        outcome = ", ".join(f"{v} {k}" for k, v in sorted(r["outcomes"].items()))
        lines.append(f"| {r['databases']} | {outcome} | {r['wall_s']:.0f} s | {r['wall_per_db_s']:.1f} s |"
                     f" {r['rds_calls']} | {r['rds_calls_per_db']:.1f} | {r['describe_instances_per_db']:.1f} |"
                     f" {r['batches']} | ~{r['aws_hours']:.1f} h |")
    per_db = [r["rds_calls_per_db"] for r in rows]
    lines += ["", f"RDS calls per database stay between {min(per_db):.1f} and {max(per_db):.1f} from"
              f" {rows[0]['databases']} to {rows[-1]['databases']} databases: the selection pages through"
              " the account once (100 per page); everything else is per database.", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default=str(ROOT / "target" / "debug"))
    ap.add_argument("--sizes", default="1,10,50")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with Stack(bin_dir=args.bin_dir) as stack:
        rows = measure(stack, sizes, log=lambda m: print(f"[fleet] {m}", file=sys.stderr, flush=True))
    print(section(rows))


if __name__ == "__main__":
    main()

"""Fleet benchmark: one execution of the fleet state machine (statemachine/fleet.asl.json on the
emulator's Step Functions) over 1, 100 and 500 emulated PostgreSQL instances selected by tag; the
`campaign` worker starts one child execution of the upgrade machine per database, a sliding
window of `max_concurrency` 25 (the largest accepted). Action `plan` (each child: Receive,
Precheck, DatabaseAccess, Route, Planned), waits capped at 1 s in the fleet execution and
0.25 s in its children (WAIT_CAP_SECONDS), so 500 databases finish in minutes. Reports: completion and one row per database; RDS calls per database (the emulator's
counters, GET /_emulator/state); the fleet execution's largest state input/output (vs 256 KiB),
its history events (vs 25,000) and the longest `cause` in it (vs 32,768); and the wall time on AWS
estimated from the window and one database's duration.

Standalone: .venv/bin/python bench/fleet.py [--bin-dir target/debug] [--sizes 1,100,500]
`make bench` runs it too (bench/run.py) and adds the table to bench/results.md.
"""

import argparse
import json
import math
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "e2e")]
from harness import Stack  # noqa: E402

MAX_CONCURRENCY = 25
KIB = 1024
# One database on AWS, from the upgrade on the real interpreter (bench/upgrade.py): a 45-minute
# green build, the detection latency and a 1-minute switchover; the campaign polls running
# children every 5 minutes (campaign.rs POLL_SECONDS; every minute for a child started less than
# 15 minutes ago), so a finished child's slot waits 2.5 minutes on average for its successor.
AWS_DB_MINUTES = 45 + 0.6 + 1 + 2.5


def seed(rds, n, wave="1"):
    """n PostgreSQL 13.15 instances on one shared parameter group (logical replication on), each
    tagged into the wave with its target (what a team sets once per database)."""
    rds.create_db_parameter_group(DBParameterGroupName="bench-pg13", DBParameterGroupFamily="postgres13",
                                  Description="bench source")
    rds.modify_db_parameter_group(DBParameterGroupName="bench-pg13", Parameters=[
        {"ParameterName": p, "ParameterValue": v, "ApplyMethod": "pending-reboot"}
        for p, v in (("rds.logical_replication", "1"), ("max_replication_slots", "20"), ("max_wal_senders", "20"))])
    rds.create_db_parameter_group(DBParameterGroupName="bench-pg16", DBParameterGroupFamily="postgres16",
                                  Description="bench target")
    tags = [{"Key": k, "Value": v} for k, v in (
        ("bluegreen:wave", wave), ("bluegreen:managed", "true"), ("bluegreen:target-engine-version", "16.4"),
        ("bluegreen:target-db-parameter-group-name", "bench-pg16"))]
    for i in range(n):
        rds.create_db_instance(DBInstanceIdentifier=f"camp-{i:03d}", Engine="postgres", EngineVersion="13.15",
                               DBInstanceClass="db.r6g.large", AllocatedStorage=100, MasterUsername="app",
                               MasterUserPassword="correct-horse-battery", DBParameterGroupName="bench-pg13",
                               BackupRetentionPeriod=7, Tags=tags)


def quotas(events):
    """(largest state input/output in bytes, longest cause in characters) of a history."""
    largest = cause = 0
    for e in events:
        for k, v in e.items():
            if not k.endswith("EventDetails") or not isinstance(v, dict):
                continue
            for field in ("input", "output"):
                if isinstance(v.get(field), str):
                    largest = max(largest, len(v[field].encode()))
            if isinstance(v.get("cause"), str):
                cause = max(cause, len(v["cause"]))
    return largest, cause


def measure(stack, sizes, max_concurrency=MAX_CONCURRENCY, log=print):
    rows = []
    for n in sizes:
        stack.reset()
        t0 = time.perf_counter()
        seed(stack.client("rds"), n)
        log(f"campaign of {n}: seeded in {time.perf_counter() - t0:.0f} s")
        stack.control("reset", {"counters_only": True})
        t0 = time.perf_counter()
        rc, out, err = stack.execute({"selector": {"tags": {"bluegreen:wave": "1"}}, "action": "plan",
                                      "max_concurrency": max_concurrency},
                                     machine="fleet", max_wait_seconds=1, timeout=3600)
        wall = time.perf_counter() - t0
        if rc != 0:
            sys.exit(f"bench: the campaign of {n} did not complete ({rc}):\n{err[-3000:]}")
        # The fleet's executions: this one, and any it continued in (history bound).
        arns, events = [stack.last_execution_arn], []
        while arns:
            arn = arns.pop()
            hist = stack.history(arn)
            events.append(hist)
            for e in hist:
                out_text = (e.get("stateExitedEventDetails") or {}).get("output") or ""
                if '"continued_in"' in out_text:
                    arns.append(json.loads(out_text)["continued_in"]["continued_in"])
        outcomes = Counter(r["outcome"] for r in out["rows"])
        if len(out["rows"]) != n or set(outcomes) != {"planned"}:
            sys.exit(f"bench: the campaign of {n} ended with {dict(outcomes)} over {len(out['rows'])} rows")
        calls = stack.state()["calls"]
        rds, sfn = calls.get("rds", {}), calls.get("states", {})
        largest, cause = max(quotas(h) for h in events)
        children = [c for c in stack.sfn.list_executions(
            stateMachineArn=stack.ensure_state_machines()["upgrade"], maxResults=1000)["executions"]]
        child_s = sorted((c["stopDate"] - c["startDate"]).total_seconds() for c in children if c.get("stopDate"))
        rows.append({
            "databases": n, "outcomes": dict(outcomes), "wall_s": wall, "rds_calls": sum(rds.values()),
            "rds_calls_per_db": sum(rds.values()) / n, "rds_by_op": dict(rds),
            "describe_instances_per_db": rds.get("DescribeDBInstances", 0) / n,
            "sfn_calls_per_db": sum(sfn.values()) / n, "sfn_by_op": dict(sfn),
            "executions": len(events), "history_events": max(len(h) for h in events),
            "largest_state_bytes": largest, "longest_cause": cause, "children": len(children),
            "child_median_s": child_s[len(child_s) // 2] if child_s else None,
            "aws_hours": math.ceil(n / max_concurrency) * AWS_DB_MINUTES / 60,
        })
        log(f"campaign of {n}: {wall:.0f} s, {sum(rds.values())} RDS calls ({sum(rds.values()) / n:.1f} per "
            f"database), {len(events)} execution(s), {rows[-1]['history_events']} events, largest state "
            f"{largest} bytes, {dict(outcomes)}")
    return rows


def section(rows, max_concurrency=MAX_CONCURRENCY):
    lines = [
        "## Fleet: one campaign, many databases",
        "",
        f"`bench/fleet.py`: one execution of the fleet state machine over N emulated PostgreSQL 13.15 instances "
        f"selected by tag; the `campaign` worker starts one execution of the upgrade machine per database, a sliding "
        f"window of `max_concurrency` {max_concurrency}. Action **`plan`** (each database: Receive, Precheck, "
        "DatabaseAccess, Route, Planned), waits capped at 1 s in the fleet execution and at 0.25 s in its children (the harness's `WAIT_CAP_SECONDS`), so that 500 databases finish in minutes here; an "
        "`upgrade` adds per database the calls of one upgrade (see above) and nothing per fleet. Calls are the "
        "emulator's counters over the fleet execution (selection, every child, the campaign's DescribeExecution / "
        "StartExecution). Quotas: the fleet execution's largest state input or output (256 KiB), its history events "
        "(25,000; past 2,000 polls the campaign continues in a new execution), the longest `cause` in it (32,768).",
        "",
        "| databases | outcome | wall time here | RDS calls | per database | DescribeDBInstances per database "
        "| Step Functions API calls per database | fleet executions | history events | largest state | longest cause "
        "| on AWS, 45-min builds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        outcome = ", ".join(f"{v} {k}" for k, v in sorted(r["outcomes"].items()))
        lines.append(f"| {r['databases']} | {outcome} | {r['wall_s']:.0f} s | {r['rds_calls']} | "
                     f"{r['rds_calls_per_db']:.2f} | {r['describe_instances_per_db']:.2f} | {r['sfn_calls_per_db']:.1f} | "
                     f"{r['executions']} | {r['history_events']} | {r['largest_state_bytes'] / KIB:.1f} KiB "
                     f"({100 * r['largest_state_bytes'] / (256 * KIB):.0f} % of 256 KiB) | {r['longest_cause']} | "
                     f"~{r['aws_hours']:.1f} h |")
    per_db = [r["rds_calls_per_db"] for r in rows]
    big = rows[-1]
    lines += [
        "",
        f"RDS calls per database: {min(per_db):.2f} to {max(per_db):.2f} from {rows[0]['databases']} to "
        f"{big['databases']} databases (by operation at {big['databases']}: "
        + ", ".join(f"{op} {n / big['databases']:.2f}" for op, n in sorted(big["rds_by_op"].items(), key=lambda kv: -kv[1]))
        + "): the selection pages through the account once (100 per page); everything else is per database. Step "
        "Functions calls at the same size: " + ", ".join(f"{op} {n}" for op, n in sorted(big["sfn_by_op"].items())) + ".",
        "",
        f"On AWS: not batches but a window. A database takes about {AWS_DB_MINUTES:.1f} minutes (45-minute build, "
        "detection, 1-minute switchover, and on average 2.5 minutes until the campaign's next 5-minute poll frees its "
        f"slot), so N databases take about ⌈N / {max_concurrency}⌉ × {AWS_DB_MINUTES:.1f} min for the upgrade phase "
        "(the last column), then one soak for the whole fleet, then the cleanups in the same window (one final "
        "snapshot each, minutes). A slow build holds its own slot only (tests/e2e/test_fleet.py "
        "`test_a_slow_build_does_not_hold_up_the_others`). The largest state grows with the rows (one per database, "
        f"ids and outcomes only): {big['largest_state_bytes'] / KIB:.1f} KiB at {big['databases']} databases "
        f"({100 * big['largest_state_bytes'] / (256 * KIB):.0f} % of 256 KiB; a fleet accepts at most 500, "
        "`select::MAX_FLEET_SIZE`); the history grows with the polls, not the databases.",
        "",
    ]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default=str(ROOT / "target" / "debug"))
    ap.add_argument("--sizes", default="1,100,500")
    ap.add_argument("--json", help="also write the rows here")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    with Stack(bin_dir=args.bin_dir) as stack:
        rows = measure(stack, sizes, log=lambda m: print(f"[fleet] {m}", file=sys.stderr, flush=True))
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1, default=str))
    print(section(rows))


if __name__ == "__main__":
    main()

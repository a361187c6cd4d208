"""One `upgrade` on the real interpreter, for `make bench` (bench/run.py calls `measure` and
`section`), or on its own:

  .venv/bin/python bench/upgrade.py [--bin-dir target/debug]

The state machine is statemachine/upgrade.asl.json executing on the emulator's Step Functions
(moto's interpreter, tests/emulator/stepfunctions.py), the Tasks are the real worker binaries
behind the local Lambda service, RDS is the emulator. What the emulator cannot do is take 45
minutes: its knobs script the deployment by *polls* (provisioning_polls, tasks_in_progress_polls,
switchover_in_progress_polls), and the Wait states are capped at 1 s (max_wait_seconds). So the
number of polls is computed first, on a virtual clock, from the product's own delays
(crates/domain: wait/mod.rs `next_delay` and `READY_POLLS_REQUIRED`, model/schedule.rs's delays and
`HOLD_DELAY_SECONDS`, cleanup/mod.rs `POLL_SECONDS`; their values are read from the Rust source, the
few lines of `next_delay` are mirrored in `delay_after` below and checked against what the real
`wait` worker proposes during the run), for the scenario of bench/results.md: PROVISIONING for
40 min after create, then AVAILABLE with the last task IN_PROGRESS, ready at 45:00, a 60-s
switchover, a 5-minute final snapshot, each Task 1 s, the default 24-hour soak (one Wait).

Then one execution runs with those knobs, and its GetExecutionHistory is counted: every
`*StateEntered` event is one state transition, as Step Functions Standard bills.
"""

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests" / "e2e"), str(ROOT / "bench")]
from harness import Stack, seed_postgres_instance  # noqa: E402

DOMAIN = ROOT / "crates" / "domain" / "src"
SCENARIO = {"ready": 2700.0, "window": 300.0, "switchover": 60.0, "snapshot": 300.0, "task": 1.0}
SWEEP, STEP = 120, 2.5
TRANSITIONS_BEFORE = 139  # bench/results.md of 2026-11-25, issue 16's bound  # green ready at a uniformly random moment over 300 s, for the detection latency


def rust_const(path, name):
    m = re.search(rf"pub const {name}: u\d+ = ([0-9_]+);", (DOMAIN / path).read_text())
    if not m:
        sys.exit(f"bench: no `pub const {name}` in crates/domain/src/{path}")
    return int(m.group(1).replace("_", ""))


def constants():
    text = (DOMAIN / "wait" / "mod.rs").read_text()
    # The two literals of next_delay that are not named constants: fail loudly if they moved.
    if "seconds_since_create < 30" not in text or not re.search(r"if nearly \{\s*30\s*\}", text):
        sys.exit("bench: crates/domain/src/wait/mod.rs next_delay changed: update delay_after in bench/upgrade.py")
    schedule = "model/schedule.rs"
    return {"short": rust_const(schedule, "SHORT_DELAY"), "build": rust_const(schedule, "BUILD_DELAY"),
            "switching": rust_const(schedule, "SWITCHOVER_DELAY"), "nearly": 30, "early": 30,
            "ready_polls": rust_const("wait/mod.rs", "READY_POLLS_REQUIRED"),
            "hold": rust_const(schedule, "HOLD_DELAY_SECONDS"), "cleanup": rust_const("cleanup/mod.rs", "POLL_SECONDS")}


def delay_after(c, status, age):
    """wait::next_delay for a poll that saw `status` `age` seconds after create, with SHORT_DELAY
    for a first "ready"."""
    if status in ("PROVISIONING", "AVAILABLE_TASK_LEFT"):  # Phase::Provisioning
        if age < c["early"]:
            return c["short"]
        return c["nearly"] if status == "AVAILABLE_TASK_LEFT" else c["build"]
    if status == "READY":
        return c["short"]
    return c["switching"]


def timeline(c, ready, window, switchover, snapshot, task, shift=0.0):
    """The polls of one upgrade on a virtual clock (t = 0 at CreateBlueGreenDeployment). Each
    Task takes `task` seconds and observes at its start; green is ready at ready + shift."""
    ready, available = ready + shift, ready + shift - window
    t, delay = task, c["short"]  # create's own delay: SHORT_DELAY
    waits = Counter([delay, c["switching"]])  # after create; after the switchover request
    polls = []  # (status, delay proposed after it)
    consecutive = 0
    while True:
        t += delay
        age = t
        status = "PROVISIONING" if age < available else "AVAILABLE_TASK_LEFT" if age < ready else "READY"
        consecutive = consecutive + 1 if status == "READY" else 0
        t += task
        if consecutive >= c["ready_polls"]:
            polls.append((status, None))
            break
        delay = delay_after(c, status, age)
        polls.append((status, delay))
    t += task  # NotifyGreenReady
    t += task  # Guardrails: go (replica lag 0 s, no window), no hold
    requested = t  # Switchover
    t += task
    delay = c["switching"]
    while True:
        t += delay
        switched = t - requested >= switchover
        t += task
        if switched:
            polls.append(("SWITCHOVER_COMPLETED", None))
            break
        delay = delay_after(c, "SWITCHOVER_IN_PROGRESS", None)
        polls.append(("SWITCHOVER_IN_PROGRESS", delay))
    # The cleanup loop: the final snapshot is started, then polled every POLL_SECONDS.
    snapshot_pending, since = 0, task
    while since + c["cleanup"] < snapshot:
        since += c["cleanup"] + task
        snapshot_pending += 1
    count = Counter(s for s, _ in polls)
    return {"polls": polls, "detection_s": requested - ready, "snapshot_pending_polls": snapshot_pending,
            "knobs": {"provisioning_polls": count["PROVISIONING"], "tasks_in_progress_polls": count["AVAILABLE_TASK_LEFT"],
                      "switchover_in_progress_polls": count["SWITCHOVER_IN_PROGRESS"]},
            "delays": waits + Counter(d for _, d in polls if d is not None)}


def transitions(events):
    """Every state entered, as Step Functions Standard bills (by state name)."""
    return Counter(e["stateEnteredEventDetails"]["name"] for e in events if e["type"].endswith("StateEntered"))


def measure(stack, log=print, recorder=None):
    """Runs the upgrade; returns the figures. `recorder` (optional): a callable that wraps the
    run and returns the per-invocation records (bench/run.py's Invoke proxy)."""
    c = constants()
    sc = SCENARIO
    plan = timeline(c, **sc)
    sweep = [timeline(c, **sc, shift=i * STEP - SWEEP * STEP / 2) for i in range(SWEEP)]
    rds = stack.client("rds")
    stack.reset()
    request = seed_postgres_instance(rds, name="orders-pg")
    name = "rbg-orders-pg-to-16-4"
    stack.faults(BlueGreenDeploymentName=name, **plan["knobs"])
    stack.control("reset", {"counters_only": True})
    log(f"upgrade on the real interpreter, knobs {plan['knobs']} (computed from the domain's delays)")

    def run():
        # The default 24-hour soak: one Wait, capped at 1 s like every Wait (with 0 s the guardrail
        # can ask CloudWatch before the emulator's first ReplicaLag datapoint is inside its window).
        return stack.execute({**request, "action": "upgrade"}, max_wait_seconds=1, timeout=900)

    if recorder:
        (rc, out, err), records = recorder(run)
    else:
        (rc, out, err), records = run(), []
    if rc != 0:
        sys.exit(f"bench: the upgrade on the real interpreter failed ({rc}):\n{err[-3000:]}")
    events = stack.history(stack.last_execution_arn)
    by_state = transitions(events)
    calls = Counter({f"{ {'monitoring': 'cloudwatch'}.get(s, s)}:{op}": n
                     for s, ops in stack.state()["calls"].items() for op, n in ops.items()})
    # What the real wait worker saw and proposed, poll by poll (TaskStateExited of Wait),
    # with the real seconds since create (the product's delay depends on them), and what the
    # guardrails answered.
    entered, seen, guardrails, created_at, poll_at = None, [], [], None, None
    for e in events:
        if e["type"] == "TaskStateEntered":
            entered = e["stateEnteredEventDetails"]["name"]
            if entered == "Create":
                created_at = e["timestamp"]
            if entered == "Wait":
                poll_at = e["timestamp"]
        if e["type"] == "TaskStateExited" and entered == "Wait":
            o = json.loads(e["stateExitedEventDetails"]["output"])
            seen.append({"status": o["deployment"]["status"], "phase": o["wait"]["phase"],
                         "delay": o["wait"]["next_delay_seconds"],
                         "real_age": (poll_at - created_at).total_seconds()})
        if e["type"] == "TaskStateExited" and entered == "Guardrails":
            g = json.loads(e["stateExitedEventDetails"]["output"]).get("guardrails") or {}
            guardrails.append({k: v for k, v in g.items() if k in ("verdict", "reason", "holds", "absent_checks")} or g)
    lambdas = Counter()
    for e in events:
        if e["type"] == "TaskStateEntered":
            entered = e["stateEnteredEventDetails"]["name"]
        if e["type"] in ("LambdaFunctionScheduled", "TaskScheduled"):
            lambdas[entered] += 1
    expected = [s for s, _ in plan["polls"]]
    # Poll by poll, the interpreter must show the scripted status, and the real worker must
    # propose what the mirror gives for that status at the *real* seconds since create (within
    # 2 s of the 30-s boundary either is taken: the worker's clock starts at create's invocation).
    mismatches = []
    for i, ((status, delay), s) in enumerate(zip(plan["polls"], seen)):
        shown = {"PROVISIONING": "PROVISIONING", "AVAILABLE_TASK_LEFT": "AVAILABLE", "READY": "AVAILABLE"}.get(status,
                                                                                                          status)
        if s["status"] != shown:
            mismatches.append(f"poll {i + 1}: RDS said {s['status']}, scripted {shown}")
        if delay is None:
            continue
        want = {delay_after(c, status, s["real_age"] + d) for d in (-2, 0, 2)}
        if s["delay"] not in want:
            mismatches.append(f"poll {i + 1}: {status} at {s['real_age']:.0f} s proposed {s['delay']} s, "
                              f"the mirror {sorted(want)}")
    if len(seen) != len(expected):
        mismatches.append(f"{len(seen)} polls on the interpreter, {len(expected)} computed")
    total = sum(by_state.values())
    # A hold for a lag datapoint not published yet: the emulator publishes its metrics when they
    # are first read, so the first guardrail check can find none; on AWS a green that replicated
    # for 45 minutes has them. Each such hold is GuardrailVerdict -> WaitForGuardrails -> Guardrails.
    absent = sum(1 for g in guardrails if g.get("verdict") == "hold" and "datapoint yet" in (g.get("reason") or ""))
    green = sum(by_state[s] for s in ("WaitForGreen", "Wait", "GreenPhase"))
    cleanup = sum(by_state[s] for s in ("Cleanup", "CleanupDone", "WaitForCleanup"))
    extra = 3 * plan["snapshot_pending_polls"]
    log(f"upgrade: {total} transitions on the interpreter (+{extra} for the snapshot's pending polls), "
        f"{len(seen)} green polls")
    return {"scenario": sc, "constants": c, "knobs": plan["knobs"], "delays": dict(plan["delays"]),
            "by_state": dict(by_state), "transitions_measured": total, "green": green, "cleanup": cleanup,
            "snapshot_pending_polls": plan["snapshot_pending_polls"], "transitions": total + extra,
            "emulator_holds": absent, "aws_transitions": total + extra - 3 * absent,
            "polls_seen": seen, "mismatches": mismatches, "guardrails": guardrails, "lambdas": dict(lambdas), "calls": dict(calls),
            "detection_s": plan["detection_s"], "sweep_detection": [p["detection_s"] for p in sweep],
            "sweep_polls": [len(p["polls"]) for p in sweep], "polls": len(plan["polls"]),
            "records": records, "output": out}


def section(u):
    """The markdown section (bench/results.md)."""
    sc, c, k = u["scenario"], u["constants"], u["knobs"]
    d = u["sweep_detection"]
    lo, hi = min(u["sweep_polls"]) - u["polls"], max(u["sweep_polls"]) - u["polls"]
    t = u["by_state"]
    new = [s for s in ("DatabaseAccess", "FinishAccess", "NeedsApproval") if s in t]
    inv = u["lambdas"]
    rds = {k2[4:]: v for k2, v in u["calls"].items() if k2.startswith("rds:")}
    L = ["## One upgrade on the real interpreter (45-minute green build, 1-minute switchover)\n",
         "`bench/upgrade.py`: one `upgrade` of a PostgreSQL 13.15 instance to 16.4 through statemachine/upgrade.asl.json "
         "executing on the emulator's Step Functions (moto's interpreter: Retry, Catch, Choice and Wait as written), the "
         "real worker binaries behind the local Lambda service, RDS on the emulator. The emulator scripts the deployment "
         "by polls, so the polls a 45-minute build takes are computed first on a virtual clock from the product's own "
         f"delays (wait/mod.rs `next_delay`: SHORT_DELAY {c['short']} s, BUILD_DELAY {c['build']} s, {c['nearly']} s once "
         f"AVAILABLE with a task left, SWITCHOVER_DELAY {c['switching']} s; wait/mod.rs READY_POLLS_REQUIRED "
         f"{c['ready_polls']}; cleanup/mod.rs POLL_SECONDS {c['cleanup']} s; read from the Rust source) for: PROVISIONING "
         f"for {(sc['ready'] - sc['window']) / 60:.0f} min after create, AVAILABLE with the last task IN_PROGRESS, ready "
         f"at {sc['ready'] / 60:.0f}:00, SWITCHOVER_IN_PROGRESS for {sc['switchover']:.0f} s, a final snapshot of "
         f"{sc['snapshot'] / 60:.0f} min, each Task {sc['task']:.0f} s, replica lag 0 s, the default 24-hour soak (one "
         f"Wait). That gives the knobs `provisioning_polls` {k['provisioning_polls']}, `tasks_in_progress_polls` "
         f"{k['tasks_in_progress_polls']}, `switchover_in_progress_polls` {k['switchover_in_progress_polls']}; the "
         "waits are capped at 1 s (`max_wait_seconds`). Transitions are counted from GetExecutionHistory: every "
         "`*StateEntered` event, as Step Functions Standard bills.\n",
         f"- State transitions: **{u['transitions']}** = {u['transitions_measured']} counted in the execution's history "
         f"+ {3 * u['snapshot_pending_polls']} for the {u['snapshot_pending_polls']} polls of a snapshot still creating "
         f"(the emulator's final snapshot is available at once and it has no knob for that; each such poll is Cleanup "
         f"→ CleanupDone → WaitForCleanup, 3 transitions; the run's own cleanup loop counted {u['cleanup']}). {u['green']} are the "
         f"green polling loop (WaitForGreen → Wait → GreenPhase, 3 per poll, {u['polls']} polls). "
         + (f"{3 * u['emulator_holds']} are {u['emulator_holds']} guardrail hold(s) for a lag datapoint not published "
            f"yet (\"{u['guardrails'][0].get('reason')}\"): the emulator publishes its metrics when first read, while "
            f"on AWS a green that replicated for 45 minutes has them; without them **{u['aws_transitions']}**, what this "
            f"upgrade costs on AWS. " if u["emulator_holds"] else "") +
         f"Green ready at another moment (timeline shifted over {SWEEP * STEP:.0f} s): {lo:+d} to {hi:+d} polls, i.e. "
         f"{u['aws_transitions'] + 3 * lo}–{u['aws_transitions'] + 3 * hi} on AWS (computed, not run).",
         "- By state: " + ", ".join(f"{s} {n}" for s, n in sorted(t.items(), key=lambda kv: (-kv[1], kv[0]))),
         f"- Against the {TRANSITIONS_BEFORE} of 2026-11-25 (upgrade_sim.rs, a hand-written interpreter of the "
         "definition of then, same scenario and delays, no hold): a single upgrade no longer passes through Resolve, "
         "RunBatch (the Map), AfterBatch and Done (−4: the fleet machine's now) and passes through " +
         ", ".join(f"{s}" for s in new) + f" (+{len(new)}): DatabaseAccess and FinishAccess take the way around the sql worker when the "
         "request names no way into the database (the other two database decisions are rules of the Created and "
         "NeedsApproval Choices, no state of their own), NeedsApproval is require_approval's Choice. Net "
         f"{len(new) - 4:+d}: {TRANSITIONS_BEFORE + len(new) - 4} expected, "
         f"{u['aws_transitions']} measured without the emulator's hold.",
         "- WaitForGreen by delay (computed; the delay after create, after each poll, after the switchover request): " + ", ".join(
             f"{dl} s ×{n}" for dl, n in sorted(u["delays"].items())) +
         f". On the interpreter RDS answered {len(u['polls_seen'])} polls and the real `wait` worker proposed, poll by "
         "poll, " + ("the scripted status and the delay the same rules give at the real seconds since create "
                     "(which the capped waits compress: its first 30 s get SHORT_DELAY)" if not u["mismatches"] else
                     f"**something else: {u['mismatches']}**") + ".",
         f"- Lambda invocations: **{sum(inv.values())}** (" + ", ".join(f"{s} {n}" for s, n in
                                                                       sorted(inv.items(), key=lambda kv: -kv[1])) +
         f"), + {u['snapshot_pending_polls']} Cleanup for the snapshot's polls",
         f"- RDS API calls (counted by the emulator over the whole execution): **{sum(rds.values())}** (" + ", ".join(
             f"{op} {n}" for op, n in sorted(rds.items(), key=lambda kv: -kv[1])) + "); other AWS calls: " + ", ".join(
             f"{op} {n}" for op, n in sorted(u["calls"].items()) if op.split(":")[0] in ("cloudwatch", "sns", "secretsmanager")) +
         f". A snapshot still creating adds one DescribeDBSnapshots per poll ({u['snapshot_pending_polls']}).",
         f"- Detection latency (green ready → switchover requested), computed on the same virtual clock from the "
         f"delays: {u['detection_s']:.1f} s with green ready at exactly {sc['ready'] / 60:.0f}:00; green ready at a "
         f"uniformly random moment ({SWEEP} shifts {STEP} s apart over {SWEEP * STEP:.0f} s) worst **{max(d):.1f} s**, "
         f"expected **{sum(d) / len(d):.1f} s**: one poll at the AVAILABLE-with-a-task-left delay ({c['nearly']} s), "
         f"the confirming \"ready\" poll {c['short']} s (SHORT_DELAY) later, then NotifyGreenReady, Guardrails "
         "(go, no hold) and Switchover. The interpreter run cannot measure it (its waits are capped); the delays it "
         "proposed are the ones this uses (above).",
         ""]
    return "\n".join(L) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin-dir", default=str(ROOT / "target" / "debug"))
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args()
    with Stack(bin_dir=args.bin_dir) as stack:
        u = measure(stack, log=lambda m: print(f"[upgrade] {m}", file=sys.stderr, flush=True))
    if args.json:
        Path(args.json).write_text(json.dumps({k: v for k, v in u.items() if k != "output"}, indent=1, default=str))
    print(section(u))


if __name__ == "__main__":
    main()

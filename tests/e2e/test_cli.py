"""`rbg`, the operator's command line, end to end: the built binary (target/debug/rbg) run as a
subprocess against the local stack (the emulator's CloudFormation, Step Functions running the real
statemachine/*.asl.json, RDS, and the real workers behind the local Lambda service), through
AWS_ENDPOINT_URL only. It finds the state machines from a CloudFormation stack's outputs, as on
AWS after `make deploy`. Each test asserts on what rbg printed, its exit code, and the emulator's
state."""

import json
import os
import subprocess
import threading
import time
import uuid

import pytest

from harness import CREDENTIALS, ROOT, seed_fleet, seed_postgres_instance

RBG = ROOT / "target" / "debug" / "rbg"
STACK = "rds-bluegreen"
# The documented exit codes (crates/cli/src/exit.rs, `rbg --help`).
OK, FAILED, USAGE, AWS, NOT_FOUND, ALREADY_ANSWERED, PENDING, CHECKS_FAIL = 0, 1, 2, 3, 4, 5, 6, 10


@pytest.fixture
def rbg(stack, tmp_path):
    """Runs rbg against the stack: the deployed stack's outputs name the state machines (the
    harness deployed infra/template.yaml as `make deploy` would, stack name from samconfig.toml)."""
    if not RBG.exists():
        pytest.fail(f"{RBG} is not built: run `make bins` (the e2e target builds it)")
    assert stack.deployed.name == STACK
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RBG_"))}
    env.update(CREDENTIALS)
    env.update({"AWS_ENDPOINT_URL": stack.endpoint, "RBG_POLL_SECONDS": "0.25", "HOME": str(tmp_path),
                "AWS_CONFIG_FILE": str(tmp_path / "config"),
                "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "credentials"), "USER": "ana"})

    class Rbg:
        def __init__(self):
            self.env = env

        def __call__(self, *args, timeout=300, env_extra=None):
            return subprocess.run([str(RBG), *args], capture_output=True, text=True, timeout=timeout,
                                  env={**env, **(env_extra or {})})

        def start(self, *args):
            return subprocess.Popen([str(RBG), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                    env=env)

    return Rbg()


def one_sentence(result, started=False):
    """rbg's error: one line on stderr, `rbg: what is wrong: what to do`, after the progress
    lines of an execution it started (`started`), alone otherwise."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and (started or len(lines) == 1), result.stderr
    line = lines[-1]
    assert line.startswith("rbg: ") and ": " in line[5:], line
    return line


def instance(stack, name):
    found = stack.client("rds").describe_db_instances(Filters=[{"Name": "db-instance-id", "Values": [name]}])
    return found["DBInstances"][0] if found["DBInstances"] else None


def deployments(stack):
    return stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"]


def wait_for_state(stack, name, state, timeout=120):
    """Waits until the execution NAME of the upgrade machine has entered `state`."""
    arn = stack.machines["upgrade"].replace(":stateMachine:", ":execution:") + f":{name}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            events = stack.history(arn, include_data=False)
        except stack.sfn.exceptions.ExecutionDoesNotExist:
            events = []
        if any((e.get("stateEnteredEventDetails") or {}).get("name") == state for e in events):
            return arn
        time.sleep(0.25)
    raise AssertionError(f"{name} never entered {state}")


def read_until(stream, needle, timeout=60):
    """What `stream` printed up to and including the first line containing `needle` (waits on the
    line itself, not on a sleep); the rest stays in the stream for `communicate`."""
    seen = []

    def pump():
        for line in stream:
            seen.append(line)
            if needle in line:
                return

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    reader.join(timeout)
    text = "".join(seen)
    assert not reader.is_alive() and needle in text, f"no line with {needle!r} within {timeout} s: {text}"
    return text


def upgrade_args(request, *extra):
    return ["upgrade", request["db_identifier"], "--to", request["target_engine_version"],
            "--parameter-group", request["target_db_parameter_group_name"], "--soak-hours", "0", *extra]


# ---------------------------------------------------------------- approval


def test_an_upgrade_with_approval_pauses_and_rbg_approve_resumes_it_through_cleanup(stack, rbg):
    request = seed_postgres_instance(stack.client("rds"))
    name = f"approve-{uuid.uuid4().hex[:8]}"
    follower = rbg.start(*upgrade_args(request, "--require-approval", "--name", name))
    arn = wait_for_state(stack, name, "AwaitApproval")
    seen = read_until(follower.stderr, "waiting for approval")  # the follower saw the new phase
    assert instance(stack, "orders-pg")["EngineVersion"] == "13.15", "nothing switched over before the approval"

    status = rbg("status", name, "--json")
    assert status.returncode == OK, status.stderr
    doc = json.loads(status.stdout)
    assert doc["phase"] == "waiting for approval" and doc["waiting_for_approval"] is True, doc
    listed = rbg("ls")
    assert listed.returncode == OK, listed.stderr
    assert name in listed.stdout and "waiting for approval" in listed.stdout, listed.stdout
    requested = [n for n in stack.notifications() if n.get("milestone") == "approval_requested"]
    assert len(requested) == 1 and f"rbg approve {arn}" in json.dumps(requested[0]), requested

    approved = rbg("approve", name, "--comment", "go")
    assert approved.returncode == OK, approved.stderr
    assert approved.stdout.startswith(f"approved: {arn} resumes"), approved.stdout
    out, err = follower.communicate(timeout=300)
    err = seen + err
    assert follower.returncode == OK, err
    assert "waiting for approval: approve: rbg approve " + arn in err, err
    assert "upgraded" in out.lower() or "succeeded" in out.lower(), out
    prod, old = instance(stack, "orders-pg"), instance(stack, "orders-pg-old1")
    assert prod["EngineVersion"] == "16.4" and old["EngineVersion"] == "13.15"
    assert deployments(stack) == [], "cleanup deleted the deployment record"
    final = json.loads(stack.sfn.describe_execution(executionArn=arn)["output"])
    assert final["approval"]["answer"]["approved_by"] == "ana", final["approval"]
    assert "cleaned_up" in final["timeline"]

    again = rbg("approve", name)
    assert again.returncode == ALREADY_ANSWERED, again.stderr
    assert "already answered" in one_sentence(again)
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4"


def test_rbg_reject_keeps_green_prepared_and_a_second_answer_is_a_no_op(stack, rbg):
    request = seed_postgres_instance(stack.client("rds"))
    name = f"reject-{uuid.uuid4().hex[:8]}"
    started = rbg(*upgrade_args(request, "--require-approval", "--name", name, "--no-follow"))
    assert started.returncode == OK, started.stderr
    arn = started.stdout.strip()
    assert arn == stack.machines["upgrade"].replace(":stateMachine:", ":execution:") + f":{name}", started.stdout
    wait_for_state(stack, name, "AwaitApproval")

    rejected = rbg("reject", arn, "--reason", "not tonight")
    assert rejected.returncode == OK, rejected.stderr
    assert rejected.stdout.startswith("rejected:"), rejected.stdout
    followed = rbg("status", name, "--follow")
    assert followed.returncode == PENDING, followed.stderr + followed.stdout
    assert "rejected" in followed.stdout, followed.stdout
    [dep] = deployments(stack)
    assert dep["Status"] == "AVAILABLE", "green is kept prepared (on_reject keep)"
    assert instance(stack, "orders-pg")["EngineVersion"] == "13.15", "blue untouched"

    for answer in (["approve", name], ["reject", name, "--reason", "twice"]):
        again = rbg(*answer)
        assert again.returncode == ALREADY_ANSWERED, again.stderr
        assert "already answered" in one_sentence(again) and "rejected" in again.stderr
    assert len(deployments(stack)) == 1 and instance(stack, "orders-pg")["EngineVersion"] == "13.15"


def test_rbg_reject_with_on_reject_abort_deletes_green(stack, rbg):
    request = seed_postgres_instance(stack.client("rds"))
    name = f"abort-{uuid.uuid4().hex[:8]}"
    started = rbg(*upgrade_args(request, "--require-approval", "--on-reject", "abort", "--name", name, "--no-follow"))
    assert started.returncode == OK, started.stderr
    wait_for_state(stack, name, "AwaitApproval")
    assert len(deployments(stack)) == 1
    rejected = rbg("reject", name, "--reason", "wrong week", "--json")
    assert rejected.returncode == OK, rejected.stderr
    assert json.loads(rejected.stdout)["answer"] == "rejected"
    followed = rbg("status", name, "--follow")
    assert followed.returncode == PENDING, followed.stderr + followed.stdout
    assert followed.stdout.startswith("aborted in "), followed.stdout
    assert deployments(stack) == [] and instance(stack, "orders-pg")["EngineVersion"] == "13.15"


def test_no_answer_within_the_approval_timeout_ends_switchover_skipped(stack, rbg):
    request = seed_postgres_instance(stack.client("rds"))
    name = f"timeout-{uuid.uuid4().hex[:8]}"
    # A test-speed knob of the emulator: this execution's callback Tasks time out after 2 s
    # (approval_timeout_hours 1 would be an hour).
    stack.control("stepfunctions", {"executions": {name: {"max_callback_timeout_seconds": 2}}})
    result = rbg(*upgrade_args(request, "--require-approval", "--approval-timeout-hours", "1", "--name", name))
    assert result.returncode == PENDING, result.stderr + result.stdout
    assert "switchover skipped" in result.stdout.lower(), result.stdout
    [dep] = deployments(stack)
    assert dep["Status"] == "AVAILABLE" and instance(stack, "orders-pg")["EngineVersion"] == "13.15"

    late = rbg("approve", name)
    assert late.returncode == ALREADY_ANSWERED, late.stderr
    assert "timed out" in one_sentence(late)


# ---------------------------------------------------------------- plan, upgrade, fleet


def test_rbg_plan_on_postgres_13_shows_the_failing_checks_first_with_fixes_and_the_cost_of_waiting(stack, rbg):
    request = seed_postgres_instance(stack.client("rds"), logical_replication=False)
    result = rbg("plan", "orders-pg", "--to", "16.4", "--parameter-group", request["target_db_parameter_group_name"])
    assert result.returncode == CHECKS_FAIL, result.stderr + result.stdout
    lines = result.stdout.splitlines()
    verdicts = [line.split()[0] for line in lines if line.split() and line.split()[0] in ("FAIL", "warn", "pass")]
    assert verdicts and verdicts[0] == "FAIL", result.stdout
    assert verdicts == sorted(verdicts, key=["FAIL", "warn", "pass"].index), "failing first"
    assert "rds.logical_replication" in result.stdout, result.stdout

    as_json = rbg("plan", "orders-pg", "--to", "16.4", "--parameter-group", request["target_db_parameter_group_name"],
                  "--json")
    assert as_json.returncode == CHECKS_FAIL, as_json.stderr
    report = json.loads(as_json.stdout)["report"]
    failing = [c for c in report["checks"] if c["verdict"] == "fail"]
    assert failing and all(c["id"] in result.stdout for c in failing), (failing, result.stdout)
    fixes = [line.strip() for line in lines if line.strip().startswith("fix: ")]
    assert len(fixes) >= len(failing), result.stdout
    cost = report.get("cost_of_waiting")
    if cost:  # a precheck that reports the cost of waiting: its estimate, as the report says
        assert f"${cost['monthly_usd']:,.2f} a month" in result.stdout, (cost, result.stdout)
        assert f"end of standard support  {cost['standard_support_ends']}" in result.stdout, result.stdout
    else:
        assert "cost of waiting: not reported" in result.stdout, result.stdout
    assert deployments(stack) == [] and instance(stack, "orders-pg")["EngineVersion"] == "13.15"


def test_rbg_upgrade_shows_progress_while_green_builds_and_exits_0(stack, rbg):
    request = seed_postgres_instance(stack.client("rds"))
    stack.faults(provisioning_polls=3, tasks_in_progress_polls=2)
    result = rbg(*upgrade_args(request))
    assert result.returncode == OK, result.stderr
    assert "execution arn:aws:states:" in result.stderr
    bars = [line for line in result.stderr.splitlines() if "building green  [" in line]
    assert bars and any(" tasks" in line for line in bars), result.stderr
    phases = [p for p in ("prechecking", "building green", "switching over", "cleaning up") if p in result.stderr]
    assert phases == ["prechecking", "building green", "switching over", "cleaning up"], result.stderr
    assert "16.4" in result.stdout
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4" and deployments(stack) == []


def test_rbg_fleet_plan_shows_one_row_per_database_sorted_by_end_of_support_with_a_total(stack, rbg):
    seeded = seed_fleet(stack.client("rds"), postgres=2, mysql=1, wave="7")
    result = rbg("fleet", "plan", "--tag", "bluegreen:wave=7")
    assert result.returncode in (OK, CHECKS_FAIL), result.stderr + result.stdout
    rows = [line for line in result.stdout.splitlines() if line.split() and line.split()[0] in seeded]
    assert sorted(line.split()[0] for line in rows) == sorted(seeded), result.stdout
    assert any("total" in line.lower() for line in result.stdout.splitlines()), result.stdout

    as_json = rbg("fleet", "plan", "--tag", "bluegreen:wave=7", "--json")
    campaign = json.loads(as_json.stdout)
    assert sorted(r["db_identifier"] for r in campaign["rows"]) == sorted(seeded)
    assert all(r["outcome"] == "planned" for r in campaign["rows"]), campaign["rows"]
    order = [line.split()[0] for line in rows]
    by_end = {r["db_identifier"]: r.get("standard_support_ends") or "~not reported" for r in campaign["rows"]}
    assert [by_end[n] for n in order] == sorted(by_end[n] for n in order), "sorted by end of standard support"
    for line in rows:
        end = by_end[line.split()[0]]
        assert (end if end != "~not reported" else "not reported") in line, line
    estimated = [r["extended_support_monthly_usd"] for r in campaign["rows"] if r.get("extended_support_monthly_usd")]
    total = [line for line in result.stdout.splitlines() if line.startswith("total Extended Support: ")]
    assert total == [f"total Extended Support: ${sum(estimated):,.2f} a month ({len(estimated)} of {len(seeded)} "
                     f"databases estimated" + total[0].split("databases estimated", 1)[1]], result.stdout
    assert deployments(stack) == []


def test_rbg_prepare_then_status_then_switchover(stack, rbg):
    request = seed_postgres_instance(stack.client("rds"))
    target = ["orders-pg", "--to", "16.4", "--parameter-group", request["target_db_parameter_group_name"]]
    prepared = rbg("prepare", *target)
    assert prepared.returncode == OK, prepared.stderr
    assert prepared.stdout.startswith("green prepared in "), prepared.stdout
    assert "`rbg switchover orders-pg --to 16.4 --parameter-group orders-pg-pg16`" in prepared.stdout, prepared.stdout
    [dep] = deployments(stack)
    status = rbg("status", "orders-pg")
    assert status.returncode == OK, status.stderr
    assert status.stdout.startswith("orders-pg (instance): postgres 13.15, available"), status.stdout
    assert dep["BlueGreenDeploymentIdentifier"] in status.stdout and "AVAILABLE" in status.stdout, status.stdout
    as_json = json.loads(rbg("status", "orders-pg", "--json").stdout)
    assert [d["id"] for d in as_json["deployments"]] == [dep["BlueGreenDeploymentIdentifier"]], as_json

    switched = rbg("switchover", *target, "--soak-hours", "0")
    assert switched.returncode == OK, switched.stderr
    assert "switching over" in switched.stderr and switched.stdout.startswith("succeeded in "), switched.stdout
    assert instance(stack, "orders-pg")["EngineVersion"] == "16.4" and deployments(stack) == []


# ---------------------------------------------------------------- bad inputs


def test_an_unknown_database_is_one_sentence_and_exit_4(stack, rbg):
    for args in (["plan", "no-such-db", "--to", "16.4"], ["status", "no-such-db"]):
        result = rbg(*args)
        assert result.returncode == NOT_FOUND, (args, result.stderr)
        line = one_sentence(result, started=args[0] == "plan")
        assert "no-such-db" in line, line


def test_an_invalid_name_is_refused_before_anything_starts(stack, rbg):
    result = rbg("upgrade", "orders--pg", "--to", "16.4")
    assert result.returncode == USAGE
    assert "not a valid RDS identifier" in one_sentence(result)
    assert stack.sfn.list_executions(stateMachineArn=stack.machines["upgrade"])["executions"] == []


def test_a_missing_stack_or_state_machine_is_one_sentence_and_exit_3(stack, rbg):
    seed_postgres_instance(stack.client("rds"))
    result = rbg("plan", "orders-pg", "--to", "16.4", "--stack", "not-deployed")
    assert result.returncode == AWS, result.stderr
    line = one_sentence(result)
    assert "no stack not-deployed" in line and "make deploy" in line, line
    missing = stack.machines["upgrade"].rsplit(":", 1)[0] + ":not-there"
    result = rbg("plan", "orders-pg", "--to", "16.4", env_extra={"RBG_STATE_MACHINE_ARN": missing})
    assert result.returncode == AWS, result.stderr
    line = one_sentence(result)
    assert f"state machine {missing} does not exist" in line, line
    result = rbg("status", "--state-machine", "upgrade")
    assert result.returncode == USAGE and "is not a state machine ARN" in one_sentence(result)


def test_an_unreachable_endpoint_is_one_sentence_and_exit_3(stack, rbg):
    result = rbg("ls", env_extra={"AWS_ENDPOINT_URL": "http://127.0.0.1:9"}, timeout=120)
    assert result.returncode == AWS, result.stderr
    line = one_sentence(result)
    assert "cannot reach http://127.0.0.1:9" in line and "AWS_ENDPOINT_URL" in line, line


def test_no_region_is_one_sentence_and_exit_3(stack, rbg):
    env = {k: v for k, v in rbg.env.items() if k not in ("AWS_REGION", "AWS_DEFAULT_REGION")}
    result = subprocess.run([str(RBG), "ls"], capture_output=True, text=True, timeout=60, env=env)
    assert result.returncode == AWS, result.stderr
    assert "no AWS Region is set" in one_sentence(result)

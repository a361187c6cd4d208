"""`make demo`: the main job on the embedded emulator, driven as an operator would, with `rbg`.
Creates a realistic RDS PostgreSQL 13 instance (custom parameter group with logical
replication on), runs `rbg plan`, then `rbg upgrade` to PostgreSQL 16 through the real state
machine and workers, and summarizes what AWS shows afterwards."""

import json
import os
import subprocess
import sys

from harness import CREDENTIALS, ROOT, WAIT_CAP_SECONDS, Stack, seed_postgres_instance

RBG = ROOT / "target" / "debug" / "rbg"


def rbg(stack, *args):
    """Runs rbg against the emulator (AWS_ENDPOINT_URL only), its output straight to the terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RBG_"))}
    env.update(CREDENTIALS)
    env.update({"AWS_ENDPOINT_URL": stack.endpoint, "RBG_POLL_SECONDS": "0.5"})
    print("$ rbg " + " ".join(args), flush=True)
    rc = subprocess.run([str(RBG), *args], env=env).returncode
    print(f"(exit {rc})\n", flush=True)
    return rc


def main():
    if not RBG.exists():
        sys.exit(f"{RBG} is not built: run `make bins`")
    # The stack as `make deploy` makes it: infra/template.yaml with samconfig.toml's parameters
    # (no sql worker: the demo names no way into the database).
    with Stack(parameters={}) as stack:
        rds = stack.client("rds")
        request = seed_postgres_instance(rds)
        before = rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
        print(f"emulator {stack.endpoint}; workers at {stack.lambda_endpoint}; logs in {stack.workdir}")
        print(f"stack {stack.deployed.name} deployed from infra/template.yaml: {len(stack.deployed.functions)} "
              "functions, each running as its own IAM role, enforced by the emulator")
        print(f"created {before['DBInstanceIdentifier']}: {before['Engine']} {before['EngineVersion']}, "
              f"{before['Endpoint']['Address']}\n")
        group = request["target_db_parameter_group_name"]

        print("== plan (read-only, the default action)")
        if rbg(stack, "plan", "orders-pg", "--to", "16.4", "--parameter-group", group) != 0:
            sys.exit("the plan did not pass: see above")

        # As on RDS, green takes a while: provisioning for a few polls, then the engine upgrade task.
        stack.faults(provisioning_polls=3, tasks_in_progress_polls=2)
        print(f"== upgrade to PostgreSQL 16.4 (soak 0 hours for the demo; default 24; waits capped at {WAIT_CAP_SECONDS:g} s)")
        if rbg(stack, "upgrade", "orders-pg", "--to", "16.4", "--parameter-group", group, "--soak-hours", "0",
               "--name", "demo-upgrade") != 0:
            sys.exit("the upgrade failed: see above")
        run = json.loads(stack.sfn.describe_execution(
            executionArn=stack.ensure_state_machines()["upgrade"].replace(":stateMachine:", ":execution:")
            + ":demo-upgrade")["output"])

        after = rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
        # The old blue's name is the one RDS reported after the switchover (-old1, or the next free -oldN).
        old_name = run["verify"]["old_blue_identifier"]
        old = rds.describe_db_instances(DBInstanceIdentifier=old_name)["DBInstances"][0]
        snapshot = run["cleanup"]["snapshot_identifier"]
        snap = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot)["DBSnapshots"][0]
        metrics = stack.client("cloudwatch").list_metrics(Namespace="RdsBlueGreen")["Metrics"]
        notes = stack.notifications()
        print("== what AWS shows now")
        print(f"   engine version   {before['EngineVersion']} -> {after['EngineVersion']} ({after['DBInstanceStatus']})")
        print(f"   endpoint kept    {after['Endpoint']['Address']} "
              f"({'same' if after['Endpoint']['Address'] == before['Endpoint']['Address'] else 'CHANGED'})")
        print(f"   old blue         {old['DBInstanceIdentifier']} ({old['EngineVersion']}, kept as the fallback)")
        print(f"   final snapshot   {snapshot} ({snap['Status']})")
        print(f"   deployment       {run['deployment']['name']} ({run['deployment']['id']}), record deleted after soak")
        print("   metrics          " + ", ".join(sorted(
            f"{m['MetricName']}" + "".join(f"[{d['Name']}={d['Value']}]" for d in m["Dimensions"] if d["Name"] == "Outcome")
            for m in metrics)))
        print(f"   notifications    {len(notes)}: " + ", ".join(n["milestone"] for n in notes))


if __name__ == "__main__":
    main()

"""`make demo`: the main job on the embedded emulator. Creates a realistic RDS PostgreSQL 13
instance (custom parameter group with logical replication on), runs `plan`, then `upgrade`
to PostgreSQL 16 through the real state machine and workers, and summarizes what happened."""

import sys

from harness import Stack, seed_postgres_instance


def main():
    with Stack() as stack:
        rds = stack.client("rds")
        request = seed_postgres_instance(rds)
        before = rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
        print(f"emulator {stack.endpoint}; workers at {stack.lambda_endpoint}; logs in {stack.workdir}")
        print(f"created {before['DBInstanceIdentifier']}: {before['Engine']} {before['EngineVersion']}, "
              f"{before['Endpoint']['Address']}\n")

        print("== plan (read-only, the default action)")
        rc, plan, err = stack.execute(request, progress=lambda line: print("   " + line))
        if rc != 0:
            sys.exit(f"plan failed ({rc}):\n{err}")
        for check in plan["report"]["checks"]:
            print(f"   {check['verdict']:4}  {check['id']}: {check['observed']}")
        print(f"   verdict: {plan['report']['verdict']}; would create {plan['plan']['deployment_name']}\n")

        # As on RDS, green takes a while: provisioning for a few polls, then the engine upgrade task.
        stack.faults(provisioning_polls=3, tasks_in_progress_polls=2)
        print("== upgrade to PostgreSQL 16.4 (soak 0 hours for the demo; default 24; waits capped at 1 s)")
        upgrade = {**request, "action": "upgrade", "soak_hours": 0}
        rc, run, err = stack.execute(upgrade, progress=lambda line: print("   " + line))
        if rc != 0:
            sys.exit(f"upgrade failed ({rc}):\n{err}")

        after = rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0]
        old = rds.describe_db_instances(DBInstanceIdentifier="orders-pg-old1")["DBInstances"][0]
        snapshot = run["cleanup"]["snapshot_identifier"]
        snap = rds.describe_db_snapshots(DBSnapshotIdentifier=snapshot)["DBSnapshots"][0]
        metrics = stack.client("cloudwatch").list_metrics(Namespace="RdsBlueGreen")["Metrics"]
        notes = stack.notifications()
        print("\n== summary")
        print(f"   engine version   {before['EngineVersion']} -> {after['EngineVersion']} ({after['DBInstanceStatus']})")
        print(f"   endpoint kept    {after['Endpoint']['Address']} "
              f"({'same' if after['Endpoint']['Address'] == before['Endpoint']['Address'] else 'CHANGED'})")
        print(f"   old blue         {old['DBInstanceIdentifier']} ({old['EngineVersion']}, kept as the fallback)")
        print(f"   final snapshot   {snapshot} ({snap['Status']})")
        print(f"   deployment       {run['deployment']['name']} ({run['deployment']['id']}), record deleted after soak")
        print(f"   metrics          " + ", ".join(sorted(
            f"{m['MetricName']}" + "".join(f"[{d['Name']}={d['Value']}]" for d in m["Dimensions"] if d["Name"] == "Outcome")
            for m in metrics)))
        print(f"   notifications    {len(notes)}: " + ", ".join(n["milestone"] for n in notes))
        print(f"   timeline         " + ", ".join(f"{k} {v[11:19]}" for k, v in sorted(run["timeline"].items(), key=lambda kv: kv[1])))


if __name__ == "__main__":
    main()

"""Real production topologies (issue 14) end to end, through the real state machine, the real
workers and the emulator as AWS documents it (tests/emulator/topologies.py): in-Region read
replicas copied into green and switched over with it, a cross-Region replica refused before
anything changes, an RDS Proxy that follows the switchover, an Aurora cluster with a custom
endpoint, a failed build that leaves no green replica behind, the AWS DMS tasks that use the
source named in the plan, and the cost of waiting in the plan (issue 17)."""

import json

import boto3
import pytest

from harness import OPT_IN, seed_aurora_postgres_cluster, seed_postgres_instance
from invariants import assert_invariants, capture_blue


def instances(stack):
    return {d["DBInstanceIdentifier"]: d for d in stack.client("rds").describe_db_instances()["DBInstances"]}


def deployments(stack):
    return stack.client("rds").describe_blue_green_deployments()["BlueGreenDeployments"]


def replica(rds, name, source, opted_in=True, **kw):
    """An in-Region read replica, opted in as the README says (each replica carries the tag)."""
    return rds.create_db_instance_read_replica(DBInstanceIdentifier=name, SourceDBInstanceIdentifier=source,
                                               DBInstanceClass="db.r6g.large", Tags=OPT_IN if opted_in else [],
                                               **kw)["DBInstance"]


def check(run, check_id):
    [c] = [c for c in run["report"]["checks"] if c["id"] == check_id]
    return c


def assert_replicas_switched_over(stack, primary, names, version):
    """AWS: at switchover the green replicas are promoted with the primary, keep the production
    replicas' names and replicate from the new primary; the old ones are renamed -oldN and stay
    replicas of the old blue."""
    now = instances(stack)
    for name in names:
        r = now[name]
        assert r["EngineVersion"] == version, r
        assert r["DBInstanceStatus"] == "available", r
        assert r["ReadReplicaSourceDBInstanceIdentifier"] == primary, r
    assert sorted(now[primary]["ReadReplicaDBInstanceIdentifiers"]) == sorted(names)


def seed_mysql80(rds, name="billing-mysql"):
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-80", DBParameterGroupFamily="mysql8.0",
                                  Description="8.0")
    rds.modify_db_parameter_group(DBParameterGroupName=f"{name}-80", Parameters=[
        {"ParameterName": "binlog_format", "ParameterValue": "ROW", "ApplyMethod": "immediate"}])
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-84", DBParameterGroupFamily="mysql8.4",
                                  Description="8.4")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="mysql", EngineVersion="8.0.36",
                           DBInstanceClass="db.r6g.large", AllocatedStorage=100, MasterUsername="admin",
                           MasterUserPassword="correct-horse-battery", DBParameterGroupName=f"{name}-80",
                           BackupRetentionPeriod=7, Tags=OPT_IN)
    return {"db_identifier": name, "target_engine_version": "8.4.3", "target_db_parameter_group_name": f"{name}-84"}


def test_postgres_with_two_in_region_replicas_is_upgraded_through_cleanup_every_replica_verified(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    replica(rds, "orders-pg-r1", "orders-pg")
    replica(rds, "orders-pg-r2", "orders-pg")
    blue = capture_blue(stack, "orders-pg")
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    c = check(run, "replicas")
    assert c["verdict"] == "pass" and "orders-pg-r1, orders-pg-r2" in c["observed"], c
    assert [r["identifier"] for r in run["source"]["topology"]["replicas"]] == ["orders-pg-r1", "orders-pg-r2"]
    assert_replicas_switched_over(stack, "orders-pg", ["orders-pg-r1", "orders-pg-r2"], "16.4")
    old = run["old_blue"]
    assert old["identifier"] == "orders-pg-old1"
    assert sorted(old["replicas"]) == ["orders-pg-r1-old1", "orders-pg-r2-old1"]
    now = instances(stack)
    for r in old["replicas"]:
        # Kept with the old primary (delete_old_blue not asked): the fallback.
        assert now[r]["EngineVersion"] == "13.15" and now[r]["ReadReplicaSourceDBInstanceIdentifier"] == "orders-pg-old1"
    assert_invariants(stack, blue, request, run_failed=False)


def test_mysql_80_to_84_with_a_replica_deletes_the_old_replica_with_the_old_primary(stack):
    rds = stack.client("rds")
    request = seed_mysql80(rds)
    replica(rds, "billing-mysql-r1", "billing-mysql", DeletionProtection=True)
    blue = capture_blue(stack, "billing-mysql")
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0, "delete_old_blue": True})
    assert rc == 0, err[-3000:]
    assert_replicas_switched_over(stack, "billing-mysql", ["billing-mysql-r1"], "8.4.3")
    assert run["old_blue"]["replicas"] == ["billing-mysql-r1-old1"]
    steps = run["cleanup"]["steps"]
    assert any("deleting billing-mysql-r1-old1 (read replica of billing-mysql-old1)" in s for s in steps), steps
    assert "turned off deletion protection on billing-mysql-r1-old1" in steps, steps
    gone = {"billing-mysql-r1-old1", "billing-mysql-old1"}
    left = {n: d["DBInstanceStatus"] for n, d in instances(stack).items() if n in gone}
    assert all(s == "deleting" for s in left.values()), left
    assert_invariants(stack, blue, {**request, "delete_old_blue": True}, run_failed=False)


def test_a_cross_region_replica_is_refused_and_nothing_changes(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    src = instances(stack)["orders-pg"]
    west = boto3.client("rds", region_name="us-west-2", endpoint_url=stack.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing")
    # A cross-Region replica of a database on a custom group uses a group of its own Region.
    west.create_db_parameter_group(DBParameterGroupName="orders-pg-pg13", DBParameterGroupFamily="postgres13",
                                   Description="orders-pg DR")
    west.create_db_instance_read_replica(DBInstanceIdentifier="orders-pg-dr",
                                         SourceDBInstanceIdentifier=src["DBInstanceArn"],
                                         DBParameterGroupName="orders-pg-pg13")
    listed = instances(stack)["orders-pg"]["ReadReplicaDBInstanceIdentifiers"]
    assert any(":us-west-2:" in r for r in listed), listed
    blue = capture_blue(stack, "orders-pg")
    rc, out, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 1
    assert out["Error"] == "PrecheckFailed", out
    assert "[replicas]" in out["Cause"] and "orders-pg-dr (us-west-2)" in out["Cause"], out["Cause"]
    assert "recreate it from the new production" in out["Cause"]
    assert deployments(stack) == []
    assert_invariants(stack, blue, request, run_failed=True, error="PrecheckFailed")


def make_proxy(stack, name="orders-proxy"):
    ec2 = stack.client("ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    return stack.client("rds").create_db_proxy(
        DBProxyName=name, EngineFamily="POSTGRESQL", RoleArn="arn:aws:iam::123456789012:role/proxy",
        Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
               "SecretArn": "arn:aws:secretsmanager:us-east-1:123456789012:secret:proxy"}],
        VpcSubnetIds=subnets)["DBProxy"]


def test_a_proxy_fronted_instance_is_upgraded_and_its_proxy_verified(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    make_proxy(stack)
    rds.register_db_proxy_targets(DBProxyName="orders-proxy", DBInstanceIdentifiers=["orders-pg"])
    rds.describe_db_proxy_targets(DBProxyName="orders-proxy")  # past REGISTERING
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    c = check(run, "rds-proxy")
    assert c["verdict"] == "pass" and "orders-proxy" in c["observed"], c
    [t] = rds.describe_db_proxy_targets(DBProxyName="orders-proxy")["Targets"]
    prod = instances(stack)["orders-pg"]
    assert t["RdsResourceId"] == "orders-pg" and t["Endpoint"] == prod["Endpoint"]["Address"]
    assert t["TargetHealth"]["State"] == "AVAILABLE"
    assert prod["EngineVersion"] == "16.4"


def test_a_proxy_left_on_the_old_blue_fails_verification(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    make_proxy(stack)
    rds.register_db_proxy_targets(DBProxyName="orders-proxy", DBInstanceIdentifiers=["orders-pg"])
    rds.describe_db_proxy_targets(DBProxyName="orders-proxy")
    stack.faults(proxy_after_switchover="stays_on_blue")
    rc, out, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 1
    assert out["Error"] == "VerificationFailed", out
    assert "RDS Proxy orders-proxy targets orders-pg-old1" in out["Cause"], out["Cause"]


def test_an_aurora_cluster_with_a_reader_and_a_custom_endpoint_is_upgraded_and_verified(stack):
    rds = stack.client("rds")
    request = seed_aurora_postgres_cluster(rds)
    rds.create_db_cluster_endpoint(DBClusterIdentifier="ledger-aurora", DBClusterEndpointIdentifier="reporting",
                                   EndpointType="READER", StaticMembers=["ledger-aurora-2"], Tags=OPT_IN)
    blue = capture_blue(stack, "ledger-aurora")
    rc, run, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    [endpoint] = run["source"]["topology"]["custom_endpoints"]
    assert {k: endpoint[k] for k in ("identifier", "endpoint_type", "static_members", "excluded_members")} == \
        {"identifier": "reporting", "endpoint_type": "READER", "static_members": ["ledger-aurora-2"],
         "excluded_members": []}
    [ep] = rds.describe_db_cluster_endpoints(DBClusterEndpointIdentifier="reporting")["DBClusterEndpoints"]
    assert ep["DBClusterIdentifier"] == "ledger-aurora" and ep["StaticMembers"] == ["ledger-aurora-2"]
    assert instances(stack)["ledger-aurora-2"]["EngineVersion"] == "16.4"
    assert_invariants(stack, blue, request, run_failed=False)


def test_a_failed_build_with_replicas_leaves_no_green_replica_behind(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    replica(rds, "orders-pg-r1", "orders-pg")
    replica(rds, "orders-pg-r2", "orders-pg")
    blue = capture_blue(stack, "orders-pg")
    stack.faults(invalid_configuration=True)
    rc, out, err = stack.execute({**request, "action": "upgrade", "soak_hours": 0})
    assert rc == 1
    assert out["Error"] == "GreenFailed", out
    left = [n for n in instances(stack) if "-green-" in n]
    assert left == [] or all(instances(stack)[n]["DBInstanceStatus"] == "deleting" for n in left), left
    now = instances(stack)
    for r in ("orders-pg-r1", "orders-pg-r2"):
        assert now[r]["EngineVersion"] == "13.15" and now[r]["ReadReplicaSourceDBInstanceIdentifier"] == "orders-pg"
    assert_invariants(stack, blue, request, run_failed=True, error="GreenFailed")


def test_the_plan_of_a_postgres_13_instance_reports_the_cost_of_waiting(stack):
    rds = stack.client("rds")
    request = seed_postgres_instance(rds)
    replica(rds, "orders-pg-r1", "orders-pg")
    rc, run, err = stack.execute({**request, "action": "plan"})
    assert rc == 0, err[-3000:]
    cost = run["report"]["cost_of_waiting"]
    # major_versions.json (AWS's calendar): PostgreSQL 13 left standard support on 2026-02-28.
    assert cost["major"] == "13"
    assert cost["standard_support_ends"] == "2026-02-28", cost
    assert cost["extended_support_starts"] == "2026-03-01", cost
    assert cost["in_extended_support"] is True
    # db.r6g.large (2 vCPUs) x (primary + Multi-AZ standby + one replica), $0.100/vCPU-hour.
    assert cost["vcpus_billed"] == 6 and cost["rate_per_vcpu_hour"] == 0.1
    assert cost["monthly_usd"] == pytest.approx(6 * 0.1 * 730.5)
    assert "left standard support on 2026-02-28" in cost["note"]


def test_the_plan_names_the_dms_tasks_on_the_sources_endpoint_and_an_upgrade_still_runs(stack):
    """AWS: DMS tasks must be recreated after a switchover (bluegreen-facts.md). The precheck
    finds the DMS endpoints whose ServerName is the source's address and the tasks using them
    (DescribeEndpoints, DescribeReplicationTasks filter endpoint-arn): a warning, not a refusal."""
    rds, dms = stack.client("rds"), stack.client("dms")
    request = seed_postgres_instance(rds)
    other = seed_postgres_instance(rds, name="billing-pg")
    address = {d: instances(stack)[d]["Endpoint"]["Address"] for d in ("orders-pg", other["db_identifier"])}
    ri = dms.create_replication_instance(ReplicationInstanceIdentifier="ri",
                                         ReplicationInstanceClass="dms.t3.micro")["ReplicationInstance"]
    kinesis = dms.create_endpoint(EndpointIdentifier="to-kinesis", EndpointType="target", EngineName="kinesis",
                                  KinesisSettings={"StreamArn": "arn:aws:kinesis:us-east-1:123456789012:stream/s",
                                                   "ServiceAccessRoleArn": "arn:aws:iam::123456789012:role/r"}
                                  )["Endpoint"]
    for db, task in (("orders-pg", "orders-cdc"), ("billing-pg", "billing-cdc")):
        ep = dms.create_endpoint(EndpointIdentifier=f"{db}-src", EndpointType="source", EngineName="postgres",
                                 ServerName=address[db], Port=5432, DatabaseName="app", Username="u",
                                 Password="p")["Endpoint"]
        dms.create_replication_task(ReplicationTaskIdentifier=task, SourceEndpointArn=ep["EndpointArn"],
                                    TargetEndpointArn=kinesis["EndpointArn"], MigrationType="cdc",
                                    ReplicationInstanceArn=ri["ReplicationInstanceArn"],
                                    TableMappings=json.dumps({"rules": []}))
    rc, run, err = stack.execute({**request, "action": "plan"})
    assert rc == 0, err[-3000:]
    c = check(run, "dms-tasks")
    assert c["verdict"] == "warn", c
    assert "orders-cdc" in c["observed"] and "orders-pg-src" in c["observed"], c
    assert "billing" not in c["observed"], c
    assert "recreate" in c["fix"], c
    assert [t["identifier"] for t in run["source"]["topology"]["dms_tasks"]] == ["orders-cdc"]
    calls = stack.state()["calls"]["dms"]
    assert calls["DescribeEndpoints"] >= 1 and calls["DescribeReplicationTasks"] >= 1, calls
    # A warning: the upgrade goes ahead (prepare stops before the switchover).
    rc, run, err = stack.execute({**request, "action": "prepare"})
    assert rc == 0, err[-3000:]
    assert check(run, "dms-tasks")["verdict"] == "warn"

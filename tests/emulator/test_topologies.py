"""Self-tests of what surrounds a database in a blue/green deployment (README "What the emulator models"):
read replicas, the replica refusals, RDS Proxy, Aurora custom endpoints, Aurora Global Database, zero-ETL
integrations, AWS DMS. Each test names the AWS source it checks.

Run: .venv/bin/python -m pytest tests/emulator -q
"""
import json
import urllib.error

import boto3
import pytest
from botocore.exceptions import ClientError

from test_fidelity import ACCOUNT, arn, client, clusters, make_cluster, members
from test_launcher import (control, describe, endpoint, error_code, faults, instances, make_instance,  # noqa: F401
                           rds)

# engine, source version, target version, target parameter group family
ENGINES = [("postgres", "13.12", "16.4", "postgres16"), ("mysql", "8.0.36", "8.4.3", "mysql8.4"),
           ("mariadb", "10.6.18", "10.11.8", "mariadb10.11")]


def make_db(rds, name="prod", engine="postgres", version="13.12", **kw):
    return rds.create_db_instance(DBInstanceIdentifier=name, Engine=engine, EngineVersion=version,
                                  DBInstanceClass="db.t3.micro", MasterUsername="app",
                                  MasterUserPassword="password123", AllocatedStorage=20, **kw)["DBInstance"]


def replica(rds, name, source="prod", **kw):
    return rds.create_db_instance_read_replica(DBInstanceIdentifier=name, SourceDBInstanceIdentifier=source,
                                               **kw)["DBInstance"]


def create_bg(rds, source_arn, target, family=None, name="bg1", **kw):
    if family:
        rds.create_db_parameter_group(DBParameterGroupName=f"{name}-{family.replace('.', '')}",
                                      DBParameterGroupFamily=family, Description="target")
        kw["TargetDBParameterGroupName"] = f"{name}-{family.replace('.', '')}"
    return rds.create_blue_green_deployment(BlueGreenDeploymentName=name, Source=source_arn,
                                            TargetEngineVersion=target, **kw)["BlueGreenDeployment"]


def bg_id(bg):
    return bg["BlueGreenDeploymentIdentifier"]


def switchover(rds, bg):
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg_id(bg))
    return describe(rds, bg)


def short(member_arn):
    return member_arn.rsplit(":", 1)[-1]


# ------------------------------------------------------------ read replicas
@pytest.mark.parametrize("engine,version,target,family", ENGINES)
def test_read_replicas_are_copied_as_replicas_of_green(rds, engine, version, target, family):
    """RDS User Guide, Creating a blue/green deployment: "If the blue DB instance has read replicas, they are
    copied as replicas of the green instance. The allocated storage of all green replicas matches the green
    primary instance, while other storage parameters are inherited from the blue replicas." "If the blue DB
    instance is a Multi-AZ DB instance deployment, then the green DB instance is created as a Multi-AZ DB
    instance deployment." AWS CLI reference, describe-blue-green-deployments Example 1: one SwitchoverDetails
    entry per replica (REPLICA-green-xxxxxx), task CREATING_TOPOLOGY_OF_SOURCE."""
    src = make_db(rds, engine=engine, version=version, MultiAZ=True)
    replica(rds, "prod-r1")
    replica(rds, "prod-r2", DBInstanceClass="db.t3.small")
    bg = create_bg(rds, src["DBInstanceArn"], target, family, TargetAllocatedStorage=50)
    pairs = [(short(d["SourceMember"]), short(d["TargetMember"])) for d in bg["SwitchoverDetails"]]
    assert [b for b, _ in pairs] == ["prod", "prod-r1", "prod-r2"]
    assert all(g.startswith(b + "-green-") and len(g) == len(b) + 13 for b, g in pairs)
    assert [t["Name"] for t in bg["Tasks"]] == ["CREATING_READ_REPLICA_OF_SOURCE", "DB_ENGINE_VERSION_UPGRADE",
                                                "CONFIGURE_BACKUPS", "CREATING_TOPOLOGY_OF_SOURCE"]
    dbs = instances(rds)
    green = dbs[pairs[0][1]]
    assert green["MultiAZ"] is True, "green keeps blue's Multi-AZ"
    assert sorted(green["ReadReplicaDBInstanceIdentifiers"]) == sorted(g for _, g in pairs[1:])
    for b, g in pairs[1:]:
        gr = dbs[g]
        assert gr["ReadReplicaSourceDBInstanceIdentifier"] == pairs[0][1]
        assert gr["EngineVersion"] == target and gr["AllocatedStorage"] == 50
        assert gr["DBParameterGroups"][0]["DBParameterGroupName"] == green["DBParameterGroups"][0]["DBParameterGroupName"]
        assert gr["DBInstanceClass"] == dbs[b]["DBInstanceClass"]
    assert len({d["DbiResourceId"] for d in dbs.values()}) == 6, "every instance its own resource id"
    assert sorted(dbs["prod"]["ReadReplicaDBInstanceIdentifiers"]) == ["prod-r1", "prod-r2"], "blue unchanged"
    d = describe(rds, bg)
    assert d["Status"] == "AVAILABLE" and {s["Status"] for s in d["SwitchoverDetails"]} == {"AVAILABLE"}


def test_read_replicas_switch_over_with_their_primary(rds):
    """RDS User Guide, overview: "The green environment read replica named mydb2-green-abc123 becomes the
    production read replica mydb2 ... The blue environment read replica named mydb2 becomes mydb2-old1";
    switching page: "When the green DB instance has read replicas, they are also promoted". Each pair takes
    its own next free -oldN (an earlier upgrade's prod-r1-old1 is kept); production's replicas replicate from
    the new production primary, the old ones from the old primary; DbiResourceIds travel with the databases."""
    make_db(rds, "prod-r1-old1")  # an earlier upgrade's fallback replica
    src = make_db(rds, engine="mysql", version="8.0.36")
    replica(rds, "prod-r1")
    bg = create_bg(rds, src["DBInstanceArn"], "8.4.3", "mysql8.4")
    before = instances(rds)
    green, green_r = (short(d["TargetMember"]) for d in bg["SwitchoverDetails"])
    done = switchover(rds, bg)
    assert done["Status"] == "SWITCHOVER_COMPLETED"
    assert [(short(d["SourceMember"]), short(d["TargetMember"]), d["Status"]) for d in done["SwitchoverDetails"]] == \
        [("prod-old1", "prod", "SWITCHOVER_COMPLETED"), ("prod-r1-old2", "prod-r1", "SWITCHOVER_COMPLETED")]
    dbs = instances(rds)
    assert set(dbs) == {"prod", "prod-r1", "prod-old1", "prod-r1-old1", "prod-r1-old2"}
    assert dbs["prod-r1"]["ReadReplicaSourceDBInstanceIdentifier"] == "prod"
    assert dbs["prod"]["ReadReplicaDBInstanceIdentifiers"] == ["prod-r1"]
    assert dbs["prod-r1-old2"]["ReadReplicaSourceDBInstanceIdentifier"] == "prod-old1"
    assert dbs["prod-old1"]["ReadReplicaDBInstanceIdentifiers"] == ["prod-r1-old2"]
    assert dbs["prod-r1"]["EngineVersion"] == "8.4.3" and dbs["prod-r1-old2"]["EngineVersion"] == "8.0.36"
    assert dbs["prod-r1"]["DbiResourceId"] == before[green_r]["DbiResourceId"]
    assert dbs["prod-r1-old2"]["DbiResourceId"] == before["prod-r1"]["DbiResourceId"]
    assert dbs["prod"]["DbiResourceId"] == before[green]["DbiResourceId"]
    assert dbs["prod-r1"]["Endpoint"] == before["prod-r1"]["Endpoint"], "the replica keeps its address"
    rds.delete_db_instance(DBInstanceIdentifier="prod-r1-old2", SkipFinalSnapshot=True)  # links hold
    assert instances(rds)["prod-old1"].get("ReadReplicaDBInstanceIdentifiers") == []


def test_delete_target_deletes_green_replicas(rds):
    """RDS User Guide, Deleting a blue/green deployment: DeleteTarget "Specifies that the DB instances in the
    green environment are deleted" (moto deleted only green's primary)."""
    src = make_db(rds)
    replica(rds, "prod-r1")
    replica(rds, "prod-r2")
    bg = create_bg(rds, src["DBInstanceArn"], "13.20")
    rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg_id(bg), DeleteTarget=True)
    dbs = instances(rds)
    assert set(dbs) == {"prod", "prod-r1", "prod-r2"}, "no green replica left behind"
    assert sorted(dbs["prod"]["ReadReplicaDBInstanceIdentifiers"]) == ["prod-r1", "prod-r2"]


def test_replica_lag_of_green_replicas(endpoint, rds):
    """RDS metrics, ReplicaLag: "For read replica configurations, the amount of time a read replica DB instance
    lags behind the source DB instance" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html).
    A green replica replicates physically from the green primary whatever the engine: its own ReplicaLag
    (knob green_replica_lag_seconds); the green primary keeps the per-engine signal (ReplicaLag for MySQL,
    none for a PostgreSQL major upgrade); every other read replica (blue's) publishes its ReplicaLag too."""
    from test_fidelity import stat
    cw = client(endpoint, "cloudwatch")
    faults(endpoint, replica_lag_seconds=4.0, replication_slot_lag_bytes=128)
    faults(endpoint, BlueGreenDeploymentName="my", green_replica_lag_seconds=30.0)
    my = make_db(rds, "my", engine="mysql", version="8.0.36")
    replica(rds, "my-r1", source="my")
    bgm = create_bg(rds, my["DBInstanceArn"], "8.4.3", "mysql8.4", name="my")
    g, gr = (short(d["TargetMember"]) for d in bgm["SwitchoverDetails"])
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=g) == 4.0
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=gr) == 30.0
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier="my-r1") == 0.0
    pg = make_db(rds, "pg")
    replica(rds, "pg-r1", source="pg")
    bgp = create_bg(rds, pg["DBInstanceArn"], "16.4", "postgres16", name="pg")
    g, gr = (short(d["TargetMember"]) for d in bgp["SwitchoverDetails"])
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=g) is None, "logical replication: no ReplicaLag"
    assert stat(cw, "ReplicaLag", DBInstanceIdentifier=gr) == 0.0
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="pg") == 128
    assert stat(cw, "OldestReplicationSlotLag", DBInstanceIdentifier="pg-r1") is None, "slots on blue's primary"
    faults(endpoint, BlueGreenDeploymentName="pg", green_replica_lag_seconds=-1)
    assert stat(cw, "ReplicaLag", "Minimum", DBInstanceIdentifier=gr) == -1


def test_replica_provisioning_polls(endpoint, rds):
    """Knob replica_provisioning_polls (inferred): green's replicas still being built after its primary —
    deployment PROVISIONING, CREATING_TOPOLOGY_OF_SOURCE IN_PROGRESS, the replica's SwitchoverDetails entry
    PROVISIONING and the green replica `creating` (readiness per member)."""
    faults(endpoint, replica_provisioning_polls=2)
    src = make_db(rds)
    replica(rds, "prod-r1")
    bg = create_bg(rds, src["DBInstanceArn"], "13.20")
    gr = short(bg["SwitchoverDetails"][1]["TargetMember"])
    for _ in range(2):
        d = describe(rds, bg)
        assert d["Status"] == "PROVISIONING"
        assert [s["Status"] for s in d["SwitchoverDetails"]] == ["AVAILABLE", "PROVISIONING"]
        assert {t["Name"]: t["Status"] for t in d["Tasks"]}["CREATING_TOPOLOGY_OF_SOURCE"] == "IN_PROGRESS"
        assert instances(rds)[gr]["DBInstanceStatus"] == "creating"
    d = describe(rds, bg)
    assert d["Status"] == "AVAILABLE" and {t["Status"] for t in d["Tasks"]} == {"COMPLETED"}
    assert instances(rds)[gr]["DBInstanceStatus"] == "available"


# ------------------------------------------------------------ refusals
def test_cross_region_read_replica_refused(endpoint, rds):
    """RDS limitations page: "Blue/green deployments aren't supported for the following features: ... Cross-Region
    read replicas". moto creates cross-Region replicas (source given by ARN). The code is inferred, knob
    unsupported_replica_error_code (SourceDatabaseNotSupportedFault | InvalidParameterCombination)."""
    src = make_db(rds)
    west = boto3.client("rds", region_name="us-west-2", endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing")
    dr = west.create_db_instance_read_replica(DBInstanceIdentifier="prod-dr",
                                              SourceDBInstanceIdentifier=src["DBInstanceArn"])["DBInstance"]
    assert dr["ReadReplicaSourceDBInstanceIdentifier"] == src["DBInstanceArn"]
    assert instances(rds)["prod"]["ReadReplicaDBInstanceIdentifiers"] == [dr["DBInstanceArn"]]
    with pytest.raises(ClientError) as e:
        create_bg(rds, src["DBInstanceArn"], "13.20")
    assert error_code(e) == "SourceDatabaseNotSupportedFault"
    faults(endpoint, unsupported_replica_error_code="InvalidParameterCombination")
    with pytest.raises(ClientError) as e:
        create_bg(rds, src["DBInstanceArn"], "13.20")
    assert error_code(e) == "InvalidParameterCombination"
    assert rds.describe_blue_green_deployments()["BlueGreenDeployments"] == [] and set(instances(rds)) == {"prod"}


def test_aurora_cross_region_replica_cluster_refused(endpoint, rds):
    """Aurora limitations page: "Blue/green deployments aren't supported for the following features: ...
    Cross-Region read replicas". moto: a cluster in another Region with ReplicationSourceIdentifier = the
    source's ARN is listed in the source's ReadReplicaIdentifiers. Code inferred: SourceClusterNotSupportedFault."""
    src = make_cluster(rds, "am", "aurora-mysql", "8.0.mysql_aurora.3.04.1", ["am-1"])
    west = boto3.client("rds", region_name="us-west-2", endpoint_url=endpoint, aws_access_key_id="testing",
                        aws_secret_access_key="testing")
    dr = west.create_db_cluster(DBClusterIdentifier="am-dr", Engine="aurora-mysql", MasterUsername="app",
                                EngineVersion="8.0.mysql_aurora.3.04.1", MasterUserPassword="password123",
                                ReplicationSourceIdentifier=src["DBClusterArn"])["DBCluster"]
    assert clusters(rds)["am"]["ReadReplicaIdentifiers"] == [dr["DBClusterArn"]]
    with pytest.raises(ClientError) as e:
        create_bg(rds, src["DBClusterArn"], "8.0.mysql_aurora.3.08.0")
    assert error_code(e) == "SourceClusterNotSupportedFault"


def test_cascading_read_replica_refused(rds):
    """RDS limitations page: "... Cascading read replicas" (a replica of a replica of the source)."""
    src = make_db(rds, engine="mysql", version="8.0.36")
    replica(rds, "prod-r1")
    replica(rds, "prod-r1-r1", source="prod-r1")
    with pytest.raises(ClientError) as e:
        create_bg(rds, src["DBInstanceArn"], "8.0.41")
    assert error_code(e) == "SourceDatabaseNotSupportedFault"
    assert set(instances(rds)) == {"prod", "prod-r1", "prod-r1-r1"}, "nothing was built"


def test_read_replica_as_source(endpoint, rds):
    """A source that is itself a read replica: not documented; inferred refused (its green would be a
    cascading replica); knob read_replica_as_source=accepted builds a standalone green."""
    make_db(rds)
    rep = replica(rds, "prod-r1")
    with pytest.raises(ClientError) as e:
        create_bg(rds, rep["DBInstanceArn"], "13.20")
    assert error_code(e) == "SourceDatabaseNotSupportedFault"
    faults(endpoint, read_replica_as_source="accepted")
    bg = create_bg(rds, rep["DBInstanceArn"], "13.20")
    green = instances(rds)[short(bg["Target"])]
    assert not green.get("ReadReplicaSourceDBInstanceIdentifier")


# ------------------------------------------------------------ RDS Proxy
def make_proxy(endpoint, rds, name="px"):
    ec2 = client(endpoint, "ec2")
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"]][:2]
    return rds.create_db_proxy(DBProxyName=name, EngineFamily="POSTGRESQL", RoleArn=f"arn:aws:iam::{ACCOUNT}:role/px",
                               Auth=[{"AuthScheme": "SECRETS", "IAMAuth": "DISABLED",
                                      "SecretArn": f"arn:aws:secretsmanager:us-east-1:{ACCOUNT}:secret:px"}],
                               VpcSubnetIds=subnets)["DBProxy"]


def targets(rds, proxy="px"):
    return rds.describe_db_proxy_targets(DBProxyName=proxy)["Targets"]


def test_proxy_target_shapes_instance_and_cluster(endpoint, rds):
    """API reference, DBProxyTarget (TargetArn, Endpoint, TrackedClusterId, RdsResourceId, Port, Type, Role,
    TargetHealth); AWS CLI reference examples: register-db-proxy-targets of a cluster answers a TRACKED_CLUSTER
    target and an RDS_INSTANCE target per member, REGISTERING; describe-db-proxy-targets shows an instance
    target with Endpoint, TrackedClusterId, RdsResourceId (the instance identifier), Port, Role READ_WRITE.
    moto: no Endpoint, TargetArn or Role for an instance, no member targets for a cluster."""
    db = make_db(rds)
    make_proxy(endpoint, rds)
    [reg] = rds.register_db_proxy_targets(DBProxyName="px", DBInstanceIdentifiers=["prod"])["DBProxyTargets"]
    assert reg["TargetHealth"] == {"State": "REGISTERING"}
    [t] = targets(rds)
    assert t == {"TargetArn": db["DBInstanceArn"], "Endpoint": db["Endpoint"]["Address"], "RdsResourceId": "prod",
                 "Port": 5432, "Type": "RDS_INSTANCE", "Role": "READ_WRITE", "TargetHealth": {"State": "AVAILABLE"}}
    aur = make_cluster(rds)
    make_proxy(endpoint, rds, "px2")
    reg = rds.register_db_proxy_targets(DBProxyName="px2", DBClusterIdentifiers=["aur"])["DBProxyTargets"]
    assert [(r["Type"], r["RdsResourceId"]) for r in reg] == [("TRACKED_CLUSTER", "aur"), ("RDS_INSTANCE", "aur-1"),
                                                              ("RDS_INSTANCE", "aur-2")]
    by_id = {t["RdsResourceId"]: t for t in targets(rds, "px2")}
    assert by_id["aur"]["TargetArn"] == aur["DBClusterArn"] and by_id["aur"]["TrackedClusterId"] == "aur"
    assert by_id["aur-1"]["Role"] == "READ_WRITE" and by_id["aur-2"]["Role"] == "READ_ONLY"
    assert by_id["aur-1"]["TrackedClusterId"] == "aur" and by_id["aur-1"]["Endpoint"].startswith("aur-1.")
    assert {t["TargetHealth"]["State"] for t in by_id.values()} == {"AVAILABLE"}
    for bad, code in (({"DBInstanceIdentifiers": ["nope"]}, "DBInstanceNotFound"),
                      ({"DBClusterIdentifiers": ["nope"]}, "DBClusterNotFoundFault"),
                      ({"DBInstanceIdentifiers": ["prod"]}, "DBProxyTargetAlreadyRegisteredFault")):
        with pytest.raises(ClientError) as e:
            rds.register_db_proxy_targets(DBProxyName="px", **bad)
        assert error_code(e) == code
    with pytest.raises(ClientError) as e:
        targets(rds, "nope")
    assert error_code(e) == "DBProxyNotFoundFault"
    rds.deregister_db_proxy_targets(DBProxyName="px2", DBClusterIdentifiers=["aur"])
    assert targets(rds, "px2") == []


def test_proxy_follows_the_switchover(endpoint, rds):
    """RDS User Guide, Using RDS Proxy with Blue/Green Deployments: the proxy redirects "connections to the
    Green environment once it becomes the active production environment"; "Proxy APIs such as
    describe-db-proxy-targets reflect updated targets only after switchover is fully complete"."""
    faults(endpoint, switchover_in_progress_polls=1)
    src = make_db(rds)
    make_proxy(endpoint, rds)
    rds.register_db_proxy_targets(DBProxyName="px", DBInstanceIdentifiers=["prod"])
    bg = create_bg(rds, src["DBInstanceArn"], "13.20")
    green = instances(rds)[short(bg["Target"])]
    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg_id(bg))
    assert targets(rds)[0]["TargetArn"] == src["DBInstanceArn"]
    assert describe(rds, bg)["Status"] == "SWITCHOVER_IN_PROGRESS"
    [t] = targets(rds)
    assert t["RdsResourceId"] == "prod" and t["TargetHealth"]["State"] == "AVAILABLE"
    assert describe(rds, bg)["Status"] == "SWITCHOVER_COMPLETED"
    [t] = targets(rds)
    prod = instances(rds)["prod"]
    assert prod["DbiResourceId"] == green["DbiResourceId"], "production is the former green"
    assert (t["RdsResourceId"], t["Endpoint"], t["TargetHealth"]) == ("prod", prod["Endpoint"]["Address"],
                                                                      {"State": "AVAILABLE"})
    # Aurora: the tracked cluster and its members are production's (the former green instances)
    aur = make_cluster(rds)
    make_proxy(endpoint, rds, "px2")
    rds.register_db_proxy_targets(DBProxyName="px2", DBClusterIdentifiers=["aur"])
    targets(rds, "px2")
    faults(endpoint, switchover_in_progress_polls=0)
    bga = create_bg(rds, aur["DBClusterArn"], "13.15", name="bga")
    green_cluster = clusters(rds)[short(bga["Target"])]
    switchover(rds, bga)
    by_id = {t["RdsResourceId"]: t for t in targets(rds, "px2")}
    assert set(by_id) == {"aur", "aur-1", "aur-2"}
    assert clusters(rds)["aur"]["DbClusterResourceId"] == green_cluster["DbClusterResourceId"]
    now = instances(rds)
    assert now["aur-1"]["EngineVersion"] == "13.15" and by_id["aur-1"]["Endpoint"] == now["aur-1"]["Endpoint"]["Address"]
    assert by_id["aur"]["TargetArn"] == arn("cluster", "aur")


@pytest.mark.parametrize("mode,resource,state", [("stays_on_blue", "prod-old1", "AVAILABLE"),
                                                 ("unavailable", "prod", "UNAVAILABLE")])
def test_proxy_after_switchover_knob(endpoint, rds, mode, resource, state):
    """Knob proxy_after_switchover (read at switchover) so a product's verification can be seen failing:
    stays_on_blue (the target still names the old blue) or unavailable (UNAVAILABLE, Reason CONNECTION_FAILED)."""
    src = make_db(rds)
    make_proxy(endpoint, rds)
    rds.register_db_proxy_targets(DBProxyName="px", DBInstanceIdentifiers=["prod"])
    targets(rds)
    bg = create_bg(rds, src["DBInstanceArn"], "13.20")
    faults(endpoint, BlueGreenDeploymentName="bg1", proxy_after_switchover=mode)
    switchover(rds, bg)
    [t] = targets(rds)
    assert (t["RdsResourceId"], t["TargetHealth"]["State"]) == (resource, state)
    if state == "UNAVAILABLE":
        assert t["TargetHealth"]["Reason"] == "CONNECTION_FAILED"


def test_proxy_registration_refused_during_deployment(endpoint, rds):
    """rds-proxy-blue-green page, Limitations: "Your blue instance must already be a target of the proxy before
    creating the blue/green deployment. You can't add the instance to RDS Proxy after creating the blue/green
    deployment for it." Code inferred (InvalidDBInstanceStateFault, from the operation's error list)."""
    src = make_db(rds)
    make_proxy(endpoint, rds)
    bg = create_bg(rds, src["DBInstanceArn"], "13.20")
    for ident in ("prod", short(bg["Target"])):
        with pytest.raises(ClientError) as e:
            rds.register_db_proxy_targets(DBProxyName="px", DBInstanceIdentifiers=[ident])
        assert error_code(e) == "InvalidDBInstanceState"
    switchover(rds, bg)
    rds.register_db_proxy_targets(DBProxyName="px", DBInstanceIdentifiers=["prod"])  # after the switchover: fine


# ------------------------------------------------------------ Aurora custom endpoints
def endpoints(rds, **kw):
    return rds.describe_db_cluster_endpoints(**kw)["DBClusterEndpoints"]


def test_custom_endpoints_api(rds):
    """CreateDBClusterEndpoint / DescribeDBClusterEndpoints / ModifyDBClusterEndpoint / DeleteDBClusterEndpoint
    (moto 5.2.1: not implemented), shapes from the API reference (DBClusterEndpoint); the writer and reader
    endpoints are listed too (AWS CLI reference, describe-db-cluster-endpoints example); DBCluster.CustomEndpoints."""
    make_cluster(rds, members=("aur-1", "aur-2", "aur-3"))
    made = rds.create_db_cluster_endpoint(DBClusterIdentifier="aur", DBClusterEndpointIdentifier="Reports",
                                          EndpointType="READER", StaticMembers=["aur-2", "aur-3"])
    assert made["DBClusterEndpointIdentifier"] == "reports" and made["Status"] == "creating"
    assert made["EndpointType"] == "CUSTOM" and made["CustomEndpointType"] == "READER"
    assert made["Endpoint"] == "reports.cluster-custom-aaaaaaaaaa.us-east-1.rds.amazonaws.com"
    assert made["DBClusterEndpointArn"] == arn("cluster-endpoint", "reports")
    assert made["DBClusterEndpointResourceIdentifier"].startswith("cluster-endpoint-")
    rds.create_db_cluster_endpoint(DBClusterIdentifier="aur", DBClusterEndpointIdentifier="all-but-1",
                                   EndpointType="ANY", ExcludedMembers=["aur-1"])
    rows = endpoints(rds, DBClusterIdentifier="aur")
    assert [r["EndpointType"] for r in rows] == ["WRITER", "READER", "CUSTOM", "CUSTOM"]
    assert rows[0]["Endpoint"] == clusters(rds)["aur"]["Endpoint"] and "DBClusterEndpointIdentifier" not in rows[0]
    assert {r.get("DBClusterEndpointIdentifier"): r["Status"] for r in rows[2:]} == {"reports": "available",
                                                                                     "all-but-1": "available"}
    [ex] = endpoints(rds, Filters=[{"Name": "db-cluster-endpoint-custom-type", "Values": ["any"]}])
    assert ex["ExcludedMembers"] == ["aur-1"] and ex["StaticMembers"] == []
    assert len(endpoints(rds, Filters=[{"Name": "db-cluster-endpoint-type", "Values": ["custom"]}])) == 2
    assert sorted(clusters(rds)["aur"]["CustomEndpoints"]) == sorted(r["Endpoint"] for r in rows[2:])
    mod = rds.modify_db_cluster_endpoint(DBClusterEndpointIdentifier="reports", StaticMembers=["aur-3"])
    assert mod["StaticMembers"] == ["aur-3"]
    for call, kw, code in (
            (rds.create_db_cluster_endpoint, dict(DBClusterIdentifier="aur", DBClusterEndpointIdentifier="reports",
                                                  EndpointType="READER"), "DBClusterEndpointAlreadyExistsFault"),
            (rds.create_db_cluster_endpoint, dict(DBClusterIdentifier="nope", DBClusterEndpointIdentifier="x",
                                                  EndpointType="READER"), "DBClusterNotFoundFault"),
            (rds.create_db_cluster_endpoint, dict(DBClusterIdentifier="aur", DBClusterEndpointIdentifier="x",
                                                  EndpointType="READER", StaticMembers=["nope"]),
             "DBInstanceNotFound"),
            (rds.delete_db_cluster_endpoint, dict(DBClusterEndpointIdentifier="nope"),
             "DBClusterEndpointNotFoundFault")):
        with pytest.raises(ClientError) as e:
            call(**kw)
        assert error_code(e) == code
    assert rds.delete_db_cluster_endpoint(DBClusterEndpointIdentifier="reports")["Status"] == "deleting"
    assert [r.get("DBClusterEndpointIdentifier") for r in endpoints(rds, DBClusterIdentifier="aur")] == \
        [None, None, "all-but-1"]


def test_custom_endpoints_in_a_deployment(rds):
    """AWS CLI reference, describe-blue-green-deployments Examples 2 and 3: each custom endpoint is a
    SwitchoverDetails pair (`cluster-endpoint:NAME` / `cluster-endpoint:NAME-green-xxxxxx`, after switchover
    `NAME-old1` / `NAME`); Aurora tasks CREATING_READ_REPLICA_OF_SOURCE, DB_ENGINE_VERSION_UPGRADE,
    CREATE_DB_INSTANCES_FOR_CLUSTER, CREATE_CUSTOM_ENDPOINTS. After switchover production's endpoint has the
    same members by role (the former green instances, named like the blue ones) and keeps its address."""
    make_cluster(rds, members=("aur-1", "aur-2", "aur-3"))
    before = rds.create_db_cluster_endpoint(DBClusterIdentifier="aur", DBClusterEndpointIdentifier="reports",
                                            EndpointType="READER", StaticMembers=["aur-2", "aur-3"])
    bg = create_bg(rds, clusters(rds)["aur"]["DBClusterArn"], "16.4")
    assert [t["Name"] for t in bg["Tasks"]] == ["CREATING_READ_REPLICA_OF_SOURCE", "DB_ENGINE_VERSION_UPGRADE",
                                                "CREATE_DB_INSTANCES_FOR_CLUSTER", "CREATE_CUSTOM_ENDPOINTS"]
    last = bg["SwitchoverDetails"][-1]
    assert last["SourceMember"] == arn("cluster-endpoint", "reports")
    green_ep = short(last["TargetMember"])
    assert green_ep.startswith("reports-green-") and len(bg["SwitchoverDetails"]) == 5
    green_cluster = short(bg["Target"])
    [gep] = [r for r in endpoints(rds, DBClusterIdentifier=green_cluster) if r["EndpointType"] == "CUSTOM"]
    assert gep["DBClusterEndpointIdentifier"] == green_ep and gep["CustomEndpointType"] == "READER"
    assert sorted(gep["StaticMembers"]) == sorted(m for m in members(clusters(rds)[green_cluster])
                                                  if m.startswith(("aur-2-green-", "aur-3-green-")))
    done = switchover(rds, bg)
    assert (short(done["SwitchoverDetails"][-1]["SourceMember"]), short(done["SwitchoverDetails"][-1]["TargetMember"])) \
        == ("reports-old1", "reports")
    [prod] = endpoints(rds, DBClusterEndpointIdentifier="reports")
    assert prod["DBClusterIdentifier"] == "aur" and sorted(prod["StaticMembers"]) == ["aur-2", "aur-3"]
    assert prod["Endpoint"] == before["Endpoint"] and prod["DBClusterEndpointResourceIdentifier"] == \
        gep["DBClusterEndpointResourceIdentifier"]
    assert instances(rds)["aur-2"]["EngineVersion"] == "16.4"
    [old] = endpoints(rds, DBClusterEndpointIdentifier="reports-old1")
    assert old["DBClusterIdentifier"] == "aur-old1" and sorted(old["StaticMembers"]) == ["aur-2-old1", "aur-3-old1"]


def test_delete_target_deletes_green_custom_endpoints(rds):
    make_cluster(rds)
    rds.create_db_cluster_endpoint(DBClusterIdentifier="aur", DBClusterEndpointIdentifier="reports",
                                   EndpointType="ANY")
    bg = create_bg(rds, clusters(rds)["aur"]["DBClusterArn"], "13.15")
    rds.delete_blue_green_deployment(BlueGreenDeploymentIdentifier=bg_id(bg), DeleteTarget=True)
    assert [r["DBClusterEndpointIdentifier"] for r in endpoints(rds) if r["EndpointType"] == "CUSTOM"] == ["reports"]
    assert set(clusters(rds)) == {"aur"}


# ------------------------------------------------------------ Aurora Global Database
def make_global(rds, name="aur"):
    src = make_cluster(rds, name, members=(f"{name}-1",))
    rds.create_global_cluster(GlobalClusterIdentifier="glob", SourceDBClusterIdentifier=src["DBClusterArn"])
    return src


def test_global_cluster_shapes(rds):
    """API reference, GlobalClusterMember.IsWriter: "Indicates whether the Aurora DB cluster is the primary
    cluster"; DBCluster.GlobalClusterIdentifier: "Contains a user-supplied global database cluster identifier";
    DescribeGlobalClusters GlobalClusterIdentifier (GlobalClusterNotFoundFault). moto: IsWriter false for the
    source of CreateGlobalCluster, the ARN as GlobalClusterIdentifier, the parameter ignored."""
    src = make_global(rds)
    [g] = rds.describe_global_clusters(GlobalClusterIdentifier="glob")["GlobalClusters"]
    assert g["GlobalClusterArn"] == f"arn:aws:rds::{ACCOUNT}:global-cluster:glob" and g["Engine"] == "aurora-postgresql"
    assert [(m["DBClusterArn"], m["IsWriter"]) for m in g["GlobalClusterMembers"]] == [(src["DBClusterArn"], True)]
    assert clusters(rds)["aur"]["GlobalClusterIdentifier"] == "glob"
    rds.create_global_cluster(GlobalClusterIdentifier="other", Engine="aurora-mysql")
    assert len(rds.describe_global_clusters()["GlobalClusters"]) == 2
    with pytest.raises(ClientError) as e:
        rds.describe_global_clusters(GlobalClusterIdentifier="nope")
    assert error_code(e) == "GlobalClusterNotFoundFault"


def test_global_database_primary_blue_green(rds):
    """Aurora User Guide, Supported Regions and Aurora DB engines for Blue/Green Deployments: "available for all
    versions of Aurora MySQL ..., including Aurora MySQL clusters configured as Aurora Global Database" (Aurora
    PostgreSQL likewise from 11.21, 12.16, 13.12, 14.9, 15.4, 16.1, 17.4); Using Blue/Green Deployments for
    Aurora Global Database: the switchover "transitions your primary and all secondary regions to the green
    environment" and renames clusters to match production. Inferred: the new production cluster is the
    global database's primary member afterwards, the old blue no member."""
    src = rds.create_db_cluster(DBClusterIdentifier="am", Engine="aurora-mysql",
                                EngineVersion="5.7.mysql_aurora.2.11.4", MasterUsername="app",
                                MasterUserPassword="password123")["DBCluster"]
    rds.create_db_instance(DBInstanceIdentifier="am-1", DBClusterIdentifier="am", Engine="aurora-mysql",
                           DBInstanceClass="db.r6g.large")
    rds.create_global_cluster(GlobalClusterIdentifier="glob", SourceDBClusterIdentifier=src["DBClusterArn"])
    bg = create_bg(rds, src["DBClusterArn"], "8.0.mysql_aurora.3.04.1")
    assert describe(rds, bg)["Status"] == "AVAILABLE"
    green = clusters(rds)[short(bg["Target"])]
    assert not green.get("GlobalClusterIdentifier"), "green joins the global database at switchover"
    switchover(rds, bg)
    now = clusters(rds)
    [g] = rds.describe_global_clusters(GlobalClusterIdentifier="glob")["GlobalClusters"]
    assert [(m["DBClusterArn"], m["IsWriter"]) for m in g["GlobalClusterMembers"]] == [(arn("cluster", "am"), True)]
    assert now["am"]["DbClusterResourceId"] == green["DbClusterResourceId"]
    assert now["am"]["GlobalClusterIdentifier"] == "glob" and not now["am-old1"].get("GlobalClusterIdentifier")


def test_global_database_with_proxy(endpoint, rds):
    """rds-proxy-blue-green page (Aurora), Limitations: "Global Database doesn't support RDS Proxy with
    Blue/Green Deployments". When that bites is not documented: knob global_database_proxy — refused at create
    (SourceClusterNotSupportedFault, default) or not_followed (the proxy stays on the old blue)."""
    src = make_global(rds)
    make_proxy(endpoint, rds)
    rds.register_db_proxy_targets(DBProxyName="px", DBClusterIdentifiers=["aur"])
    with pytest.raises(ClientError) as e:
        create_bg(rds, src["DBClusterArn"], "13.15")
    assert error_code(e) == "SourceClusterNotSupportedFault"
    faults(endpoint, global_database_proxy="not_followed")
    bg = create_bg(rds, src["DBClusterArn"], "13.15")
    switchover(rds, bg)
    assert {t["RdsResourceId"] for t in targets(rds)} == {"aur-old1", "aur-1-old1"}


# ------------------------------------------------------------ zero-ETL and DMS
def test_zero_etl_integrations(rds):
    """CreateIntegration / DescribeIntegrations / DeleteIntegration (moto 5.2.1: not implemented); shapes from
    botocore's rds service-2.json (SourceArn, TargetArn, IntegrationName, IntegrationArn
    arn:...:integration:UUID, Status, CreateTime, Errors); IntegrationNotFoundFault."""
    src = make_db(rds, engine="mysql", version="8.0.36")
    target = f"arn:aws:redshift-serverless:us-east-1:{ACCOUNT}:namespace/00000000-0000-0000-0000-000000000000"
    made = rds.create_integration(SourceArn=src["DBInstanceArn"], TargetArn=target, IntegrationName="to-redshift")
    assert made["Status"] == "creating" and made["IntegrationArn"].startswith(f"arn:aws:rds:us-east-1:{ACCOUNT}:integration:")
    [i] = rds.describe_integrations()["Integrations"]
    assert (i["SourceArn"], i["TargetArn"], i["Status"]) == (src["DBInstanceArn"], target, "active")
    assert rds.describe_integrations(IntegrationIdentifier=made["IntegrationArn"])["Integrations"][0]["IntegrationName"] \
        == "to-redshift"
    with pytest.raises(ClientError) as e:
        rds.describe_integrations(IntegrationIdentifier="nope")
    assert error_code(e) == "IntegrationNotFoundFault"
    with pytest.raises(ClientError) as e:
        rds.create_integration(SourceArn=arn("db", "nope"), TargetArn=target, IntegrationName="x")
    assert error_code(e) == "DBInstanceNotFound"
    assert rds.delete_integration(IntegrationIdentifier=made["IntegrationArn"])["Status"] == "deleting"
    assert rds.describe_integrations()["Integrations"] == []


@pytest.mark.parametrize("mode", ["refused", "switchover_failed"])
def test_zero_etl_integration_blocks_the_switchover(endpoint, rds, mode):
    """RDS limitations page: "During switchover, the blue and green environments can't have zero-ETL integrations
    with Amazon Redshift. You must delete the integration first and switch over, then recreate the integration."
    How RDS says no is inferred: knob zero_etl_at_switchover, refused (InvalidBlueGreenDeploymentStateFault) or
    switchover_failed (accepted, SWITCHOVER_FAILED, nothing renamed)."""
    src = make_db(rds, engine="mysql", version="8.0.36")
    target = f"arn:aws:redshift:us-east-1:{ACCOUNT}:namespace:abc"
    bg = create_bg(rds, src["DBInstanceArn"], "8.0.41")
    made = rds.create_integration(SourceArn=src["DBInstanceArn"], TargetArn=target, IntegrationName="zetl")
    faults(endpoint, zero_etl_at_switchover=mode)
    if mode == "refused":
        with pytest.raises(ClientError) as e:
            rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg_id(bg))
        assert error_code(e) == "InvalidBlueGreenDeploymentStateFault"
        assert describe(rds, bg)["Status"] == "AVAILABLE"
    else:
        d = switchover(rds, bg)
        assert d["Status"] == "SWITCHOVER_FAILED" and "zero-ETL" in d["StatusDetails"]
        assert "prod-old1" not in instances(rds)
        return
    rds.delete_integration(IntegrationIdentifier=made["IntegrationArn"])
    assert switchover(rds, bg)["Status"] == "SWITCHOVER_COMPLETED"


def test_dms_endpoint_and_task_on_the_source(endpoint, rds):
    """AWS DMS through the emulator (moto native): an endpoint whose ServerName is the source's address and a
    CDC task using it can be created and found (DescribeEndpoints, DescribeReplicationTasks with filters
    endpoint-id / endpoint-arn); the facts: "DMS tasks must be recreated" after switchover."""
    dms = client(endpoint, "dms")
    src = make_db(rds)
    address = src["Endpoint"]["Address"]
    ep = dms.create_endpoint(EndpointIdentifier="src", EndpointType="source", EngineName="postgres",
                             ServerName=address, Port=5432, DatabaseName="app", Username="u", Password="p")["Endpoint"]
    tgt = dms.create_endpoint(EndpointIdentifier="tgt", EndpointType="target", EngineName="s3",
                              S3Settings={"BucketName": "b", "ServiceAccessRoleArn": f"arn:aws:iam::{ACCOUNT}:role/r"}
                              )["Endpoint"]
    ri = dms.create_replication_instance(ReplicationInstanceIdentifier="ri",
                                         ReplicationInstanceClass="dms.t3.micro")["ReplicationInstance"]
    dms.create_replication_task(ReplicationTaskIdentifier="cdc", SourceEndpointArn=ep["EndpointArn"],
                                TargetEndpointArn=tgt["EndpointArn"], MigrationType="cdc",
                                ReplicationInstanceArn=ri["ReplicationInstanceArn"], TableMappings=json.dumps({"rules": []}))
    [found] = dms.describe_endpoints(Filters=[{"Name": "endpoint-id", "Values": ["src"]}])["Endpoints"]
    assert found["ServerName"] == address and found["EndpointType"].lower() == "source"
    [task] = dms.describe_replication_tasks(Filters=[{"Name": "endpoint-arn", "Values": [ep["EndpointArn"]]}]
                                            )["ReplicationTasks"]
    assert task["ReplicationTaskIdentifier"] == "cdc" and task["SourceEndpointArn"] == ep["EndpointArn"]


def test_dms_timestamps_are_epoch_seconds_on_the_wire(endpoint, rds):
    """AWS JSON 1.1 (Smithy awsJson1_1) sends timestamps as epoch seconds; moto's DMS sends ISO
    strings, which the AWS SDK for Rust refuses (json_wire.py converts them by the service model)."""
    import urllib.request
    dms = client(endpoint, "dms")
    ri = dms.create_replication_instance(ReplicationInstanceIdentifier="ri",
                                         ReplicationInstanceClass="dms.t3.micro")["ReplicationInstance"]
    ep = dms.create_endpoint(EndpointIdentifier="src", EndpointType="source", EngineName="postgres",
                             ServerName="h", Port=5432, DatabaseName="app", Username="u", Password="p")["Endpoint"]
    dms.create_replication_task(ReplicationTaskIdentifier="cdc", SourceEndpointArn=ep["EndpointArn"],
                                TargetEndpointArn=ep["EndpointArn"], MigrationType="cdc",
                                ReplicationInstanceArn=ri["ReplicationInstanceArn"], TableMappings="{}")
    req = urllib.request.Request(endpoint + "/", data=b"{}", headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "AmazonDMSv20160101.DescribeReplicationTasks",
        "Authorization": "AWS4-HMAC-SHA256 Credential=testing/20261202/us-east-1/dms/aws4_request, "
                         "SignedHeaders=host, Signature=0"})
    with urllib.request.urlopen(req) as r:
        [raw] = json.loads(r.read())["ReplicationTasks"]
    assert isinstance(raw["ReplicationTaskCreationDate"], (int, float)), raw["ReplicationTaskCreationDate"]
    assert dms.describe_replication_tasks()["ReplicationTasks"][0]["ReplicationTaskCreationDate"].year >= 2026


def test_new_knob_values(endpoint, rds):
    for bad in ({"green_replica_lag_seconds": -2}, {"replica_provisioning_polls": -1},
                {"proxy_after_switchover": "gone"}, {"zero_etl_at_switchover": True},
                {"unsupported_replica_error_code": "Throttling"}, {"read_replica_as_source": "maybe"},
                {"global_database_proxy": "sometimes"}):
        with pytest.raises(urllib.error.HTTPError) as e:
            faults(endpoint, **bad)
        assert e.value.code == 400, bad


# ------------------------------------------------------------ green read replicas and the instance class
def test_green_read_replicas_keep_their_blue_replicas_class(rds):
    """RDS User Guide, Creating a blue/green deployment, "Specifying changes": "You can only upgrade the DB instance
    class of the primary green DB instance ... you must manually modify the DB instance class of the read replicas
    in the green environment". TargetDBInstanceClass sizes green's primary; each green replica keeps its blue
    replica's class (until someone modifies it: ModifyDBInstance, as for any instance)."""
    src = make_db(rds)
    replica(rds, "prod-r1")
    replica(rds, "prod-r2", DBInstanceClass="db.t3.small")
    bg = create_bg(rds, src["DBInstanceArn"], "16.4", "postgres16", TargetDBInstanceClass="db.r6g.xlarge")
    green, g1, g2 = (short(d["TargetMember"]) for d in bg["SwitchoverDetails"])
    dbs = instances(rds)
    assert dbs[green]["DBInstanceClass"] == "db.r6g.xlarge", "the primary takes TargetDBInstanceClass"
    assert dbs[g1]["DBInstanceClass"] == "db.t3.micro" and dbs[g2]["DBInstanceClass"] == "db.t3.small"
    rds.modify_db_instance(DBInstanceIdentifier=g1, DBInstanceClass="db.r6g.xlarge", ApplyImmediately=True)
    for _ in range(2):  # modify_polls, default 2
        assert instances(rds)[g1]["DBInstanceStatus"] == "modifying"
    assert instances(rds)[g1]["DBInstanceClass"] == "db.r6g.xlarge"

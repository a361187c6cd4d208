"""The newest Aurora majors end to end (issue 22, the emulator's version data): Aurora MySQL version 3 to
8.4 (versions numbered MAJOR.MINOR, family aurora-mysql8.4) and Aurora PostgreSQL 16 to 17.4, through the
real state machine, on the stack the template deploys."""

import pytest

from harness import opt_in


def seed_cluster(rds, name, engine, version, source_family, target_family, parameters):
    for group, family in ((f"{name}-src", source_family), (f"{name}-dst", target_family)):
        rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=group, DBParameterGroupFamily=family,
                                              Description=family)
        rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=group, Parameters=[
            {"ParameterName": k, "ParameterValue": v, "ApplyMethod": "pending-reboot"} for k, v in parameters])
    rds.create_db_cluster(DBClusterIdentifier=name, Engine=engine, EngineVersion=version, MasterUsername="app",
                          MasterUserPassword="correct-horse-battery", DBClusterParameterGroupName=f"{name}-src",
                          BackupRetentionPeriod=7, Tags=opt_in())
    for i in (1, 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{i}", DBClusterIdentifier=name, Engine=engine,
                               DBInstanceClass="db.r6g.large", Tags=opt_in())


@pytest.mark.parametrize("engine,version,target,families,parameters", [
    ("aurora-mysql", "8.0.mysql_aurora.3.08.0", "8.4.7", ("aurora-mysql8.0", "aurora-mysql8.4"),
     [("binlog_format", "ROW")]),
    ("aurora-postgresql", "16.6", "17.4", ("aurora-postgresql16", "aurora-postgresql17"),
     [("rds.logical_replication", "1")]),
])
def test_the_newest_aurora_majors_upgrade_as_majors(stack, engine, version, target, families, parameters):
    rds = stack.client("rds")
    name = "newest-" + engine.split("-")[1]
    seed_cluster(rds, name, engine, version, *families, parameters)
    rc, run, err = stack.execute({"db_identifier": name, "target_engine_version": target,
                                  "target_db_cluster_parameter_group_name": f"{name}-dst",
                                  "action": "upgrade", "soak_hours": 0})
    assert rc == 0, err[-3000:]
    assert run["plan"]["is_major_upgrade"] is True, run["plan"]
    [c] = rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"]
    assert c["EngineVersion"] == target
    assert c["DBClusterParameterGroup"] == f"{name}-dst"

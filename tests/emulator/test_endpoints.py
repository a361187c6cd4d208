"""The endpoints knob (tests/emulator/endpoints.py): an instance's or cluster's endpoint answers
with a local server, green's with a second one, and both follow their database through the
switchover's renames. A TCP listener stands in for each server: what a client connects to is
what DescribeDB* said.

Run: .venv/bin/python -m pytest tests/emulator/test_endpoints.py -q
"""
import socket
import threading

import pytest
from botocore.exceptions import ClientError

from test_launcher import control, endpoint, faults, make_bg, rds  # noqa: F401 (fixtures)


class Listener:
    """Accepts connections on a loopback port and answers each with its name."""

    def __init__(self, name):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.port, self.name = self.sock.getsockname()[1], name.encode()
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.sendall(self.name)

    def close(self):
        self.sock.close()


def reach(address, port):
    with socket.create_connection((address, port), timeout=5) as s:
        return s.recv(64).decode()


@pytest.fixture
def servers():
    blue, green = Listener("blue-server"), Listener("green-server")
    yield blue, green
    blue.close()
    green.close()


def describe_endpoint(rds, name):
    ep = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]["Endpoint"]
    return ep["Address"], ep["Port"]


def test_an_instance_and_its_green_follow_the_switchover(endpoint, rds, servers):
    blue, green = servers
    bg = make_bg(rds, name="bg-ep", source="orders-pg")
    # Mapped after create: the green is found through the deployment either way.
    control(endpoint, "/_emulator/endpoints", {"DBInstanceIdentifier": "orders-pg", "Address": "127.0.0.1",
                                               "Port": blue.port, "IAMDatabaseAuthenticationEnabled": True})
    control(endpoint, "/_emulator/endpoints", {"GreenOf": "orders-pg", "Address": "127.0.0.1", "Port": green.port})
    assert reach(*describe_endpoint(rds, "orders-pg")) == "blue-server"
    assert rds.describe_db_instances(DBInstanceIdentifier="orders-pg")["DBInstances"][0][
        "IAMDatabaseAuthenticationEnabled"] is True
    green_name = bg["Target"].rsplit(":", 1)[-1]
    assert reach(*describe_endpoint(rds, green_name)) == "green-server"
    # An instance nobody mapped keeps moto's made-up address.
    rds.create_db_instance(DBInstanceIdentifier="other", Engine="postgres", DBInstanceClass="db.t3.micro",
                           MasterUsername="a", MasterUserPassword="password123", AllocatedStorage=20)
    assert describe_endpoint(rds, "other")[0].startswith("other.aaaaaaaaaa.")

    rds.switchover_blue_green_deployment(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    rds.describe_blue_green_deployments(BlueGreenDeploymentIdentifier=bg["BlueGreenDeploymentIdentifier"])
    names = {d["DBInstanceIdentifier"] for d in rds.describe_db_instances()["DBInstances"]}
    assert {"orders-pg", "orders-pg-old1"} <= names
    assert reach(*describe_endpoint(rds, "orders-pg")) == "green-server", "production is the former green"
    assert reach(*describe_endpoint(rds, "orders-pg-old1")) == "blue-server", "the old blue keeps its server"
    listed = {m["identifier"]: m["port"] for m in control(endpoint, "/_emulator/endpoints")}
    assert listed == {"orders-pg": green.port, "orders-pg-old1": blue.port}


def test_a_green_mapped_before_create_and_a_cluster(endpoint, rds, servers):
    blue, green = servers
    rds.create_db_instance(DBInstanceIdentifier="early", Engine="postgres", EngineVersion="13.12",
                           DBInstanceClass="db.t3.micro", MasterUsername="a", MasterUserPassword="password123",
                           AllocatedStorage=20)
    control(endpoint, "/_emulator/endpoints", {"GreenOf": "early", "Port": green.port})
    rds.create_db_parameter_group(DBParameterGroupName="pg16e", DBParameterGroupFamily="postgres16",
                                  Description="t")
    arn = rds.describe_db_instances(DBInstanceIdentifier="early")["DBInstances"][0]["DBInstanceArn"]
    bg = rds.create_blue_green_deployment(BlueGreenDeploymentName="bg-early", Source=arn, TargetEngineVersion="16.4",
                                          TargetDBParameterGroupName="pg16e")["BlueGreenDeployment"]
    assert reach(*describe_endpoint(rds, bg["Target"].rsplit(":", 1)[-1])) == "green-server"
    assert describe_endpoint(rds, "early")[0].startswith("early."), "only green was mapped"

    rds.create_db_cluster(DBClusterIdentifier="ledger", Engine="aurora-postgresql", EngineVersion="13.12",
                          MasterUsername="a", MasterUserPassword="password123")
    control(endpoint, "/_emulator/endpoints", {"DBClusterIdentifier": "ledger", "Port": blue.port})
    c = rds.describe_db_clusters(DBClusterIdentifier="ledger")["DBClusters"][0]
    assert reach(c["Endpoint"], c["Port"]) == "blue-server"


def test_bad_mappings_are_refused_and_reset_forgets(endpoint, rds, servers):
    blue, _ = servers
    for body in ({"DBInstanceIdentifier": "nope", "Port": blue.port},
                 {"DBInstanceIdentifier": "x", "GreenOf": "y", "Port": 1},
                 {"DBInstanceIdentifier": "x", "Port": "5432"}):
        with pytest.raises(Exception) as e:
            control(endpoint, "/_emulator/endpoints", body)
        assert "400" in str(e.value)
    make_bg(rds, name="bg-r", source="reset-me")
    control(endpoint, "/_emulator/endpoints", {"DBInstanceIdentifier": "reset-me", "Port": blue.port})
    control(endpoint, "/_emulator/reset", {})
    assert control(endpoint, "/_emulator/endpoints") == []
    with pytest.raises(ClientError):
        rds.describe_db_instances(DBInstanceIdentifier="reset-me")

"""Endpoints of emulated databases mapped to real local servers (tests/db/servers.py), so the
`sql` worker connects exactly as it does in AWS: it asks RDS for the endpoint
(DescribeDBInstances `Endpoint.Address`/`Port`, DescribeDBClusters `Endpoint`/`Port`) and
connects there, with TLS, verifying the server's certificate.

Control API (same port as the emulator):
  POST /_emulator/endpoints {"DBInstanceIdentifier": "orders-pg", "Address": "127.0.0.1", "Port": 54321}
  POST /_emulator/endpoints {"DBClusterIdentifier": "ledger", "Address": ..., "Port": ...}
  POST /_emulator/endpoints {"GreenOf": "orders-pg", "Address": ..., "Port": ...}
       the green of any blue/green deployment whose source is that instance (or cluster), created
       now or later: a second server stands in for green
  POST /_emulator/endpoints {"IAMDatabaseAuthenticationEnabled": true, "DBInstanceIdentifier": ...}
       also sets the instance's IAM database authentication flag (optional key on any of the above)
  GET  /_emulator/endpoints  the mappings: [{"identifier", "kind", "address", "port"}]
A mapping belongs to the database, not to its name: at switchover RDS swaps the names, so after
it `orders-pg` (the former green) answers with green's server and `orders-pg-old1` with blue's,
as the DNS names do on RDS. An unmapped database keeps moto's made-up address, where nothing listens.
`reset()` (POST /_emulator/reset) forgets every mapping.

`install()` patches moto's models once; `control(method, body)` serves the API.
"""

import threading

from moto.rds import models as rm

_lock = threading.RLock()
_mapped = {}  # id(database object) -> (object, address, port)
_green_of = {}  # id(blue object) -> (blue object, address, port)
_installed = False


def reset():
    with _lock:
        _mapped.clear()
        _green_of.clear()


def _backends():
    # dict.items: iterating a BackendDict must not create backends for every account and Region
    for _, regions in dict.items(rm.rds_backends):
        for _, backend in dict.items(regions):
            yield backend


def _find(key, name):
    for backend in _backends():
        found = (backend.clusters if key == "DBClusterIdentifier" else backend.databases).get(name)
        if found is not None:
            return found
    raise KeyError(f"no {'cluster' if key == 'DBClusterIdentifier' else 'instance'} named {name}")


def _greens_of(blue):
    """The green objects of every deployment whose source is `blue` (the pairs the launcher
    keeps, else the deployment's target ARN)."""
    for backend in _backends():
        for bg in list(backend.blue_green_deployments.values()):
            pairs = (getattr(bg, "_emu", None) or {}).get("pairs")
            if pairs:
                for b, g in pairs:
                    if b is blue:
                        yield g
            elif bg.source == blue.arn:
                target = backend.databases.get(bg.target.rsplit(":", 1)[-1]) or \
                    backend.clusters.get(bg.target.rsplit(":", 1)[-1])
                if target is not None:
                    yield target


def lookup(obj):
    """(address, port) for a mapped database object, else None. A green is mapped the first
    time it is looked up, and keeps its mapping through the switchover's renames."""
    with _lock:
        hit = _mapped.get(id(obj))
        if hit and hit[0] is obj:
            return hit[1], hit[2]
        for blue, address, port in list(_green_of.values()):
            if any(g is obj for g in _greens_of(blue)):
                _mapped[id(obj)] = (obj, address, port)
                return address, port
    return None


def control(method, body):
    if method == "GET":
        with _lock:
            return [{"identifier": getattr(o, "db_instance_identifier", None) or getattr(o, "db_cluster_identifier", None),
                     "kind": "cluster" if isinstance(o, rm.DBCluster) else "instance", "address": a, "port": p}
                    for o, a, p in _mapped.values()]
    address, port = body.get("Address", "127.0.0.1"), body.get("Port")
    if not isinstance(port, int) or not 0 < port < 65536:
        raise ValueError(f"Port must be a TCP port, not {port!r}")
    keys = [k for k in ("DBInstanceIdentifier", "DBClusterIdentifier", "GreenOf") if k in body]
    if len(keys) != 1:
        raise ValueError("give exactly one of DBInstanceIdentifier, DBClusterIdentifier, GreenOf")
    key, name = keys[0], body[keys[0]]
    with _lock:
        if key == "GreenOf":
            try:
                blue = _find("DBInstanceIdentifier", name)
            except KeyError:
                blue = _find("DBClusterIdentifier", name)
            _green_of[id(blue)] = (blue, address, port)
            target = blue
        else:
            target = _find(key, name)
            _mapped[id(target)] = (target, address, port)
        if "IAMDatabaseAuthenticationEnabled" in body:
            flag = bool(body["IAMDatabaseAuthenticationEnabled"])
            if isinstance(target, rm.DBCluster):
                target.iam_auth = flag
            else:
                target.enable_iam_database_authentication = flag
    return {"ok": True}


def install():
    """Patches moto's instance and cluster endpoints to answer with the mapped server."""
    global _installed
    if _installed:
        return
    _installed = True
    instance_endpoint = rm.DBInstance.endpoint

    def endpoint(self):
        hit = lookup(self)
        return {"Address": hit[0], "Port": hit[1]} if hit else instance_endpoint.fget(self)

    rm.DBInstance.endpoint = property(endpoint)
    cluster_endpoint = rm.DBCluster.endpoint

    def cluster_address(self):
        hit = lookup(self)
        return hit[0] if hit else cluster_endpoint.fget(self)

    def get_port(self):
        hit = lookup(self)
        return hit[1] if hit else self.__dict__.get("_endpoints_port", self.__dict__.get("port"))

    def set_port(self, value):
        self.__dict__["_endpoints_port"] = value

    rm.DBCluster.endpoint = property(cluster_address)
    rm.DBCluster.port = property(get_port, set_port)

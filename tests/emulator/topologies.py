"""What surrounds a database in a blue/green deployment, modelled after AWS's documents (each with its source
beside the code, a self-test in test_topologies.py and a row in README.md):

  - RDS read replicas: copied as replicas of the green primary at create, switched over with it (each pair
    its own -oldN), listed in SwitchoverDetails, deleted with green by DeleteTarget; the refusals AWS documents
    (cross-Region and cascading replicas; inferred: a source that is itself a replica).
  - RDS Proxy targets (instance and Aurora cluster), following the switchover (knob proxy_after_switchover).
  - Aurora custom endpoints (CreateDBClusterEndpoint & co., moto has none), copied to green and switched over.
  - Aurora Global Database: DescribeGlobalClusters fixes; after a switchover the new production cluster is
    the global database's primary member.
  - Zero-ETL integrations (CreateIntegration, DescribeIntegrations, DeleteIntegration; moto has none) and the
    switchover guardrail against them.

launcher.py calls the hooks below from its blue/green patches (validate_create, after_create, render,
on_switchover, before_switchover / after_switchover, before_delete) and install() once.
"""
import copy
import random
import string
import uuid
from datetime import datetime, timezone

from moto.core.responses import ActionResult
from moto.rds import models as rm
from moto.rds.exceptions import RDSClientError
from moto.rds.responses import RDSResponse

STATE = None  # launcher.STATE, set by install()
_next_old_name = None  # launcher._next_old_name
Task = rm.BlueGreenDeploymentTask
S = rm.BlueGreenDeployment.SupportedStates

KNOBS_INT = {"replica_provisioning_polls"}
KNOBS_FLOAT = {"green_replica_lag_seconds"}
KNOBS_CHOICE = {  # first = default
    "unsupported_replica_error_code": ("SourceDatabaseNotSupportedFault", "InvalidParameterCombination"),
    "read_replica_as_source": ("refused", "accepted"),
    "proxy_after_switchover": ("follows", "stays_on_blue", "unavailable"),
    "global_database_proxy": ("refused", "not_followed"),
    "zero_etl_at_switchover": ("refused", "switchover_failed"),
}


def install(state, next_old_name, int_knobs, float_knobs, choice_knobs):
    global STATE, _next_old_name
    STATE, _next_old_name = state, next_old_name
    int_knobs |= KNOBS_INT
    float_knobs |= KNOBS_FLOAT
    choice_knobs.update(KNOBS_CHOICE)
    _patch_read_replicas()
    _patch_proxies()
    _patch_cluster_endpoints()
    _patch_endpoint_tagging()
    _patch_global_clusters()
    _patch_integrations()


def _store(backend, key):
    """Per-backend registry (gone with the backend when the emulator resets)."""
    return backend.__dict__.setdefault(f"_emu_{key}", {})


def _resolve(backend, arn):
    return rm.find_cluster(arn) if backend._is_cluster(arn) else backend.find_db_from_id(arn)


def _name(db):
    return db.db_cluster_identifier if isinstance(db, rm.DBCluster) else db.db_instance_identifier


def _active_pairs():
    """(blue, green) objects of every deployment not yet switched over."""
    for bg in list(STATE.deployments.values()):
        if bg.status != "SWITCHOVER_COMPLETED":
            yield bg, bg._emu["pairs"]


# ---------------------------------------------------------------- create
def validate_create(backend, kw):
    """What RDS refuses at CreateBlueGreenDeployment for the topology around the source.

    RDS User Guide, [Limitations and considerations for Amazon RDS blue/green deployments]
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-considerations.html),
    general limitations: "Blue/green deployments aren't supported for the following features: ... Cascading
    read replicas, Cross-Region read replicas". The Aurora page says the same of cross-Region read replicas.
    The error code is not documented: knob unsupported_replica_error_code (SourceDatabaseNotSupportedFault,
    the API reference's "The source DB instance isn't supported for a blue/green deployment", or
    InvalidParameterCombination); clusters answer SourceClusterNotSupportedFault in the first case.
    A source that is itself a read replica: not documented either way; inferred refused (its green would be a
    replica of a replica, i.e. cascading), knob read_replica_as_source=accepted builds it as a standalone copy.
    Aurora Global Database with RDS Proxy: "Global Database doesn't support RDS Proxy with Blue/Green
    Deployments" (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/rds-proxy-blue-green.html,
    Limitations); when that is enforced is not said: knob global_database_proxy (refused at create, or
    not_followed: accepted, the proxy stays on the old blue)."""
    name = kw.get("blue_green_deployment_name")
    try:
        src = _resolve(backend, kw.get("source") or "")
    except Exception:
        return  # moto answers its own not-found / invalid-ARN error
    code = STATE.knob(name, "unsupported_replica_error_code", "SourceDatabaseNotSupportedFault")
    if isinstance(src, rm.DBCluster):
        if any(r.split(":")[3] != backend.region_name for r in src.read_replica_identifiers if r.count(":") > 3):
            raise RDSClientError("SourceClusterNotSupportedFault" if code == "SourceDatabaseNotSupportedFault"
                                 else code, f"DB cluster {src.db_cluster_identifier} has cross-Region read "
                                            "replicas, which blue/green deployments don't support.")
        if src.global_cluster_identifier and _proxy_registrations(backend, src) and \
                STATE.knob(name, "global_database_proxy", "refused") == "refused":
            raise RDSClientError("SourceClusterNotSupportedFault",
                                 f"DB cluster {src.db_cluster_identifier} is part of a global database and a "
                                 "target of an RDS Proxy: Global Database doesn't support RDS Proxy with "
                                 "blue/green deployments.")
        return
    ident = src.db_instance_identifier
    if (src.is_replica or src.source_db_instance_identifier) and \
            STATE.knob(name, "read_replica_as_source", "refused") == "refused":
        raise RDSClientError(code, f"DB instance {ident} is a read replica. Create the blue/green deployment "
                                   "from its source DB instance.")
    for rep in src.replicas:
        if rep.startswith("arn:"):
            raise RDSClientError(code, f"DB instance {ident} has a cross-Region read replica ({rep}), which "
                                       "blue/green deployments don't support.")
        inner = backend.databases.get(rep)
        if inner is not None and inner.replicas:
            raise RDSClientError(code, f"DB instance {ident} has cascading read replicas ({rep} -> "
                                       f"{', '.join(inner.replicas)}), which blue/green deployments don't support.")


def after_create(backend, bg, blue, green, kw):
    """Copy the source's topology to green.

    RDS User Guide, [Creating a blue/green deployment]
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-creating.html): "If the blue
    DB instance has read replicas, they are copied as replicas of the green instance. The allocated storage of
    all green replicas matches the green primary instance, while other storage parameters are inherited from
    the blue replicas." Named REPLICA-green-xxxxxx, each with its own suffix, and the task
    CREATING_TOPOLOGY_OF_SOURCE is listed: AWS CLI reference, describe-blue-green-deployments, Example 1.
    The instance class is the blue replica's, whatever TargetDBInstanceClass says: "You can only upgrade the DB
    instance class of the primary green DB instance ... you must manually modify the DB instance class of the
    read replicas in the green environment" (RDS User Guide, Creating a blue/green deployment, "Specifying
    changes when creating a blue/green deployment",
    https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-creating.html). Inferred: the
    parameter group and version are green's ("The target parameter group applies to every green instance").
    Aurora: custom endpoints are copied as ENDPOINT-green-xxxxxx on the green cluster with the green
    counterparts of their members, listed in SwitchoverDetails, task CREATE_CUSTOM_ENDPOINTS; the Aurora task
    list is CREATING_READ_REPLICA_OF_SOURCE, [DB_ENGINE_VERSION_UPGRADE], CREATE_DB_INSTANCES_FOR_CLUSTER,
    [CREATE_CUSTOM_ENDPOINTS] (same CLI reference, Example 2)."""
    rt = bg._emu
    rt["replica_pairs"], rt["extra_pairs"] = [], []
    if isinstance(blue, rm.DBCluster):
        bg.tasks = [Task("CREATE_DB_INSTANCES_FOR_CLUSTER", t.Status) if t.Name == "CONFIGURE_BACKUPS" else t
                    for t in bg.tasks]
        counterpart = {id(b): g for b, g in rt["pairs"]}
        for ep in [e for e in _endpoints(backend).values() if e.cluster is blue]:
            gid = bg._generate_green_id(ep.identifier)
            # each green resource gets its blue's tags (RDS/Aurora User Guide, considerations)
            green_ep = ClusterEndpoint(backend, green, gid, ep.custom_endpoint_type,
                                       [counterpart[id(m)] for m in ep.static if id(m) in counterpart],
                                       [counterpart[id(m)] for m in ep.excluded if id(m) in counterpart],
                                       copy.deepcopy(ep.tags))
            _endpoints(backend)[gid] = green_ep
            rt["extra_pairs"].append((ep, green_ep))
        if rt["extra_pairs"]:
            bg.tasks.append(Task("CREATE_CUSTOM_ENDPOINTS", "COMPLETED"))
    else:
        green.source_db_instance_identifier, green.is_replica = None, False  # read_replica_as_source=accepted
        for rname in list(blue.replicas):
            rep = backend.databases[rname]
            gid = bg._generate_green_id(rname)
            new = backend.create_db_instance_read_replica(
                {"db_instance_identifier": gid, "source_db_instance_identifier": green.db_instance_identifier})
            new.db_instance_class = rep.db_instance_class  # never TargetDBInstanceClass: primary only (above)
            new.multi_az, new.availability_zone = rep.multi_az, rep.availability_zone
            new.storage_type, new.iops = rep.storage_type, rep.iops
            new.storage_throughput = rep.storage_throughput
            new.allocated_storage = green.allocated_storage  # "matches the green primary instance"
            new._max_allocated_storage = max(rep._max_allocated_storage, new.allocated_storage)
            rt["replica_pairs"].append((rep, new))
        rt["pairs"] += rt["replica_pairs"]
        if rt["replica_pairs"]:
            bg.tasks.append(Task("CREATING_TOPOLOGY_OF_SOURCE", "COMPLETED"))
    rt["original_arns"] = [(b.arn, g.arn) for b, g in rt["pairs"] + rt["extra_pairs"]]


def render(bg, k):
    """Knob replica_provisioning_polls N (inferred: AWS builds green's topology after its primary): during the
    N polls after provisioning_polls the deployment is still PROVISIONING, CREATING_TOPOLOGY_OF_SOURCE is
    IN_PROGRESS (the other tasks COMPLETED), the primary pair's SwitchoverDetails entry is AVAILABLE, each
    replica pair's PROVISIONING and each green replica reports DBInstanceStatus `creating`."""
    rt = bg._emu
    reps = [g for _, g in rt.get("replica_pairs", [])]
    r, n = rt["knobs"].get("replica_provisioning_polls", 0), rt["knobs"]["provisioning_polls"]
    if not reps or not r:
        return
    if bg.status == "AVAILABLE" and n < k <= n + r:
        bg.set_status(S.PROVISIONING)
        bg.switchover_details[0].Status = "AVAILABLE"
        bg.tasks = [Task(t.Name, "IN_PROGRESS" if t.Name == "CREATING_TOPOLOGY_OF_SOURCE" else "COMPLETED")
                    for t in bg.tasks]
        for g in reps:
            g.status = "creating"
    else:
        for g in reps:
            if g.status == "creating":
                g.status = "available"


# ---------------------------------------------------------------- switchover
def on_switchover(backend, bg):
    """At SwitchoverBlueGreenDeployment. Zero-ETL: "During switchover, the blue and green environments can't
    have zero-ETL integrations with Amazon Redshift. You must delete the integration first and switch over,
    then recreate the integration." (RDS and Aurora limitations pages, general limitations). How RDS says no
    is not documented: knob zero_etl_at_switchover, `refused` (InvalidBlueGreenDeploymentStateFault, the only
    state fault of the operation) or `switchover_failed` (accepted, then SWITCHOVER_FAILED, rolled back, as a
    failed guardrail). Also reads knob proxy_after_switchover for after_switchover."""
    rt, name = bg._emu, bg.blue_green_deployment_name
    rt["proxy_mode"] = STATE.knob(name, "proxy_after_switchover", "follows")
    arns = {db.arn for pair in rt["pairs"] for db in pair}
    found = [i for i in _integrations(backend).values() if i.source_arn in arns]
    if not found:
        return
    text = (f"Switchover isn't possible while zero-ETL integrations use the blue or green environment "
            f"({', '.join(i.integration_name for i in found)}). Delete them, switch over, then recreate them.")
    if STATE.knob(name, "zero_etl_at_switchover", "refused") == "refused":
        raise RDSClientError("InvalidBlueGreenDeploymentStateFault", text)
    rt["sw_fail"], rt["sw_fail_text"] = True, "Switchover failed: " + text + " All changes were rolled back."


def before_switchover(bg):
    """Every instance's name before the renames (replica links are kept by name in moto)."""
    return {id(db): (db, db.db_instance_identifier) for db in bg.backend.databases.values()}


def after_switchover(bg, before):
    """After the renames of launcher._switchover.

    Read replicas: "When the green DB instance has read replicas, they are also promoted" (switching page, as
    archived in awsdocs/amazon-rds-user-guide; now "also transitioned"); the overview's example: "The green
    environment read replica named mydb2-green-abc123 becomes the production read replica mydb2 ... The blue
    environment read replica named mydb2 becomes mydb2-old1"
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-overview.html). moto keeps
    replica links by name: they are carried over to the new names, so production's replicas replicate from
    the new production primary and the old ones from the old primary.
    Custom endpoints: renamed like the clusters (AWS CLI reference, describe-blue-green-deployments Example 3:
    `cluster-endpoint:my-reader-endpoint-old1` / `cluster-endpoint:my-reader-endpoint`); their members are kept
    by object, so production's endpoint lists the former green instances, now named like the blue ones.
    RDS Proxy: "RDS Proxy ... automatically redirecting connections to the Green environment once it becomes
    the active production environment"; "Proxy APIs such as describe-db-proxy-targets reflect updated targets
    only after switchover is fully complete" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-proxy-blue-green.html).
    Knob proxy_after_switchover: follows (default), stays_on_blue, unavailable (follows, UNAVAILABLE).
    Global Database: "This operation transitions your primary and all secondary regions to the green
    environment ... The service automatically renames clusters, instances, and endpoints"
    (https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/aurora-global-database-bluegreen.html);
    inferred: the new production cluster replaces the old blue as the global database's primary member."""
    backend, rt = bg.backend, bg._emu
    renames = {old: db.db_instance_identifier for db, old in before.values() if db.db_instance_identifier != old}
    for db in list(backend.databases.values()):
        if db.source_db_instance_identifier in renames:
            db.source_db_instance_identifier = renames[db.source_db_instance_identifier]
        db.replicas = [renames.get(r, r) for r in db.replicas]
    eps = _endpoints(backend)
    olds = []
    for blue_ep, _ in rt.get("extra_pairs", []):
        olds.append(blue_ep.identifier)
        _rename_endpoint(eps, blue_ep, _next_old_name(blue_ep.identifier, eps))
    for (_, green_ep), old in zip(rt.get("extra_pairs", []), olds):
        _rename_endpoint(eps, green_ep, old)
    blue, green = rt["pairs"][0]
    mode = rt.get("proxy_mode", "follows")
    if isinstance(blue, rm.DBCluster) and blue.global_cluster_identifier:
        if STATE.knob(bg.blue_green_deployment_name, "global_database_proxy", "refused") == "not_followed":
            mode = "stays_on_blue"
        _swap_global_primary(backend, blue, green)
    for reg in _proxy_registrations(backend, blue):
        if mode != "stays_on_blue":
            reg.db, reg.unavailable = green, mode == "unavailable"


def before_delete(backend, bg, delete_target):
    """DeleteBlueGreenDeployment with DeleteTarget before switchover: "Specifies that the DB instances in the
    green environment are deleted" (RDS User Guide, Deleting a blue/green deployment) — green's read replicas
    and custom endpoints too (moto deletes only green's primary or cluster)."""
    rt = getattr(bg, "_emu", None)
    if not (rt and delete_target and bg.status != "SWITCHOVER_COMPLETED"):
        return
    for _, g in rt.get("replica_pairs", []):
        if backend.databases.get(g.db_instance_identifier) is g:
            backend.delete_db_instance(g.db_instance_identifier)
    eps = _endpoints(backend)
    for _, g in rt.get("extra_pairs", []):
        if eps.get(g.identifier) is g:
            del eps[g.identifier]


# ---------------------------------------------------------------- read replicas (moto fixes)
def _patch_read_replicas():
    """moto copies the primary object for a read replica: same DbiResourceId ("an AWS Region-unique, immutable
    identifier", overview page, Considerations) and shared lists. Each replica gets its own; its tags are the
    request's `Tags` (API reference, CreateDBInstanceReadReplica: tags are a parameter of the new instance;
    moto gave it the primary's)."""
    orig = rm.RDSBackend.create_db_instance_read_replica

    def create_db_instance_read_replica(self, db_kwargs):
        replica = orig(self, db_kwargs)
        replica.dbi_resource_id = "db-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=26))
        for attr in ("vpc_security_group_ids", "db_security_groups", "enabled_cloudwatch_logs_exports"):
            if isinstance(getattr(replica, attr, None), list):
                setattr(replica, attr, list(getattr(replica, attr)))
        replica.tags = list(db_kwargs.get("tags") or [])  # the setter makes plain {Key, Value}
        return replica

    rm.RDSBackend.create_db_instance_read_replica = create_db_instance_read_replica


# ---------------------------------------------------------------- RDS Proxy
class ProxyTarget:
    """A DBProxyTarget that follows its database object (moto stores names and no endpoint). Shapes: API
    reference, DBProxyTarget; AWS CLI reference examples of register-db-proxy-targets (a cluster gives a
    TRACKED_CLUSTER target and an RDS_INSTANCE target per member) and describe-db-proxy-targets (an instance
    target: Endpoint, TrackedClusterId, RdsResourceId = instance identifier, Port, Type, Role READ_WRITE)."""

    def __init__(self, db, kind, tracked=None):
        self.db, self.type, self.tracked = db, kind, tracked
        self.unavailable = False
        self._seen = False
        self.members = {}  # TRACKED_CLUSTER only: id(instance) -> ProxyTarget

    @property
    def rds_resource_id(self):
        return _name(self.db)

    @property
    def target_arn(self):
        return self.db.arn

    @property
    def endpoint(self):
        return None if self.type == "TRACKED_CLUSTER" else self.db.address

    @property
    def tracked_cluster_id(self):
        cluster = self.db if self.type == "TRACKED_CLUSTER" else self.tracked
        return cluster.db_cluster_identifier if cluster is not None else None

    @property
    def port(self):
        return self.db.port

    @property
    def role(self):
        if self.type == "TRACKED_CLUSTER":
            return None
        return "READ_WRITE" if getattr(self.db, "is_cluster_writer", True) else "READ_ONLY"

    @property
    def target_health(self):
        """API reference, TargetHealth.State: "registering > unavailable > available > unavailable > available";
        moto: REGISTERING in the register answer, AVAILABLE after. UNAVAILABLE with knob
        proxy_after_switchover=unavailable (Reason CONNECTION_FAILED, inferred)."""
        if not self._seen:
            self._seen = True
            return {"State": "REGISTERING"}
        if self.unavailable or (self.tracked is not None and self.tracked_reg.unavailable):
            return {"State": "UNAVAILABLE", "Reason": "CONNECTION_FAILED",
                    "Description": "DBProxy Target unreachable after the blue/green switchover"}
        return {"State": "AVAILABLE"}

    def expand(self):
        if self.type != "TRACKED_CLUSTER":
            return [self]
        out = [self]
        for m in self.db.members:
            t = self.members.setdefault(id(m), ProxyTarget(m, "RDS_INSTANCE", tracked=self.db))
            t.db, t.tracked, t.tracked_reg = m, self.db, self
            out.append(t)
        return out


def _proxy_registrations(backend, db):
    return [t for p in backend.db_proxies.values() for tg in p.proxy_target_groups.values()
            for t in tg.targets if isinstance(t, ProxyTarget) and t.db is db]


def _patch_proxies():
    B = rm.RDSBackend

    def proxy(self, name):
        if name not in self.db_proxies:
            raise RDSClientError("DBProxyNotFoundFault", f"The specified proxy name {name} must be valid.")
        return self.db_proxies[name]

    def register_db_proxy_targets(self, db_proxy_name, target_group_name, db_cluster_identifiers,
                                  db_instance_identifiers):
        """Validates the targets (DBClusterNotFoundFault, DBInstanceNotFoundFault,
        DBProxyTargetAlreadyRegisteredFault: errors of RegisterDBProxyTargets) and refuses a database of a
        blue/green deployment: "Your blue instance must already be a target of the proxy before creating the
        blue/green deployment. You can't add the instance to RDS Proxy after creating the blue/green deployment
        for it." (rds-proxy-blue-green page, Limitations; the code InvalidDBInstanceStateFault /
        InvalidDBClusterStateFault is inferred from the operation's error list)."""
        with STATE.lock:
            return register(self, db_proxy_name, target_group_name, db_cluster_identifiers, db_instance_identifiers)

    def register(self, db_proxy_name, target_group_name, db_cluster_identifiers, db_instance_identifiers):
        tg = proxy(self, db_proxy_name).proxy_target_groups[target_group_name or "default"]
        new = []
        for kind, ids, table, missing, state_fault in (
                ("TRACKED_CLUSTER", db_cluster_identifiers, self.clusters, "DBClusterNotFoundFault",
                 "InvalidDBClusterStateFault"),
                ("RDS_INSTANCE", db_instance_identifiers, self.databases, "DBInstanceNotFound",
                 "InvalidDBInstanceState")):
            for ident in ids or []:
                db = table.get(ident)
                if db is None:
                    raise RDSClientError(missing, f"{ident} not found.")
                if any(isinstance(t, ProxyTarget) and t.db is db for t in tg.targets):
                    raise RDSClientError("DBProxyTargetAlreadyRegisteredFault", f"{ident} is already registered.")
                for bg, pairs in _active_pairs():
                    if any(db is x for pair in pairs for x in pair):
                        raise RDSClientError(state_fault, f"{ident} is part of blue/green deployment "
                                                          f"{bg.blue_green_deployment_identifier}: register "
                                                          "proxy targets before creating the deployment.")
                new.append(ProxyTarget(db, kind))
        tg.targets.extend(new)
        return [x for t in new for x in t.expand()]

    def describe_db_proxy_targets(self, proxy_name):
        tg = proxy(self, proxy_name).proxy_target_groups["default"]
        return [x for t in tg.targets for x in (t.expand() if isinstance(t, ProxyTarget) else [t])]

    orig_deregister = B.deregister_db_proxy_targets

    def deregister_db_proxy_targets(self, db_proxy_name, *a, **kw):
        proxy(self, db_proxy_name)
        return orig_deregister(self, db_proxy_name, *a, **kw)

    B.register_db_proxy_targets = register_db_proxy_targets
    B.describe_db_proxy_targets = describe_db_proxy_targets
    B.deregister_db_proxy_targets = deregister_db_proxy_targets


# ---------------------------------------------------------------- Aurora custom endpoints
class ClusterEndpoint:
    """A custom endpoint (API reference, DBClusterEndpoint). Members are kept by object, so renames follow."""

    def __init__(self, backend, cluster, identifier, custom_type, static, excluded, tags=None):
        self.backend, self.cluster, self.identifier = backend, cluster, identifier.lower()
        self.custom_endpoint_type, self.static, self.excluded = custom_type, list(static), list(excluded)
        self.resource_id = "cluster-endpoint-" + "".join(random.choices(string.ascii_uppercase + string.digits,
                                                                        k=20))
        self.tags = tags or []
        self.deletion_protection = False
        self._new = True

    @property
    def arn(self):
        b = self.backend
        return f"arn:{b.partition}:rds:{b.region_name}:{b.account_id}:cluster-endpoint:{self.identifier}"

    # Tags, as for any RDS resource (ListTagsForResource / AddTagsToResource / RemoveTagsFromResource
    # with the endpoint's ARN; moto answers [] for cluster-endpoint ARNs)
    def get_tags(self):
        return self.tags

    def add_tags(self, tags):
        keys = {t["Key"] for t in tags}
        self.tags = [t for t in self.tags if t["Key"] not in keys] + list(tags)
        return self.tags

    def remove_tags(self, keys):
        self.tags = [t for t in self.tags if t["Key"] not in keys]

    @property
    def address(self):
        # RDS: NAME.cluster-custom-HASH.REGION.rds.amazonaws.com (Aurora User Guide, Custom endpoints)
        return f"{self.identifier}.cluster-custom-{self.cluster.url_identifier}.{self.backend.region_name}" \
               ".rds.amazonaws.com"

    def live(self, members):
        return [m.db_instance_identifier for m in members if self.backend.databases.get(m.db_instance_identifier)
                is m]

    def render(self):
        status = "creating" if self._new else "available"
        self._new = False
        return {"DBClusterEndpointIdentifier": self.identifier,
                "DBClusterIdentifier": self.cluster.db_cluster_identifier,
                "DBClusterEndpointResourceIdentifier": self.resource_id, "Endpoint": self.address,
                "Status": status, "EndpointType": "CUSTOM", "CustomEndpointType": self.custom_endpoint_type,
                "StaticMembers": self.live(self.static), "ExcludedMembers": self.live(self.excluded),
                "DBClusterEndpointArn": self.arn}


def _patch_endpoint_tagging():
    orig = rm.RDSBackend._get_resource_for_tagging

    def get_resource_for_tagging(self, arn):
        if ":cluster-endpoint:" in arn:
            return _endpoints(self).get(arn.rsplit(":", 1)[-1].lower())
        return orig(self, arn)

    rm.RDSBackend._get_resource_for_tagging = get_resource_for_tagging


def _endpoints(backend):
    eps = _store(backend, "cluster_endpoints")
    for ident in [i for i, e in eps.items() if backend.clusters.get(e.cluster.db_cluster_identifier) is not e.cluster]:
        del eps[ident]  # the cluster was deleted
    return eps


def _rename_endpoint(eps, ep, new):
    eps.pop(ep.identifier, None)
    ep.identifier = new
    eps[new] = ep


def _page(items, params, key):
    """MaxRecords (20..100, default 100) and Marker, as the API reference documents for these actions."""
    size = int(params.get("MaxRecords") or 100)
    if not 20 <= size <= 100:
        raise RDSClientError("InvalidParameterValue", f"Invalid value {size} for MaxRecords: must be between "
                                                      "20 and 100.")
    start = int(params.get("Marker") or 0)
    out = {key: items[start:start + size]}
    if start + size < len(items):
        out["Marker"] = str(start + size)
    return out


def _patch_cluster_endpoints():
    """CreateDBClusterEndpoint, DescribeDBClusterEndpoints, ModifyDBClusterEndpoint, DeleteDBClusterEndpoint
    (moto 5.2.1: not implemented). Shapes and errors: botocore rds service-2.json; the writer and reader
    endpoints are listed too (AWS CLI reference, describe-db-cluster-endpoints example: DBClusterIdentifier,
    Endpoint, Status, EndpointType WRITER / READER). DBCluster.CustomEndpoints lists the custom addresses."""

    def cluster(backend, ident):
        c = backend.clusters.get((ident or "").lower())
        if c is None:
            raise RDSClientError("DBClusterNotFoundFault", f"DBCluster {ident} not found.")
        return c

    def members(backend, c, ids):
        out = []
        for i in ids or []:
            db = backend.databases.get(i)
            if db is None or db not in c.members:
                raise RDSClientError("DBInstanceNotFound", f"DBInstance {i} not found in DB cluster "
                                                                f"{c.db_cluster_identifier}.")
            out.append(db)
        return out

    def endpoint(backend, ident):
        ep = _endpoints(backend).get((ident or "").lower())
        if ep is None:
            raise RDSClientError("DBClusterEndpointNotFoundFault", f"DBClusterEndpoint {ident} not found.")
        return ep

    def kind(value):
        if value not in ("READER", "WRITER", "ANY"):
            raise RDSClientError("InvalidParameterValue", f"Invalid endpoint type {value}: READER, WRITER or ANY.")
        return value

    def create_db_cluster_endpoint(self):
        p, backend = self.params, self.backend
        with STATE.lock:
            c = cluster(backend, p.get("DBClusterIdentifier"))
            ident = (p.get("DBClusterEndpointIdentifier") or "").lower()
            eps = _endpoints(backend)
            if ident in eps:
                raise RDSClientError("DBClusterEndpointAlreadyExistsFault", f"DBClusterEndpoint {ident} exists.")
            ep = ClusterEndpoint(backend, c, ident, kind(p.get("EndpointType")),
                                 members(backend, c, p.get("StaticMembers")),
                                 members(backend, c, p.get("ExcludedMembers")), p.get("Tags"))
            eps[ident] = ep
            return ActionResult(ep.render())

    def describe_db_cluster_endpoints(self):
        p, backend = self.params, self.backend
        with STATE.lock:
            clusters = [cluster(backend, p["DBClusterIdentifier"])] if p.get("DBClusterIdentifier") else \
                list(backend.clusters.values())
            rows = []
            for c in clusters:
                rows += [{"DBClusterIdentifier": c.db_cluster_identifier, "Endpoint": c.endpoint,
                          "Status": "available", "EndpointType": "WRITER"},
                         {"DBClusterIdentifier": c.db_cluster_identifier, "Endpoint": c.reader_endpoint,
                          "Status": "available", "EndpointType": "READER"}]
                rows += [e.render() for e in _endpoints(backend).values() if e.cluster is c]
            want = (p.get("DBClusterEndpointIdentifier") or "").lower()
            if want:
                rows = [r for r in rows if r.get("DBClusterEndpointIdentifier") == want]
            # API reference, Filters: db-cluster-endpoint-type (reader, writer, custom),
            # db-cluster-endpoint-custom-type (reader, any), db-cluster-endpoint-id, db-cluster-endpoint-status
            fields = {"db-cluster-endpoint-type": "EndpointType", "db-cluster-endpoint-custom-type":
                      "CustomEndpointType", "db-cluster-endpoint-id": "DBClusterEndpointIdentifier",
                      "db-cluster-endpoint-status": "Status"}
            for f in p.get("Filters", []):
                if f["Name"] not in fields:
                    raise RDSClientError("InvalidParameterValue", f"Unrecognized filter name: {f['Name']}")
                values = {v.lower() for v in f["Values"]}
                rows = [r for r in rows if str(r.get(fields[f["Name"]], "")).lower() in values]
            return ActionResult(_page(rows, p, "DBClusterEndpoints"))

    def modify_db_cluster_endpoint(self):
        p, backend = self.params, self.backend
        with STATE.lock:
            ep = endpoint(backend, p.get("DBClusterEndpointIdentifier"))
            if p.get("EndpointType"):
                ep.custom_endpoint_type = kind(p["EndpointType"])
            if "StaticMembers" in p:
                ep.static = members(backend, ep.cluster, p["StaticMembers"])
            if "ExcludedMembers" in p:
                ep.excluded = members(backend, ep.cluster, p["ExcludedMembers"])
            return ActionResult(ep.render())

    def delete_db_cluster_endpoint(self):
        p, backend = self.params, self.backend
        with STATE.lock:
            ep = endpoint(backend, p.get("DBClusterEndpointIdentifier"))
            del _endpoints(backend)[ep.identifier]
            out = ep.render()
            out["Status"] = "deleting"
            return ActionResult(out)

    RDSResponse.create_db_cluster_endpoint = create_db_cluster_endpoint
    RDSResponse.describe_db_cluster_endpoints = describe_db_cluster_endpoints
    RDSResponse.modify_db_cluster_endpoint = modify_db_cluster_endpoint
    RDSResponse.delete_db_cluster_endpoint = delete_db_cluster_endpoint
    rm.DBCluster.custom_endpoints = property(
        lambda self: [e.address for e in _endpoints(self.backend).values() if e.cluster is self])


# ---------------------------------------------------------------- Aurora Global Database
def _global_clusters(backend):
    return rm.rds_backends[backend.account_id]["us-east-1"].global_clusters  # where moto keeps them


def _swap_global_primary(backend, blue, green):
    gc = _global_clusters(backend).get(blue.global_cluster_identifier)
    if gc is None:
        return
    gc.members = [green if m is blue else m for m in gc.members]
    green.global_cluster_identifier, green.is_writer = gc.global_cluster_identifier, blue.is_writer
    blue.global_cluster_identifier, blue.is_writer = None, False


def _patch_global_clusters():
    """Fixes to moto's global clusters. CreateGlobalCluster with SourceDBClusterIdentifier: moto records the
    source as a reader (IsWriter false) and sets its GlobalClusterIdentifier to the global cluster's ARN; the
    existing cluster becomes the primary ("IsWriter: Indicates whether the Aurora DB cluster is the primary
    cluster (that is, has read-write capability)", API reference GlobalClusterMember) and DBCluster.
    GlobalClusterIdentifier "Contains a user-supplied global database cluster identifier".
    DescribeGlobalClusters: moto ignores GlobalClusterIdentifier (and answers no GlobalClusterNotFoundFault)."""
    B = rm.RDSBackend
    orig_create = B.create_global_cluster

    def create_global_cluster(self, global_cluster_identifier, source_db_cluster_identifier, *a, **kw):
        gc = orig_create(self, global_cluster_identifier, source_db_cluster_identifier, *a, **kw)
        for m in gc.members:
            m.global_cluster_identifier, m.is_writer = gc.global_cluster_identifier, True
        return gc

    def describe_global_clusters(self):
        p = self.params
        found = list(self.global_backend.describe_global_clusters())
        if p.get("GlobalClusterIdentifier"):
            found = [g for g in found if g.global_cluster_identifier == p["GlobalClusterIdentifier"].lower()]
            if not found:
                raise RDSClientError("GlobalClusterNotFoundFault",
                                     f"Global cluster {p['GlobalClusterIdentifier']} not found.")
        return ActionResult(_page(found, p, "GlobalClusters"))

    B.create_global_cluster = create_global_cluster
    RDSResponse.describe_global_clusters = describe_global_clusters


# ---------------------------------------------------------------- zero-ETL integrations
class Integration:
    def __init__(self, backend, p):
        self.integration_id = str(uuid.uuid4())
        self.source_arn, self.target_arn = p["SourceArn"], p["TargetArn"]
        self.integration_name = p["IntegrationName"]
        self.arn = f"arn:{backend.partition}:rds:{backend.region_name}:{backend.account_id}:integration:" \
                   f"{self.integration_id}"
        self.extra = {k: p[k] for k in ("KMSKeyId", "AdditionalEncryptionContext", "DataFilter", "Description")
                      if p.get(k)}
        self.tags = p.get("Tags") or []
        self.create_time = datetime.now(timezone.utc)
        self.status = "creating"

    def render(self, status=None):
        out = {"SourceArn": self.source_arn, "TargetArn": self.target_arn, "IntegrationName": self.integration_name,
               "IntegrationArn": self.arn, "Status": status or self.status, "Tags": self.tags,
               "CreateTime": self.create_time, "Errors": [], **self.extra}
        self.status = "active"
        return out


def _integrations(backend):
    return _store(backend, "integrations")


def _patch_integrations():
    """CreateIntegration, DescribeIntegrations, DeleteIntegration (zero-ETL with Amazon Redshift; moto 5.2.1:
    not implemented). Shapes and errors: botocore rds service-2.json (IntegrationName 1-63,
    [a-zA-Z](?:-?[a-zA-Z0-9]+)*; IntegrationArn arn:...:integration:UUID; Status creating, active, ...).
    The create answer says `creating`, later answers `active` (inferred). Filters: the API reference names
    none; they are ignored."""
    import re

    def find(backend, ident):
        for i in _integrations(backend).values():
            if ident in (i.arn, i.integration_id, i.integration_name):
                return i
        raise RDSClientError("IntegrationNotFoundFault", f"Integration {ident} not found.")

    def create_integration(self):
        p, backend = self.params, self.backend
        with STATE.lock:
            name = p.get("IntegrationName") or ""
            if not (1 <= len(name) <= 63 and re.fullmatch(r"[a-zA-Z](?:-?[a-zA-Z0-9]+)*", name)):
                raise RDSClientError("InvalidParameterValue", f"Invalid IntegrationName {name!r}.")
            if any(i.integration_name == name for i in _integrations(backend).values()):
                raise RDSClientError("IntegrationAlreadyExistsFault", f"Integration {name} already exists.")
            src = p.get("SourceArn") or ""
            try:
                _resolve(backend, src)
            except Exception:
                code = "DBClusterNotFoundFault" if ":cluster:" in src else "DBInstanceNotFound"
                raise RDSClientError(code, f"Source {src} not found.")
            i = Integration(backend, p)
            _integrations(backend)[i.integration_id] = i
            return ActionResult(i.render())

    def describe_integrations(self):
        p, backend = self.params, self.backend
        with STATE.lock:
            items = [find(backend, p["IntegrationIdentifier"])] if p.get("IntegrationIdentifier") else \
                list(_integrations(backend).values())
            out = _page(items, p, "Integrations")
            out["Integrations"] = [i.render() for i in out["Integrations"]]
            return ActionResult(out)

    def delete_integration(self):
        p, backend = self.params, self.backend
        with STATE.lock:
            i = find(backend, p.get("IntegrationIdentifier"))
            del _integrations(backend)[i.integration_id]
            return ActionResult(i.render("deleting"))

    RDSResponse.create_integration = create_integration
    RDSResponse.describe_integrations = describe_integrations
    RDSResponse.delete_integration = delete_integration


__all__ = ["install", "validate_create", "after_create", "render", "on_switchover", "before_switchover",
           "after_switchover", "before_delete"]

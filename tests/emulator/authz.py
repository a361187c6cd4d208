"""IAM authorization in the emulator, as AWS evaluates it, for requests signed with credentials
that the emulator issued to an IAM role (a function's execution role, a state machine's role,
an EventBridge rule's or a schedule's target role).

Requests signed with any other credentials (the harness's, `rbg`'s: "testing") are the
account's root, as before: allowed. moto's own IAM check is not used (it knows actions only).

For each request of a role session:
  1. the operation's IAM action(s) and the resource ARN(s) the Service Authorization Reference
     (SAR) names for it, built from the request's parameters and, where AWS would know it, from
     the account's state (OPERATIONS below; `parliament`'s copy of the SAR checks in the
     self-tests that every resource type built is one the SAR lists for the action);
  2. the request context: aws:ResourceTag/* (the resource's tags at the time of the call),
     aws:RequestTag/* and aws:TagKeys (tags in the request), the service keys the template
     uses (cloudwatch:namespace, iam:PassedToService, kms:ViaService, kms:CallerAccount,
     rds:*-tag/*), aws:PrincipalArn/Account;
  3. the role's identity policies (inline and attached) evaluated by iam_policy.py, explicit
     deny first; the KMS key policy for KMS keys (IAM counts only when the key policy lets it)
     and the SNS topic policy for topics (same account: either one suffices);
  4. the actions RDS checks on the caller's behalf (DEPENDENT below, from the RDS and Aurora
     user guides) for CreateBlueGreenDeployment, SwitchoverBlueGreenDeployment and
     DeleteBlueGreenDeployment, on the resources it creates, renames, promotes or deletes, and
     the KMS and iam:PassRole checks of an encrypted or monitored source; SNS's KMS check on an
     encrypted topic; Secrets Manager's on a secret with a customer-managed key.
A denial answers as AWS does: AccessDenied (AccessDeniedException in the JSON protocols),
HTTP 403, "User: arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION is not authorized to perform:
ACTION on resource: ARN because no identity-based policy allows the ACTION action" (or "with an
explicit deny in an identity-based policy").

Not modelled (tests/emulator/README.md): service control policies, permission boundaries,
session policies, resource policies other than KMS key policies, SNS topic policies and role
trust policies, VPC endpoint policies, signature verification, credential expiry.
"""

import json
import re
import threading
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote

import iam_policy

# IAM service prefix of each SigV4 signing name (the credential scope's service).
PREFIX = {"monitoring": "cloudwatch", "states": "states", "rds": "rds", "sns": "sns", "lambda": "lambda",
          "secretsmanager": "secretsmanager", "kms": "kms", "dms": "dms", "sts": "sts", "events": "events",
          "scheduler": "scheduler", "logs": "logs", "s3": "s3", "iam": "iam", "sqs": "sqs",
          "cloudformation": "cloudformation", "ec2": "ec2",
          "application-autoscaling": "application-autoscaling"}

# Where AWS does not document on which resources RDS checks the actions it performs on the
# caller's behalf: "per_member" (each resource it creates, renames, promotes or deletes, with
# that resource's own tags: instances, replicas, cluster members, custom endpoints) or
# "primary_only" (only the deployment's source and target, the instance or the cluster).
MEMBER_AUTHORIZATION = ("per_member", "primary_only")


@dataclass
class Session:
    access_key_id: str
    role_arn: str
    session_name: str
    account: str
    partition: str = "aws"
    service: str | None = None  # the service principal that assumed it (lambda.amazonaws.com, ...)

    @property
    def arn(self):
        return f"arn:{self.partition}:sts::{self.account}:assumed-role/{self.role_arn.rsplit('/', 1)[-1]}/{self.session_name}"

    @property
    def principal(self):
        return iam_policy.Principal(arn=self.arn, account=self.account, role_arn=self.role_arn)


@dataclass
class Check:
    """One authorization AWS makes for a request: an action on a resource, with its context."""
    action: str
    resource: str
    context: dict = field(default_factory=dict)
    # "identity" | "kms" (the key policy decides, IAM if it lets it) | "topic" (either suffices)
    kind: str = "identity"
    resource_policy: dict | None = None
    why: str = ""  # for a dependent check: which operation needs it


class Denied(Exception):
    def __init__(self, session, check, decision):
        self.session, self.check, self.decision = session, check, decision
        how = ("with an explicit deny in an identity-based policy" if decision.effect == iam_policy.EXPLICIT_DENY
               else ("because no resource-based policy allows the " + check.action + " action"
                     if check.kind == "kms" else f"because no identity-based policy allows the {check.action} action"))
        super().__init__(f"User: {session.arn} is not authorized to perform: {check.action} on resource: "
                         f"{check.resource} {how}")


class Unmodelled(Exception):
    pass


# ---------------------------------------------------------------- state
class Registry:
    """Credentials the emulator issued, the knobs, and what each role was allowed to call."""

    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self, keep_sessions=False):
        with getattr(self, "lock", threading.RLock()):
            if not keep_sessions:
                self.sessions = {}  # access key id -> Session
            self.calls = defaultdict(Counter)  # role ARN -> "service:Operation" -> count
            self.denied = []  # [{"principal", "action", "resource", "message"}]
            self.unmodelled = []  # operations of a role session that no OPERATIONS row covers
            self.member_authorization = "per_member"

    def snapshot(self):
        with self.lock:
            return {"calls": {r: dict(c) for r, c in self.calls.items()}, "denied": list(self.denied),
                    "unmodelled": list(self.unmodelled), "member_authorization": self.member_authorization,
                    "sessions": {k: {"role_arn": s.role_arn, "session": s.session_name, "service": s.service}
                                 for k, s in self.sessions.items()}}


REGISTRY = Registry()


def assume_role_as_service(body):
    """A service principal (Lambda, Step Functions, EventBridge, Scheduler) assumes a role, as
    these services do with the roles they are given: the role's trust policy must allow
    `sts:AssumeRole` for that service (with aws:SourceAccount = the role's account, which these
    services send). Returns the credentials (AssumeRole's Credentials)."""
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    role_arn, service = body["RoleArn"], body["Service"]
    session_name = body.get("RoleSessionName") or service.split(".")[0]
    m = re.fullmatch(r"arn:(aws[a-z-]*):iam::(\d{12}):role/(?:.*/)?([^/]+)", role_arn)
    if not m:
        raise PermissionError(f"{role_arn} is not a role ARN")
    partition, account, name = m.groups()
    iam = iam_backends[account][partition]
    role = next((r for r in iam.roles.values() if r.arn == role_arn), None)
    if role is None:
        raise PermissionError(f"{service} cannot assume {role_arn}: the role does not exist")
    trust = role.assume_role_policy_document
    trust = json.loads(trust) if isinstance(trust, str) else trust
    principal = iam_policy.Principal(arn=service, account=account, service=service)
    context = {"aws:SourceAccount": account, "aws:PrincipalServiceName": service}
    decision = iam_policy.evaluate_resource_policy(trust, principal, "sts:AssumeRole", role_arn, context)
    if decision.effect != iam_policy.ALLOW:
        raise PermissionError(f"{service} is not authorized to perform: sts:AssumeRole on resource: {role_arn} "
                              "(the role's trust policy does not allow it)")
    sts = sts_backends[account][partition]
    region = {"aws": "us-east-1", "aws-cn": "cn-north-1", "aws-us-gov": "us-gov-west-1"}.get(partition, "us-east-1")
    assumed = sts.assume_role(region_name=region, role_session_name=session_name, role_arn=role_arn,
                              policy=None, duration=43200, external_id=None)
    with REGISTRY.lock:
        REGISTRY.sessions[assumed.access_key_id] = Session(assumed.access_key_id, role_arn, session_name, account,
                                                           partition, service)
    return {"AccessKeyId": assumed.access_key_id, "SecretAccessKey": assumed.secret_access_key,
            "SessionToken": assumed.session_token, "Arn": assumed.arn}


def session_of(environ):
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = re.search(r"Credential=([^/,\s]+)/", auth)
    key = m.group(1) if m else None
    if key is None:
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        cred = (qs.get("X-Amz-Credential") or [""])[0]
        key = cred.split("/", 1)[0] or None
    if key is None:
        return None
    with REGISTRY.lock:
        return REGISTRY.sessions.get(key)


# ---------------------------------------------------------------- the request's parameters
class Params:
    """The request's parameters whatever the protocol: query (form), JSON, CBOR, REST path."""

    def __init__(self, proto, environ, body):
        self.proto, self.environ = proto, environ
        self.flat, self.doc = {}, {}
        if proto == "query":
            q = parse_qs(environ.get("QUERY_STRING", ""))
            if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
                q.update(parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True))
            self.flat = {k: v[0] for k, v in q.items()}
        elif proto == "json":
            self.doc = json.loads(body or b"{}") if body else {}
        elif proto == "cbor":
            import cbor2
            self.doc = cbor2.loads(body) if body else {}
        self.path = environ.get("RAW_URI") or environ.get("PATH_INFO", "")

    def get(self, name, default=None):
        if self.proto == "query":
            return self.flat.get(name, default)
        return self.doc.get(name, default) if isinstance(self.doc, dict) else default

    def query_list(self, prefix):
        """RDS/SNS query lists: Tags.Tag.1.Key, Tags.member.1.Key, TagKeys.member.1, ..."""
        items = defaultdict(dict)
        for k, v in self.flat.items():
            m = re.fullmatch(re.escape(prefix) + r"\.(?:[A-Za-z]+\.)?(\d+)(?:\.(\w+))?", k)
            if m:
                items[int(m.group(1))][m.group(2) or ""] = v
        return [items[i] for i in sorted(items)]

    def tags(self):
        """Tags in the request, {key: value} (aws:RequestTag/*)."""
        if self.proto == "query":
            return {t.get("Key"): t.get("Value", "") for t in self.query_list("Tags") if "Key" in t}
        raw = self.get("Tags") or self.get("tags") or []
        if isinstance(raw, dict):
            return dict(raw)
        return {t.get("Key", t.get("key")): t.get("Value", t.get("value", "")) for t in raw}


def tag_context(resource_tags=None, request_tags=None, prefix=None):
    """aws:ResourceTag/K (and the service's alias, e.g. rds:db-tag/K), aws:RequestTag/K, aws:TagKeys."""
    ctx = {}
    for k, v in (resource_tags or {}).items():
        ctx[f"aws:ResourceTag/{k}"] = v
        if prefix:
            ctx[f"{prefix}/{k}"] = v
    if request_tags is not None:
        for k, v in request_tags.items():
            ctx[f"aws:RequestTag/{k}"] = v
            ctx[f"rds:req-tag/{k}"] = v
        ctx["aws:TagKeys"] = list(request_tags)
    return ctx


def _tag_dict(tags):
    if isinstance(tags, dict):
        return dict(tags)
    return {t.get("Key", t.get("key")): t.get("Value", t.get("value", "")) for t in tags or []}


# ---------------------------------------------------------------- the account's state (what AWS knows)
class Account:
    """Read access to the emulator's backends for one account and Region."""

    def __init__(self, account, region, partition="aws"):
        self.account, self.region, self.partition = account, region, partition

    @property
    def rds(self):
        from moto.rds.models import rds_backends
        return rds_backends[self.account][self.region]

    def arn(self, service, resource, region=True):
        return f"arn:{self.partition}:{service}:{self.region if region else ''}:{self.account}:{resource}"

    def rds_arn(self, kind, name):
        return self.arn("rds", f"{kind}:{name}")

    def db(self, ident):
        ident = ident.rsplit(":", 1)[-1] if ident and ident.startswith("arn:") else ident
        return self.rds.databases.get(ident)

    def cluster(self, ident):
        ident = ident.rsplit(":", 1)[-1] if ident and ident.startswith("arn:") else ident
        return self.rds.clusters.get(ident)

    def resource_tags(self, arn):
        """The tags of an RDS resource by ARN, {} when it has none or does not exist."""
        parts = arn.split(":")
        if len(parts) < 7:
            return {}
        kind, name = parts[5], ":".join(parts[6:])
        b = self.rds
        obj = None
        if kind == "db":
            obj = b.databases.get(name)
        elif kind == "cluster":
            obj = b.clusters.get(name)
        elif kind == "deployment":
            obj = b.blue_green_deployments.get(name)
        elif kind == "snapshot":
            obj = b.database_snapshots.get(name)
        elif kind == "cluster-snapshot":
            obj = b.cluster_snapshots.get(name)
        elif kind == "pg":
            obj = b.db_parameter_groups.get(name)
        elif kind == "cluster-pg":
            obj = b.db_cluster_parameter_groups.get(name)
        elif kind == "cluster-endpoint":
            obj = next((e for e in getattr(b, "_emu_cluster_endpoints", {}).values()
                        if e.identifier == name), None)
        return _tag_dict(getattr(obj, "tags", None) or [])

    def kms_key(self, key_ref):
        from moto.kms.models import kms_backends
        kms = kms_backends[self.account][self.region]
        if not key_ref:
            return None
        key_id = key_ref
        if key_ref.startswith("arn:") and ":alias/" in key_ref:
            key_id = kms.get_key_id_from_alias(key_ref.split(":", 5)[5])
        elif key_ref.startswith("alias/"):
            key_id = kms.get_key_id_from_alias(key_ref)
        elif key_ref.startswith("arn:"):
            key_id = key_ref.rsplit("/", 1)[-1]
        return kms.keys.get(key_id) if key_id else None

    def topic(self, arn):
        from moto.sns.models import sns_backends
        return sns_backends[self.account][self.region].topics.get(arn)

    def secret(self, ref):
        from moto.secretsmanager.models import secretsmanager_backends
        sm = secretsmanager_backends[self.account][self.region]
        try:
            return sm.secrets.get(ref) if hasattr(sm.secrets, "get") else None
        except Exception:
            return None


def _kms_checks(acct, key_ref, actions, via, why):
    """The checks of a KMS key used on the caller's behalf by `via` (rds, sns, secretsmanager):
    the key policy decides; IAM counts when the key policy lets it."""
    key = acct.kms_key(key_ref)
    if key is None:
        return []
    policy = json.loads(key.policy) if isinstance(key.policy, str) else key.policy
    ctx = {"kms:ViaService": f"{via}.{acct.region}.amazonaws.com", "kms:CallerAccount": acct.account}
    return [Check(a, key.arn, dict(ctx), "kms", policy, why) for a in actions]


# ---------------------------------------------------------------- operations -> checks
OPERATIONS = {}


def op(service, operation, action=None, types=()):
    """Registers the checks of one operation. `types`: the SAR resource types it may name
    ("" for none): verified against the SAR in the self-tests."""
    def register(fn):
        OPERATIONS[(service, operation)] = {"action": action or f"{PREFIX[service]}:{operation}", "types": types,
                                            "checks": fn}
        return fn
    return register


def _rds_one(acct, action, kind, ident, extra=None):
    """An RDS resource named in the request (its ARN, with its tags), or the type's wildcard
    ARN for a describe without an identifier (how RDS authorizes listing calls)."""
    if ident and ident.startswith("arn:"):
        arn = ident
    else:
        arn = acct.rds_arn(kind, ident or "*")
    tags = acct.resource_tags(arn) if ident else {}
    alias = {"db": "rds:db-tag", "cluster": "rds:cluster-tag", "pg": "rds:pg-tag", "cluster-pg": "rds:cluster-pg-tag",
             "snapshot": "rds:snapshot-tag", "cluster-snapshot": "rds:cluster-snapshot-tag"}.get(kind)
    return Check(action, arn, {**tag_context(tags, None, alias), **(extra or {})})


def _simple_rds(name, kind, param):
    @op("rds", name, types=(kind,))
    def checks(acct, p, meta):
        return [_rds_one(acct, meta["action"], kind, p.get(param))]


for _name, _kind, _param in [
    ("DescribeDBInstances", "db", "DBInstanceIdentifier"),
    ("DescribeDBClusters", "cluster", "DBClusterIdentifier"),
    ("DescribeBlueGreenDeployments", "deployment", "BlueGreenDeploymentIdentifier"),
    ("DescribeDBParameterGroups", "pg", "DBParameterGroupName"),
    ("DescribeDBParameters", "pg", "DBParameterGroupName"),
    ("DescribeDBClusterParameterGroups", "cluster-pg", "DBClusterParameterGroupName"),
    ("DescribeDBClusterParameters", "cluster-pg", "DBClusterParameterGroupName"),
    ("DescribeIntegrations", "integration", "IntegrationIdentifier"),
    ("PromoteReadReplica", "db", "DBInstanceIdentifier"),
    ("PromoteReadReplicaDBCluster", "cluster", "DBClusterIdentifier"),
]:
    _simple_rds(_name, _kind, _param)


@op("rds", "DescribeGlobalClusters", types=("global-cluster",))
def _describe_global_clusters(acct, p, meta):
    ident = p.get("GlobalClusterIdentifier") or "*"
    return [Check(meta["action"], acct.arn("rds", f"global-cluster:{ident}", region=False))]


@op("rds", "DescribeDBEngineVersions", types=("",))
@op("rds", "DescribeDBMajorEngineVersions", types=("",))
@op("rds", "DescribeOrderableDBInstanceOptions", types=("",))
@op("monitoring", "GetMetricStatistics", types=("",))
@op("monitoring", "GetMetricData", types=("",))
@op("monitoring", "ListMetrics", types=("",))
@op("dms", "DescribeEndpoints", types=("",))
@op("dms", "DescribeReplicationTasks", types=("",))
@op("application-autoscaling", "DescribeScalableTargets", types=("",))
@op("application-autoscaling", "DescribeScalingPolicies", types=("",))
def _no_resource(acct, p, meta):
    return [Check(meta["action"], "*")]


@op("sts", "GetCallerIdentity", types=("",))
def _always(acct, p, meta):
    return []  # "No permissions are required to perform this operation" (STS API reference)


@op("rds", "DescribePendingMaintenanceActions", types=("db", "cluster"))
def _pending(acct, p, meta):
    arn = p.get("ResourceIdentifier")
    if arn:
        kind = arn.split(":")[5] if arn.count(":") >= 6 else "db"
        return [_rds_one(acct, meta["action"], kind, arn)]
    return [Check(meta["action"], acct.rds_arn("db", "*")), Check(meta["action"], acct.rds_arn("cluster", "*"))]


def _proxy_arn(acct, name):
    proxy = getattr(acct.rds, "db_proxies", {}).get(name) if name else None
    arn = getattr(proxy, "db_proxy_arn", None) or getattr(proxy, "arn", None)
    return arn or acct.rds_arn("db-proxy", "*")


@op("rds", "DescribeDBProxies", types=("proxy",))
def _proxies(acct, p, meta):
    return [Check(meta["action"], _proxy_arn(acct, p.get("DBProxyName")))]


@op("rds", "DescribeDBProxyTargets", types=("proxy", "target-group"))
def _proxy_targets(acct, p, meta):
    proxy = _proxy_arn(acct, p.get("DBProxyName"))
    proxy_id = proxy.rsplit(":", 1)[-1]
    # RDS names a proxy's target group by the proxy's resource id (prx-...) and the group's id
    tg = acct.rds_arn("target-group", "*")
    return [Check(meta["action"], proxy), Check(meta["action"], tg if proxy_id == "*" else tg)]


@op("rds", "DescribeDBClusterEndpoints", types=("cluster", "cluster-endpoint"))
def _cluster_endpoints(acct, p, meta):
    out = []
    if p.get("DBClusterIdentifier"):
        out.append(_rds_one(acct, meta["action"], "cluster", p.get("DBClusterIdentifier")))
    ep = p.get("DBClusterEndpointIdentifier")
    out.append(_rds_one(acct, meta["action"], "cluster-endpoint", ep))
    return out


def _describe_snapshots(name, owner, owner_param, kind, param):
    """Describe*Snapshots: the database named (if any), and the snapshot (or the type's wildcard)."""
    @op("rds", name, types=(owner, kind))
    def checks(acct, p, meta):
        out = [_rds_one(acct, meta["action"], owner, p.get(owner_param))] if p.get(owner_param) else []
        if p.get(param) or not out:
            out.append(_rds_one(acct, meta["action"], kind, p.get(param)))
        return out


_describe_snapshots("DescribeDBSnapshots", "db", "DBInstanceIdentifier", "snapshot", "DBSnapshotIdentifier")
_describe_snapshots("DescribeDBClusterSnapshots", "cluster", "DBClusterIdentifier", "cluster-snapshot",
                    "DBClusterSnapshotIdentifier")


@op("rds", "ListTagsForResource", types=("db", "cluster", "cluster-endpoint", "pg", "cluster-pg", "snapshot",
                                         "cluster-snapshot", "integration", "proxy", "target-group", "og", "subgrp"))
def _list_tags(acct, p, meta):
    arn = p.get("ResourceName")
    return [Check(meta["action"], arn, tag_context(acct.resource_tags(arn)))]


@op("rds", "AddTagsToResource", types=("db", "cluster", "cluster-endpoint", "deployment", "snapshot",
                                       "cluster-snapshot", "pg", "cluster-pg", "og", "subgrp", "integration"))
def _add_tags(acct, p, meta):
    arn = p.get("ResourceName")
    return [Check(meta["action"], arn, tag_context(acct.resource_tags(arn), p.tags()))]


@op("rds", "RemoveTagsFromResource", types=("db", "cluster", "cluster-endpoint", "deployment", "snapshot",
                                            "cluster-snapshot", "pg", "cluster-pg"))
def _remove_tags(acct, p, meta):
    arn = p.get("ResourceName")
    keys = [t.get("") for t in p.query_list("TagKeys")]
    return [Check(meta["action"], arn, {**tag_context(acct.resource_tags(arn)), "aws:TagKeys": keys})]


@op("rds", "ModifyDBInstance", types=("db", "pg", "og"))
def _modify_instance(acct, p, meta):
    out = [_rds_one(acct, meta["action"], "db", p.get("DBInstanceIdentifier"))]
    if p.get("DBParameterGroupName"):
        out.append(_rds_one(acct, meta["action"], "pg", p.get("DBParameterGroupName")))
    if p.get("MonitoringRoleArn"):
        out.append(_pass_role(acct, p.get("MonitoringRoleArn"), "ModifyDBInstance with MonitoringRoleArn"))
    return out


@op("rds", "ModifyDBCluster", types=("cluster", "cluster-pg"))
def _modify_cluster(acct, p, meta):
    out = [_rds_one(acct, meta["action"], "cluster", p.get("DBClusterIdentifier"))]
    if p.get("DBClusterParameterGroupName"):
        out.append(_rds_one(acct, meta["action"], "cluster-pg", p.get("DBClusterParameterGroupName")))
    return out


def _create_snapshot(name, owner, owner_param, kind, param):
    """Create*Snapshot: the database (its tags) and the new snapshot (request tags); tags on create
    are also rds:AddTagsToResource on the new snapshot (SAR: a dependent action)."""
    @op("rds", name, types=(owner, kind))
    def checks(acct, p, meta):
        tags = p.tags()
        new = acct.rds_arn(kind, p.get(param))
        out = [_rds_one(acct, meta["action"], owner, p.get(owner_param)),
               Check(meta["action"], new, tag_context(None, tags))]
        if tags:
            out.append(Check("rds:AddTagsToResource", new, tag_context(None, tags), why=f"{name} with Tags"))
        return out


_create_snapshot("CreateDBSnapshot", "db", "DBInstanceIdentifier", "snapshot", "DBSnapshotIdentifier")
_create_snapshot("CreateDBClusterSnapshot", "cluster", "DBClusterIdentifier", "cluster-snapshot",
                 "DBClusterSnapshotIdentifier")


@op("rds", "DeleteDBInstance", types=("db",))
def _delete_instance(acct, p, meta):
    out = [_rds_one(acct, meta["action"], "db", p.get("DBInstanceIdentifier"))]
    final = p.get("FinalDBSnapshotIdentifier")
    if final and str(p.get("SkipFinalSnapshot", "false")).lower() != "true":
        out.append(Check("rds:CreateDBSnapshot", acct.rds_arn("snapshot", final), why="DeleteDBInstance's final snapshot"))
    return out


@op("rds", "DeleteDBCluster", types=("cluster", "cluster-snapshot"))
def _delete_cluster(acct, p, meta):
    out = [_rds_one(acct, meta["action"], "cluster", p.get("DBClusterIdentifier"))]
    final = p.get("FinalDBSnapshotIdentifier")
    if final and str(p.get("SkipFinalSnapshot", "false")).lower() != "true":
        snap = acct.rds_arn("cluster-snapshot", final)
        out += [Check(meta["action"], snap), Check("rds:CreateDBClusterSnapshot", snap,
                                                   why="DeleteDBCluster's final snapshot")]
    return out


def _pass_role(acct, role_arn, why):
    # Enhanced Monitoring: RDS passes the role to its monitoring service (the role trusts
    # monitoring.rds.amazonaws.com; RDS User Guide, "Setting up and enabling Enhanced Monitoring").
    return Check("iam:PassRole", role_arn, {"iam:PassedToService": "monitoring.rds.amazonaws.com"}, why=why)


# ---------------------------------------------------------------- blue/green: what RDS checks on the caller's behalf
# RDS User Guide and Aurora User Guide, "Authorizing access to blue/green deployment operations":
#   create:     rds:CreateBlueGreenDeployment, rds:AddTagsToResource, rds:CreateDBInstanceReadReplica
#               (Aurora: rds:CreateDBCluster, rds:CreateDBInstance, rds:CreateDBClusterEndpoint)
#   switchover: rds:SwitchoverBlueGreenDeployment, rds:ModifyDBInstance, rds:PromoteReadReplica
#               (Aurora: rds:ModifyDBCluster, rds:PromoteReadReplicaDBCluster)
#   delete:     rds:DeleteBlueGreenDeployment, rds:DeleteDBInstance
#               (Aurora: rds:DeleteDBCluster, rds:DeleteDBInstance, rds:DeleteDBClusterEndpoint)
# and "Amazon RDS provisions and modifies resources in the staging environment on your behalf.
# These resources include DB instances that use an internally defined naming convention": green
# resources are checked under names only `*` can match (here NAME-green-pending before they exist).
# KMS (RDS User Guide, "AWS KMS key management", "Authorizing use of a customer managed key"):
# creating a resource with a customer managed key needs kms:CreateGrant and kms:DescribeKey on it.
# Enhanced Monitoring: iam:PassRole on the monitoring role.
def _green_name(name):
    return f"{name}-green-pending"


def _endpoints_of(acct, cluster_id):
    return [e for e in getattr(acct.rds, "_emu_cluster_endpoints", {}).values()
            if getattr(e, "cluster", None) is not None and e.cluster.db_cluster_identifier == cluster_id]


def _source_of(acct, arn):
    kind = arn.split(":")[5] if arn and arn.count(":") >= 6 else ""
    return (acct.cluster(arn) if kind == "cluster" else acct.db(arn)), kind


@op("rds", "CreateBlueGreenDeployment", types=("deployment", "db", "cluster", "pg", "cluster-pg"))
def _create_bg(acct, p, meta):
    action = meta["action"]
    source_arn = p.get("Source") or ""
    src, kind = _source_of(acct, source_arn)
    out = [_rds_one(acct, action, kind or "db", source_arn),
           Check(action, acct.rds_arn("deployment", "*"), tag_context(None, p.tags()))]
    if p.get("TargetDBParameterGroupName"):
        out.append(_rds_one(acct, action, "pg", p.get("TargetDBParameterGroupName")))
    if p.get("TargetDBClusterParameterGroupName"):
        out.append(_rds_one(acct, action, "cluster-pg", p.get("TargetDBClusterParameterGroupName")))
    if p.tags():
        out.append(Check("rds:AddTagsToResource", acct.rds_arn("deployment", "*"), tag_context(None, p.tags()),
                         why="CreateBlueGreenDeployment with Tags"))
    if src is None:
        return out
    why = "CreateBlueGreenDeployment (RDS creates green on the caller's behalf)"
    per_member = REGISTRY.member_authorization == "per_member"
    creates = []  # (action, new ARN, the blue resource whose tags green copies)
    if kind == "cluster":
        creates.append(("rds:CreateDBCluster", acct.rds_arn("cluster", _green_name(src.db_cluster_identifier)),
                        _tag_dict(src.tags)))
        if per_member:
            for m in src.members:
                creates.append(("rds:CreateDBInstance", acct.rds_arn("db", _green_name(m.db_instance_identifier)),
                                _tag_dict(m.tags)))
            for e in _endpoints_of(acct, src.db_cluster_identifier):
                creates.append(("rds:CreateDBClusterEndpoint",
                                acct.rds_arn("cluster-endpoint", _green_name(e.identifier)), _tag_dict(e.tags)))
        monitored = [m for m in src.members]
    else:
        creates.append(("rds:CreateDBInstanceReadReplica", acct.rds_arn("db", _green_name(src.db_instance_identifier)),
                        _tag_dict(src.tags)))
        monitored = [src]
        if per_member:
            for r in _replicas_of(acct, src):
                creates.append(("rds:CreateDBInstanceReadReplica",
                                acct.rds_arn("db", _green_name(r.db_instance_identifier)), _tag_dict(r.tags)))
                monitored.append(r)
    for action_name, arn, tags in creates:
        out.append(Check(action_name, arn, tag_context(None, tags), why=why))
        if tags:
            out.append(Check("rds:AddTagsToResource", arn, tag_context(None, tags), why=why + ", copying blue's tags"))
    for db in monitored:
        role = getattr(db, "monitoring_role_arn", None)
        if role:
            out.append(_pass_role(acct, role, f"{why}: {db.db_instance_identifier} has Enhanced Monitoring"))
    if getattr(src, "storage_encrypted", False):
        out += _kms_checks(acct, getattr(src, "kms_key_id", None), ("kms:CreateGrant", "kms:DescribeKey"), "rds",
                           f"{why}: green is encrypted with the source's KMS key")
    return out


def _replicas_of(acct, db):
    """Its in-Region read replicas (a cross-Region one is not part of a deployment)."""
    names = getattr(db, "read_replica_db_instance_identifiers", None) or []
    return [r for r in (acct.db(n) for n in names if not n.startswith("arn:") or f":{acct.region}:" in n)
            if r is not None]


def _deployment(acct, ident):
    return acct.rds.blue_green_deployments.get(ident)


def _pairs(acct, bg):
    """(blue, green) resources of a deployment, from the emulator's model, primary first."""
    rt = getattr(bg, "_emu", None) or {}
    return list(rt.get("pairs", []))  # read replicas' pairs included (topologies.after_create)


def _arn_of(obj):
    return getattr(obj, "db_cluster_arn", None) or getattr(obj, "db_instance_arn", None)


@op("rds", "SwitchoverBlueGreenDeployment", types=("deployment",))
def _switchover_bg(acct, p, meta):
    ident = p.get("BlueGreenDeploymentIdentifier")
    out = [_rds_one(acct, meta["action"], "deployment", ident)]
    bg = _deployment(acct, ident)
    if bg is None:
        return out
    why = "SwitchoverBlueGreenDeployment (RDS renames and promotes on the caller's behalf)"
    pairs = _pairs(acct, bg)
    if REGISTRY.member_authorization != "per_member":
        pairs = pairs[:1]
    for blue, green in pairs:
        for obj, promote in ((blue, False), (green, True)):
            arn = _arn_of(obj)
            cluster = arn and ":cluster:" in arn
            modify = "rds:ModifyDBCluster" if cluster else "rds:ModifyDBInstance"
            tags = tag_context(_tag_dict(obj.tags), None, "rds:cluster-tag" if cluster else "rds:db-tag")
            out.append(Check(modify, arn, tags, why=why))
            if promote and not (getattr(obj, "db_cluster_identifier", None) and not cluster):
                out.append(Check("rds:PromoteReadReplicaDBCluster" if cluster else "rds:PromoteReadReplica", arn, tags,
                                 why=why))
    return out


@op("rds", "DeleteBlueGreenDeployment", types=("deployment",))
def _delete_bg(acct, p, meta):
    ident = p.get("BlueGreenDeploymentIdentifier")
    out = [_rds_one(acct, meta["action"], "deployment", ident)]
    bg = _deployment(acct, ident)
    if bg is None or str(p.get("DeleteTarget", "false")).lower() != "true":
        return out
    why = "DeleteBlueGreenDeployment with DeleteTarget (RDS deletes green on the caller's behalf)"
    pairs = _pairs(acct, bg)
    if REGISTRY.member_authorization != "per_member":
        pairs = pairs[:1]
    for _, green in pairs:
        arn = _arn_of(green)
        cluster = ":cluster:" in arn
        out.append(Check("rds:DeleteDBCluster" if cluster else "rds:DeleteDBInstance", arn,
                         tag_context(_tag_dict(green.tags), None, "rds:cluster-tag" if cluster else "rds:db-tag"),
                         why=why))
    if REGISTRY.member_authorization == "per_member" and pairs and ":cluster:" in _arn_of(pairs[0][1]):
        for e in _endpoints_of(acct, pairs[0][1].db_cluster_identifier):
            out.append(Check("rds:DeleteDBClusterEndpoint", e.arn, tag_context(_tag_dict(e.tags)), why=why))
    return out


# ---------------------------------------------------------------- other services
@op("monitoring", "PutMetricData", types=("",))
def _put_metric_data(acct, p, meta):
    return [Check(meta["action"], "*", {"cloudwatch:namespace": p.get("Namespace") or ""})]


@op("sns", "Publish", types=("topic",))
def _publish(acct, p, meta):
    arn = p.get("TopicArn") or p.get("TargetArn") or ""
    topic = acct.topic(arn)
    policy = None
    if topic is not None and getattr(topic, "policy", None):
        policy = json.loads(topic.policy) if isinstance(topic.policy, str) else topic.policy
    out = [Check(meta["action"], arn, {}, "topic", policy)]
    key = getattr(topic, "kms_master_key_id", None) if topic is not None else None
    if key:
        # SNS Developer Guide, "Encryption at rest": publishing to an encrypted topic needs
        # kms:GenerateDataKey* and kms:Decrypt on its key.
        out += _kms_checks(acct, key, ("kms:GenerateDataKey", "kms:Decrypt"), "sns",
                           "Publish to a topic encrypted with a KMS key")
    return out


@op("states", "StartExecution", types=("stateMachine",))
def _start_execution(acct, p, meta):
    return [Check(meta["action"], p.get("stateMachineArn") or "")]


@op("states", "DescribeExecution", types=("execution",))
@op("states", "StopExecution", types=("execution",))
@op("states", "GetExecutionHistory", types=("execution",))
def _execution(acct, p, meta):
    return [Check(meta["action"], p.get("executionArn") or "")]


@op("states", "SendTaskSuccess", types=("",))
@op("states", "SendTaskFailure", types=("",))
@op("states", "SendTaskHeartbeat", types=("",))
def _task_token(acct, p, meta):
    return [Check(meta["action"], "*")]


@op("lambda", "Invoke", action="lambda:InvokeFunction", types=("function",))
def _invoke(acct, p, meta):
    ref = unquote(p.path.split("/functions/", 1)[-1].split("/invocations", 1)[0])
    if not ref.startswith("arn:"):
        ref = acct.arn("lambda", f"function:{ref.rsplit(':function:', 1)[-1]}")
    return [Check(meta["action"], ref)]


@op("secretsmanager", "GetSecretValue", types=("Secret",))
def _get_secret(acct, p, meta):
    ref = p.get("SecretId") or ""
    secret = acct.secret(ref)
    arn = getattr(secret, "arn", None) or ref
    out = [Check(meta["action"], arn, {"secretsmanager:SecretId": ref, **tag_context(_tag_dict(getattr(secret, "tags", [])))})]
    key = getattr(secret, "kms_key_id", None)
    if key and not str(key).startswith("alias/aws/"):
        # Secrets Manager User Guide, "Secret encryption and decryption": reading a secret
        # encrypted with a customer managed key needs kms:Decrypt on it.
        out += _kms_checks(acct, key, ("kms:Decrypt",), "secretsmanager", "GetSecretValue of a secret with a KMS key")
    return out


@op("kms", "DescribeKey", types=("key",))
def _describe_key(acct, p, meta):
    key = acct.kms_key(p.get("KeyId"))
    if key is None:
        return [Check(meta["action"], acct.arn("kms", f"key/{p.get('KeyId')}"))]
    policy = json.loads(key.policy) if isinstance(key.policy, str) else key.policy
    return [Check(meta["action"], key.arn, {"kms:CallerAccount": acct.account}, "kms", policy)]


# ---------------------------------------------------------------- the decision
def _decide(session, check, iam_docs):
    context = {"aws:PrincipalArn": session.role_arn, "aws:PrincipalAccount": session.account,
               "aws:userid": f"{session.role_arn}:{session.session_name}", **check.context}
    principal = session.principal
    if check.kind == "kms":
        return iam_policy.authorize(iam_docs, principal, check.action, check.resource, context,
                                    resource_policy=check.resource_policy, kind="kms")
    if check.kind == "topic" and check.resource_policy is not None:
        return iam_policy.authorize(iam_docs, principal, check.action, check.resource, context,
                                    resource_policy=check.resource_policy, kind="same-account")
    return iam_policy.evaluate_identity(iam_docs, check.action, check.resource, context)


def role_policies(role_arn, account):
    """The identity policies of a role: inline and attached managed, as documents."""
    from moto.iam.models import iam_backends
    partition = role_arn.split(":")[1]
    iam = iam_backends[account][partition]
    role = next((r for r in iam.roles.values() if r.arn == role_arn), None)
    if role is None:
        return []
    docs = []
    for doc in role.policies.values():
        docs.append(json.loads(unquote(doc)) if isinstance(doc, str) else doc)
    for policy in role.managed_policies.values():
        doc = policy.document
        docs.append(json.loads(unquote(doc)) if isinstance(doc, str) else doc)
    return docs


def checks_for(session, service, operation, proto, environ, body, region):
    """The checks AWS makes for this request; Unmodelled when no row covers it."""
    meta = OPERATIONS.get((service, operation))
    if meta is None:
        raise Unmodelled(f"{service}:{operation}")
    acct = Account(session.account, region, session.partition)
    return meta["checks"](acct, Params(proto, environ, body), meta)


def authorize(environ, body, service, operation, proto, region):
    """None when allowed (or not a role session); raises Denied. Records what each role called."""
    session = session_of(environ)
    if session is None:
        return None
    try:
        return _authorize(session, environ, body, service, operation, proto, region)
    except Denied:
        raise
    except Exception as e:  # unmodelled, or the emulator's own bug: recorded, the harness fails the run
        import traceback
        what = str(e) if isinstance(e, Unmodelled) else \
            f"{service}:{operation} (emulator error: {traceback.format_exc(limit=4)})"
        with REGISTRY.lock:
            REGISTRY.unmodelled.append({"principal": session.arn, "operation": what})
        check = Check(f"{PREFIX.get(service, service)}:{operation}", "*")
        raise Denied(session, check, iam_policy.Decision(iam_policy.IMPLICIT_DENY, None)) from None


def _authorize(session, environ, body, service, operation, proto, region):
    checks = checks_for(session, service, operation, proto, environ, body, region)
    docs = role_policies(session.role_arn, session.account)
    for check in checks:
        decision = _decide(session, check, docs)
        if decision.effect != iam_policy.ALLOW:
            denied = Denied(session, check, decision)
            with REGISTRY.lock:
                REGISTRY.denied.append({"principal": session.arn, "role_arn": session.role_arn,
                                        "operation": f"{service}:{operation}", "action": check.action,
                                        "resource": check.resource, "why": check.why, "message": str(denied)})
            raise denied
    with REGISTRY.lock:
        REGISTRY.calls[session.role_arn][OPERATIONS[(service, operation)]["action"]] += 1
    return session


def deny_response(start_response, denied, service, proto):
    """AccessDenied as each protocol sends it (HTTP 403)."""
    import uuid
    rid = str(uuid.uuid4())
    message = str(denied)
    if proto == "cbor":
        import cbor_bridge
        return cbor_bridge.error(start_response, rid, "403 Forbidden", "AccessDenied", message)
    if proto == "query":
        xmlns = {"rds": ' xmlns="http://rds.amazonaws.com/doc/2014-10-31/"',
                 "sns": ' xmlns="http://sns.amazonaws.com/doc/2010-03-31/"',
                 "monitoring": ' xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"',
                 "sts": ' xmlns="https://sts.amazonaws.com/doc/2011-06-15/"'}.get(service, "")
        payload = (f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>AccessDenied</Code>"
                   f"<Message>{_xml(message)}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
        headers = [("Content-Type", "text/xml")]
    else:
        code = "AccessDeniedException"
        payload = json.dumps({"__type": code, "Message": message, "message": message})
        headers = [("Content-Type", "application/x-amz-json-1.1" if proto == "json" else "application/json"),
                   ("x-amzn-ErrorType", code)]
    data = payload.encode()
    start_response("403 Forbidden", headers + [("Content-Length", str(len(data))), ("x-amzn-RequestId", rid)])
    return [data]


def _xml(text):
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

#!/usr/bin/env python3
"""Local AWS emulator for rds-bluegreen end-to-end tests and `make demo`.

Run:  python tests/emulator/launcher.py --port 5055   (--port 0 picks a free port)

It serves moto's server (RDS, CloudWatch, SNS, STS, EventBridge, Scheduler, ...) in the
foreground on 127.0.0.1, prints `emulator listening on http://127.0.0.1:PORT`, and exits 0 on
SIGTERM/SIGINT. On top of moto 5.2.1 it adds:

RDS actions moto lacks
  DescribeDBEngineVersions          real upgrade paths from engine_versions.json (filters Engine,
                                    EngineVersion (exact or major prefix), DBParameterGroupFamily,
                                    DefaultOnly, Filters, IncludeAll (deprecated versions);
                                    Marker/MaxRecords)
  DescribePendingMaintenanceActions empty unless seeded through the control API
  DescribeDBMajorEngineVersions     AWS's standard / Extended Support dates from major_versions.json
  Create/Describe/Modify/DeleteDBClusterEndpoint, Create/Describe/DeleteIntegration   (topologies.py)

Fidelity fixes to moto's blue/green model (each with its AWS source in README.md and beside the code)
  - Tasks gain DB_ENGINE_VERSION_UPGRADE when the green runs another version.
  - Switchover renames every blue member to its next free NAME-oldN (n >= 1; moto: always -old1,
    overwriting an existing one) and each green member to its blue's name; Aurora member instances
    too, not just the clusters. SwitchoverDetails list the cluster and every member instance.
    Source/Target after SWITCHOVER_COMPLETED: knob arns_after_switchover ("renamed" | "original").
  - Replication metrics per engine when a client reads CloudWatch: ReplicaLag of green instances
    (MySQL, MariaDB, PostgreSQL minor), OldestReplicationSlotLag + ReplicationSlotDiskUsage of blue
    (PostgreSQL major = logical replication; Aurora PostgreSQL on blue's writer), AuroraBinlogReplicaLag
    of green's writer with DBClusterIdentifier + Role=WRITER (Aurora MySQL). No ReplicaLag on Aurora.
    CloudWatch GetMetricStatistics / GetMetricData match dimensions exactly (moto: subset).
  - TargetDBInstanceClass refused for an Aurora source; ModifyDBInstance of DBInstanceClass goes
    through PendingModifiedValues and `modifying` (moto: instant).
  - BlueGreenDeploymentName (1-60, pattern), DB cluster snapshot identifiers (1-63) and SNS Publish
    Subject (< 100 characters, no line breaks or control characters) refused as AWS documents.
  - Aurora clusters get the default cluster parameter group of their family (moto: always
    default.aurora8.0), and so does a green cluster created without one.
  - Cluster endpoints use one per-account hash (as RDS does), so the production cluster keeps
    its endpoint address after switchover; instances get distinct DbiResourceIds.
  - CreateBlueGreenDeployment refuses a TargetEngineVersion that is not a ValidUpgradeTarget
    of a known source version; SwitchoverTimeout must be 30..3600.
  - DeleteBlueGreenDeployment refuses DeleteTarget=true after switchover, refuses any delete
    during switchover, and checks green deletion protection before touching anything.
  - topologies.py: read replicas copied to green, switched over and deleted with it (cross-Region and
    cascading replicas refused); RDS Proxy targets with AWS's shapes, following the switchover; Aurora
    custom endpoints in the deployment; global cluster fixes; zero-ETL integrations stop the switchover.

Control API (same port, JSON in and out)
  POST /_emulator/faults   {"BlueGreenDeploymentName": "bg1", <knobs>}  (no name = global)
      provisioning_polls N, provisioning_until EPOCH_SECONDS (PROVISIONING until that wall-clock
      time, whatever the polls; read at every poll, so a test holds a deployment and releases it), tasks_in_progress_polls N, storage_optimization_polls N,
      invalid_configuration bool, status_details str, switchover_failed_in_details bool,
      switchover_failed bool, switchover_in_progress_polls N,
      arns_after_switchover renamed|original, modify_polls N (default 2), deprecated_upgrade_targets bool,
      replica_lag_seconds S (or -1), replication_slot_lag_bytes B, replication_slot_disk_usage_bytes B,
      lag_metrics_missing bool, aurora_metric_dimensions documented|all,
      aurora_postgresql_slot_lag_metric OldestReplicationSlotLag|OldestLogicalReplicationSlotLag|none,
      bg_name_error_code InvalidParameterValue|ValidationError, free_storage_ratio F (global),
      sns_subject_max_length 99|100 (global),
      green_replica_lag_seconds S (or -1), replica_provisioning_polls N,
      unsupported_replica_error_code SourceDatabaseNotSupportedFault|InvalidParameterCombination,
      read_replica_as_source refused|accepted, proxy_after_switchover follows|stays_on_blue|unavailable,
      global_database_proxy refused|not_followed, zero_etl_at_switchover refused|switchover_failed,
      throttle {"Action": "DescribeBlueGreenDeployments", "count": 3} (or a list; always global)
      server_error {"Action": "CreateBlueGreenDeployment", "count": 2, "status": 503} (or a list;
        always global): the next `count` calls get HTTP 500 InternalFailure (default) or 503
        ServiceUnavailable in the service's protocol, without being carried out
      lose_answer {"Action": "SwitchoverBlueGreenDeployment", "count": 1}: carried out, then a 500
    Creation knobs are read at CreateBlueGreenDeployment, switchover knobs at
    SwitchoverBlueGreenDeployment. A "poll" is one DescribeBlueGreenDeployments call that
    returns the deployment (storage_optimization_polls: one DescribeDBInstances call that
    returns the green instance).
  POST /_emulator/pending-maintenance {"ResourceIdentifier": ARN,
      "PendingMaintenanceActionDetails": [{"Action": "system-update", ...}]}   ([] clears)
  POST /_emulator/endpoints {"DBInstanceIdentifier"|"DBClusterIdentifier"|"GreenOf": NAME, "Address", "Port"}
      the database's endpoint answers with a local server (tests/emulator/endpoints.py)
  POST /_emulator/reset    {} = everything (moto backends too); {"counters_only": true}
  GET  /_emulator/state    calls per service and action, throttled calls, knobs, deployments
See README.md beside this file for details.
"""
import argparse
import copy
import io
import json
import logging
import os
import random
import re
import signal
import string
import threading
import time
import uuid
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs

from moto.core.responses import ActionResult
from moto.moto_api._internal.models import moto_api_backend
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from moto.rds import models as rm
from moto.rds.exceptions import InvalidBlueGreenDeploymentStateFault, RDSClientError
from moto.rds.responses import RDSResponse
from werkzeug.serving import make_server
from werkzeug.wsgi import get_input_stream

import authz  # IAM, as AWS evaluates it, for the roles' sessions (authz.py)
import cbor_bridge
import json_wire  # AWS JSON timestamps as epoch seconds (moto's DMS sends ISO strings)
import stepfunctions  # Step Functions: moto's executing interpreter, wired to the local Lambda service
import topologies
import endpoints
import events

INT_KNOBS = {"provisioning_polls", "provisioning_until", "tasks_in_progress_polls", "storage_optimization_polls",
             "switchover_in_progress_polls", "modify_polls", "storage_initialization_polls", "switchover_failed_polls"}
BOOL_KNOBS = {"invalid_configuration", "switchover_failed_in_details", "switchover_failed", "lag_metrics_missing",
              "deprecated_upgrade_targets"}
# Metrics RDS publishes on its own; read whenever a client reads CloudWatch.
# replica_lag_seconds may also be -1: "replication not active" (see publish_rds_metrics).
FLOAT_KNOBS = {"replica_lag_seconds", "free_storage_ratio", "replication_slot_lag_bytes",
               "replication_slot_disk_usage_bytes", "blue_replica_slot_lag_bytes"}
# Where AWS does not document the answer: every plausible one, the first is the default (README, "inferred").
CHOICE_KNOBS = {
    "arns_after_switchover": ("renamed", "original"),
    "aurora_metric_dimensions": ("documented", "all"),
    "aurora_postgresql_slot_lag_metric": ("OldestReplicationSlotLag", "OldestLogicalReplicationSlotLag", "none"),
    "bg_name_error_code": ("InvalidParameterValue", "ValidationError"),
    "sns_subject_max_length": (99, 100),
    "storage_initialization_status": ("storage-initialization", "storage-config-upgrade"),
    "switchover_failed_status": ("sticky", "available"),
    "logical_slot_lag_metric": ("published", "withheld"),
}
# The instance statuses of a green member still loading its data (see _patch_instances).
LOADING_STATUSES = ("storage-initialization", "storage-config-upgrade")
INVALID_CONFIG_TEXT = ("Creation of blue/green deployment failed due to incompatible parameter(s). "
                       "Check the parameter settings of the source and target DB parameter groups "
                       "(for example rds.logical_replication), delete this deployment and create it again.")
SWITCHOVER_FAILED_TEXT = ("Switchover failed: replica lag did not reach zero within the switchover "
                          "timeout. All changes were rolled back.")
URL_HASH = "aaaaaaaaaa"  # moto's instance endpoint hash; RDS uses one hash per account and Region


# ---------------------------------------------------------------- emulator state
class State:
    def __init__(self):
        self.lock = threading.RLock()
        self.reset()

    def reset(self, counters_only=False):
        self.calls = defaultdict(Counter)  # service -> action -> count
        self.throttled = Counter()
        self.server_errored = Counter()
        if counters_only:
            return
        self.knobs = {}  # deployment name -> knobs
        self.global_knobs = {}
        self.throttles = {}  # action -> calls left to throttle
        self.server_errors = {}  # action -> [calls left to fail, HTTP status]
        self.failures = {}  # action -> [calls left to fail, error code]  (knob fail_with)
        self.lost_answers = {}  # action -> calls to carry out whose answer is then lost
        self.pending = {}  # resource ARN -> [PendingMaintenanceAction]
        self.deployments = {}  # identifier -> BlueGreenDeployment (for /state)
        self.storage_opt = {}  # id(instance) -> [instance, polls left]
        self.modifying = {}  # id(instance) -> [instance, polls left, new DBInstanceClass]
        self.storage_init = {}  # id(instance) -> [instance, answers left, answers in all, status]

    def knob(self, name, key, default):
        return self.knobs.get(name, {}).get(key, self.global_knobs.get(key, default))

    def set_faults(self, body):
        throttle = body.pop("throttle", None)
        lose = body.pop("lose_answer", None)
        fail_with = body.pop("fail_with", None)
        for t in [fail_with] if isinstance(fail_with, dict) else fail_with or []:
            if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]+", str(t.get("code", ""))):
                raise ValueError(f"fail_with needs an AWS error code, not {t.get('code')!r}")
            self.failures[t["Action"]] = [int(t.get("count", 1)), t["code"]]
        errors = body.pop("server_error", None)
        errors = [errors] if isinstance(errors, dict) else errors or []
        for t in errors:
            if int(t.get("status", 500)) not in (500, 503):
                raise ValueError(f"server_error status must be 500 or 503, not {t.get('status')!r}")
        for t in [lose] if isinstance(lose, dict) else lose or []:
            self.lost_answers[t["Action"]] = int(t.get("count", 1))
        name = body.pop("BlueGreenDeploymentName", None)
        for key, value in body.items():
            if key in INT_KNOBS and isinstance(value, int) and value >= 0:
                continue
            if key in BOOL_KNOBS and isinstance(value, bool) or key == "status_details":
                continue
            if key in FLOAT_KNOBS and isinstance(value, (int, float)) and not isinstance(value, bool) and \
                    (value >= 0 or (key in ("replica_lag_seconds", "green_replica_lag_seconds") and value == -1)):
                continue
            if key in CHOICE_KNOBS and value in CHOICE_KNOBS[key] and not isinstance(value, bool):
                continue
            raise ValueError(f"unknown or invalid knob {key}={value!r}")
        for t in [throttle] if isinstance(throttle, dict) else throttle or []:
            self.throttles[t["Action"]] = int(t.get("count", 1))
        for t in errors:
            self.server_errors[t["Action"]] = [int(t.get("count", 1)), int(t.get("status", 500))]
        (self.knobs.setdefault(name, {}) if name else self.global_knobs).update(body)

    def snapshot(self):
        return {
            "calls": {svc: dict(c) for svc, c in self.calls.items()},
            "rds_calls_total": sum(self.calls.get("rds", {}).values()),
            "throttled": dict(self.throttled),
            "server_errored": dict(self.server_errored),
            "faults": {"global": self.global_knobs, "deployments": self.knobs,
                       "throttle": self.throttles, "lose_answer": self.lost_answers,
                       "server_error": self.server_errors, "fail_with": self.failures},
            "pending_maintenance": {arn: len(a) for arn, a in self.pending.items()},
            "deployments": {bg.blue_green_deployment_name: {
                "identifier": bg_id, "status": bg.status, "polls": bg._emu["polls"],
                "stage": bg._emu["stage"], "switchovers": bg._emu.get("switchovers", 0),
                # what the test sees, not AWS behaviour: green members loading their data (storage
                # initialization) when SwitchoverBlueGreenDeployment was last called
                "loading_at_switchover": bg._emu.get("loading_at_switchover", [])}
                for bg_id, bg in self.deployments.items()},
        }


STATE = State()


# ---------------------------------------------------------------- engine versions
def _vkey(v):
    return tuple(int(n) for n in re.findall(r"\d+", v))


def _build_engine_versions(path=Path(__file__).with_name("engine_versions.json")):
    data = {k: v for k, v in json.loads(path.read_text()).items() if not k.startswith("_")}
    out = []
    for engine, spec in data.items():
        majors = list(spec["majors"])
        deprecated = set(spec.get("deprecated", []))
        for mi, major in enumerate(majors):
            for v, released in sorted(spec["majors"][major].items(), key=lambda kv: _vkey(kv[0])):
                targets = []
                for mj, tmajor in enumerate(majors[mi:], start=mi):
                    if mj > mi + 1 and spec["next_major_only"]:
                        break
                    newest = max(spec["majors"][tmajor], key=_vkey)
                    for tv, trel in sorted(spec["majors"][tmajor].items(), key=lambda kv: _vkey(kv[0])):
                        # minor: only higher versions; major: same release train or later
                        if (mj == mi and _vkey(tv) <= _vkey(v)) or (mj > mi and trel < released):
                            continue
                        targets.append({
                            "Engine": engine, "EngineVersion": tv,
                            "Description": _describe(spec, tv, tmajor),
                            "AutoUpgrade": mj == mi and tv == newest,
                            "IsMajorVersionUpgrade": mj > mi,
                            "_deprecated": tv in deprecated,
                        })
                out.append({
                    "Engine": engine, "EngineVersion": v, "MajorEngineVersion": major,
                    "DBParameterGroupFamily": spec["family"].format(major=major),
                    "DBEngineDescription": spec["description"],
                    "DBEngineVersionDescription": _describe(spec, v, major),
                    "ValidUpgradeTarget": targets,
                    # API reference, DBEngineVersion.Status: "either available or deprecated"
                    "Status": "deprecated" if v in deprecated else "available",
                    "SupportsReadReplica": True, "SupportedEngineModes": ["provisioned"],
                    "_default": v == spec["default"],
                })
    return out


def _upgrade_targets(ev, with_deprecated=False):
    """ValidUpgradeTarget as served. Inferred: RDS offers no deprecated version as a target (a deprecated
    version takes no new databases); knob deprecated_upgrade_targets=true offers them too."""
    return [{k: v for k, v in t.items() if not k.startswith("_")}
            for t in ev["ValidUpgradeTarget"] if with_deprecated or not t["_deprecated"]]


def _describe(spec, v, major):
    return spec["version_description"].format(v=v, major=major, tail=v.split("mysql_aurora.")[-1])


ENGINE_VERSIONS = _build_engine_versions()


def _find_engine_version(engine, version):
    return next((e for e in ENGINE_VERSIONS if e["Engine"] == engine and e["EngineVersion"] == version), None)


def describe_db_engine_versions(self):
    p = self.params
    want = {"engine": p.get("Engine"), "engine-version": p.get("EngineVersion"),
            "db-parameter-group-family": p.get("DBParameterGroupFamily")}
    filters = {f["Name"]: f["Values"] for f in p.get("Filters", [])}

    def match(e):
        for key, field in (("engine", "Engine"), ("engine-version", "EngineVersion"),
                           ("db-parameter-group-family", "DBParameterGroupFamily")):
            values = filters.get(key, []) + ([want[key]] if want[key] else [])
            # EngineVersion "13" or "8.0" selects the whole major, as on RDS
            if values and not any(e[field] == x or (key == "engine-version" and e[field].startswith(x + "."))
                                  for x in values):
                return False
        # API reference, DescribeDBEngineVersions.IncludeAll: "Specifies whether to also list the engine
        # versions that aren't available. The default is to list only available engine versions."
        if e["Status"] != "available" and not p.get("IncludeAll"):
            return False
        return not p.get("DefaultOnly") or e["_default"]

    with STATE.lock:
        with_deprecated = bool(STATE.global_knobs.get("deprecated_upgrade_targets", False))
    found = [{**{k: v for k, v in e.items() if not k.startswith("_")},
              "ValidUpgradeTarget": _upgrade_targets(e, with_deprecated)} for e in ENGINE_VERSIONS if match(e)]
    start, size = int(p.get("Marker") or 0), int(p.get("MaxRecords") or 100)
    result = {"DBEngineVersions": found[start:start + size]}
    if start + size < len(found):
        result["Marker"] = str(start + size)
    return ActionResult(result)


# ---------------------------------------------------------------- major engine versions
def _build_major_versions(path=Path(__file__).with_name("major_versions.json")):
    """[(engine, major, SupportedEngineLifecycles)] from major_versions.json (dates and sources there)."""
    out = []
    for engine, majors in json.loads(path.read_text()).items():
        if engine.startswith("_"):
            continue
        for major, spec in majors.items():
            if major.startswith("_"):
                continue
            out.append((engine, major, [
                {"LifecycleSupportName": f"open-source-rds-{kind}-support",
                 "LifecycleSupportStartDate": datetime.fromisoformat(spec[kind][0] + "T00:00:00+00:00"),
                 "LifecycleSupportEndDate": datetime.fromisoformat(spec[kind][1] + "T23:59:59.999000+00:00")}
                for kind in ("standard", "extended") if kind in spec]))  # none: dates not published
    return out


MAJOR_VERSIONS = _build_major_versions()


def describe_db_major_engine_versions(self):
    """DescribeDBMajorEngineVersions (moto 5.2.1: not implemented). API reference: Engine, MajorEngineVersion
    ("A specific database major engine version to return details for. Example: 8.4"), Marker, MaxRecords
    (botocore model: 20..100, default 100); each DBMajorEngineVersion has Engine, MajorEngineVersion,
    SupportedEngineLifecycles. Unknown engine or major: an empty list (inferred)."""
    p = self.params
    size = int(p.get("MaxRecords") or 100)
    if not 20 <= size <= 100:
        raise RDSClientError("InvalidParameterValue", f"Invalid value {size} for MaxRecords: must be between 20 "
                                                      "and 100.")
    found = [{"Engine": e, "MajorEngineVersion": m, "SupportedEngineLifecycles": life}
             for e, m, life in MAJOR_VERSIONS
             if (not p.get("Engine") or p["Engine"] == e) and
             (not p.get("MajorEngineVersion") or p["MajorEngineVersion"] == m)]
    start = int(p.get("Marker") or 0)
    result = {"DBMajorEngineVersions": found[start:start + size]}
    if start + size < len(found):
        result["Marker"] = str(start + size)
    return ActionResult(result)


# ---------------------------------------------------------------- pending maintenance
def describe_pending_maintenance_actions(self):
    rid = self.params.get("ResourceIdentifier")
    filters = {f["Name"]: f["Values"] for f in self.params.get("Filters", [])}

    def match(arn):
        if rid and arn != rid:
            return False
        for name, kind in (("db-instance-id", ":db:"), ("db-cluster-id", ":cluster:")):
            if name in filters and not (kind in arn and any(v in (arn, arn.rsplit(":", 1)[-1]) for v in filters[name])):
                return False
        return True

    with STATE.lock:
        items = [{"ResourceIdentifier": arn, "PendingMaintenanceActionDetails": acts}
                 for arn, acts in STATE.pending.items() if acts and match(arn)]
    return ActionResult({"PendingMaintenanceActions": items})


def _seed_pending(body):
    acts = []
    for a in body.get("PendingMaintenanceActionDetails", []):
        a = dict(a)
        for key in ("AutoAppliedAfterDate", "ForcedApplyDate", "CurrentApplyDate"):
            if isinstance(a.get(key), str):  # the serializer wants datetimes
                a[key] = datetime.fromisoformat(a[key].replace("Z", "+00:00"))
        acts.append(a)
    STATE.pending[body["ResourceIdentifier"]] = acts


# ---------------------------------------------------------------- blue/green model patches
Task, Detail, BG = rm.BlueGreenDeploymentTask, rm.SwitchoverDetails, rm.BlueGreenDeployment
S = BG.SupportedStates


def _family(engine, version):
    """Parameter group family of an engine version: postgres16, aurora-mysql8.0, mariadb10.11."""
    parts = version.split(".")
    return engine + (parts[0] if "postgres" in engine else ".".join(parts[:2]))


def _resolve(backend, arn):
    return rm.find_cluster(arn) if backend._is_cluster(arn) else backend.find_db_from_id(arn)


def _set_status(self, value):
    # Replaces moto's: one detail per member pair (cluster + its instances), and detail
    # statuses limited to the values RDS documents for SwitchoverDetails.
    previous = getattr(self, "switchover_details", None)
    self.status = value.name
    if value is S.DELETING and previous:
        return
    detail = "PROVISIONING" if value is S.INVALID_CONFIGURATION else value.name
    rt = getattr(self, "_emu", None)
    if rt and value is S.SWITCHOVER_COMPLETED and rt.get("arns") == "original":
        pairs = rt["original_arns"]  # the ARNs the deployment was created with (see _switchover)
    else:
        pairs = [(b.arn, g.arn) for b, g in rt["pairs"] + rt.get("extra_pairs", [])] if rt else \
            [(self.source, self.target)]
    self.switchover_details = [Detail(b, g, detail) for b, g in pairs]


def _render(bg, k):
    """Set the stored deployment to what its k-th DescribeBlueGreenDeployments shows."""
    rt = bg._emu
    n, m = rt["knobs"]["provisioning_polls"], rt["knobs"]["tasks_in_progress_polls"]
    names = [t.Name for t in bg.tasks]
    busy = "DB_ENGINE_VERSION_UPGRADE" if "DB_ENGINE_VERSION_UPGRADE" in names else names[-1]
    bg.status_details = None
    # provisioning_until is read live (not from the creation-time copy): a hold a test releases.
    if k <= n or time.time() < STATE.knob(bg.blue_green_deployment_name, "provisioning_until", 0):
        bg.set_status(S.PROVISIONING)
        bg.tasks = [Task(t, "IN_PROGRESS" if i == 0 else "PENDING") for i, t in enumerate(names)]
    elif rt["knobs"]["invalid_configuration"]:
        bg.set_status(S.INVALID_CONFIGURATION)
        bg.status_details = rt["knobs"]["status_details"] or INVALID_CONFIG_TEXT
        bg.tasks = [Task(t, "FAILED" if t == busy else "COMPLETED") for t in names]
    else:
        bg.set_status(S.AVAILABLE)
        bg.tasks = [Task(t, "IN_PROGRESS" if t == busy and k <= n + m else "COMPLETED") for t in names]
        if rt["knobs"]["switchover_failed_in_details"]:
            bg.switchover_details[-1].Status = "SWITCHOVER_FAILED"
    topologies.render(bg, k)  # read replicas still being built (replica_provisioning_polls)


def _finish_switchover(bg):
    rt = bg._emu
    rt["stage"] = "done"
    if rt["sw_fail"]:  # nothing renamed, as after an RDS rollback
        bg.set_status(S.SWITCHOVER_FAILED)
        bg.status_details = rt.get("sw_fail_text") or SWITCHOVER_FAILED_TEXT
        name = bg.blue_green_deployment_name
        rt["sw_failed_mode"] = STATE.knob(name, "switchover_failed_status", "sticky")
        rt["sw_failed_left"] = STATE.knob(name, "switchover_failed_polls", 1)
    else:
        bg.switchover()


def _after_failed_switchover(bg):
    """What a deployment shows after a switchover RDS rolled back. "If anything stops it, every change is rolled
    back" (switching page): blue and green are both intact. Whether the deployment then stays SWITCHOVER_FAILED
    or returns to AVAILABLE is not documented (README, "inferred"): knob switchover_failed_status, `sticky`
    (default: SWITCHOVER_FAILED, a status the API reference lists, on every later poll, each SwitchoverDetails
    entry SWITCHOVER_FAILED) or `available` (SWITCHOVER_FAILED for the first switchover_failed_polls polls,
    default 1, then AVAILABLE again, every detail AVAILABLE, no StatusDetails). Either way the deployment can be
    switched over again (SwitchoverBlueGreenDeployment accepts SWITCHOVER_FAILED as it accepts AVAILABLE)."""
    rt = bg._emu
    if bg.status != "SWITCHOVER_FAILED" or rt.get("sw_failed_mode") != "available":
        return
    if rt["sw_failed_left"] <= 0:
        bg.set_status(S.AVAILABLE)
        bg.status_details = None
        rt["sw_failed_mode"] = None
    rt["sw_failed_left"] -= 1


def _next_old_name(name, taken):
    """RDS renames blue "by appending -oldn to the current name, where n is a number"
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-switching.html,
    "After switchover"). Which n is not documented; inferred: the first n >= 1 not taken, so a database
    upgraded before keeps its earlier fallback NAME-old1 and the next old blue is NAME-old2."""
    n = 1
    while f"{name}-old{n}" in taken:
        n += 1
    return f"{name}-old{n}"


def _switchover(bg):
    """Replaces moto's BlueGreenDeployment.switchover (which always renames to NAME-old1, overwriting an
    existing NAME-old1, and renames only the clusters of an Aurora deployment). Every member pair is
    renamed: each blue member to its own next free NAME-oldN (clusters among clusters, instances among
    instances), then each green member to its blue's name. Objects are renamed in place, so DbiResourceIds
    travel with the database and endpoint addresses follow the name (production keeps its address)."""
    rt, backend = bg._emu, bg.backend
    before = topologies.before_switchover(bg)
    # "During switchover, blue environment tags replace all tags in the green environment"
    # (RDS/Aurora User Guide, Blue/Green considerations): each green member takes its blue's tags.
    for blue, green in rt["pairs"] + rt.get("extra_pairs", []):
        green.tags = copy.deepcopy(blue.tags or [])
    names = []
    for blue, green in rt["pairs"]:
        if isinstance(blue, rm.DBCluster):
            name = blue.db_cluster_identifier
            backend.modify_db_cluster({"db_cluster_identifier": name,
                                       "new_db_cluster_identifier": _next_old_name(name, backend.clusters)})
        else:
            name = blue.db_instance_identifier
            backend.modify_db_instance(name, {"new_db_instance_identifier": _next_old_name(name, backend.databases)})
        names.append(name)
    for (_, green), name in zip(rt["pairs"], names):
        if isinstance(green, rm.DBCluster):
            backend.modify_db_cluster({"db_cluster_identifier": green.db_cluster_identifier,
                                       "new_db_cluster_identifier": name})
        else:
            backend.modify_db_instance(green.db_instance_identifier, {"new_db_instance_identifier": name})
    for inst in backend.databases.values():  # members follow their (renamed) cluster
        if isinstance(inst, rm.DBInstanceClustered):
            inst.db_cluster_identifier = inst.cluster.db_cluster_identifier
    topologies.after_switchover(bg, before)  # replica links, custom endpoints, proxies, global cluster
    blue, green = rt["pairs"][0]
    # Source/Target after switchover: knob arns_after_switchover (README: "renamed" is what the AWS CLI
    # reference example shows, https://docs.aws.amazon.com/cli/latest/reference/rds/describe-blue-green-deployments.html,
    # "Example 3"; the API reference does not say).
    if rt.get("arns") == "original":
        bg.source, bg.target = rt["original_arns"][0]
    else:
        bg.source, bg.target = blue.arn, green.arn
    bg.set_status(S.SWITCHOVER_COMPLETED)
    bg.status_details = "Switchover completed"


BG_NAME = re.compile(r"[a-zA-Z](?:-?[a-zA-Z0-9]+)*")  # botocore rds service-2.json, shape BlueGreenDeploymentName


def _validate_create(backend, kw):
    """What RDS refuses at CreateBlueGreenDeployment before anything is built."""
    name = kw.get("blue_green_deployment_name") or ""
    # API reference (service-2.json): BlueGreenDeploymentName min 1, max 60, pattern [a-zA-Z](?:-?[a-zA-Z0-9]+)*.
    # The error code is not documented: knob bg_name_error_code (RDS answers InvalidParameterValue for the
    # identifiers it validates itself; ValidationError is the generic code for a model constraint).
    if not 1 <= len(name) <= 60 or not BG_NAME.fullmatch(name):
        code = STATE.knob(name, "bg_name_error_code", "InvalidParameterValue")
        raise RDSClientError(code, f"1 validation error detected: Value '{name}' at 'blueGreenDeploymentName' "
                                   "failed to satisfy constraint: Member must have length between 1 and 60 and "
                                   "satisfy regular expression pattern: [a-zA-Z](?:-?[a-zA-Z0-9]+)*")
    # API reference, TargetDBInstanceClass: "This setting only applies to RDS DB instances ... If you're
    # creating a blue/green deployment from an Aurora DB cluster, don't specify this parameter."
    # The code is not documented; InvalidParameterCombination is RDS's code for parameters that exclude
    # each other.
    if kw.get("target_db_instance_class") and ":cluster:" in (kw.get("source") or ""):
        raise RDSClientError("InvalidParameterCombination",
                             "TargetDBInstanceClass can't be specified for a blue/green deployment from an Aurora "
                             "DB cluster. Modify the instance classes of the green DB instances after creation.")
    _validate_target(backend, kw)
    topologies.validate_create(backend, kw)  # replicas, global database + proxy


def _patch_blue_green():
    orig_switchover = BG.switchover

    def switchover(self):
        if getattr(self, "_emu", None) is None:
            return orig_switchover(self)
        _switchover(self)

    BG.switchover = switchover
    BG.set_status = _set_status
    B = rm.RDSBackend
    orig_create, orig_describe = B.create_blue_green_deployment, B.describe_blue_green_deployments
    orig_sw, orig_delete = B.switchover_blue_green_deployment, B.delete_blue_green_deployment

    def create(self, bg_kwargs):
        _validate_create(self, bg_kwargs)
        with STATE.lock:
            resp = orig_create(self, bg_kwargs)
            bg = self.blue_green_deployments[resp.blue_green_deployment_identifier]
            blue, green = _resolve(self, bg.source), _resolve(self, bg.target)
            pairs = [(blue, green)]
            if isinstance(blue, rm.DBCluster):  # moto names green members BLUE-green-xxxxxx
                for b in blue.members:
                    pairs += [(b, g) for g in green.members
                              if g.db_instance_identifier.startswith(b.db_instance_identifier + "-green-")]
            name = bg.blue_green_deployment_name
            knobs = {k: STATE.knob(name, k, 0) for k in INT_KNOBS}
            knobs.update({k: STATE.knob(name, k, False) for k in BOOL_KNOBS})
            knobs["status_details"] = STATE.knob(name, "status_details", None)
            bg._emu = {"polls": 0, "stage": "create", "knobs": knobs, "pairs": pairs,
                       "cluster": isinstance(blue, rm.DBCluster), "sw_left": 0, "sw_fail": False,
                       "original_arns": [(b.arn, g.arn) for b, g in pairs], "arns": "renamed"}
            if isinstance(green, rm.DBCluster) and green.parameter_group.startswith("default."):
                # moto copies blue's default group; RDS uses the default of the target family
                green.parameter_group = f"default.{_family(green.engine, green.engine_version)}"
            if green.engine_version != blue.engine_version:
                bg.tasks.insert(1, Task("DB_ENGINE_VERSION_UPGRADE", "COMPLETED"))
            topologies.after_create(self, bg, blue, green, bg_kwargs)  # green replicas, custom endpoints
            # "When you create a blue/green deployment, tags from the blue environment are copied to
            # the green environment" (RDS/Aurora User Guide, considerations): each green resource
            # gets its own blue's tags (moto gave every green member the cluster's, by reference).
            for b, g in pairs + bg._emu.get("replica_pairs", []):
                g.tags = copy.deepcopy(b.tags or [])
            for _, g in pairs:
                if knobs["storage_optimization_polls"] and isinstance(g, rm.DBInstance):
                    STATE.storage_opt[id(g)] = [g, knobs["storage_optimization_polls"]]
            if knobs["storage_initialization_polls"] and not isinstance(blue, rm.DBCluster):
                status = STATE.knob(name, "storage_initialization_status", "storage-initialization")
                for _, g in pairs + bg._emu.get("replica_pairs", []):  # green and its read replicas
                    n = knobs["storage_initialization_polls"]
                    STATE.storage_init[id(g)] = [g, n, n, status]
            _render(bg, 1)  # until the first poll, the deployment is what that poll will show
            STATE.deployments[bg.blue_green_deployment_identifier] = bg
            out = copy.copy(bg)  # the create response: everything still to do
            out.set_status(S.PROVISIONING)
            out.tasks = [Task(t.Name, "PENDING") for t in bg.tasks]
            out.status_details = None
            return out

    def describe(self, *args, **kwargs):
        with STATE.lock:
            found = orig_describe(self, *args, **kwargs)
            for bg in found:
                rt = getattr(bg, "_emu", None)
                if not rt:
                    continue
                rt["polls"] += 1
                if rt["stage"] == "create":
                    _render(bg, rt["polls"])
                elif rt["stage"] == "switchover":
                    if rt["sw_left"] > 0:
                        rt["sw_left"] -= 1
                    else:
                        _finish_switchover(bg)
                _after_failed_switchover(bg)
            return found

    def switchover_bgd(self, blue_green_deployment_identifier, switchover_timeout=300):
        if not 30 <= int(switchover_timeout or 300) <= 3600:
            raise RDSClientError("InvalidParameterValue",
                                 "SwitchoverTimeout must be between 30 and 3600 seconds.")
        with STATE.lock:
            bg = self.blue_green_deployments.get(blue_green_deployment_identifier)
            rt = getattr(bg, "_emu", None)
            # A deployment whose switchover RDS rolled back can be switched over again (see
            # _after_failed_switchover): SWITCHOVER_FAILED is accepted as AVAILABLE is.
            if rt is None or bg.status not in ("AVAILABLE", "SWITCHOVER_FAILED"):
                return orig_sw(self, blue_green_deployment_identifier, switchover_timeout)
            name = bg.blue_green_deployment_name
            rt["switchovers"] = rt.get("switchovers", 0) + 1
            rt["sw_failed_mode"] = None
            rt["loading_at_switchover"] = sorted(
                g.db_instance_identifier for _, g in rt["pairs"] + rt.get("replica_pairs", [])
                if isinstance(g, rm.DBInstance) and g.status in LOADING_STATUSES)
            rt["sw_left"] = STATE.knob(name, "switchover_in_progress_polls", 0)
            rt["sw_fail"] = STATE.knob(name, "switchover_failed", False)
            rt["arns"] = STATE.knob(name, "arns_after_switchover", "renamed")
            topologies.on_switchover(self, bg)  # zero-ETL guardrail, proxy knob
            # The answer shows the deployment as it was when the switchover started (names before the
            # renames), as in the AWS CLI reference example of switchover-blue-green-deployment.
            out = copy.copy(bg)
            out.set_status(S.SWITCHOVER_IN_PROGRESS)
            out.status_details = None
            if not rt["sw_left"] and not rt["sw_fail"]:
                rt["stage"] = "done"
                bg.switchover()
                return out
            rt["stage"] = "switchover"  # renames happen when the polls run out, as on RDS
            bg.set_status(S.SWITCHOVER_IN_PROGRESS)
            bg.status_details = None
            return out

    def delete_bgd(self, blue_green_deployment_identifier, delete_target=False):
        with STATE.lock:
            bg = self.blue_green_deployments.get(blue_green_deployment_identifier)
            if bg is not None:
                if bg.status == "SWITCHOVER_IN_PROGRESS":
                    raise InvalidBlueGreenDeploymentStateFault(blue_green_deployment_identifier)
                if delete_target and bg.status == "SWITCHOVER_COMPLETED":
                    raise RDSClientError(
                        "InvalidBlueGreenDeploymentStateFault",
                        f"Can't delete the target of blue/green deployment {blue_green_deployment_identifier} "
                        "because switchover has completed. Delete the deployment without DeleteTarget.")
                rt = getattr(bg, "_emu", None)
                if delete_target and rt and any(g.deletion_protection for _, g in rt["pairs"]):
                    raise RDSClientError(
                        "InvalidParameterCombination",
                        "Cannot delete the green environment while deletion protection is enabled on it.")
            if bg is not None:
                topologies.before_delete(self, bg, delete_target)  # green replicas and custom endpoints
            out = orig_delete(self, blue_green_deployment_identifier, delete_target)
            STATE.deployments.pop(blue_green_deployment_identifier, None)
            return out

    B.create_blue_green_deployment, B.describe_blue_green_deployments = create, describe
    B.switchover_blue_green_deployment, B.delete_blue_green_deployment = switchover_bgd, delete_bgd
    topologies.install(STATE, _next_old_name, INT_KNOBS, FLOAT_KNOBS, CHOICE_KNOBS)


def _validate_target(backend, kw):
    """RDS refuses a green version that is not a valid upgrade target of blue's version."""
    target = kw.get("target_engine_version")
    try:
        source = _resolve(backend, kw.get("source", ""))
    except Exception:
        return  # moto raises its own not-found / invalid-ARN error
    ev = _find_engine_version(source.engine, source.engine_version)  # deprecated sources included
    with_deprecated = STATE.knob(kw.get("blue_green_deployment_name"), "deprecated_upgrade_targets", False)
    if target and ev and target != source.engine_version and \
            target not in {t["EngineVersion"] for t in _upgrade_targets(ev, with_deprecated)}:
        raise RDSClientError("InvalidParameterCombination",
                             f"Cannot upgrade {source.engine} from {source.engine_version} to {target}")


def _patch_instances():
    orig_instance_init, orig_cluster_init = rm.DBInstance.__init__, rm.DBCluster.__init__
    # DescribeDBClusters filter `db-cluster-resource-id` ("Accepts DB cluster resource
    # identifiers", API reference); moto knows only db-cluster-id and engine.
    from moto.rds.utils import FilterDef
    rm.DBCluster.SUPPORTED_FILTERS = {
        **rm.DBCluster.SUPPORTED_FILTERS,
        "db-cluster-resource-id": FilterDef(["db_cluster_resource_id"], "DB Cluster Resource Ids"),
    }

    def instance_init(self, *a, **kw):
        orig_instance_init(self, *a, **kw)
        # moto gives every instance the same DbiResourceId; RDS ids are unique per instance
        self.dbi_resource_id = "db-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=26))
        # Enhanced Monitoring (moto drops both): DescribeDBInstances reports them, and RDS asks the
        # caller for iam:PassRole on the role whenever it creates an instance with it.
        self.monitoring_role_arn = kw.get("monitoring_role_arn")
        self.monitoring_interval = kw.get("monitoring_interval") or (60 if self.monitoring_role_arn else 0)
        _encryption_key(self)

    def cluster_init(self, *a, **kw):
        orig_cluster_init(self, *a, **kw)
        _encryption_key(self)
        self.url_identifier = URL_HASH  # a random one per cluster would move the endpoint at switchover
        if self.parameter_group == "default.aurora8.0":  # moto's default for every Aurora engine
            self.parameter_group = f"default.{_family(self.engine, self.engine_version)}"

    rm.DBInstance.__init__, rm.DBCluster.__init__ = instance_init, cluster_init
    orig_describe_instances = RDSResponse.describe_db_instances
    orig_modify_instance = rm.RDSBackend.modify_db_instance

    def describe_db_instances(self):
        # green instances report storage-optimization for their first N appearances; an instance whose
        # class is being modified reports modifying for its first modify_polls appearances; green instances
        # loading their data report storage-initialization with a rising PercentProgress (below)
        with STATE.lock:
            for key, (inst, left) in list(STATE.storage_opt.items()):
                inst.status = "storage-optimization" if left > 0 else "available"
                if left <= 0:
                    del STATE.storage_opt[key]
            for key, (inst, left, new_class) in list(STATE.modifying.items()):
                if left > 0:
                    inst.status = "modifying"
                else:
                    inst.db_instance_class, inst.pending_modified_values = new_class, None
                    inst.status = "storage-optimization" if STATE.storage_opt.get(key, [0, 0])[1] > 0 else "available"
                    del STATE.modifying[key]
            for key, (inst, left, total, status) in list(STATE.storage_init.items()):
                _storage_initialization(inst, left, total, status)
                if left <= 0:
                    del STATE.storage_init[key]
            result = orig_describe_instances(self)
            for inst in result.result["DBInstances"]:
                for table in (STATE.storage_opt, STATE.modifying, STATE.storage_init):
                    if id(inst) in table:
                        table[id(inst)][1] -= 1
            return result

    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        """A DBInstanceClass change is not instant. API reference, ModifyDBInstance.DBInstanceClass: "If you
        modify the DB instance class, an outage occurs during the change. The change is applied during the
        next maintenance window, unless you specify ApplyImmediately in your request." Modelled: the answer
        shows the old class with PendingModifiedValues.DBInstanceClass (status unchanged, as in the AWS CLI
        reference example of modify-db-instance with --apply-immediately); with ApplyImmediately the
        instance then reports `modifying` (PendingModifiedValues kept) for `modify_polls` DescribeDBInstances
        answers (default 2), then `available` with the new class. Without it the change stays pending
        (no maintenance window ever comes here). moto: applies the class at once."""
        new_class = db_kwargs.get("db_instance_class")
        inst = self.databases.get(db_instance_identifier)
        if not new_class or inst is None or new_class == inst.db_instance_class:
            return orig_modify_instance(self, db_instance_identifier, db_kwargs)
        with STATE.lock:
            kwargs = {k: v for k, v in db_kwargs.items() if k != "db_instance_class"}
            out = orig_modify_instance(self, db_instance_identifier, kwargs)
            inst.pending_modified_values = {"DBInstanceClass": new_class}
            if db_kwargs.get("apply_immediately"):
                owner = next((bg.blue_green_deployment_name for bg in STATE.deployments.values()
                              if any(inst is db for pair in bg._emu["pairs"] for db in pair)), None)
                STATE.modifying[id(inst)] = [inst, STATE.knob(owner, "modify_polls", 2), new_class]
            return out

    RDSResponse.describe_db_instances = describe_db_instances
    rm.RDSBackend.modify_db_instance = modify_db_instance
    orig_cluster_snapshot, orig_copy_cluster_snapshot = (RDSResponse.create_db_cluster_snapshot,
                                                         RDSResponse.copy_db_cluster_snapshot)

    def create_db_cluster_snapshot(self):
        _check_snapshot_identifier(self.params.get("DBClusterSnapshotIdentifier"), "DBClusterSnapshotIdentifier", 63)
        return orig_cluster_snapshot(self)

    def copy_db_cluster_snapshot(self):
        _check_snapshot_identifier(self.params.get("TargetDBClusterSnapshotIdentifier"),
                                   "TargetDBClusterSnapshotIdentifier", 63)
        return orig_copy_cluster_snapshot(self)

    RDSResponse.create_db_cluster_snapshot = create_db_cluster_snapshot
    RDSResponse.copy_db_cluster_snapshot = copy_db_cluster_snapshot
    RDSResponse.describe_db_engine_versions = describe_db_engine_versions
    RDSResponse.describe_db_major_engine_versions = describe_db_major_engine_versions
    RDSResponse.describe_pending_maintenance_actions = describe_pending_maintenance_actions


def _storage_initialization(inst, left, total, status):
    """Knob storage_initialization_polls N (read at create; RDS instances: green and each green read replica):
    RDS User Guide, Creating a blue/green deployment, "Lazy loading and storage initialization"
    (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-creating.html): after create,
    green "and its read replicas continue to load data in the background ... the overall instance status changes
    to Storage-initialization ... PercentProgress"; "Make sure data loading is complete before switching over."
    In the N DescribeDBInstances answers that include the instance after create: DBInstanceStatus
    `storage-initialization` (knob storage_initialization_status: `storage-config-upgrade`, the status of a
    storage file system upgrade, which also loads data) and PercentProgress (API reference, DBInstance: "The
    progress of the storage optimization operation as a percentage", a string) rising with each answer:
    k * 100 // (N + 1) for the k-th. Then `available`, no PercentProgress. The instance is otherwise usable, and
    RDS does not refuse a switchover meanwhile (not documented either way: no refusal is modelled)."""
    if left > 0:
        inst.status = status
        inst.percent_progress = str((total - left + 1) * 100 // (total + 1))
    else:
        inst.percent_progress = None
        if inst.status in LOADING_STATUSES:
            inst.status = "storage-optimization" if STATE.storage_opt.get(id(inst), [0, 0])[1] > 0 else "available"


def _aws_managed_key_policy(account, region, service):
    """The key policy AWS gives an AWS managed key `aws/<service>` (KMS Developer Guide, "AWS
    managed keys"; e.g. aws/rds): any principal of the account may use it through the service,
    and the account may read its metadata."""
    return {"Version": "2012-10-17", "Id": f"auto-{service}-2", "Statement": [
        {"Sid": f"Allow access through {service.upper()} for all principals in the account that are authorized to "
                f"use {service.upper()}", "Effect": "Allow", "Principal": {"AWS": "*"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant",
                    "kms:ListGrants", "kms:DescribeKey"], "Resource": "*",
         "Condition": {"StringEquals": {"kms:CallerAccount": account,
                                        "kms:ViaService": f"{service}.{region}.amazonaws.com"}}},
        {"Sid": "Allow direct access to key metadata to the account", "Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
         "Action": ["kms:Describe*", "kms:Get*", "kms:List*", "kms:RevokeGrant"], "Resource": "*"}]}


def _patch_kms():
    """moto makes a key for a reserved alias (alias/aws/rds, ...) on first use, as AWS does, but as a
    customer managed key with no policy: AWS's is AWS managed (KeyManager AWS) with its policy."""
    from moto.kms.models import KmsBackend
    orig = KmsBackend._generate_default_keys

    def generate_default_keys(self, alias_name):
        key_id = orig(self, alias_name)
        if key_id and alias_name.startswith("alias/aws/"):
            key = self.keys[key_id]
            key.key_manager = "AWS"
            key.policy = json.dumps(_aws_managed_key_policy(self.account_id, self.region_name,
                                                            alias_name.split("/")[-1]))
        return key_id

    KmsBackend._generate_default_keys = generate_default_keys


def _aws_managed_key(account, region, service="rds"):
    from moto.kms.models import kms_backends
    kms = kms_backends[account][region]
    return kms.keys[kms.get_key_id_from_alias(f"alias/aws/{service}")].arn


def _encryption_key(db):
    """RDS reports the key of an encrypted database as its ARN: the AWS managed aws/rds key when
    none was given ("By default, the RDS AWS managed key (aws/rds) is used for encryption", RDS
    User Guide, "AWS KMS key management"); a given key id or alias is resolved to its key's ARN.
    moto: the string default_kms_key_id, or whatever was passed."""
    if not getattr(db, "storage_encrypted", False):
        return
    given = getattr(db, "kms_key_id", None)
    if isinstance(db, rm.DBInstance) and getattr(db, "db_cluster_identifier", None):
        return  # a cluster member reports its cluster's key
    account, region = db.backend.account_id, db.backend.region_name
    if not given or given == "default_kms_key_id":
        db.kms_key_id = _aws_managed_key(account, region)
        return
    if given.startswith("arn:") and ":key/" in given:
        return
    from moto.kms.models import kms_backends
    kms = kms_backends[account][region]
    ref = given.split(":", 5)[5] if given.startswith("arn:") else given
    key_id = kms.get_key_id_from_alias(ref) if ref.startswith("alias/") else ref
    if key_id in kms.keys:
        db.kms_key_id = kms.keys[key_id].arn


def _check_snapshot_identifier(value, parameter, max_length):
    """API reference, CreateDBClusterSnapshot.DBClusterSnapshotIdentifier and
    CopyDBClusterSnapshot.TargetDBClusterSnapshotIdentifier: "Must contain from 1 to 63 letters, numbers, or
    hyphens. First character must be a letter. Can't end with a hyphen or contain two consecutive hyphens."
    moto checks DB snapshot identifiers (1 to 255, same rules) but no DB cluster snapshot identifier.
    The code is the one RDS and moto use for DB snapshot identifiers: InvalidParameterValue."""
    value = value or ""
    if not value:
        raise RDSClientError("InvalidParameterValue", f"The parameter {parameter} must be provided and must not be blank.")
    if len(value) > max_length or not re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", value) or "--" in value \
            or value.endswith("-"):
        raise RDSClientError("InvalidParameterValue",
                             f"The parameter {parameter} is not a valid identifier. Identifiers must begin with a "
                             "letter; must contain only ASCII letters, digits, and hyphens; and must not end with "
                             f"a hyphen or contain two consecutive hyphens; at most {max_length} characters.")


# ---------------------------------------------------------------- CloudWatch and SNS
_CW_FILTER = threading.local()  # the exact metric a GetMetricStatistics / GetMetricData query of this thread asks


def _patch_cloudwatch():
    """GetMetricStatistics / GetMetricData match dimensions exactly. API reference, GetMetricStatistics
    Dimensions: "CloudWatch treats each unique combination of dimensions as a separate metric. If a
    specific combination of dimensions was not published, you can't retrieve statistics for it. You must
    specify the same dimensions that were used when the metrics were created." moto: GetMetricStatistics
    accepts any datum that has the asked dimensions among others (and every datum when none are asked);
    GetMetricData with no dimensions likewise. ListMetrics filters by subset, as on AWS: unchanged."""
    from moto.cloudwatch.models import CloudWatchBackend

    orig_stats, orig_data, orig_all = (CloudWatchBackend.get_metric_statistics, CloudWatchBackend.get_metric_data,
                                       CloudWatchBackend.get_all_metrics)

    def key(dims):
        return sorted((d["Name"], d["Value"]) if isinstance(d, dict) else (d.name, d.value) for d in dims or [])

    def get_all_metrics(self):
        data, wanted = orig_all(self), getattr(_CW_FILTER, "wanted", None)
        if wanted is None:
            return data
        namespace, dims = wanted
        return [md for md in data if md.namespace == namespace and key(md.dimensions) == dims]

    def exactly(namespace, dims, call):
        _CW_FILTER.wanted = (namespace, key(dims))
        try:
            return call()
        finally:
            _CW_FILTER.wanted = None

    def get_metric_statistics(self, namespace, metric_name, start_time, end_time, period, stats, dimensions,
                              unit=None):
        return exactly(namespace, dimensions, lambda: orig_stats(
            self, namespace, metric_name, start_time, end_time, period, stats, dimensions, unit))

    def get_metric_data(self, queries, start_time, end_time, scan_by="TimestampAscending"):
        if not queries or not all("MetricStat" in q for q in queries):
            return orig_data(self, queries, start_time, end_time, scan_by)  # metric math: as moto does it
        out = []
        for q in queries:
            metric = q["MetricStat"]["Metric"]
            out += exactly(metric.get("Namespace"), metric.get("Dimensions", []),
                           lambda: orig_data(self, [q], start_time, end_time, scan_by))
        return out

    CloudWatchBackend.get_all_metrics = get_all_metrics
    CloudWatchBackend.get_metric_statistics = get_metric_statistics
    CloudWatchBackend.get_metric_data = get_metric_data


def _valid_subject(subject, max_length):
    """API reference, Publish.Subject: "Subjects must be UTF-8 text with no line breaks or control
    characters, and less than 100 characters long." (max_length 99; 100 with the knob, see README)."""
    import unicodedata
    return len(subject) <= max_length and not any(
        unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in subject)


def _patch_sns():
    """SNS Publish / PublishBatch Subject constraints. moto refuses only more than 100 characters."""
    from moto.sns.exceptions import InvalidParameterValue as SNSInvalidParameterValue
    from moto.sns.models import SNSBackend

    orig_publish = SNSBackend.publish

    def publish(self, message, arn, phone_number=None, subject=None, *args, **kwargs):
        if subject is not None:
            with STATE.lock:
                limit = STATE.global_knobs.get("sns_subject_max_length", 99)
            if not _valid_subject(subject, limit):
                # the code AWS answers (InvalidParameter) and its text, as reported in
                # https://github.com/getmoto/moto/issues/1503
                raise SNSInvalidParameterValue("Invalid parameter: Subject")
        return orig_publish(self, message, arn, phone_number, subject, *args, **kwargs)

    SNSBackend.publish = publish


_patched = False


def install_patches():
    global _patched
    if not _patched:
        _patch_blue_green()
        _patch_instances()
        _patch_cloudwatch()
        _patch_sns()
        _patch_kms()
        stepfunctions.install()  # Step Functions hook (see stepfunctions.py)
        endpoints.install()
        events.install()  # alarms -> EventBridge -> rules/schedules -> Step Functions (events.py)
        _patched = True


# ---------------------------------------------------------------- WSGI front
def _identify(environ, body):
    """(service, action, protocol) of an AWS request, for counters and throttling."""
    m = re.search(r"Credential=[^/]+/[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    service = m.group(1) if m else "unknown"
    target = environ.get("HTTP_X_AMZ_TARGET")
    if target:
        return service, target.rsplit(".", 1)[-1], "json"
    params = parse_qs(environ.get("QUERY_STRING", ""))
    if "x-www-form-urlencoded" in environ.get("CONTENT_TYPE", ""):
        params.update(parse_qs(body.decode("utf-8", "replace")))
    if "Action" in params:
        return service, params["Action"][0], "query"
    path = environ.get("PATH_INFO", "/")
    if "/operation/" in path:  # Smithy RPC v2 (CBOR), e.g. newer CloudWatch clients
        return service, path.rsplit("/", 1)[-1], "cbor"
    return service, f"{environ.get('REQUEST_METHOD')} {path}", "rest"


def _region_of(environ):
    m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    return m.group(1) if m else "us-east-1"


def _major(engine, version):
    """Major version as RDS counts it: 16 for postgres 16.4, 8.0 for mysql 8.0.36 and aurora-mysql 3.x."""
    ev = _find_engine_version(engine, version)
    if ev:
        return ev["MajorEngineVersion"]
    parts = version.split(".")
    return parts[0] if "postgres" in engine else ".".join(parts[:2])


def _dims(**kv):
    return [{"Name": k, "Value": v} for k, v in kv.items()]


def _aurora_dims(cluster, writer, mode):
    """Dimension sets an Aurora writer's metric is published under. "documented" (default): the one AWS
    tells you to read for the metric in question (set by the caller); "all": also every dimension set the
    Aurora dimensions page lists for instance metrics (DBInstanceIdentifier, DBClusterIdentifier,
    DBClusterIdentifier+Role; https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/dimensions.html)."""
    if mode != "all":
        return []
    return [_dims(DBInstanceIdentifier=writer.db_instance_identifier),
            _dims(DBClusterIdentifier=cluster.db_cluster_identifier),
            _dims(DBClusterIdentifier=cluster.db_cluster_identifier, Role="WRITER")]


def _lag_metrics(bg, rt):
    """The replication metrics RDS publishes for one deployment while it replicates, per engine. Sources:
    - RDS MySQL/MariaDB: "check the ReplicaLag CloudWatch metric in the green environment"; RDS PostgreSQL
      with logical replication: "check the OldestReplicationSlotLag CloudWatch metric in the blue
      environment" (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-switching.html,
      "Monitoring replica lag prior to switchover"). RDS PostgreSQL replicates logically only for a major
      version upgrade, physically otherwise
      (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/blue-green-deployments-replication-type.html);
      ReplicaLag is the physical replica's metric, OldestReplicationSlotLag and ReplicationSlotDiskUsage are
      bytes (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html).
    - Aurora MySQL: AuroraBinlogReplicaLag, "Primary for Aurora MySQL", "we recommend using the version of
      this metric associated with the WRITER role"; Aurora instances publish no ReplicaLag (not in the
      Aurora metric list). Aurora PostgreSQL: ReplicationSlotDiskUsage (Bytes) is in the Aurora instance-level
      list; the slot-lag metric's name is not (knob aurora_postgresql_slot_lag_metric, inferred from the RDS
      advice above). https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/Aurora.AuroraMonitoring.Metrics.html
    """
    name = bg.blue_green_deployment_name
    if STATE.knob(name, "lag_metrics_missing", False):
        return []  # a metric that does not arrive
    lag = float(STATE.knob(name, "replica_lag_seconds", 0.0))
    slot_lag = float(STATE.knob(name, "replication_slot_lag_bytes", 0.0))
    slot_disk = float(STATE.knob(name, "replication_slot_disk_usage_bytes", slot_lag))
    blue, green = rt["pairs"][0]
    engine, data = blue.engine, []

    def put(metric, value, unit, *dim_sets):
        data.extend({"MetricName": metric, "Value": value, "Unit": unit, "Dimensions": d} for d in dim_sets)

    if engine == "aurora-mysql":
        writer = green.writer  # binlog replication runs on the green cluster's writer only
        if writer:
            mode = STATE.knob(name, "aurora_metric_dimensions", "documented")
            role = _dims(DBClusterIdentifier=green.db_cluster_identifier, Role="WRITER")
            put("AuroraBinlogReplicaLag", lag, "Seconds",
                *[role] + [d for d in _aurora_dims(green, writer, mode) if d != role])
    elif engine == "aurora-postgresql":
        writer = blue.writer  # the logical replication slots live on blue's writer
        if writer:
            mode = STATE.knob(name, "aurora_metric_dimensions", "documented")
            own = _dims(DBInstanceIdentifier=writer.db_instance_identifier)
            dim_sets = [own] + [d for d in _aurora_dims(blue, writer, mode) if d != own]
            metric = STATE.knob(name, "aurora_postgresql_slot_lag_metric", "OldestReplicationSlotLag")
            if metric != "none":
                put(metric, slot_lag, "Bytes", *dim_sets)
            put("ReplicationSlotDiskUsage", slot_disk, "Bytes", *dim_sets)
    elif engine == "postgres" and _major(engine, green.engine_version) != _major(engine, blue.engine_version):
        # logical replication from blue's primary to green's primary: nothing on the green primary; the slot
        # metrics of blue's primary (the slots live there). RDS metrics page: OldestReplicationSlotLag counts
        # every slot on blue, each of blue's read replicas' physical slots too (knob blue_replica_slot_lag_bytes,
        # when blue has read replicas); OldestLogicalReplicationSlotLag counts logical slots only (the
        # deployment's: replication_slot_lag_bytes; knob logical_slot_lag_metric=withheld: not published)
        blue_dims = _dims(DBInstanceIdentifier=blue.db_instance_identifier)
        physical = float(STATE.knob(name, "blue_replica_slot_lag_bytes", 0.0)) if blue.replicas else 0.0
        put("OldestReplicationSlotLag", max(slot_lag, physical), "Bytes", blue_dims)
        if STATE.knob(name, "logical_slot_lag_metric", "published") == "published":
            put("OldestLogicalReplicationSlotLag", slot_lag, "Bytes", blue_dims)
        put("ReplicationSlotDiskUsage", slot_disk, "Bytes", blue_dims)
    else:  # mysql, mariadb, postgres physical: the green primary is a replica of blue's primary
        put("ReplicaLag", lag, "Seconds", _dims(DBInstanceIdentifier=green.db_instance_identifier))
    # Green read replicas replicate (physically, from the green primary) whatever the engine: their own
    # ReplicaLag, "the amount of time a read replica DB instance lags behind the source DB instance"
    # (https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/rds-metrics.html); knob green_replica_lag_seconds.
    replica_lag = float(STATE.knob(name, "green_replica_lag_seconds", 0.0))
    for _, g in rt.get("replica_pairs", []):
        put("ReplicaLag", replica_lag, "Seconds", _dims(DBInstanceIdentifier=g.db_instance_identifier))
    return data


def publish_rds_metrics(environ):
    """What RDS publishes every minute, published when someone reads CloudWatch: the replication metrics of
    each deployment still replicating (AVAILABLE or SWITCHOVER_IN_PROGRESS; see _lag_metrics) and
    `FreeStorageSpace` for every instance (knob `free_storage_ratio` of the allocated storage, default 0.6)."""
    from moto.cloudwatch.models import cloudwatch_backends

    m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    region = m.group(1) if m else "us-east-1"
    account = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")
    backend = rm.rds_backends[account][region]
    data = []
    with STATE.lock:
        published = set()
        for bg in list(backend.blue_green_deployments.values()):
            rt = getattr(bg, "_emu", None)
            if rt and bg.status in ("AVAILABLE", "SWITCHOVER_IN_PROGRESS"):
                lag = _lag_metrics(bg, rt)
                data += lag
                published |= {d["Dimensions"][0]["Value"] for d in lag if d["MetricName"] == "ReplicaLag"}
        # every other read replica publishes its own ReplicaLag (0: in sync); RDS metrics page, ReplicaLag
        data += [{"MetricName": "ReplicaLag", "Value": 0.0, "Unit": "Seconds",
                  "Dimensions": _dims(DBInstanceIdentifier=db.db_instance_identifier)}
                 for db in list(backend.databases.values())
                 if getattr(db, "is_replica", False) and db.db_instance_identifier not in published]
        ratio = float(STATE.global_knobs.get("free_storage_ratio", 0.6))
        for db in list(backend.databases.values()):
            if getattr(db, "allocated_storage", None):
                data.append({"MetricName": "FreeStorageSpace", "Value": int(db.allocated_storage) * 2**30 * ratio,
                             "Unit": "Bytes",
                             "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": db.db_instance_identifier}]})
    if data:
        cloudwatch_backends[account][region].put_metric_data("AWS/RDS", data)


class EmulatorApp:
    def __init__(self, moto_app):
        self.moto = moto_app

    def __call__(self, environ, start_response):
        path = environ.get("PATH_INFO", "")
        body = get_input_stream(environ).read()
        environ["wsgi.input"], environ["CONTENT_LENGTH"] = io.BytesIO(body), str(len(body))
        if path.startswith("/_emulator/"):
            return self.control(environ, path, body, start_response)
        service, action, proto = _identify(environ, body)
        if stepfunctions.is_lambda_invoke(service, environ):
            action = "Invoke"
        try:
            authz.authorize(environ, body, service, action, proto, _region_of(environ))
        except authz.Denied as denied:
            with STATE.lock:
                STATE.calls[service][action] += 1
            return authz.deny_response(start_response, denied, service, proto)
        with STATE.lock:
            STATE.calls[service][action] += 1
            throttle = STATE.throttles.get(action, 0) > 0
            if throttle:
                STATE.throttles[action] -= 1
                STATE.throttled[action] += 1
        if stepfunctions.is_lambda_invoke(service, environ):  # Step Functions hook: Task -> local Lambda service
            return stepfunctions.handle_lambda(environ, body, start_response)
        if throttle:
            return self.throttled(start_response, service, proto)
        with STATE.lock:
            refusal = STATE.failures.get(action)
            code = refusal[1] if refusal and refusal[0] > 0 else None
            if code:
                refusal[0] -= 1
        if code:
            return self.refused(start_response, service, proto, code)
        with STATE.lock:
            failing = STATE.server_errors.get(action)
            status = failing[1] if failing and failing[0] > 0 else None
            if status:
                failing[0] -= 1
                STATE.server_errored[action] += 1
        if status:
            return self.server_error(start_response, service, proto, status)
        with STATE.lock:
            lose = STATE.lost_answers.get(action, 0) > 0
            if lose:
                STATE.lost_answers[action] -= 1
        if lose:
            # The call is carried out, then the answer is lost (a crash, a reset connection):
            # the client sees a 500 and must find out what happened.
            for _ in self.moto(environ, lambda *a, **k: None):
                pass
            return self.lost(start_response)
        if service == "monitoring" and action.startswith("GetMetric"):
            publish_rds_metrics(environ)
        if proto == "cbor" and cbor_bridge.is_cbor_request(environ):
            return cbor_bridge.handle(self.moto, environ, start_response, service)
        if proto == "json" and service in json_wire.SERVICES:
            return json_wire.handle(self.moto, environ, start_response, service, action)
        return self.moto(environ, start_response)

    @staticmethod
    def lost(start_response):
        data = (b"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
                b"<Message>The request processing has failed because of an unknown error.</Message>"
                b"</Error></ErrorResponse>")
        start_response("500 Internal Server Error", [("Content-Type", "text/xml"), ("Content-Length", str(len(data)))])
        return [data]

    @staticmethod
    def throttled(start_response, service, proto):
        rid = str(uuid.uuid4())
        if proto == "cbor":
            return cbor_bridge.throttled(start_response, rid)
        if proto == "query":  # the shape RDS (Query API) uses for throttling
            xmlns = ' xmlns="http://rds.amazonaws.com/doc/2014-10-31/"' if service == "rds" else ""
            payload = (f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>Throttling</Code>"
                       f"<Message>Rate exceeded</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
            ctype = "text/xml"
        else:
            payload = json.dumps({"__type": "ThrottlingException", "message": "Rate exceeded"})
            ctype = "application/x-amz-json-1.1"
        data = payload.encode()
        start_response("400 Bad Request", [("Content-Type", ctype), ("Content-Length", str(len(data))),
                                           ("x-amzn-RequestId", rid)])
        return [data]

    @staticmethod
    def refused(start_response, service, proto, code):
        """An error the API documents for the call (knob fail_with), HTTP 400, not carried
        out: e.g. InvalidBlueGreenDeploymentStateFault for SwitchoverBlueGreenDeployment."""
        rid = str(uuid.uuid4())
        message = f"{code} (injected by the emulator's fail_with knob)"
        if proto == "query":
            xmlns = ' xmlns="http://rds.amazonaws.com/doc/2014-10-31/"' if service == "rds" else ""
            payload = (f"<ErrorResponse{xmlns}><Error><Type>Sender</Type><Code>{code}</Code>"
                       f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
            ctype = "text/xml"
        elif proto == "cbor":
            return cbor_bridge.error(start_response, rid, "400 Bad Request", code, message)
        else:
            payload = json.dumps({"__type": code, "message": message})
            ctype = "application/x-amz-json-1.1"
        data = payload.encode()
        start_response("400 Bad Request", [("Content-Type", ctype), ("Content-Length", str(len(data))),
                                           ("x-amzn-RequestId", rid)])
        return [data]

    @staticmethod
    def server_error(start_response, service, proto, status):
        """HTTP 500 InternalFailure or 503 ServiceUnavailable, as each protocol sends them."""
        rid = str(uuid.uuid4())
        code, message, line = {
            500: ("InternalFailure", "The request processing has failed because of an unknown error.",
                  "500 Internal Server Error"),
            503: ("ServiceUnavailable", "Service is unavailable. Try again later.", "503 Service Unavailable"),
        }[status]
        if proto == "cbor":
            return cbor_bridge.error(start_response, rid, line, code, message)
        if proto == "query":
            xmlns = ' xmlns="http://rds.amazonaws.com/doc/2014-10-31/"' if service == "rds" else ""
            payload = (f"<ErrorResponse{xmlns}><Error><Type>Receiver</Type><Code>{code}</Code>"
                       f"<Message>{message}</Message></Error><RequestId>{rid}</RequestId></ErrorResponse>")
            ctype = "text/xml"
        else:
            payload = json.dumps({"__type": code, "message": message})
            ctype = "application/x-amz-json-1.1"
        data = payload.encode()
        start_response(line, [("Content-Type", ctype), ("Content-Length", str(len(data))),
                              ("x-amzn-RequestId", rid)])
        return [data]

    def control(self, environ, path, body, start_response):
        method = environ.get("REQUEST_METHOD")
        status, out = "200 OK", None
        try:
            data = json.loads(body or b"{}")
            with STATE.lock:
                if method == "GET" and path == "/_emulator/state":
                    out = STATE.snapshot()
                elif method == "POST" and path == "/_emulator/faults":
                    STATE.set_faults(dict(data))
                    out = STATE.snapshot()["faults"]
                elif method == "POST" and path == "/_emulator/pending-maintenance":
                    _seed_pending(data)
                    out = {"ok": True}
                elif path == "/_emulator/stepfunctions":  # Step Functions hook: test knobs, Lambda endpoint
                    out = stepfunctions.control(method, data)
                elif path == "/_emulator/endpoints":
                    out = endpoints.control(method, data)
                elif method == "POST" and path == "/_emulator/sts/assume-role-as-service":
                    try:
                        out = authz.assume_role_as_service(data)
                    except PermissionError as e:
                        status, out = "403 Forbidden", {"error": str(e)}
                elif path.startswith(("/_emulator/events", "/_emulator/scheduler")):
                    try:
                        out = events.control(method, path, data)
                    except KeyError as e:
                        status, out = "404 Not Found", {"error": str(e)}
                elif path == "/_emulator/iam":
                    if method == "POST":
                        choice = data.get("member_authorization")
                        if choice not in authz.MEMBER_AUTHORIZATION:
                            raise ValueError(f"member_authorization must be one of {authz.MEMBER_AUTHORIZATION}")
                        authz.REGISTRY.member_authorization = choice
                    out = authz.REGISTRY.snapshot()
                elif method == "POST" and path == "/_emulator/reset":
                    if data.get("keep"):
                        _reset_except(set(data["keep"]))
                        endpoints.reset()
                        events.reset()
                        authz.REGISTRY.reset(keep_sessions=True)
                    elif not data.get("counters_only"):
                        moto_api_backend.reset()
                        endpoints.reset()
                        events.reset()
                        authz.REGISTRY.reset()
                    STATE.reset(counters_only=bool(data.get("counters_only")))
                    out = {"ok": True}
                else:
                    status, out = "404 Not Found", {"error": f"no route {method} {path}"}
        except (ValueError, KeyError, TypeError) as e:
            status, out = "400 Bad Request", {"error": str(e)}
        payload = json.dumps(out, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


def _reset_except(keep):
    """Every moto backend back to empty but those of the services in `keep` (a deployed stack's:
    IAM, KMS, SNS, ...), whose state stays; Step Functions keeps its state machines and drops
    their executions (stopping the ones still running). A test-speed knob: the next test finds
    the account as the deployment left it, without deploying again."""
    from moto.core.base_backend import BackendDict, backend_lock

    with backend_lock:
        for backend in list(BackendDict._instances):
            if backend.service_name in keep:
                continue
            for account_specific in backend.values():
                account_specific.reset()
    for backend in list(BackendDict._instances):
        if backend.service_name != "stepfunctions" or "stepfunctions" not in keep:
            continue
        for _, _, b in backend.iter_backends():
            for machine in b.state_machines:
                for execution in list(machine.executions):
                    if execution.status == "RUNNING":
                        try:
                            b.stop_execution(execution.execution_arn)
                        except Exception:  # already ending
                            pass
                machine.executions = []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=5055, help="0 picks a free port")
    ap.add_argument("--verbose", action="store_true", help="log every request")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.ERROR)
    install_patches()
    server = make_server(args.host, args.port, EmulatorApp(DomainDispatcherApplication(create_backend_app)),
                         threaded=True)

    stepfunctions.serve_on(server.port)  # Step Functions hook: MOTO_PORT = this port

    def stop(signum, frame):
        raise SystemExit(0)  # unwinds serve_forever in this (main) thread

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"emulator listening on http://{args.host}:{server.port}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

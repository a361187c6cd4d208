#!/usr/bin/env python3
"""Local AWS emulator for rds-bluegreen end-to-end tests and `make demo`.

Run:  python tests/emulator/launcher.py --port 5055   (--port 0 picks a free port)

It serves moto's server (RDS, CloudWatch, SNS, STS, EventBridge, Scheduler, ...) in the
foreground on 127.0.0.1, prints `emulator listening on http://127.0.0.1:PORT`, and exits 0 on
SIGTERM/SIGINT. On top of moto 5.2.1 it adds:

RDS actions moto lacks
  DescribeDBEngineVersions          real upgrade paths from engine_versions.json (filters Engine,
                                    EngineVersion (exact or major prefix), DBParameterGroupFamily,
                                    DefaultOnly, Filters; Marker/MaxRecords)
  DescribePendingMaintenanceActions empty unless seeded through the control API

Fidelity fixes to moto's blue/green model
  - Tasks gain DB_ENGINE_VERSION_UPGRADE when the green runs another version.
  - Aurora: SwitchoverDetails list the cluster and every member instance; switchover renames
    the member instances too (blue X -> X-old1, green X-green-abc -> X), not just the clusters.
  - Aurora clusters get the default cluster parameter group of their family (moto: always
    default.aurora8.0), and so does a green cluster created without one.
  - Cluster endpoints use one per-account hash (as RDS does), so the production cluster keeps
    its endpoint address after switchover; instances get distinct DbiResourceIds.
  - CreateBlueGreenDeployment refuses a TargetEngineVersion that is not a ValidUpgradeTarget
    of a known source version; SwitchoverTimeout must be 30..3600.
  - DeleteBlueGreenDeployment refuses DeleteTarget=true after switchover, refuses any delete
    during switchover, and checks green deletion protection before touching anything.

Control API (same port, JSON in and out)
  POST /_emulator/faults   {"BlueGreenDeploymentName": "bg1", <knobs>}  (no name = global)
      provisioning_polls N, provisioning_until EPOCH_SECONDS (PROVISIONING until that wall-clock
      time, whatever the polls), tasks_in_progress_polls N, storage_optimization_polls N,
      invalid_configuration bool, status_details str, switchover_failed_in_details bool,
      switchover_failed bool, switchover_in_progress_polls N,
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

import cbor_bridge
import endpoints

INT_KNOBS = {"provisioning_polls", "provisioning_until", "tasks_in_progress_polls", "storage_optimization_polls",
             "switchover_in_progress_polls"}
BOOL_KNOBS = {"invalid_configuration", "switchover_failed_in_details", "switchover_failed"}
# Metrics RDS publishes on its own; read whenever a client reads CloudWatch.
FLOAT_KNOBS = {"replica_lag_seconds", "free_storage_ratio"}
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
        self.lost_answers = {}  # action -> calls to carry out whose answer is then lost
        self.pending = {}  # resource ARN -> [PendingMaintenanceAction]
        self.deployments = {}  # identifier -> BlueGreenDeployment (for /state)
        self.storage_opt = {}  # id(instance) -> [instance, polls left]

    def knob(self, name, key, default):
        return self.knobs.get(name, {}).get(key, self.global_knobs.get(key, default))

    def set_faults(self, body):
        throttle = body.pop("throttle", None)
        lose = body.pop("lose_answer", None)
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
            if key in FLOAT_KNOBS and isinstance(value, (int, float)) and value >= 0:
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
                       "server_error": self.server_errors},
            "pending_maintenance": {arn: len(a) for arn, a in self.pending.items()},
            "deployments": {bg.blue_green_deployment_name: {
                "identifier": bg_id, "status": bg.status, "polls": bg._emu["polls"],
                "stage": bg._emu["stage"]} for bg_id, bg in self.deployments.items()},
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
                        })
                out.append({
                    "Engine": engine, "EngineVersion": v, "MajorEngineVersion": major,
                    "DBParameterGroupFamily": spec["family"].format(major=major),
                    "DBEngineDescription": spec["description"],
                    "DBEngineVersionDescription": _describe(spec, v, major),
                    "ValidUpgradeTarget": targets, "Status": "available",
                    "SupportsReadReplica": True, "SupportedEngineModes": ["provisioned"],
                    "_default": v == spec["default"],
                })
    return out


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
        return not p.get("DefaultOnly") or e["_default"]

    found = [{k: v for k, v in e.items() if not k.startswith("_")} for e in ENGINE_VERSIONS if match(e)]
    start, size = int(p.get("Marker") or 0), int(p.get("MaxRecords") or 100)
    result = {"DBEngineVersions": found[start:start + size]}
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
    pairs = [(b.arn, g.arn) for b, g in rt["pairs"]] if rt else [(self.source, self.target)]
    self.switchover_details = [Detail(b, g, detail) for b, g in pairs]


def _render(bg, k):
    """Set the stored deployment to what its k-th DescribeBlueGreenDeployments shows."""
    rt = bg._emu
    n, m = rt["knobs"]["provisioning_polls"], rt["knobs"]["tasks_in_progress_polls"]
    names = [t.Name for t in bg.tasks]
    busy = "DB_ENGINE_VERSION_UPGRADE" if "DB_ENGINE_VERSION_UPGRADE" in names else names[-1]
    bg.status_details = None
    if k <= n or time.time() < rt["knobs"]["provisioning_until"]:
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


def _finish_switchover(bg):
    rt = bg._emu
    rt["stage"] = "done"
    if rt["sw_fail"]:  # nothing renamed, as after an RDS rollback
        bg.set_status(S.SWITCHOVER_FAILED)
        bg.status_details = SWITCHOVER_FAILED_TEXT
    else:
        bg.switchover()


def _patch_blue_green():
    orig_switchover = BG.switchover

    def switchover(self):
        orig_switchover(self)
        rt = getattr(self, "_emu", None)
        if not rt or not rt["cluster"]:
            return
        # moto renames only the clusters; RDS renames every member instance as well
        backend = self.backend
        for blue, green in rt["pairs"][1:]:
            name = blue.db_instance_identifier
            backend.modify_db_instance(name, {"new_db_instance_identifier": f"{name}-old1"})
            backend.modify_db_instance(green.db_instance_identifier, {"new_db_instance_identifier": name})
        for inst in backend.databases.values():
            if isinstance(inst, rm.DBInstanceClustered):
                inst.db_cluster_identifier = inst.cluster.db_cluster_identifier
        self.set_status(S.SWITCHOVER_COMPLETED)

    BG.switchover = switchover
    BG.set_status = _set_status
    B = rm.RDSBackend
    orig_create, orig_describe = B.create_blue_green_deployment, B.describe_blue_green_deployments
    orig_sw, orig_delete = B.switchover_blue_green_deployment, B.delete_blue_green_deployment

    def create(self, bg_kwargs):
        _validate_target(self, bg_kwargs)
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
                       "cluster": isinstance(blue, rm.DBCluster), "sw_left": 0, "sw_fail": False}
            if isinstance(green, rm.DBCluster) and green.parameter_group.startswith("default."):
                # moto copies blue's default group; RDS uses the default of the target family
                green.parameter_group = f"default.{_family(green.engine, green.engine_version)}"
            if green.engine_version != blue.engine_version:
                bg.tasks.insert(1, Task("DB_ENGINE_VERSION_UPGRADE", "COMPLETED"))
            for _, g in pairs:
                if knobs["storage_optimization_polls"] and isinstance(g, rm.DBInstance):
                    STATE.storage_opt[id(g)] = [g, knobs["storage_optimization_polls"]]
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
            return found

    def switchover_bgd(self, blue_green_deployment_identifier, switchover_timeout=300):
        if not 30 <= int(switchover_timeout or 300) <= 3600:
            raise RDSClientError("InvalidParameterValue",
                                 "SwitchoverTimeout must be between 30 and 3600 seconds.")
        with STATE.lock:
            bg = self.blue_green_deployments.get(blue_green_deployment_identifier)
            rt = getattr(bg, "_emu", None)
            if rt is None or bg.status != "AVAILABLE":
                return orig_sw(self, blue_green_deployment_identifier, switchover_timeout)
            name = bg.blue_green_deployment_name
            rt["sw_left"] = STATE.knob(name, "switchover_in_progress_polls", 0)
            rt["sw_fail"] = STATE.knob(name, "switchover_failed", False)
            if not rt["sw_left"] and not rt["sw_fail"]:
                rt["stage"] = "done"
                return orig_sw(self, blue_green_deployment_identifier, switchover_timeout)
            rt["stage"] = "switchover"  # renames happen when the polls run out, as on RDS
            bg.set_status(S.SWITCHOVER_IN_PROGRESS)
            bg.status_details = None
            return copy.copy(bg)

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
            out = orig_delete(self, blue_green_deployment_identifier, delete_target)
            STATE.deployments.pop(blue_green_deployment_identifier, None)
            return out

    B.create_blue_green_deployment, B.describe_blue_green_deployments = create, describe
    B.switchover_blue_green_deployment, B.delete_blue_green_deployment = switchover_bgd, delete_bgd


def _validate_target(backend, kw):
    """RDS refuses a green version that is not a valid upgrade target of blue's version."""
    target = kw.get("target_engine_version")
    try:
        source = _resolve(backend, kw.get("source", ""))
    except Exception:
        return  # moto raises its own not-found / invalid-ARN error
    ev = _find_engine_version(source.engine, source.engine_version)
    if target and ev and target != source.engine_version and \
            target not in {t["EngineVersion"] for t in ev["ValidUpgradeTarget"]}:
        raise RDSClientError("InvalidParameterCombination",
                             f"Cannot upgrade {source.engine} from {source.engine_version} to {target}")


def _patch_instances():
    orig_instance_init, orig_cluster_init = rm.DBInstance.__init__, rm.DBCluster.__init__

    def instance_init(self, *a, **kw):
        orig_instance_init(self, *a, **kw)
        # moto gives every instance the same DbiResourceId; RDS ids are unique per instance
        self.dbi_resource_id = "db-" + "".join(random.choices(string.ascii_uppercase + string.digits, k=26))

    def cluster_init(self, *a, **kw):
        orig_cluster_init(self, *a, **kw)
        self.url_identifier = URL_HASH  # a random one per cluster would move the endpoint at switchover
        if self.parameter_group == "default.aurora8.0":  # moto's default for every Aurora engine
            self.parameter_group = f"default.{_family(self.engine, self.engine_version)}"

    rm.DBInstance.__init__, rm.DBCluster.__init__ = instance_init, cluster_init
    orig_describe_instances = RDSResponse.describe_db_instances

    def describe_db_instances(self):
        # green instances report storage-optimization for their first N appearances
        with STATE.lock:
            for key, (inst, left) in list(STATE.storage_opt.items()):
                inst.status = "storage-optimization" if left > 0 else "available"
                if left <= 0:
                    del STATE.storage_opt[key]
            result = orig_describe_instances(self)
            for inst in result.result["DBInstances"]:
                if id(inst) in STATE.storage_opt:
                    STATE.storage_opt[id(inst)][1] -= 1
            return result

    RDSResponse.describe_db_instances = describe_db_instances
    RDSResponse.describe_db_engine_versions = describe_db_engine_versions
    RDSResponse.describe_pending_maintenance_actions = describe_pending_maintenance_actions


_patched = False


def install_patches():
    global _patched
    if not _patched:
        _patch_blue_green()
        _patch_instances()
        endpoints.install()
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


def publish_rds_metrics(environ):
    """What RDS publishes every minute, published when someone reads CloudWatch:
    `ReplicaLag` for each green instance of a deployment still replicating (knob
    `replica_lag_seconds`, default 0) and `FreeStorageSpace` for every instance (knob
    `free_storage_ratio` of the allocated storage, default 0.6)."""
    from moto.cloudwatch.models import cloudwatch_backends

    m = re.search(r"Credential=[^/]+/[^/]+/([^/]+)/", environ.get("HTTP_AUTHORIZATION", ""))
    region = m.group(1) if m else "us-east-1"
    account = os.environ.get("MOTO_ACCOUNT_ID", "123456789012")
    backend = rm.rds_backends[account][region]
    data = []
    with STATE.lock:
        for bg in list(backend.blue_green_deployments.values()):
            rt = getattr(bg, "_emu", None)
            if not rt or bg.status not in ("AVAILABLE", "SWITCHOVER_IN_PROGRESS"):
                continue
            lag = float(STATE.knob(bg.blue_green_deployment_name, "replica_lag_seconds", 0.0))
            for _, green in rt["pairs"]:
                if isinstance(green, rm.DBInstance):
                    data.append({"MetricName": "ReplicaLag", "Value": lag, "Unit": "Seconds",
                                 "Dimensions": [{"Name": "DBInstanceIdentifier", "Value": green.db_instance_identifier}]})
                elif green.engine == "aurora-mysql":
                    data.append({"MetricName": "AuroraBinlogReplicaLag", "Value": lag, "Unit": "Seconds",
                                 "Dimensions": [{"Name": "DBClusterIdentifier", "Value": green.db_cluster_identifier}]})
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
        with STATE.lock:
            STATE.calls[service][action] += 1
            throttle = STATE.throttles.get(action, 0) > 0
            if throttle:
                STATE.throttles[action] -= 1
                STATE.throttled[action] += 1
        if throttle:
            return self.throttled(start_response, service, proto)
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
                elif path == "/_emulator/endpoints":
                    out = endpoints.control(method, data)
                elif method == "POST" and path == "/_emulator/reset":
                    if not data.get("counters_only"):
                        moto_api_backend.reset()
                        endpoints.reset()
                    STATE.reset(counters_only=bool(data.get("counters_only")))
                    out = {"ok": True}
                else:
                    status, out = "404 Not Found", {"error": f"no route {method} {path}"}
        except (ValueError, KeyError, TypeError) as e:
            status, out = "400 Bad Request", {"error": str(e)}
        payload = json.dumps(out, default=str).encode()
        start_response(status, [("Content-Type", "application/json"), ("Content-Length", str(len(payload)))])
        return [payload]


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

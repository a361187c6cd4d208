"""The real parts, started for a local run: the extended moto emulator, the worker binaries
behind a local Lambda service, and the ASL interpreter running statemachine/upgrade.asl.json.

Used by `make demo`, `make execute` and the end-to-end tests. Nothing here replaces product
code: the state machine, the binaries and the AWS API calls are the real ones.
"""

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import boto3

ROOT = Path(__file__).resolve().parents[2]
DEFINITION = ROOT / "statemachine" / "upgrade.asl.json"
NODE = ROOT / "tests" / "sfn" / "node_modules" / "node" / "bin" / "node"
RUNNER = ROOT / "tests" / "sfn" / "run-execution.mjs"
REGION = "us-east-1"
ACCOUNT = "123456789012"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": REGION,
               "AWS_DEFAULT_REGION": REGION}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(cmd, ready_prefix, env, log_path, timeout=60):
    """Start a server process and wait for its `... listening on URL` line."""
    log = open(log_path, "w")
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=log, env=env, text=True)
    deadline = time.time() + timeout
    while time.time() < deadline:
        line = proc.stdout.readline()
        if line.startswith(ready_prefix):
            return proc, line.strip().rsplit(" ", 1)[-1]
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise RuntimeError(f"{cmd[1]} did not start; see {log_path}")


def _stop(proc):
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


class Stack:
    """An emulator (unless one is given), a notification topic with a queue subscribed to it
    (so tests can read what was sent), and the workers behind a local Lambda service."""

    def __init__(self, endpoint=None, bin_dir=None, workdir=None):
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="rds-bluegreen-"))
        self.bin_dir = Path(bin_dir or ROOT / "target" / "debug")
        self.endpoint = endpoint
        self.emulator = self.lambdas = None
        self.lambda_endpoint = None

    def __enter__(self):
        env = {**os.environ, **CREDENTIALS}
        if not self.endpoint:
            self.emulator, self.endpoint = _start(
                [sys.executable, str(ROOT / "tests" / "emulator" / "launcher.py"), "--port", "0"],
                "emulator listening on", env, self.workdir / "emulator.log")
        self.topic_arn, self.queue_url = self._notification_topic()
        env.update({"AWS_ENDPOINT_URL": self.endpoint, "NOTIFICATION_TOPIC_ARN": self.topic_arn,
                    "RUST_LOG": os.environ.get("RUST_LOG", "info")})
        self.lambdas, self.lambda_endpoint = _start(
            [sys.executable, str(ROOT / "tests" / "local" / "lambda_service.py"), "--bin-dir", str(self.bin_dir),
             "--port", str(free_port()), "--log-dir", str(self.workdir / "functions")],
            "lambda service listening on", env, self.workdir / "lambda-service.log")
        return self

    def __exit__(self, *exc):
        _stop(self.lambdas)
        _stop(self.emulator)

    # ------------------------------------------------------------ AWS clients
    def client(self, service):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def _notification_topic(self):
        sns, sqs = self.client("sns"), self.client("sqs")
        topic = sns.create_topic(Name="rds-bluegreen-notifications")["TopicArn"]
        queue_url = sqs.create_queue(QueueName="rds-bluegreen-notifications")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn, Attributes={"RawMessageDelivery": "true"})
        return topic, queue_url

    def notifications(self):
        """Every notification body published so far (drains the queue)."""
        sqs, bodies = self.client("sqs"), []
        while True:
            msgs = sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not msgs:
                return bodies
            for m in msgs:
                bodies.append(json.loads(m["Body"]))
                sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=m["ReceiptHandle"])

    def control(self, path, body=None):
        req = urllib.request.Request(f"{self.endpoint}/_emulator/{path}",
                                     data=None if body is None else json.dumps(body).encode(),
                                     method="GET" if body is None else "POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def faults(self, **knobs):
        return self.control("faults", knobs)

    def state(self):
        return self.control("state")

    # ------------------------------------------------------------ executions
    def execute(self, request, max_wait_seconds=1, progress=None, timeout=600, stop_after=None):
        """Runs one execution of the real state machine. Returns (exit code, output, stderr).
        Exit 0: succeeded; 1: the execution failed (output = {Error, Cause}); 2: harness error;
        3: abandoned after Task state `stop_after` ("STATE" or "STATE:N") answered."""
        path = self.workdir / f"input-{time.time_ns()}.json"
        path.write_text(request if isinstance(request, str) else json.dumps(request))
        cmd = [str(NODE), str(RUNNER), "--definition", str(DEFINITION), "--input", str(path),
               "--lambda-endpoint", self.lambda_endpoint, "--account", ACCOUNT, "--region", REGION]
        if max_wait_seconds is not None:
            cmd += ["--max-wait-seconds", str(max_wait_seconds)]
        if stop_after:
            cmd += ["--stop-after", stop_after]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        err_lines = []
        for line in proc.stderr:
            err_lines.append(line)
            if progress:
                progress(line.rstrip("\n"))
        out = proc.stdout.read()
        rc = proc.wait(timeout=timeout)
        last = out.strip().splitlines()[-1] if out.strip() else "null"
        try:
            output = json.loads(last)
        except ValueError:
            output = None
        return rc, output, "".join(err_lines)


# ---------------------------------------------------------------- realistic databases
def seed_postgres_instance(rds, name="orders-pg", version="13.15", target_family="postgres16",
                           logical_replication=True, target_group=True, **overrides):
    """An RDS PostgreSQL instance on a custom parameter group (logical replication on, as a
    major-version blue/green needs), and the target version's parameter group."""
    major = version.split(".")[0]
    source_group, target_group_name = f"{name}-pg{major}", f"{name}-{target_family.replace('postgres', 'pg')}"
    rds.create_db_parameter_group(DBParameterGroupName=source_group, DBParameterGroupFamily=f"postgres{major}",
                                  Description=f"{name} PostgreSQL {major}")
    params = [{"ParameterName": "max_replication_slots", "ParameterValue": "20", "ApplyMethod": "pending-reboot"},
              {"ParameterName": "max_wal_senders", "ParameterValue": "20", "ApplyMethod": "pending-reboot"}]
    if logical_replication:
        params.append({"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"})
    rds.modify_db_parameter_group(DBParameterGroupName=source_group, Parameters=params)
    if target_group:
        rds.create_db_parameter_group(DBParameterGroupName=target_group_name, DBParameterGroupFamily=target_family,
                                      Description=f"{name} target")
    args = dict(DBInstanceIdentifier=name, Engine="postgres", EngineVersion=version, DBInstanceClass="db.r6g.large",
                AllocatedStorage=200, MasterUsername="app", MasterUserPassword="correct-horse-battery",
                DBParameterGroupName=source_group, BackupRetentionPeriod=7, DeletionProtection=True, MultiAZ=True,
                StorageEncrypted=True, Tags=[{"Key": "team", "Value": "orders"}, {"Key": "bluegreen:managed", "Value": "true"}])
    args.update(overrides)
    rds.create_db_instance(**args)
    return {"db_identifier": name, "target_engine_version": "16.4", "target_db_parameter_group_name": target_group_name}


def seed_mysql_instance(rds, name="billing-mysql", version="5.7.44"):
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-57", DBParameterGroupFamily="mysql5.7", Description="5.7")
    rds.modify_db_parameter_group(DBParameterGroupName=f"{name}-57", Parameters=[
        {"ParameterName": "binlog_format", "ParameterValue": "ROW", "ApplyMethod": "immediate"}])
    rds.create_db_parameter_group(DBParameterGroupName=f"{name}-80", DBParameterGroupFamily="mysql8.0", Description="8.0")
    rds.create_db_instance(DBInstanceIdentifier=name, Engine="mysql", EngineVersion=version, DBInstanceClass="db.r6g.large",
                           AllocatedStorage=100, MasterUsername="admin", MasterUserPassword="correct-horse-battery",
                           DBParameterGroupName=f"{name}-57", BackupRetentionPeriod=7)
    return {"db_identifier": name, "target_engine_version": "8.0.39", "target_db_parameter_group_name": f"{name}-80"}


def seed_aurora_postgres_cluster(rds, name="ledger-aurora", version="13.12"):
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-13", DBParameterGroupFamily="aurora-postgresql13",
                                          Description="13")
    rds.modify_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-13", Parameters=[
        {"ParameterName": "rds.logical_replication", "ParameterValue": "1", "ApplyMethod": "pending-reboot"}])
    rds.create_db_cluster_parameter_group(DBClusterParameterGroupName=f"{name}-16", DBParameterGroupFamily="aurora-postgresql16",
                                          Description="16")
    rds.create_db_cluster(DBClusterIdentifier=name, Engine="aurora-postgresql", EngineVersion=version,
                          MasterUsername="app", MasterUserPassword="correct-horse-battery",
                          DBClusterParameterGroupName=f"{name}-13", BackupRetentionPeriod=7)
    for i in (1, 2):
        rds.create_db_instance(DBInstanceIdentifier=f"{name}-{i}", DBClusterIdentifier=name, Engine="aurora-postgresql",
                               DBInstanceClass="db.r6g.large")
    return {"db_identifier": name, "target_engine_version": "16.4", "target_db_cluster_parameter_group_name": f"{name}-16"}


def tag_for_fleet(rds, request, wave="1", kind="db", **extra_tags):
    """Tags a seeded database so a fleet selects it: the wave, the opt-in, and its request
    fields as `bluegreen:` tags (what a team sets once on each database)."""
    name = request["db_identifier"]
    arn = f"arn:aws:rds:{REGION}:{ACCOUNT}:{kind}:{name}"
    tags = {"bluegreen:wave": wave, "bluegreen:managed": "true"}
    tags.update({f"bluegreen:{k.replace('_', '-')}": str(v) for k, v in request.items() if k != "db_identifier"})
    tags.update(extra_tags)
    rds.add_tags_to_resource(ResourceName=arn, Tags=[{"Key": k, "Value": v} for k, v in tags.items()])
    return name


def seed_fleet(rds, postgres=0, mysql=0, aurora=0, wave="1", prefix="fleet"):
    """Mixed engines, each database tagged into `wave`. Returns {name: engine}."""
    seeded = {}
    for i in range(postgres):
        seeded[tag_for_fleet(rds, seed_postgres_instance(rds, name=f"{prefix}-pg-{i:02d}"), wave)] = "postgres"
    for i in range(mysql):
        seeded[tag_for_fleet(rds, seed_mysql_instance(rds, name=f"{prefix}-my-{i:02d}"), wave)] = "mysql"
    for i in range(aurora):
        request = seed_aurora_postgres_cluster(rds, name=f"{prefix}-au-{i:02d}")
        seeded[tag_for_fleet(rds, request, wave, kind="cluster")] = "aurora-postgresql"
    return seeded

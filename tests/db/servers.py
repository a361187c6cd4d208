#!/usr/bin/env python3
"""Throwaway database servers for the `sql` worker's tests: real PostgreSQL 15 and MariaDB
10.11 (Debian's packages), each in a temp directory, on a loopback port, with TLS (a throwaway
CA and server certificate), no system service, stopped afterwards. Standard library only.

  python3 tests/db/servers.py run -- CMD ARGS...   start, run CMD with BLUEGREEN_TEST_SERVERS
                                                   set to the servers' JSON, stop (CMD's exit code)
  python3 tests/db/servers.py start [--dir DIR]    start and leave running; prints the endpoints
                                                   and the JSON path (DIR/servers.json)
  python3 tests/db/servers.py stop --dir DIR       stop what `start` started

Servers (every one TLS-only; a plain TCP login is refused):
  postgres        "blue": wal_level=logical, max_replication_slots=10, max_prepared_transactions=10
  postgres_green  a second cluster that stands in for green (and for the new production)
  postgres_ext    blue's settings plus pg_cron, pglogical and pg_partman_bgw preloaded, when
                  Debian's packages for them are installed (null otherwise)
  mariadb         log-bin (ROW), binlog_expire_logs_seconds=3600
Users on each: `bluegreen_admin` (superuser, for seeding), `bluegreen_check` (least privilege:
pg_monitor + CONNECT; MariaDB: SELECT, PROCESS, REPLICATION CLIENT, SLAVE MONITOR), `nogrants` (may log in,
nothing else: on PostgreSQL the database `locked` refuses it CONNECT). CA bundles: `ca_bundle`
(signs every server) and `wrong_ca_bundle` (signs nothing). As root (CI), the servers run as
the `postgres` and `mysql` users the Debian packages create; PostgreSQL refuses root.

Tests find the JSON through BLUEGREEN_TEST_SERVERS. Module use: `with Servers() as s: s.info`.
"""

import argparse
import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
PG_EXT_DIR = Path("/usr/share/postgresql/15/extension")
PASSWORDS = {"bluegreen_admin": "admin-pass-1", "bluegreen_check": "check-pass-1", "nogrants": "nogrants-pass-1"}


def log(msg):
    print(f"[servers] {msg}", file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_as(user):
    """preexec for a child that must not run as root (PostgreSQL refuses root)."""
    if os.geteuid() != 0 or not user:
        return {}
    pw = pwd.getpwnam(user)
    return {"user": pw.pw_uid, "group": pw.pw_gid, "extra_groups": []}


def chown_tree(path, user):
    if os.geteuid() != 0 or not user:
        return
    pw = pwd.getpwnam(user)
    for root, dirs, files in os.walk(path):
        os.chown(root, pw.pw_uid, pw.pw_gid)
        for f in files:
            os.chown(os.path.join(root, f), pw.pw_uid, pw.pw_gid)


def sh(cmd, user=None, **kw):
    kw.setdefault("check", True)
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    try:
        return subprocess.run(cmd, **run_as(user), **kw)
    except subprocess.CalledProcessError as e:
        raise RuntimeError(f"{' '.join(map(str, cmd))} failed ({e.returncode}): {e.stderr or e.stdout}") from None


# ------------------------------------------------------------------ TLS
def make_certificates(d):
    """A CA, a server certificate it signs (localhost, 127.0.0.1), and an unrelated CA."""
    d.mkdir(parents=True, exist_ok=True)

    def ca(name, subject):
        sh(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.pem"), "-days", "2", "-subj", subject,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"])

    ca("ca", "/CN=rds-bluegreen test CA")
    ca("wrong-ca", "/CN=rds-bluegreen unrelated CA")
    sh(["openssl", "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-keyout", str(d / "server.key"), "-out", str(d / "server.csr"), "-subj", "/CN=localhost"])
    (d / "server.ext").write_text("basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n"
                                  "extendedKeyUsage=serverAuth\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n")
    sh(["openssl", "x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.pem"), "-CAkey",
        str(d / "ca.key"), "-CAcreateserial", "-out", str(d / "server.pem"), "-days", "2",
        "-extfile", str(d / "server.ext")])


def server_tls_copy(certs, dest, user):
    """Each server gets its own copy of the key (PostgreSQL wants it 0600 and its own)."""
    dest.mkdir(parents=True, exist_ok=True)
    for f in ("server.pem", "server.key", "ca.pem"):
        shutil.copy(certs / f, dest / f)
    os.chmod(dest / "server.key", 0o600)
    chown_tree(dest, user)


# ------------------------------------------------------------------ PostgreSQL
class Postgres:
    def __init__(self, name, base, certs, preload):
        self.name, self.dir = name, base / name
        self.user = "postgres" if os.geteuid() == 0 else None
        self.port = free_port()
        self.certs, self.preload = certs, preload

    def start(self):
        data, tls = self.dir / "data", self.dir / "tls"
        self.dir.mkdir(parents=True)
        server_tls_copy(self.certs, tls, self.user)
        pwfile = self.dir / "pw"
        pwfile.write_text(PASSWORDS["bluegreen_admin"])
        chown_tree(self.dir, self.user)
        sh([str(PG_BIN / "initdb"), "-D", str(data), "-U", "bluegreen_admin", f"--pwfile={pwfile}",
            "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
           user=self.user)
        conf = [
            "listen_addresses = '127.0.0.1'", f"port = {self.port}", f"unix_socket_directories = '{self.dir}'",
            "ssl = on", f"ssl_cert_file = '{tls / 'server.pem'}'", f"ssl_key_file = '{tls / 'server.key'}'",
            "wal_level = logical", "max_replication_slots = 10", "max_wal_senders = 10",
            "max_prepared_transactions = 10", "max_connections = 200", "fsync = off",
            "synchronous_commit = off", "full_page_writes = off", "log_min_messages = warning",
            "logging_collector = off",
        ]
        if self.preload:
            conf += [f"shared_preload_libraries = '{','.join(self.preload)}'", "cron.database_name = 'postgres'"]
        with open(data / "postgresql.conf", "a") as f:
            f.write("\n".join(conf) + "\n")
        (data / "pg_hba.conf").write_text(
            "local all all trust\n"
            "hostssl all all 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 reject\n")
        chown_tree(data, self.user)
        sh([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(self.dir / "server.log"), "-w", "-t", "60",
            "start"], user=self.user)
        self.psql(
            f"CREATE ROLE bluegreen_check LOGIN PASSWORD '{PASSWORDS['bluegreen_check']}' IN ROLE pg_monitor",
            f"CREATE ROLE nogrants LOGIN PASSWORD '{PASSWORDS['nogrants']}'",
            "CREATE DATABASE locked",
            "REVOKE CONNECT ON DATABASE locked FROM PUBLIC",
            "GRANT CONNECT ON DATABASE locked TO bluegreen_check")
        return self

    def psql(self, *sqls, db="postgres"):
        cmd = [str(PG_BIN / "psql"), "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.dir), "-p",
               str(self.port), "-U", "bluegreen_admin", "-d", db]
        for sql in sqls:
            cmd += ["-c", sql]
        return sh(cmd, user=self.user).stdout

    def query(self, sql, db="postgres"):
        """One value per line (psql -At)."""
        return sh([str(PG_BIN / "psql"), "-X", "-At", "-v", "ON_ERROR_STOP=1", "-h", str(self.dir), "-p",
                   str(self.port), "-U", "bluegreen_admin", "-d", db, "-c", sql], user=self.user).stdout.strip()

    def stop(self):
        data = self.dir / "data"
        if (data / "postmaster.pid").exists():
            sh([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"], user=self.user,
               check=False)

    def info(self):
        return {"host": "127.0.0.1", "port": self.port, "socket_dir": str(self.dir),
                "users": {u: {"user": u, "password": p} for u, p in PASSWORDS.items()},
                "preloaded": self.preload}


# ------------------------------------------------------------------ MariaDB
class Mariadb:
    def __init__(self, base, certs):
        self.dir = base / "mariadb"
        self.user = "mysql" if os.geteuid() == 0 else None
        self.port = free_port()
        self.certs = certs
        self.proc = None

    def start(self):
        data, tls = self.dir / "data", self.dir / "tls"
        self.dir.mkdir(parents=True)
        server_tls_copy(self.certs, tls, self.user)
        chown_tree(self.dir, self.user)
        install = shutil.which("mariadb-install-db") or "/usr/bin/mariadb-install-db"
        cmd = [install, "--no-defaults", f"--datadir={data}", "--auth-root-authentication-method=normal",
               "--skip-test-db"]
        if self.user:
            cmd.append(f"--user={self.user}")
        sh(cmd)
        self.sock = self.dir / "mysqld.sock"
        server = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
        args = [server, "--no-defaults", f"--datadir={data}", f"--port={self.port}", "--bind-address=127.0.0.1",
                f"--socket={self.sock}", f"--pid-file={self.dir / 'mysqld.pid'}",
                f"--log-error={self.dir / 'server.log'}", f"--ssl-ca={tls / 'ca.pem'}",
                f"--ssl-cert={tls / 'server.pem'}", f"--ssl-key={tls / 'server.key'}", "--require-secure-transport=ON",
                f"--log-bin={data / 'binlog'}", "--server-id=1", "--binlog-format=ROW",
                "--binlog-expire-logs-seconds=3600", "--skip-name-resolve", "--innodb-buffer-pool-size=32M",
                "--innodb-flush-log-at-trx-commit=0", "--skip-log-bin-trust-function-creators"]
        if self.user:
            args.append(f"--user={self.user}")
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        deadline = time.time() + 60
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mariadbd exited: {(self.dir / 'server.log').read_text()[-2000:]}")
            if self.sock.exists() and self.sql("SELECT 1", check=False).returncode == 0:
                break
            time.sleep(0.2)
        else:
            raise RuntimeError("mariadbd did not start within 60 s")
        p = PASSWORDS
        self.sql(
            f"CREATE USER 'bluegreen_admin'@'%' IDENTIFIED BY '{p['bluegreen_admin']}';"
            "GRANT ALL PRIVILEGES ON *.* TO 'bluegreen_admin'@'%' WITH GRANT OPTION;"
            f"CREATE USER 'bluegreen_check'@'%' IDENTIFIED BY '{p['bluegreen_check']}';"
            "GRANT SELECT, PROCESS, REPLICATION CLIENT ON *.* TO 'bluegreen_check'@'%';"
            f"CREATE USER 'nogrants'@'%' IDENTIFIED BY '{p['nogrants']}';")
        # MariaDB 10.5.9+ shows SHOW REPLICA STATUS only to SLAVE MONITOR (REPLICATION CLIENT,
        # now BINLOG MONITOR, no longer does): what names blue's external source, if any.
        self.sql("GRANT SLAVE MONITOR ON *.* TO 'bluegreen_check'@'%'", check=False)
        return self

    def sql(self, sql, check=True):
        client = shutil.which("mariadb") or "mariadb"
        return sh([client, "--no-defaults", f"--socket={self.sock}", "-uroot", "-e", sql], check=check)

    def stop(self):
        pidfile = self.dir / "mysqld.pid"
        pid = None
        if pidfile.exists():
            pid = int(pidfile.read_text().strip() or 0)
        elif self.proc:
            pid = self.proc.pid
        if pid:
            try:
                os.kill(pid, signal.SIGTERM)
                for _ in range(100):
                    os.kill(pid, 0)
                    time.sleep(0.1)
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def info(self):
        return {"host": "127.0.0.1", "port": self.port, "socket": str(self.sock),
                "users": {u: {"user": u, "password": p} for u, p in PASSWORDS.items()}}


# ------------------------------------------------------------------ all of them
def preloadable():
    """The replication-relevant extensions whose Debian packages are installed."""
    libs = Path("/usr/lib/postgresql/15/lib")
    wanted = [("pg_cron", "pg_cron"), ("pglogical", "pglogical"), ("pg_partman_bgw", "pg_partman")]
    return [lib for lib, ext in wanted if (libs / f"{lib}.so").exists() and (PG_EXT_DIR / f"{ext}.control").exists()]


def missing():
    """What is not installed (the Makefile's `db-servers` target installs it)."""
    out = []
    if not (PG_BIN / "initdb").exists():
        out.append(f"PostgreSQL 15 ({PG_BIN}/initdb): apt-get install postgresql-15")
    if not (shutil.which("mariadbd") or Path("/usr/sbin/mariadbd").exists()):
        out.append("MariaDB (mariadbd): apt-get install mariadb-server")
    if not shutil.which("openssl"):
        out.append("openssl")
    return out


class Servers:
    def __init__(self, base=None):
        # A directory made here is removed on exit (`with Servers()`): ~280 MB of data
        # directories per use, which the end-to-end suite otherwise leaves in /tmp per worker.
        self.owned = base is None
        self.base = Path(base) if base else Path(tempfile.mkdtemp(prefix="bluegreen-db-"))
        self.parts = []
        self.info = None

    def __enter__(self):
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(self, *exc):
        self.stop()
        if self.owned:
            shutil.rmtree(self.base, ignore_errors=True)

    def start(self):
        gaps = missing()
        if gaps:
            raise RuntimeError("cannot start the test servers, missing: " + "; ".join(gaps))
        os.chmod(self.base, 0o755)
        t0 = time.time()
        certs = self.base / "certs"
        make_certificates(certs)
        preload = preloadable()
        blue = Postgres("postgres", self.base, certs, [])
        green = Postgres("postgres_green", self.base, certs, [])
        maria = Mariadb(self.base, certs)
        parts = [blue, green, maria]
        # pglogical's supervisor does not answer the barrier DROP DATABASE waits for: the
        # extensions live on a cluster of their own, where nothing is ever dropped.
        ext = Postgres("postgres_ext", self.base, certs, preload) if preload else None
        if ext:
            parts.append(ext)
        for part in parts:
            self.parts.append(part)
            part.start()
        self.info = {"ca_bundle": str(certs / "ca.pem"), "wrong_ca_bundle": str(certs / "wrong-ca.pem"),
                     "dir": str(self.base), "postgres": blue.info(), "postgres_green": green.info(),
                     "postgres_ext": ext.info() if ext else None, "mariadb": maria.info(), "pg_bin": str(PG_BIN)}
        self.json_path = self.base / "servers.json"
        self.json_path.write_text(json.dumps(self.info, indent=1))
        os.chmod(self.json_path, 0o644)
        log(f"started in {time.time() - t0:.1f} s: PostgreSQL 127.0.0.1:{blue.port} (blue), "
            f"127.0.0.1:{green.port} (green), "
            + (f"127.0.0.1:{ext.port} (extensions: {', '.join(preload)}), " if ext else "")
            + f"MariaDB 127.0.0.1:{maria.port}")
        return self

    def stop(self):
        for part in reversed(self.parts):
            try:
                part.stop()
            except Exception as e:  # keep stopping the others
                log(f"stopping {part}: {e}")
        self.parts = []


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("command", nargs=argparse.REMAINDER)
    s = sub.add_parser("start")
    s.add_argument("--dir")
    t = sub.add_parser("stop")
    t.add_argument("--dir", required=True)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        command = args.command[1:] if args.command[:1] == ["--"] else args.command
        if not command:
            ap.error("run needs a command after --")
        with Servers() as servers:
            env = {**os.environ, "BLUEGREEN_TEST_SERVERS": str(servers.json_path)}
            rc = subprocess.call(command, env=env)
        shutil.rmtree(servers.base, ignore_errors=True)
        return rc
    if args.cmd == "start":
        base = Path(args.dir) if args.dir else None
        if base:
            base.mkdir(parents=True, exist_ok=True)
        servers = Servers(base).start()
        # The children outlive this process; `stop --dir` finds them by their pid files.
        (servers.base / "parts.json").write_text(json.dumps(servers.info))
        print(json.dumps({"json": str(servers.json_path), **servers.info}, indent=1))
        return 0
    info = json.loads((Path(args.dir) / "servers.json").read_text())
    base = Path(info["dir"])
    for name in ("postgres_ext", "postgres_green", "postgres"):
        p = Postgres(name, base, None, [])
        p.dir = base / name
        p.stop()
    m = Mariadb(base, None)
    m.dir = base / "mariadb"
    m.stop()
    log(f"stopped the servers in {base}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

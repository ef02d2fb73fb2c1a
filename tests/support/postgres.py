"""A throwaway PostgreSQL server from Debian's binaries, on 127.0.0.1, for the tests."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass


def pg_bin() -> str | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return os.path.dirname(found[-1]) if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PgServer:
    bindir: str
    datadir: str
    port: int
    run_as: str | None

    def _cmd(self, *args: str) -> list[str]:
        if self.run_as:
            return ["runuser", "-u", self.run_as, "--", *args]
        return list(args)

    @property
    def admin_url(self) -> str:
        return f"postgres://coovox:coovox@127.0.0.1:{self.port}/postgres"

    def url(self, db: str) -> str:
        return f"postgres://coovox:coovox@127.0.0.1:{self.port}/{db}"

    def create_db(self, name: str) -> str:
        subprocess.run(self._cmd(f"{self.bindir}/psql", "-h", "127.0.0.1", "-p", str(self.port),
                                 "-U", "coovox", "-d", "postgres", "-qc",
                                 f'CREATE DATABASE "{name}"'),
                       check=True, env={**os.environ, "PGPASSWORD": "coovox"},
                       capture_output=True)
        return self.url(name)

    def stop(self) -> None:
        subprocess.run(self._cmd(f"{self.bindir}/pg_ctl", "-D", self.datadir, "-m", "immediate",
                                 "stop"), capture_output=True)
        shutil.rmtree(os.path.dirname(self.datadir), ignore_errors=True)


def start_postgres() -> PgServer:
    """initdb + pg_ctl start in a temp folder (as user ``postgres`` when we are root)."""
    bindir = pg_bin()
    if bindir is None:
        raise RuntimeError("PostgreSQL server binaries not found (apt-get install postgresql)")
    base = tempfile.mkdtemp(prefix="coovox-pg-")
    datadir = os.path.join(base, "data")
    run_as = None
    if os.geteuid() == 0:
        run_as = "postgres"
        pw = pwd.getpwnam(run_as)
        os.chown(base, pw.pw_uid, pw.pw_gid)
        os.chmod(base, 0o700)
    pwfile = os.path.join(base, "pw")
    with open(pwfile, "w") as fh:
        fh.write("coovox\n")
    if run_as:
        os.chown(pwfile, pw.pw_uid, pw.pw_gid)
    server = PgServer(bindir, datadir, free_port(), run_as)
    subprocess.run(server._cmd(f"{bindir}/initdb", "-D", datadir, "-U", "coovox", "-A",
                               "scram-sha-256", f"--pwfile={pwfile}", "-E", "UTF8"),
                   check=True, capture_output=True)
    opts = (f"-c listen_addresses=127.0.0.1 -c port={server.port} -c unix_socket_directories={base} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
    subprocess.run(server._cmd(f"{bindir}/pg_ctl", "-D", datadir, "-o", opts, "-l",
                               os.path.join(base, "log"), "-w", "start"),
                   check=True, capture_output=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", server.port), timeout=1).close()
            break
        except OSError:
            time.sleep(0.2)
    return server

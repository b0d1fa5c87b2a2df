"""Several processes migrating one database at once (API pods and a Job starting together).

On Kubernetes the migration Job, every API pod and every worker run the migrations at start
(`tandem serve` and `tandem worker` migrate too). Alembic takes no lock of its own: without
one, two of them create the same table and one crashes.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tandem.persistence import migrate
from tests.ops.databases import fetchval, scratch_database

TANDEM = str(Path(sys.executable).with_name("tandem"))


def test_four_processes_migrating_a_fresh_database_at_once_all_succeed(database_url, tmp_path):
    with scratch_database(database_url, "migrate_race") as url:
        processes = [
            subprocess.Popen(
                [TANDEM, "migrate"],
                env={"DATABASE_URL": url, "PATH": "/usr/bin:/bin", "DATA_DIR": str(tmp_path)},
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
            )
            for _ in range(4)
        ]
        outputs = [process.communicate(timeout=120)[0].decode() for process in processes]
        assert [process.returncode for process in processes] == [0, 0, 0, 0], outputs
        assert (
            asyncio.run(fetchval(url, "SELECT version_num FROM alembic_version"))
            == migrate.head_revision()
        )

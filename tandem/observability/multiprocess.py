"""The directory prometheus_client's multiprocess mode shares between a server's workers."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


@contextmanager
def shared_metrics(workers: int) -> Iterator[Path | None]:
    """For more than one worker, a fresh directory the workers' metrics are written to.

    Must run before any worker imports prometheus_client, which reads the variable then.
    An operator's own PROMETHEUS_MULTIPROC_DIR is used (emptied of an earlier run's
    files, as the client requires); otherwise a temporary one is made and removed after.
    """
    given = os.environ.get(VARIABLE)
    if given:
        directory = Path(given)
        directory.mkdir(parents=True, exist_ok=True)
        for stale in directory.glob("*.db"):
            stale.unlink()
        yield directory
        return
    if workers <= 1:
        yield None
        return
    directory = Path(tempfile.mkdtemp(prefix="tandem-metrics-"))
    os.environ[VARIABLE] = str(directory)
    try:
        yield directory
    finally:
        del os.environ[VARIABLE]
        shutil.rmtree(directory, ignore_errors=True)

"""A task for the worker-kill test: it records its start and end in a file."""
import time
from pathlib import Path

from django_tasks import task


@task()
def mark(*, path: str, name: str, seconds: float) -> None:
    log = Path(path)
    with log.open("a") as fh:
        fh.write(f"start {name}\n")
    time.sleep(seconds)
    with log.open("a") as fh:
        fh.write(f"done {name}\n")

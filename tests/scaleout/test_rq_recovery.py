"""A Redis job whose worker machine died is queued again by the surviving workers' upkeep
(found by the scale-out test: the upkeep runs in a thread, where RQ's SIGALRM time limit
on the abandoned job's failure callback raised "signal only works in main thread" every
time, so the job was never recovered)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.core.kill_tasks import abandoned_job_script
from tests.core.test_worker_kill import rq_site, site  # noqa: F401 (a site on the machine's Redis, its own database number)

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def test_the_upkeep_thread_requeues_a_job_abandoned_by_a_dead_worker(rq_site, tmp_path) -> None:  # noqa: F811
    log = tmp_path / "log.txt"
    log.touch()
    abandon = abandoned_job_script(log) + (
        "out = {}\n"
        "def upkeep():\n"
        "    try:\n"
        "        out['requeued'] = rq_requeue_abandoned()\n"
        "    except Exception as exc:\n"
        "        out['error'] = repr(exc)\n"
        "t = threading.Thread(target=upkeep)  # as `himaya worker`'s upkeep runs it\n"
        "t.start(); t.join()\n"
        "print('RESULT', out, 'queued', q.job_ids == [job_id])\n"
    )
    result = subprocess.run([sys.executable, "-m", "himaya", "shell", "-c", abandon], env=rq_site, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert "RESULT {'requeued': 1} queued True" in result.stdout, result.stdout + result.stderr[-3000:]

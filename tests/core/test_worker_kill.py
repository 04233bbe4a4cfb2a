"""A task enqueued before a worker is killed with SIGKILL still runs (SPEC §5 reliability)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.core.kill_tasks import abandoned_job_script

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _database_url(tmp_path: Path) -> str | None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgres"):
        return None  # SQLite file in HIMAYA_HOME
    import psycopg

    name = f"himaya_kill_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return url.rsplit("/", 1)[0] + "/" + name


@pytest.fixture
def site(tmp_path):
    env = dict(os.environ)
    env.update(HIMAYA_HOME=str(tmp_path / "home"), DJANGO_SETTINGS_MODULE="config.settings.production",
               HIMAYA_WORKER_HEARTBEAT_SECONDS="0.5", HIMAYA_WORKER_DEAD_AFTER_SECONDS="3", PYTHONPATH=str(ROOT))
    env.pop("DATABASE_URL", None)
    db = _database_url(tmp_path)
    if db:
        env["DATABASE_URL"] = db
    subprocess.run([sys.executable, "-m", "himaya", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    yield env
    if db:
        import psycopg

        with psycopg.connect(os.environ["DATABASE_URL"], autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {db.rsplit('/', 1)[1]} WITH (FORCE)")


def _enqueue(env: dict[str, str], log: Path, names: list[str], seconds: float) -> None:
    code = (
        "from tests.core.kill_tasks import mark\n"
        + "".join(f"mark.enqueue(path={str(log)!r}, name={n!r}, seconds={seconds})\n" for n in names)
    )
    subprocess.run([sys.executable, "-m", "himaya", "shell", "-c", code], env=env, cwd=ROOT, check=True)


def _wait_for(predicate, timeout: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


def test_tasks_survive_a_worker_killed_mid_task(site, tmp_path):
    log = tmp_path / "log.txt"
    log.touch()
    _enqueue(site, log, ["first", "second", "third"], seconds=2.0)
    worker = subprocess.Popen([sys.executable, "-m", "himaya", "worker", "--interval", "0.2"], env=site, cwd=ROOT)
    try:
        assert _wait_for(lambda: "start first" in log.read_text(), 30), "the worker never started the first task"
        os.kill(worker.pid, signal.SIGKILL)  # mid-task: "first" is claimed and running
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert "done first" not in log.read_text()

    second = subprocess.Popen([sys.executable, "-m", "himaya", "worker", "--interval", "0.2"], env=site, cwd=ROOT)
    try:
        finished = _wait_for(lambda: all(f"done {n}" in log.read_text() for n in ("first", "second", "third")), 60)
    finally:
        second.send_signal(signal.SIGTERM)
        second.wait(30)
    text = log.read_text()
    assert finished, text
    assert text.count("start first") == 2  # run again after the kill, because it never completed


def test_a_worker_takes_the_waiting_arrivals_without_a_task_each(site, tmp_path):
    """On the database queue arrivals have no task: a running worker takes their waiting rows
    itself (its `himaya-arrivals` thread). (One killed holding them: tests/scaleout.)"""
    code = (
        "from himaya.accounts.services import unit_get_or_create\n"
        "from himaya.enrichment.services import arrivals_note\n"
        "from tests.linking.factory import Person, report_xml, store\n"
        "unit = unit_get_or_create(code='drain')\n"
        "arrivals_note(report_ids=[store(report_xml(suspect=Person(esp_id=f'drain-{n}')), unit=unit, process=False).id for n in range(5)])\n"
    )
    subprocess.run([sys.executable, "-m", "himaya", "shell", "-c", code], env=site, cwd=ROOT, check=True)
    count = (
        "from himaya.triage.models import ReportTriage\n"
        "from django_tasks_db.models import DBTaskResult\n"
        "print('COUNTS', ReportTriage.objects.count(), DBTaskResult.objects.filter(task_path__endswith='report_received').count())\n"
    )

    def triaged_and_tasks() -> tuple[int, int]:
        out = subprocess.run([sys.executable, "-m", "himaya", "shell", "-c", count], env=site, cwd=ROOT, check=True,
                             capture_output=True, text=True).stdout.split()
        at = out.index("COUNTS")
        return int(out[at + 1]), int(out[at + 2])

    assert triaged_and_tasks() == (0, 0)
    worker = subprocess.Popen([sys.executable, "-m", "himaya", "worker", "--interval", "0.2"], env=site, cwd=ROOT)
    try:
        assert _wait_for(lambda: triaged_and_tasks()[0] == 5, 60), "the worker never took the waiting arrivals"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)


@pytest.fixture
def rq_site(site):
    import random

    redis = pytest.importorskip("redis")
    db = random.randint(1, 15)
    url = f"redis://127.0.0.1:6379/{db}"
    try:
        client = redis.Redis.from_url(url)
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis at 127.0.0.1:6379 for the scale-out backend")
    client.flushdb()
    env = dict(site, HIMAYA_TASK_BACKEND="rq", REDIS_URL=url)
    yield env
    client.flushdb()


def test_scale_out_redis_workers_run_tasks_and_recover_abandoned_ones(rq_site, tmp_path):
    log = tmp_path / "log.txt"
    log.touch()
    _enqueue(rq_site, log, ["alpha"], seconds=0.1)
    # A job whose worker died mid-run: RQ finds it in the started registry past its
    # deadline and fails it as abandoned; the upkeep must queue it again.
    abandon = abandoned_job_script(log) + (
        "print('requeued', rq_requeue_abandoned())\n"
    )
    out = subprocess.run([sys.executable, "-m", "himaya", "shell", "-c", abandon], env=rq_site, cwd=ROOT, capture_output=True, text=True)
    assert "requeued 1" in out.stdout, out.stdout + out.stderr
    worker = subprocess.Popen([sys.executable, "-m", "himaya", "worker"], env=rq_site, cwd=ROOT)
    try:
        done = _wait_for(lambda: all(f"done {n}" in log.read_text() for n in ("alpha", "orphan")), 60)
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(30)
    assert done, log.read_text()

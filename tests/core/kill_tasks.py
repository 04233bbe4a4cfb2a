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


def abandoned_job_script(log: Path | str) -> str:
    """Source for `himaya shell -c`: queues a `mark` job and leaves it as a worker that
    died mid-run would (in the started registry of a worker named 'dead-worker', its
    deadline passed); the script's caller appends what it checks. Defines `q`, `job_id`."""
    return (
        "import threading, time\n"
        "import django_rq\n"
        "from tests.core.kill_tasks import mark\n"
        f"mark.enqueue(path={str(log)!r}, name='orphan', seconds=0.1)\n"
        "from django_tasks_rq import Job\n"
        "q = django_rq.get_queue('default', job_class=Job)\n"
        "job_id = q.job_ids[-1]\n"
        "q.remove(job_id)\n"
        "from rq.executions import Execution\n"
        "with q.connection.pipeline() as pipe:\n"
        "    execution = Execution.create(q.fetch_job(job_id), ttl=1, pipeline=pipe, worker_name='dead-worker')\n"
        "    q.started_job_registry.add_execution(execution, pipeline=pipe, ttl=1)\n"
        "    pipe.execute()\n"
        "time.sleep(2.5)\n"
        "from himaya.core.tasks import rq_requeue_abandoned\n"
    )

"""Background tasks of media. They take ids, are idempotent, and call services."""
from __future__ import annotations

from django_tasks import task


@task()
def media_hash(*, address: str) -> str:
    from himaya.media.services import media_hash_blob

    return media_hash_blob(address=address).status


@task()
def media_rematch(*, job_id: int) -> int:
    from himaya.media.services import rematch_job_run

    return rematch_job_run(job_id=job_id)

"""Background tasks of the portal. They take ids (or nothing), are idempotent, and call services."""
from __future__ import annotations

from django_tasks import task


@task()
def device_hashes_rematch() -> int:
    """A hash list changed: every picture hashed on a reporter's device is matched again."""
    from himaya.portal.services import device_hashes_rematch_all

    return device_hashes_rematch_all()

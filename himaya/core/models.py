from django.db import models


class Blob(models.Model):
    """One stored file content. The row lock serialises "make sure it is on disk"
    (intake) against "delete it" (expiry sweep), so a shared blob is never lost."""

    address = models.CharField(max_length=64, primary_key=True)
    size = models.BigIntegerField()
    md5 = models.CharField(max_length=32)
    sha1 = models.CharField(max_length=40)
    sha256 = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)


class WorkerHeartbeat(models.Model):
    """Background workers say they are alive; a task claimed by a worker that stopped
    saying so (kill -9, power loss) is put back in the queue."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255)
    pid = models.IntegerField()
    started_at = models.DateTimeField()
    last_seen = models.DateTimeField(db_index=True)

"""Test settings: the same code paths, a throwaway HIMAYA_HOME, and fast hashing."""
import os
import tempfile

# One data folder per process: pytest-xdist workers have their own databases, and
# a shared media folder would let one worker's purge delete another's files.
os.environ["HIMAYA_HOME"] = tempfile.mkdtemp(prefix="himaya-test-")

from .base import *  # noqa: E402,F401,F403

DEBUG = False
# Argon2 stays the algorithm (SPEC §3.10) but with test-sized cost.
PASSWORD_HASHERS = ["himaya.core.hashers.FastArgon2PasswordHasher"]
TASKS = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}

if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # A name per test run, so runs sharing a PostgreSQL server (a developer's and
    # CI's, or two checkouts) never drop each other's databases.
    _run = os.environ.get("PYTEST_XDIST_TESTRUNUID", str(os.getpid()))[:12]
    DATABASES["default"]["TEST"] = {"NAME": f"test_himaya_{_run}"}

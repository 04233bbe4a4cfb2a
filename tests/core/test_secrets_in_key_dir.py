"""The site's secrets (Django's secret key, the metrics token) are kept in the key
directory, HIMAYA_KEY_DIR, beside the master key — not in HIMAYA_HOME when the key
directory is elsewhere: the operator protects, backs up and shares one directory, and
every machine given it signs sessions with the same key."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRINT = ("import django; django.setup(); from django.conf import settings; "
         "print(settings.SECRET_KEY); print(settings.HIMAYA_METRICS_TOKEN)")


def _secrets(home: Path, key_dir: Path) -> list[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("HIMAYA_SECRET_KEY", "HIMAYA_METRICS_TOKEN", "DATABASE_URL")}
    env.update(HIMAYA_HOME=str(home), HIMAYA_KEY_DIR=str(key_dir), DJANGO_SETTINGS_MODULE="config.settings.production",
               HIMAYA_ALLOWED_HOSTS="localhost")
    out = subprocess.run([sys.executable, "-c", PRINT], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout.split()


def test_secrets_are_made_in_the_key_directory_and_shared_by_machines_that_share_it(tmp_path: Path) -> None:
    keys = tmp_path / "keys-volume"
    first = _secrets(tmp_path / "web1", keys)
    second = _secrets(tmp_path / "web2", keys)
    assert first == second and len(first) == 2 and first[0] != first[1]
    assert (keys / "django-secret-key").read_text().strip() == first[0]
    assert (keys / "metrics-token").read_text().strip() == first[1]
    assert not (tmp_path / "web1" / "keys" / "django-secret-key").exists()
    assert oct((keys / "django-secret-key").stat().st_mode & 0o777) == "0o600"


def test_a_secret_made_before_in_the_home_is_still_used(tmp_path: Path) -> None:
    """Sites that already run keep their sessions and their metrics token."""
    home = tmp_path / "home"
    (home / "keys").mkdir(parents=True)
    (home / "keys" / "django-secret-key").write_text("the-old-secret-of-this-site\n")
    (home / "keys" / "metrics-token").write_text("the-old-metrics-token\n")
    assert _secrets(home, tmp_path / "keys-volume") == ["the-old-secret-of-this-site", "the-old-metrics-token"]

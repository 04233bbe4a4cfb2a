"""Secure settings when HTTPS is on, CSP on every page, and the password validators in
the commands (SPEC §3.10)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import ManagementUtility, call_command
from django.core.management.base import CommandError
from django.test import Client, override_settings

from himaya.accounts.models import Reporter

ROOT = Path(__file__).resolve().parents[2]
NAMES = ["SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_HSTS_PRELOAD", "SECURE_SSL_REDIRECT",
         "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_PROXY_SSL_HEADER", "SECURE_REDIRECT_EXEMPT"]


def production_settings(tmp_path: Path, **env: str) -> dict:
    code = ("import json, django.conf as c; from config.settings import production as p; "
            f"print(json.dumps({{n: getattr(p, n, None) for n in {NAMES!r}}}))")
    environment = {k: v for k, v in os.environ.items() if not k.startswith("HIMAYA_")} | {"HIMAYA_HOME": str(tmp_path), **env}
    out = subprocess.run([sys.executable, "-c", code], env=environment, cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout)


def test_https_turns_on_hsts_redirects_and_secure_cookies(tmp_path):  # type: ignore[no-untyped-def]
    plain = production_settings(tmp_path)
    assert plain["SECURE_HSTS_SECONDS"] is None and not plain["SECURE_SSL_REDIRECT"] and not plain["SESSION_COOKIE_SECURE"]
    https = production_settings(tmp_path, HIMAYA_HTTPS="1")
    assert https["SECURE_HSTS_SECONDS"] == 365 * 24 * 3600
    assert https["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and https["SECURE_HSTS_PRELOAD"] is False
    assert https["SECURE_SSL_REDIRECT"] is True and https["SESSION_COOKIE_SECURE"] and https["CSRF_COOKIE_SECURE"]
    assert https["SECURE_PROXY_SSL_HEADER"] is None  # only when told
    told = production_settings(tmp_path, HIMAYA_HTTPS="1", HIMAYA_PROXY_SSL_HEADER="1", HIMAYA_HSTS_PRELOAD="1", HIMAYA_HSTS_SECONDS="600")
    assert told["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert told["SECURE_HSTS_PRELOAD"] is True and told["SECURE_HSTS_SECONDS"] == 600

    with override_settings(**{k: (tuple(v) if isinstance(v, list) and k == "SECURE_PROXY_SSL_HEADER" else v) for k, v in told.items()}):
        client = Client()
        answer = client.get("/accounts/login/", secure=True)
        assert answer["Strict-Transport-Security"] == "max-age=600; includeSubDomains; preload"
        assert client.get("/accounts/login/").status_code == 301  # plain HTTP goes to HTTPS
        assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
        probe = client.get("/health")  # local probes are not redirected: the health view itself answers (503 here: no worker)
        assert probe.status_code in (200, 503) and probe["Content-Type"] == "application/json" and "Location" not in probe


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/accounts/login/", "/health", "/ispws/status"])
def test_every_answer_carries_the_content_security_policy(path):  # type: ignore[no-untyped-def]
    policy = Client().get(path)["Content-Security-Policy"]
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["default-src"] == "'self'" and directives["frame-ancestors"] == "'none'"
    assert directives["script-src"] == "'self'" and directives["style-src"] == "'self'"
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy


@pytest.mark.django_db
@pytest.mark.parametrize(("argv", "message"), [
    (["examplechat", "--password", "x"], "too short"),
    (["examplechat", "--password", "password123"], "too common"),
    (["", "--password", "a-long-provider-pass-1"], "must not be empty"),
])
def test_create_reporter_applies_the_password_validators(argv, message, capsys):  # type: ignore[no-untyped-def]
    with pytest.raises(CommandError, match=message):
        call_command("create_reporter", *argv)
    assert not Reporter.objects.exists()
    # as on the command line (last: it closes the database connections when it ends)
    with pytest.raises(SystemExit) as exited:
        ManagementUtility(["himaya", "create_reporter", *argv]).execute()
    assert exited.value.code == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.django_db
def test_create_user_refuses_a_one_character_password_and_an_empty_name(capsys):  # type: ignore[no-untyped-def]
    for argv, message in ((["amal", "--password", "x"], "too short"), (["", "--password", "a-long-test-password-1"], "empty")):
        with pytest.raises(SystemExit) as exited:
            ManagementUtility(["himaya", "create_user", *argv, "--role", "investigator"]).execute()
        assert exited.value.code == 1
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err

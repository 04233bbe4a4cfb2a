"""`himaya serve`: the production web server (gunicorn) plus background workers.

Children are supervised: one that dies (kill -9 included) is started again; a
SIGTERM/SIGINT stops them all gracefully. Nothing acknowledged is lost by a kill,
because intake commits before it answers and tasks live in the database queue.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "Run the web server and background workers."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HIMAYA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("HIMAYA_PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("HIMAYA_WEB_WORKERS", str(max(2, os.cpu_count() or 1)))))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("HIMAYA_WEB_THREADS", "4")))
        parser.add_argument("--task-workers", type=int, default=int(os.environ.get("HIMAYA_TASK_WORKERS", "1")),
                            help="background worker processes on this machine (0: none, e.g. when other machines run `himaya worker`)")

    def handle(self, *args: Any, host: str, port: int, web_workers: int, threads: int, task_workers: int, **options: Any) -> None:
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.production"))
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        web = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", bind,
            "--workers", str(web_workers), "--threads", str(threads), "--worker-class", "gthread",
            "--timeout", "300", "--graceful-timeout", "30", "--access-logfile", "-",
            "--forwarded-allow-ips", os.environ.get("HIMAYA_FORWARDED_ALLOW_IPS", "127.0.0.1"),
            # gunicorn's control socket defaults to one path per machine user; several
            # Himaya servers on one machine would fight over it.
            "--no-control-socket",
        ]
        worker = [sys.executable, "-m", "himaya", "worker"]
        specs = {"web": web, **{f"worker-{i + 1}": worker for i in range(task_workers)}}
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        self.stdout.write(f"Himaya on http://{bind}/ (data in {settings.HIMAYA_HOME}, database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, tasks: {settings.HIMAYA_TASK_BACKEND})")
        for name, cmd in specs.items():
            children[name] = subprocess.Popen(cmd, env=env)
        restarts: dict[str, list[float]] = {name: [] for name in specs}
        try:
            while not stopping:
                for name, proc in list(children.items()):
                    code = proc.poll()
                    if code is None:
                        continue
                    now = time.monotonic()
                    recent = [t for t in restarts[name] if now - t < 60]
                    if len(recent) >= 5:
                        self.stderr.write(f"{name} keeps exiting (code {code}); stopping")
                        stopping = True
                        break
                    self.stderr.write(f"{name} exited with code {code}; starting it again")
                    restarts[name] = [*recent, now]
                    children[name] = subprocess.Popen(specs[name], env=env)
                time.sleep(0.5)
        finally:
            for proc in children.values():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGTERM)
            deadline = time.monotonic() + 30
            for proc in children.values():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()

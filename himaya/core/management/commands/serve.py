"""`himaya serve`: the production web server (gunicorn) plus background workers.

Children are supervised: one that dies (kill -9 included) is started again; a
SIGTERM/SIGINT stops them all gracefully. Nothing acknowledged is lost by a kill,
because intake commits before it answers and tasks live in the database queue.

In front of gunicorn, when Debian's nginx is installed (`apt-get install nginx-light`),
a buffering nginx listens on --host/--port and gunicorn on a private unix socket: a
client that stalls mid-headers or mid-body then holds an nginx connection (a few KB),
never one of gunicorn's threads. The configuration is generated into
HIMAYA_HOME/run/nginx-PORT from himaya/core/nginx.conf.template. Without nginx (or with
--no-front) gunicorn listens on --host/--port itself, as before, with a warning.
"""
from __future__ import annotations

import grp
import ipaddress
import os
import pwd
import re
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

TEMPLATE = Path(__file__).resolve().parents[2] / "nginx.conf.template"
# nginx is in /usr/sbin, which is not on every user's PATH.
NGINX_PATH = os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/sbin"])
# The header in which the front passes the client's address when the operator named none.
DEFAULT_ADDRESS_HEADER = "X-Real-IP"
FRONT_DEBIAN_PACKAGE = "nginx-light"


def find_nginx() -> str | None:
    configured = os.environ.get("HIMAYA_NGINX")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    return shutil.which("nginx", path=NGINX_PATH)


def _trusted_networks(allow_ips: str) -> list[str]:
    """HIMAYA_FORWARDED_ALLOW_IPS (gunicorn's syntax: comma-separated, `*` for any) as CIDRs."""
    networks: list[str] = []
    for item in (part.strip() for part in allow_ips.split(",")):
        if not item:
            continue
        if item == "*":
            networks += ["0.0.0.0/0", "::/0"]
            continue
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            continue  # a unix-socket peer name or a typo: nothing nginx could match
    return networks


def body_spool(run: Path) -> tuple[Path, bool]:
    """Where the front spools request bodies over 1 MB (a provider's file, in clear):
    HIMAYA_FRONT_SPOOL if set, else a private folder in /dev/shm (memory: the
    plaintext never rests on a disk), else run/body. The flag says whether it is
    in memory."""
    chosen = os.environ.get("HIMAYA_FRONT_SPOOL", "")
    if chosen:
        path = Path(chosen)
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return path, False
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(prefix="himaya-body-", dir=shm)), True
    return run / "body", False


def front_config(*, host: str, port: int, upstream: str, run: Path, address_header: str, operator_header: str,
                 allow_ips: str, max_body: int, spool: Path | None = None) -> str:
    """The nginx configuration: the shipped template with this server's values."""
    spool = spool or run / "body"
    listen = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    trusted = _trusted_networks(allow_ips)
    realip = ""
    if operator_header and trusted:
        # Behind the operator's own proxy: its address header is believed only from it.
        realip = "".join(f"    set_real_ip_from {net};\n" for net in trusted) + f"    real_ip_header {operator_header};\n"
    user = ""
    if os.geteuid() == 0:  # nginx's workers would otherwise drop to `nobody` and lose HIMAYA_HOME
        user = f"user {pwd.getpwuid(os.geteuid()).pw_name} {grp.getgrgid(os.getegid()).gr_name};"
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    nofile = min(hard if hard != resource.RLIM_INFINITY else 65536, 65536)
    values = {
        "@USER@": user,
        "@NOFILE@": str(nofile),
        "@CONNECTIONS@": str(max(512, min(16384, nofile // 2))),
        "@RUN@": str(run),
        "@SPOOL@": str(spool),
        "@MAX_BODY@": str(max_body),
        "@ADDRESS_HEADER@": address_header,
        "@REALIP@": realip.rstrip("\n"),
        "@TRUSTED_GEO@": "\n".join(f"        {net} 1;" for net in trusted),
        "@UPSTREAM@": upstream,
        "@LISTEN@": listen,
    }
    text = TEMPLATE.read_text(encoding="utf-8")
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def largest_body() -> int:
    """What the front accepts: the largest body any route takes (a provider's file), plus
    room for the multipart framing. The app enforces each route's own limit."""
    from himaya.portal.views import max_body_bytes as portal_max_body

    limits = [settings.HIMAYA_MAX_UPLOAD_BYTES, settings.HIMAYA_MAX_XML_BYTES, settings.HIMAYA_MAX_ATTACHMENT_BYTES, portal_max_body()]
    return max(limits) + 1024 * 1024


class Command(BaseCommand):
    help = "Run the web server and background workers."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--host", default=os.environ.get("HIMAYA_HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("HIMAYA_PORT", "8000")))
        parser.add_argument("--web-workers", type=int, default=int(os.environ.get("HIMAYA_WEB_WORKERS", str(max(2, os.cpu_count() or 1)))))
        parser.add_argument("--threads", type=int, default=int(os.environ.get("HIMAYA_WEB_THREADS", "4")))
        parser.add_argument("--task-workers", type=int, default=int(os.environ.get("HIMAYA_TASK_WORKERS", "1")),
                            help="background worker processes on this machine (0: none, e.g. when other machines run `himaya worker`)")
        parser.add_argument("--no-front", action="store_true", default=os.environ.get("HIMAYA_FRONT", "").lower() in ("0", "off", "no", "false"),
                            help="do not start the buffering nginx front even if nginx is installed (also HIMAYA_FRONT=off)")

    def handle(self, *args: Any, host: str, port: int, web_workers: int, threads: int, task_workers: int, no_front: bool = False,
               **options: Any) -> None:
        env = dict(os.environ)
        env.setdefault("DJANGO_SETTINGS_MODULE", os.environ.get("DJANGO_SETTINGS_MODULE", "config.settings.production"))
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        allow_ips = os.environ.get("HIMAYA_FORWARDED_ALLOW_IPS", "127.0.0.1")
        nginx = None if no_front else find_nginx()
        in_memory_spool: Path | None = None
        specs: dict[str, list[str]] = {}
        web_env = env
        if nginx:
            run = Path(settings.HIMAYA_HOME) / "run" / f"nginx-{port}"  # one per server sharing a HIMAYA_HOME
            run.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(run, 0o700)
            socket_path = run / "web.sock"
            if len(str(socket_path)) > 100:  # AF_UNIX paths are limited to 108 bytes
                socket_path = Path(tempfile.mkdtemp(prefix="himaya-web-")) / "web.sock"
            operator_header = settings.HIMAYA_CLIENT_ADDRESS_HEADER
            if operator_header and not re.fullmatch(r"[A-Za-z0-9-]{1,100}", operator_header):
                raise CommandError(f"HIMAYA_CLIENT_ADDRESS_HEADER is not a header name: {operator_header!r}")
            address_header = operator_header or DEFAULT_ADDRESS_HEADER
            conf = run / "nginx.conf"
            spool, in_memory = body_spool(run)
            in_memory_spool = spool if in_memory else None
            if not in_memory:
                self.stderr.write(f"warning: request bodies over 1 MB are spooled in clear to {spool} until the app has read "
                                  "them: keep it on an encrypted or memory file system")
            conf.write_text(front_config(host=host, port=port, upstream=f"unix:{socket_path}", run=run,
                                         address_header=address_header, operator_header=operator_header,
                                         allow_ips=allow_ips, max_body=largest_body(), spool=spool), encoding="utf-8")
            # The front always sets (overwrites) this header: the app may believe it.
            web_env = dict(env, HIMAYA_CLIENT_ADDRESS_HEADER=address_header)
            specs["front"] = [nginx, "-p", str(run), "-c", str(conf)]
            gunicorn_bind, gunicorn_allow = f"unix:{socket_path}", "*"
        else:
            if not no_front:
                self.stderr.write(f"warning: nginx not found (Debian: apt-get install {FRONT_DEBIAN_PACKAGE}); gunicorn faces "
                                  "clients directly and slow clients can hold its threads")
            gunicorn_bind, gunicorn_allow = bind, allow_ips
        web = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind", gunicorn_bind,
            "--workers", str(web_workers), "--threads", str(threads), "--worker-class", "gthread",
            "--timeout", "300", "--graceful-timeout", "30", "--access-logfile", "-",
            "--forwarded-allow-ips", gunicorn_allow,
            # gunicorn's control socket defaults to one path per machine user; several
            # Himaya servers on one machine would fight over it.
            "--no-control-socket",
        ]
        if nginx:
            # The access log names the client, not the socket the front connects from.
            web += ["--access-logformat", f'%({{{address_header.lower()}}}i)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s"']
        worker = [sys.executable, "-m", "himaya", "worker"]
        specs = {"web": web, **specs, **{f"worker-{i + 1}": worker for i in range(task_workers)}}
        envs = {name: (web_env if name == "web" else env) for name in specs}
        children: dict[str, subprocess.Popen[bytes]] = {}
        stopping = False

        def start(name: str) -> subprocess.Popen[bytes]:
            # The front gets its own process group: if its master is killed, its workers
            # (which keep the listening socket) are ended with it before a new one starts.
            return subprocess.Popen(specs[name], env=envs[name], start_new_session=(name == "front"))

        def stop(signum: int, frame: Any) -> None:
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        front = "nginx front, " if nginx else ""
        self.stdout.write(f"Himaya on http://{bind}/ ({front}data in {settings.HIMAYA_HOME}, database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, tasks: {settings.HIMAYA_TASK_BACKEND})")
        for name in specs:
            children[name] = start(name)
        restarts: dict[str, list[float]] = {name: [] for name in specs}
        try:
            while not stopping:
                for name, proc in list(children.items()):
                    code = proc.poll()
                    if code is None:
                        continue
                    if name == "front":
                        _kill_group(proc.pid)
                    now = time.monotonic()
                    recent = [t for t in restarts[name] if now - t < 60]
                    if len(recent) >= 5:
                        self.stderr.write(f"{name} keeps exiting (code {code}); stopping")
                        stopping = True
                        break
                    self.stderr.write(f"{name} exited with code {code}; starting it again")
                    restarts[name] = [*recent, now]
                    children[name] = start(name)
                time.sleep(0.5)
        finally:
            # The front first (SIGQUIT: nginx's graceful stop), so no new request reaches a stopping gunicorn.
            for name, proc in children.items():
                if proc.poll() is None:
                    proc.send_signal(signal.SIGQUIT if name == "front" else signal.SIGTERM)
            deadline = time.monotonic() + 30
            for name, proc in children.items():
                try:
                    proc.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    proc.kill()
                if name == "front":
                    _kill_group(proc.pid)
            if in_memory_spool is not None:
                shutil.rmtree(in_memory_spool, ignore_errors=True)


def _kill_group(pgid: int) -> None:
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass

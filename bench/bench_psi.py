"""Private set intersection of identifiers, N each side, loopback, 2 cores (SPEC §5):
Himaya's protocol (himaya.exchange.psi: authenticated, encrypted, mutual) against
`openmined-psi` used plainly, on the same sets in the same run.

    PYTHONPATH=. .venv-bench/bin/python bench/bench_psi.py                 # 100 000 and 1 000 000 each side
    PYTHONPATH=. .venv-bench/bin/python bench/bench_psi.py --sizes 100000  # one size

Both run as two processes (the two units' servers) talking over a TCP
connection on 127.0.0.1, timed from the moment both hold their sets until both
(Himaya) or the client (openmined-psi, which reveals the intersection to one
side only) know the intersection. `openmined-psi` is used as its README shows:
`CreateSetupMessage(fpr, n, items)` (GCS, the default; fpr 1e-9), `CreateRequest`,
`ProcessRequest`, `GetIntersection`, each message serialised as protobuf and sent
on the socket; the server prepares its setup while the client blinds its request.
Both results are checked: exactly the shared identifiers.

Pure Python plus PyNaCl for Himaya's side (no Django): it imports
himaya.exchange.psi only. openmined-psi is benchmark-only and lives in
`.venv-bench` (`make bench`).
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import platform
import socket
import struct
import sys
import time
from typing import Any

from nacl.signing import SigningKey

from himaya.exchange import psi


def items(side: str, n: int, shared: int) -> list[bytes]:
    """Phone-number keys as linking writes them; the first `shared` are on both sides."""
    common = [b"phone:+97059%07d" % i for i in range(shared)]
    prefix = b"phone:+97056" if side == "a" else b"phone:+96279"
    return common + [prefix + b"%07d" % i for i in range(n - shared)]


# -- Himaya --

def _himaya_server(port_q: Any, go: Any, out: Any, n: int, shared: int, keys: tuple[bytes, bytes]) -> None:
    mine, theirs = SigningKey(keys[1]), SigningKey(keys[0]).verify_key.encode()
    data = items("b", n, shared)
    server = psi.listen("127.0.0.1", 0)
    port_q.put(server.getsockname()[1])
    go.wait()
    cpu = time.process_time()
    outcome = psi.serve(server, deadline=time.monotonic() + 3600, timeout=600, signing_key=mine, peer_key=theirs, items=data,
                        max_set=n)
    outcome.stats["cpu"] = time.process_time() - cpu
    out.put(("server", time.perf_counter(), len(outcome.matched), set(outcome.matched) == set(data[:shared]), outcome.stats))


def _himaya_client(port: int, go: Any, out: Any, n: int, shared: int, keys: tuple[bytes, bytes]) -> None:
    mine, theirs = SigningKey(keys[0]), SigningKey(keys[1]).verify_key.encode()
    data = items("a", n, shared)
    go.wait()
    cpu = time.process_time()
    outcome = psi.connect("127.0.0.1", port, timeout=600, signing_key=mine, peer_key=theirs, items=data, max_set=n)
    out.put(("client", time.perf_counter(), len(outcome.matched), set(outcome.matched) == set(data[:shared]), time.process_time() - cpu))


def run_himaya(n: int, shared: int) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    port_q, out, go = ctx.Queue(), ctx.Queue(), ctx.Barrier(3)
    keys = (SigningKey.generate().encode(), SigningKey.generate().encode())
    server = ctx.Process(target=_himaya_server, args=(port_q, go, out, n, shared, keys))
    server.start()
    port = port_q.get(timeout=120)
    client = ctx.Process(target=_himaya_client, args=(port, go, out, n, shared, keys))
    client.start()
    go.wait()
    started = time.perf_counter()
    results = {r[0]: r for r in (out.get(timeout=3600), out.get(timeout=3600))}
    server.join()
    client.join()
    ended = max(results["server"][1], results["client"][1])
    return {"seconds": ended - started, "found": (results["client"][2], results["server"][2]),
            "exact": results["client"][3] and results["server"][3], "stats": results["server"][4],
            "cpu": (results["client"][4], results["server"][4]["cpu"])}


# -- openmined-psi, plainly --

def _send(sock: socket.socket, data: bytes) -> None:
    sock.sendall(struct.pack(">Q", len(data)) + data)


def _recv(sock: socket.socket) -> bytes:
    head = b""
    while len(head) < 8:
        head += sock.recv(8 - len(head))
    size = struct.unpack(">Q", head)[0]
    buf = bytearray()
    while len(buf) < size:
        part = sock.recv(min(1 << 20, size - len(buf)))
        if not part:
            raise ConnectionError("closed")
        buf += part
    return bytes(buf)


def _om_server(port_q: Any, go: Any, out: Any, n: int, shared: int) -> None:
    import private_set_intersection.python as om

    data = [x.decode() for x in items("b", n, shared)]
    listener = socket.create_server(("127.0.0.1", 0))
    port_q.put(listener.getsockname()[1])
    go.wait()
    conn, _ = listener.accept()
    cpu = time.process_time()
    s = om.server.CreateWithNewKey(True)
    setup = s.CreateSetupMessage(1e-9, n, data)  # while the client blinds its request
    request = om.Request()
    request.ParseFromString(_recv(conn))
    response = s.ProcessRequest(request)
    _send(conn, setup.SerializeToString())
    _send(conn, response.SerializeToString())
    conn.close()
    out.put(("server", time.process_time() - cpu))


def _om_client(port: int, go: Any, out: Any, n: int, shared: int) -> None:
    import private_set_intersection.python as om

    data = [x.decode() for x in items("a", n, shared)]
    go.wait()
    cpu = time.process_time()
    conn = socket.create_connection(("127.0.0.1", port))
    c = om.client.CreateWithNewKey(True)
    _send(conn, c.CreateRequest(data).SerializeToString())
    setup, response = om.ServerSetup(), om.Response()
    setup.ParseFromString(_recv(conn))
    response.ParseFromString(_recv(conn))
    found = c.GetIntersection(setup, response)
    ended = time.perf_counter()
    out.put(("client", ended, len(found), {data[i] for i in found} == set(data[:shared]), time.process_time() - cpu))


def run_openmined(n: int, shared: int) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    port_q, out, go = ctx.Queue(), ctx.Queue(), ctx.Barrier(3)
    server = ctx.Process(target=_om_server, args=(port_q, go, out, n, shared))
    server.start()
    port = port_q.get(timeout=120)
    client = ctx.Process(target=_om_client, args=(port, go, out, n, shared))
    client.start()
    go.wait()
    started = time.perf_counter()
    results = {r[0]: r for r in (out.get(timeout=7200), out.get(timeout=7200))}
    server.join()
    client.join()
    _, ended, found, exact, client_cpu = results["client"]
    return {"seconds": ended - started, "found": found, "exact": exact, "cpu": (client_cpu, results["server"][1])}


def _other_load() -> str:
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "?"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="100000,1000000", help="identifiers each side, comma-separated")
    parser.add_argument("--shared", type=int, default=1000)
    parser.add_argument("--skip-openmined", action="store_true")
    args = parser.parse_args()
    try:
        import private_set_intersection.python as om
        om_version = om.__version__
    except ImportError:
        om_version = None
        if not args.skip_openmined:
            sys.exit("openmined-psi is not installed here: run with .venv-bench/bin/python (make bench), or --skip-openmined")
    print(f"# PSI bench: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"openmined-psi {om_version}; load average before: {_other_load()}")
    for n in (int(s) for s in args.sizes.split(",")):
        h = run_himaya(n, args.shared)
        line = (f"n={n:>9,} each side, {args.shared} shared | himaya {h['seconds']:7.1f} s (both sides learn; found {h['found']}, "
                f"exact {h['exact']}; CPU s caller/server {h['cpu'][0]:.1f}/{h['cpu'][1]:.1f}; "
                f"{h['stats']['bytes_sent'] / 1e6:.0f} MB each way)")
        if not args.skip_openmined:
            o = run_openmined(n, args.shared)
            line += (f" | openmined-psi {o['seconds']:7.1f} s (client learns; found {o['found']}, exact {o['exact']}; "
                     f"CPU s client/server {o['cpu'][0]:.1f}/{o['cpu'][1]:.1f})"
                     f" | ratio {o['seconds'] / h['seconds']:.2f}x wall, {sum(o['cpu']) / sum(h['cpu']):.2f}x CPU (target >= 2x)")
        print(line + f" | load average after: {_other_load()}", flush=True)


if __name__ == "__main__":
    main()

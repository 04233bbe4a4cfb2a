"""The private set intersection protocol itself (himaya.exchange.psi), without a
database: two sides in threads over a socket pair or loopback."""
from __future__ import annotations

import hashlib
import socket
import threading
import time
from typing import Any

import pytest
from nacl.signing import SigningKey

from himaya.exchange import psi

A_KEY, B_KEY, STRANGER = SigningKey.generate(), SigningKey.generate(), SigningKey.generate()


def _pair(a_items: list[bytes], b_items: list[bytes], *, a_key: SigningKey = A_KEY, b_expects: bytes | None = None,
          b_max: int = psi.DEFAULT_MAX_SET, timeout: float = 10.0) -> tuple[Any, Any]:
    left, right = socket.socketpair()
    out: dict[str, Any] = {}

    def b_side() -> None:
        try:
            out["b"] = psi.run(right, initiator=False, signing_key=B_KEY, peer_key=b_expects or A_KEY.verify_key.encode(),
                               items=b_items, max_set=b_max, timeout=timeout)
        except psi.PSIError as exc:
            out["b"] = exc
        finally:
            right.close()

    t = threading.Thread(target=b_side)
    t.start()
    try:
        out["a"] = psi.run(left, initiator=True, signing_key=a_key, peer_key=B_KEY.verify_key.encode(), items=a_items, timeout=timeout)
    except psi.PSIError as exc:
        out["a"] = exc
    finally:
        left.close()
    t.join(timeout=30)
    return out["a"], out["b"]


def _ids(prefix: str, n: int) -> list[bytes]:
    return [f"phone:+9705{prefix}{i:07d}".encode() for i in range(n)]


def test_both_sides_find_exactly_the_shared_identifiers() -> None:
    shared = [b"email:shared%d@example.com" % i for i in range(25)]
    a_items = _ids("1", 3000) + shared
    b_items = shared + _ids("2", 2000)
    a, b = _pair(a_items, b_items)
    assert sorted(a.matched) == sorted(shared) and sorted(b.matched) == sorted(shared)
    assert (a.own_size, a.peer_size, a.peer_found) == (3025, 2025, 25)
    assert (b.own_size, b.peer_size, b.peer_found) == (2025, 3025, 25)


def test_empty_and_disjoint_sets() -> None:
    a, b = _pair([], _ids("2", 10))
    assert a.matched == [] and b.matched == [] and b.peer_size == 0
    a, b = _pair(_ids("1", 10), _ids("2", 10))
    assert a.matched == [] and b.matched == []


def test_duplicates_are_offered_once() -> None:
    a, b = _pair([b"x", b"x", b"y"], [b"x"])
    assert a.matched == [b"x"] and a.own_size == 2 and b.peer_size == 2


def test_blinding_commutes_and_hides_the_item() -> None:
    a, b = psi.new_secret(), psi.new_secret()
    h = psi.hash_to_element(b"phone:+970599000111")
    assert psi.blind(a, psi.blind(b, [h])) == psi.blind(b, psi.blind(a, [h]))
    assert psi.blind(a, [h]) != psi.blind(psi.new_secret(), [h])  # a fresh secret each session: nothing to precompute


def test_what_the_partner_receives_cannot_be_checked_against_a_dictionary(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Everything B's side reads after the handshake, decrypted: none of A's
    identifiers that B does not hold appears in it as plaintext, unsalted hash
    (MD5, SHA-1, SHA-256) or the protocol's own unkeyed hash to the curve."""
    seen: list[bytes] = []
    real = psi.Channel.recv

    def recording(self: psi.Channel) -> tuple[bytes, bytes]:
        kind, body = real(self)
        if threading.current_thread().name != "MainThread":
            seen.append(body)
        return kind, body

    monkeypatch.setattr(psi.Channel, "recv", recording)
    private = _ids("3", 500)
    a, b = _pair(private + [b"shared"], [b"shared"])
    assert a.matched == [b"shared"]
    received = b"".join(seen)
    assert len(received) >= 500 * psi.ELEMENT
    for item in private:
        for form in (item, item.split(b":", 1)[1], hashlib.md5(item).digest(), hashlib.sha1(item).digest(),
                     hashlib.sha256(item).digest(), hashlib.sha256(item.split(b":", 1)[1]).digest(), psi.hash_to_element(item)):
            assert form not in received


def test_a_caller_with_another_key_is_refused_on_both_sides() -> None:
    a, b = _pair([b"x"], [b"x"], a_key=STRANGER)
    assert isinstance(a, psi.Refused) and "unknown key" in str(a)
    assert isinstance(b, psi.Refused) and "not the partner's registered signing key" in str(b)


def test_a_server_with_another_key_is_refused() -> None:
    left, right = socket.socketpair()
    t = threading.Thread(target=lambda: _quiet(lambda: psi.run(right, initiator=False, signing_key=STRANGER,
                                                               peer_key=A_KEY.verify_key.encode(), items=[b"x"], timeout=5)))
    t.start()
    with pytest.raises(psi.Refused, match="another key than the partner's"):
        psi.run(left, initiator=True, signing_key=A_KEY, peer_key=B_KEY.verify_key.encode(), items=[b"x"], timeout=5)
    left.close()
    t.join()
    right.close()


def _quiet(fn: Any) -> None:
    try:
        fn()
    except psi.PSIError:
        pass


def test_a_set_larger_than_agreed_is_refused() -> None:
    a, b = _pair(_ids("1", 50), [b"x"], b_max=49)
    assert isinstance(b, psi.Refused) and "more than the 49 allowed" in str(b)
    assert isinstance(a, psi.Refused) and "larger than the 49" in str(a)


def test_the_server_waits_for_its_partner_after_refusing_a_stranger() -> None:
    server = psi.listen("127.0.0.1", 0)
    port = server.getsockname()[1]
    refused: list[str] = []
    out: dict[str, Any] = {}
    t = threading.Thread(target=lambda: out.setdefault("b", psi.serve(
        server, deadline=time.monotonic() + 30, timeout=5, on_refused=lambda addr, why: refused.append(why),
        signing_key=B_KEY, peer_key=A_KEY.verify_key.encode(), items=[b"x", b"y"])))
    t.start()
    with pytest.raises(psi.Refused):
        psi.connect("127.0.0.1", port, signing_key=STRANGER, peer_key=B_KEY.verify_key.encode(), items=[b"x"], timeout=5)
    a = psi.connect("127.0.0.1", port, signing_key=A_KEY, peer_key=B_KEY.verify_key.encode(), items=[b"y", b"z"], timeout=5)
    t.join(timeout=30)
    assert a.matched == [b"y"] and out["b"].matched == [b"y"]
    assert len(refused) == 1 and "registered signing key" in refused[0]


def test_nobody_calls() -> None:
    server = psi.listen("127.0.0.1", 0)
    with pytest.raises(psi.PSIError, match="did not connect in time"):
        psi.serve(server, deadline=time.monotonic() + 0.3, signing_key=B_KEY, peer_key=A_KEY.verify_key.encode(), items=[])


def test_connection_refused_is_a_clear_error() -> None:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    with pytest.raises(psi.PSIError, match=f"cannot connect to 127.0.0.1:{port}"):
        psi.connect("127.0.0.1", port, signing_key=A_KEY, peer_key=B_KEY.verify_key.encode(), items=[b"x"], timeout=2)


def test_a_silent_partner_times_out() -> None:
    left, right = socket.socketpair()
    started = time.monotonic()
    with pytest.raises(psi.PSIError, match="sent nothing for"):
        psi.run(left, initiator=True, signing_key=A_KEY, peer_key=B_KEY.verify_key.encode(), items=[b"x"], timeout=0.5)
    assert time.monotonic() - started < 5
    left.close()
    right.close()


def test_an_oversized_handshake_message_is_refused_before_it_is_read() -> None:
    left, right = socket.socketpair()
    right.sendall(psi.HELLO + (10**9).to_bytes(4, "big"))
    with pytest.raises(psi.Refused, match="at most 4096"):
        psi.run(left, initiator=False, signing_key=B_KEY, peer_key=A_KEY.verify_key.encode(), items=[b"x"], timeout=2)
    left.close()
    right.close()


class _Proxy:
    """Forwards a connection, flipping one byte of the caller's traffic at `flip_at`."""

    def __init__(self, target: int, flip_at: int) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.target, self.flip_at = target, flip_at
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        client, _ = self.server.accept()
        upstream = socket.create_connection(("127.0.0.1", self.target))
        threading.Thread(target=self._pipe, args=(upstream, client, None), daemon=True).start()
        self._pipe(client, upstream, self.flip_at)

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket, flip_at: int | None) -> None:
        seen = 0
        try:
            while data := src.recv(65536):
                if flip_at is not None and seen <= flip_at < seen + len(data):
                    i = flip_at - seen
                    data = data[:i] + bytes([data[i] ^ 1]) + data[i + 1:]
                seen += len(data)
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass


def test_a_tampered_message_ends_the_session() -> None:
    server = psi.listen("127.0.0.1", 0)
    out: dict[str, Any] = {}

    def b_side() -> None:
        try:
            out["b"] = psi.serve(server, deadline=time.monotonic() + 20, timeout=5, signing_key=B_KEY,
                                 peer_key=A_KEY.verify_key.encode(), items=_ids("2", 100))
        except psi.PSIError as exc:
            out["b"] = exc

    t = threading.Thread(target=b_side)
    t.start()
    proxy = _Proxy(server.getsockname()[1], flip_at=2000)  # past the handshake (well under 2000 bytes), in the first data frame
    with pytest.raises(psi.PSIError):
        psi.connect("127.0.0.1", proxy.port, signing_key=A_KEY, peer_key=B_KEY.verify_key.encode(), items=_ids("1", 100), timeout=5)
    t.join(timeout=30)
    assert isinstance(out["b"], psi.PSIError) and "integrity check" in str(out["b"])

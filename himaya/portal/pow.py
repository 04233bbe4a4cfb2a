"""Hashcash-style proof of work for the portal's submit (SPEC §3.9, §5).

The server issues a signed challenge "nonce.difficulty.issued"; the browser
finds a counter such that SHA-256("<challenge>:<counter>") starts with
`difficulty` zero bits (portal/pow.js, WebCrypto); the server checks the
signature, the age and one hash — cheap — and the caller records the nonce as
spent so that a solution is used once. Pure: no database here.
"""
from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass

from django.core import signing

SALT = "himaya.portal.pow"
MAX_AGE_SECONDS = 2 * 3600  # a child may take a long time to write


class PowRefused(Exception):
    pass


@dataclass(frozen=True)
class Solved:
    nonce: str
    difficulty: int


def challenge_new(*, difficulty: int, now: float | None = None) -> str:
    issued = int(now if now is not None else time.time())
    return signing.Signer(salt=SALT).sign(f"{secrets.token_hex(16)}.{difficulty}.{issued}")


def leading_zero_bits(digest: bytes) -> int:
    bits = 0
    for byte in digest:
        if byte == 0:
            bits += 8
            continue
        return bits + 8 - byte.bit_length()
    return bits


def solve(challenge: str) -> str:
    """What the browser does (for tests and the bench)."""
    difficulty = int(challenge.split(":")[0].split(".")[1])
    counter = 0
    while leading_zero_bits(hashlib.sha256(f"{challenge}:{counter}".encode()).digest()) < difficulty:
        counter += 1
    return str(counter)


def verify(challenge: str, solution: str, *, now: float | None = None) -> Solved:
    if not challenge or not solution or len(challenge) > 200 or len(solution) > 20 or not solution.isdigit():
        raise PowRefused("missing")
    try:
        body = signing.Signer(salt=SALT).unsign(challenge)
        nonce, difficulty_text, issued_text = body.split(".")
        difficulty, issued = int(difficulty_text), int(issued_text)
    except (signing.BadSignature, ValueError):
        raise PowRefused("forged") from None
    now = now if now is not None else time.time()
    if issued > now + 60 or now - issued > MAX_AGE_SECONDS:
        raise PowRefused("expired")
    if leading_zero_bits(hashlib.sha256(f"{challenge}:{solution}".encode()).digest()) < difficulty:
        raise PowRefused("unsolved")
    return Solved(nonce=nonce, difficulty=difficulty)

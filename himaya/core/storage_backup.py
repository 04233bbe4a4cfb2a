"""Backup and restore of a whole installation: database, stored files and keys (SPEC §4.2, §5).

A backup is a folder:

    manifest.json          what is in it: the SHA-256 and size of every other file, the key
                           derivation's salt and costs, and an HMAC over all of it
    database.sqlite3       SQLite: a copy by SQLite's online backup API (one consistent snapshot)
    database.pgdump        PostgreSQL: `pg_dump --format=custom` of an exported snapshot
    keys.enc               every file of HIMAYA_KEY_DIR (and HIMAYA_HOME/keys), in a NaCl secret
                           box under a key derived from the passphrase with Argon2id
    objects/ab/cd/<addr>   the stored files, as stored: ciphertext, named by content address

Consistency: the stored files copied are those the database snapshot names; they are
written once and never change, so copying them after the snapshot gives the same bytes.
(A file purged between the snapshot and its copy is listed as `missing` in the manifest:
only retracted or expired reports' files are ever purged.)

Without the passphrase a backup reveals nothing the store does not already hide: the
files are ciphertext under the master key, and the master key is only in `keys.enc`.
Restore refuses a wrong passphrase and any altered file before it writes anything.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection, transaction

from himaya.core import storage

FORMAT = "himaya-backup/1"
MANIFEST = "manifest.json"
KEYS = "keys.enc"
OBJECTS = "objects"
MIN_PASSPHRASE = 12


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass
class BackupOutcome:
    out: Path
    engine: str
    objects: int
    missing: list[str] = field(default_factory=list)


@dataclass
class RestoreOutcome:
    engine: str
    objects: int
    key_files: int


# ---------------------------------------------------------------- passphrase and keys

def _derive(passphrase: bytes, salt: bytes, opslimit: int, memlimit: int) -> tuple[bytes, bytes]:
    from nacl.pwhash import argon2id

    root = argon2id.kdf(32, passphrase, salt, opslimit=opslimit, memlimit=memlimit)
    return (hmac.new(root, b"himaya-backup-keys", hashlib.sha256).digest(),
            hmac.new(root, b"himaya-backup-manifest", hashlib.sha256).digest())


def _key_dirs() -> dict[str, Path]:
    dirs = {"key_dir": Path(settings.HIMAYA_KEY_DIR)}
    home_keys = Path(settings.HIMAYA_HOME) / "keys"
    if home_keys.resolve() != dirs["key_dir"].resolve():
        dirs["home_keys"] = home_keys
    return dirs


def _collect_keys() -> dict[str, dict[str, str]]:
    from himaya.core.crypto import master_key

    master_key()  # made on first use: an installation with no file yet has none on disk
    bundle: dict[str, dict[str, str]] = {}
    for label, folder in _key_dirs().items():
        files = {}
        if folder.is_dir():
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.is_symlink():
                    files[path.name] = base64.b64encode(path.read_bytes()).decode()
        bundle[label] = files
    env_master = os.environ.get("HIMAYA_MASTER_KEY")
    if env_master:  # the master key comes from the environment: carry it, or the files are lost with it
        bundle["key_dir"]["master.key"] = base64.b64encode(env_master.encode()).decode()
    if "master.key" not in bundle["key_dir"]:
        raise BackupError(f"no master key in {_key_dirs()['key_dir']} (nor HIMAYA_MASTER_KEY): nothing could decrypt the files")
    return bundle


# ---------------------------------------------------------------- database

def _engine() -> str:
    vendor = connection.vendor
    if vendor not in ("sqlite", "postgresql"):
        raise BackupError(f"backups support SQLite and PostgreSQL, not {vendor}")
    return vendor


def _pg_env() -> tuple[dict[str, str], str]:
    db = settings.DATABASES["default"]
    env = dict(os.environ)
    for var, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGPASSWORD", "PASSWORD")):
        if db.get(key):
            env[var] = str(db[key])
    return env, str(db["NAME"])


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"`{name}` is needed for PostgreSQL (PostgreSQL's client tools: apt-get install postgresql-client)")
    with connection.cursor() as cur:
        cur.execute("SHOW server_version_num")
        server_major = int(cur.fetchone()[0]) // 10000
    version = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    tool_major = int(version.split()[-1].split(".")[0])
    if tool_major < server_major:
        raise BackupError(f"`{name}` is version {tool_major} but the server is {server_major}: install the client tools of version {server_major} or later")
    return path


def _dump_database(out: Path) -> tuple[str, str, list[str]]:
    """Snapshot the database into `out`; the file's name and the blob addresses of that same snapshot."""
    engine = _engine()
    if engine == "sqlite":
        if connection.in_atomic_block:  # SQLite's backup would wait forever for our own write lock
            raise BackupError("a SQLite backup cannot run inside a transaction")
        target = out / "database.sqlite3"
        connection.ensure_connection()
        dst = sqlite3.connect(target)
        try:
            connection.connection.backup(dst)
            addresses = [row[0] for row in dst.execute("SELECT address FROM core_blob ORDER BY address")]
        finally:
            dst.close()
        return engine, target.name, addresses
    pg_dump = _pg_tool("pg_dump")
    target = out / "database.pgdump"
    env, name = _pg_env()
    with transaction.atomic(), connection.cursor() as cur:
        # One snapshot for the dump and for the list of files it names.
        cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
        done = subprocess.run([pg_dump, "--format=custom", "--no-owner", "--no-privileges", f"--snapshot={snapshot}", f"--file={target}", name],
                              env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise BackupError(f"pg_dump failed: {done.stderr.strip()}")
        cur.execute("SELECT address FROM core_blob ORDER BY address")
        addresses = [row[0] for row in cur.fetchall()]
    return engine, target.name, addresses


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def _load_database(engine: str, source: Path, *, force: bool) -> None:
    if engine != _engine():
        raise BackupError(f"this backup holds a {engine} database; the configured database is {_engine()} (set DATABASE_URL)")
    if engine == "sqlite":
        connection.ensure_connection()
        src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
        try:
            src.backup(connection.connection)
        finally:
            src.close()
        return
    pg_restore = _pg_tool("pg_restore")
    if force:
        with connection.cursor() as cur:
            cur.execute("DROP SCHEMA public CASCADE")
            cur.execute("CREATE SCHEMA public")
    env, name = _pg_env()
    connection.close()  # pg_restore works on its own connection; ours must not hold locks
    done = subprocess.run([pg_restore, "--no-owner", "--no-privileges", "--single-transaction", "--exit-on-error", f"--dbname={name}", str(source)],
                          env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise BackupError(f"pg_restore failed: {done.stderr.strip()}")


# ---------------------------------------------------------------- files and manifest

def _sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _object_name(address: str) -> str:
    return f"{OBJECTS}/{address[:2]}/{address[2:4]}/{address}"


def _mac(mac_key: bytes, manifest: dict[str, Any]) -> str:
    body = json.dumps({k: v for k, v in manifest.items() if k != "mac"}, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(mac_key, body, hashlib.sha256).hexdigest()


def backup_create(*, out: Path, passphrase: bytes, progress: Callable[[int, int], None] | None = None) -> BackupOutcome:
    """Write a backup of this installation into the new or empty folder `out`."""
    from nacl import secret, utils
    from nacl.pwhash import argon2id

    if len(passphrase) < MIN_PASSPHRASE:
        raise BackupError(f"the passphrase must have at least {MIN_PASSPHRASE} characters")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BackupError(f"{out} exists and is not an empty folder")
    out.mkdir(parents=True, exist_ok=True)
    salt = utils.random(argon2id.SALTBYTES)
    opslimit, memlimit = argon2id.OPSLIMIT_MODERATE, argon2id.MEMLIMIT_MODERATE
    box_key, mac_key = _derive(passphrase, salt, opslimit, memlimit)
    (out / KEYS).write_bytes(secret.SecretBox(box_key).encrypt(json.dumps(_collect_keys()).encode()))

    engine, db_file, addresses = _dump_database(out)
    store = storage.backend()
    missing: list[str] = []
    for i, address in enumerate(addresses, 1):
        target = out / _object_name(address)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            with store.open(address) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
        except FileNotFoundError:
            target.unlink(missing_ok=True)
            missing.append(address)
        if progress:
            progress(i, len(addresses))

    files = {}
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        rel = path.relative_to(out).as_posix()
        files[rel] = {"sha256": _sha256_file(path), "size": path.stat().st_size}
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "database": {"engine": engine, "file": db_file},
        "storage": storage.backend().describe(),
        "kdf": {"name": "argon2id", "salt": base64.b64encode(salt).decode(), "opslimit": opslimit, "memlimit": memlimit},
        "objects": len(addresses) - len(missing),
        "missing": missing,
        "files": files,
    }
    manifest["mac"] = _mac(mac_key, manifest)
    tmp = out / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True))
    os.replace(tmp, out / MANIFEST)  # written last: a folder without it is an unfinished backup
    return BackupOutcome(out=out, engine=engine, objects=len(addresses) - len(missing), missing=missing)


def _read_checked(source: Path, passphrase: bytes) -> tuple[dict[str, Any], dict[str, dict[str, str]]]:
    """The manifest and the key bundle, once the passphrase, the manifest and every file check out."""
    from nacl import exceptions, secret

    try:
        manifest = json.loads((source / MANIFEST).read_text())
        kdf = manifest["kdf"]
        salt = base64.b64decode(kdf["salt"])
    except FileNotFoundError:
        raise BackupError(f"{source} has no {MANIFEST}: not a backup, or an unfinished one") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise BackupError(f"{source / MANIFEST} is damaged ({exc})") from None
    if manifest.get("format") != FORMAT:
        raise BackupError(f"unknown backup format {manifest.get('format')!r} (this version reads {FORMAT})")
    box_key, mac_key = _derive(passphrase, salt, int(kdf["opslimit"]), int(kdf["memlimit"]))
    try:
        bundle = json.loads(secret.SecretBox(box_key).decrypt((source / KEYS).read_bytes()))
    except FileNotFoundError:
        raise BackupError(f"{source} has no {KEYS}") from None
    except exceptions.CryptoError:
        raise BackupError(f"wrong passphrase (or {KEYS} was altered): the keys cannot be decrypted") from None
    if not hmac.compare_digest(str(manifest.get("mac", "")), _mac(mac_key, manifest)):
        raise BackupError(f"{MANIFEST} was altered since the backup was made (its HMAC does not match)")
    for rel, meta in manifest["files"].items():
        path = source / rel
        if rel.startswith("/") or ".." in Path(rel).parts:
            raise BackupError(f"{MANIFEST} names a file outside the backup: {rel}")
        if not path.is_file():
            raise BackupError(f"{rel} is missing from the backup")
        if path.stat().st_size != meta["size"] or _sha256_file(path) != meta["sha256"]:
            raise BackupError(f"{rel} was altered or damaged (its SHA-256 does not match the manifest)")
    return manifest, bundle


def _target_problems() -> list[str]:
    problems = []
    if not _database_is_empty():
        problems.append("the database has tables")
    key_dir = Path(settings.HIMAYA_KEY_DIR)
    if (key_dir / "master.key").exists():
        problems.append(f"{key_dir} has a master key")
    if next(storage.LocalBackend(storage.media_root()).objects(), None) is not None:
        problems.append(f"{storage.media_root()} has stored files")
    return problems


def _write_key(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.restore")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def backup_restore(*, source: Path, passphrase: bytes, force: bool = False,
                   progress: Callable[[int, int], None] | None = None) -> RestoreOutcome:
    """Bring a backup back into an empty installation (or over one, with `force`)."""
    from himaya.core.crypto import master_key

    manifest, bundle = _read_checked(source, passphrase)
    problems = _target_problems()
    if problems and not force:
        raise BackupError("the target is not empty (" + "; ".join(problems) + "): restore into a new HIMAYA_HOME and database, or pass --force to overwrite")
    env_master = os.environ.get("HIMAYA_MASTER_KEY")
    wanted = base64.b64decode(bundle["key_dir"]["master.key"]).strip()
    if env_master and env_master.encode().strip() != wanted:
        raise BackupError("HIMAYA_MASTER_KEY is set to another key than the backup's: unset it, or set it to the backup's")

    dirs = _key_dirs()
    written = 0
    for label, files in bundle.items():
        folder = dirs.get(label, dirs["key_dir"])
        for name, data in files.items():
            if "/" in name or name in ("", ".", ".."):
                raise BackupError(f"{KEYS} names an odd key file: {name!r}")
            _write_key(folder / name, base64.b64decode(data))
            written += 1
    master_key.cache_clear()

    db = manifest["database"]
    _load_database(db["engine"], source / db["file"], force=force)

    store = storage.backend()
    names = sorted(rel for rel in manifest["files"] if rel.startswith(f"{OBJECTS}/"))
    for i, rel in enumerate(names, 1):
        address = rel.rsplit("/", 1)[-1]
        if not store.exists(address):
            store.put(address, source / rel)
        problem = storage.verify_object(store, address)
        if problem:
            raise BackupError(f"stored file {address} after restore: {problem} (were these the backup's keys?)")
        if progress:
            progress(i, len(names))
    return RestoreOutcome(engine=db["engine"], objects=len(names), key_files=written)


def passphrase_from(*, file: str | None, env: str = "HIMAYA_BACKUP_PASSPHRASE") -> bytes:
    if file:
        try:
            value = Path(file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise BackupError(f"cannot read the passphrase file {file}: {exc.strerror}") from None
    else:
        value = os.environ.get(env, "").encode()
    if not value:
        raise BackupError(f"give the passphrase with --passphrase-file FILE or the environment variable {env}")
    return value

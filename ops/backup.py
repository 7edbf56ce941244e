"""Backup and restore of everything the help desk keeps: the database and the stored files.

A backup is one directory, `helpdesk-backup-<UTC time>/`, holding
- `database.dump`: `pg_dump --format=custom` of DATABASE_URL (SQLite: `database.sqlite3`, a
  consistent copy made with SQLite's online backup);
- `media.tar.gz`: every file under MEDIA_ROOT (attachments, KB images, voicemails);
- `manifest.json`: when, what database engine, row counts of the main tables, the media file
  count and bytes, and the SHA-256 and size of the two files above.

Restoring checks the checksums, refuses a database that already has tables and a media
directory that already has files, loads both, and compares the row counts with the manifest.
Redis is not backed up: it holds only queued tasks, caches and live-update channels, all of
which the application rebuilds (a reply or payload whose task was queued is a row too, queued
again by the recovery sweep; see ops/recovery.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection

MANIFEST = "manifest.json"
PG_DUMP = "database.dump"
SQLITE_COPY = "database.sqlite3"
MEDIA = "media.tar.gz"
FORMAT_VERSION = 1

# (label, app_label.Model) counted in the manifest and compared after a restore.
COUNTED = [
    ("tickets", "tickets.Ticket"),
    ("messages", "tickets.Message"),
    ("attachments", "tickets.Attachment"),
    ("customers", "tickets.Customer"),
    ("events", "tickets.Event"),
    ("raw_inbound", "tickets.RawInbound"),
    ("users", "auth.User"),
    ("kb_articles", "kb.Article"),
]


class BackupError(Exception):
    """The backup or restore cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    manifest: dict[str, Any]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(chunk)
    return digest.hexdigest()


def row_counts() -> dict[str, int]:
    from django.apps import apps

    counts: dict[str, int] = {}
    for label, dotted in COUNTED:
        try:
            model = apps.get_model(dotted)
        except LookupError:
            continue
        counts[label] = model._default_manager.count()
    return counts


def _engine() -> str:
    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return "postgresql"
    if "sqlite3" in engine:
        return "sqlite"
    raise BackupError(f"Backups support PostgreSQL and SQLite, not {engine}.")


def _pg_env_and_name() -> tuple[dict[str, str], str]:
    """libpq environment for pg_dump/pg_restore (the password never on the command line)."""
    d = settings.DATABASES["default"]
    env = {**os.environ}
    for key, value in (
        ("PGHOST", d.get("HOST")),
        ("PGPORT", d.get("PORT")),
        ("PGUSER", d.get("USER")),
        ("PGPASSWORD", d.get("PASSWORD")),
    ):
        if value:
            env[key] = str(value)
    return env, str(d["NAME"])


def _run(argv: list[str], env: dict[str, str]) -> None:
    binary = shutil.which(argv[0])
    if binary is None:
        raise BackupError(f"{argv[0]} is not installed (apt-get install postgresql-client).")
    result = subprocess.run([binary, *argv[1:]], env=env, capture_output=True, text=True)
    if result.returncode != 0:
        raise BackupError(f"{argv[0]} failed: {result.stderr.strip()[-2000:]}")


def _media_root() -> Path:
    return Path(settings.MEDIA_ROOT)


def _media_files(root: Path) -> list[Path]:
    if not root.is_dir():
        return []
    return sorted(p for p in root.rglob("*") if p.is_file())


def backup_create(*, output_dir: Path, now: dt.datetime | None = None) -> BackupResult:
    """Write a new backup directory under `output_dir` and return it with its manifest."""
    now = now or dt.datetime.now(dt.UTC)
    engine = _engine()
    target = Path(output_dir) / f"helpdesk-backup-{now:%Y%m%dT%H%M%SZ}"
    if target.exists():
        raise BackupError(f"{target} already exists.")
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    # Written next to its final place and renamed when complete: a half-made backup never
    # looks like a backup.
    work = Path(tempfile.mkdtemp(prefix=".backup-", dir=output_dir))
    try:
        counts = row_counts()
        if engine == "postgresql":
            env, name = _pg_env_and_name()
            _run(["pg_dump", "--format=custom", "--no-owner", "--no-acl", f"--file={work / PG_DUMP}", name], env)
            database_file = PG_DUMP
        else:
            source = sqlite3.connect(str(settings.DATABASES["default"]["NAME"]))
            copy = sqlite3.connect(str(work / SQLITE_COPY))
            with copy:
                source.backup(copy)
            source.close()
            copy.close()
            database_file = SQLITE_COPY

        root = _media_root()
        files = _media_files(root)
        with tarfile.open(work / MEDIA, "w:gz") as archive:
            for path in files:
                archive.add(path, arcname=str(path.relative_to(root)), recursive=False)

        manifest: dict[str, Any] = {
            "format": FORMAT_VERSION,
            "created_at": now.isoformat(),
            "database": {"engine": engine, "name": str(settings.DATABASES["default"]["NAME"])},
            "counts": counts,
            "media": {
                "root": str(root),
                "files": len(files),
                "bytes": sum(p.stat().st_size for p in files),
                "s3_bucket": getattr(settings, "STORAGE_S3_BUCKET", "") or None,
            },
            "files": {
                name: {"bytes": (work / name).stat().st_size, "sha256": sha256_file(work / name)}
                for name in (database_file, MEDIA)
            },
        }
        (work / MANIFEST).write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        work.rename(target)
    except BaseException:
        shutil.rmtree(work, ignore_errors=True)
        raise
    return BackupResult(path=target, manifest=manifest)


def backup_verify(path: Path) -> dict[str, Any]:
    """The manifest, after checking every file it lists is there with its size and checksum."""
    path = Path(path)
    manifest_path = path / MANIFEST
    if not manifest_path.is_file():
        raise BackupError(f"{path} is not a backup: {MANIFEST} is missing.")
    manifest = json.loads(manifest_path.read_text())
    if manifest.get("format") != FORMAT_VERSION:
        raise BackupError(f"Unknown backup format {manifest.get('format')!r}.")
    for name, expected in manifest["files"].items():
        file = path / name
        if not file.is_file():
            raise BackupError(f"{name} is missing from the backup.")
        if file.stat().st_size != expected["bytes"] or sha256_file(file) != expected["sha256"]:
            raise BackupError(f"{name} does not match its checksum in the manifest: the backup is damaged.")
    return manifest


def _database_is_empty() -> bool:
    return not connection.introspection.table_names()


def backup_restore(*, path: Path) -> dict[str, Any]:
    """Load a backup into the (empty) configured database and (empty) MEDIA_ROOT. Returns the
    manifest; raises BackupError when anything does not match."""
    manifest = backup_verify(path)
    path = Path(path)
    engine = _engine()
    if manifest["database"]["engine"] != engine:
        raise BackupError(f"The backup is of a {manifest['database']['engine']} database, this one is {engine}.")
    if not _database_is_empty():
        raise BackupError("The database already has tables: restore into a new, empty database.")
    root = _media_root()
    if _media_files(root):
        raise BackupError(f"{root} already holds files: restore into an empty media directory.")

    connection.close()
    if engine == "postgresql":
        env, name = _pg_env_and_name()
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--no-acl",
                "--exit-on-error",
                "--single-transaction",
                "-d",
                name,
                str(path / PG_DUMP),
            ],
            env,
        )
    else:
        target = Path(str(settings.DATABASES["default"]["NAME"]))
        copy = sqlite3.connect(str(path / SQLITE_COPY))
        restored = sqlite3.connect(str(target))
        with restored:
            copy.backup(restored)
        copy.close()
        restored.close()

    root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path / MEDIA, "r:gz") as archive:
        archive.extractall(root, filter="data")  # no absolute paths, no "..", no links out

    counts = row_counts()
    expected = manifest["counts"]
    differing = {k: (v, counts.get(k)) for k, v in expected.items() if counts.get(k) != v}
    if differing:
        raise BackupError(f"Row counts differ from the manifest after the restore: {differing}")
    restored_files = len(_media_files(root))
    if restored_files != manifest["media"]["files"]:
        raise BackupError(f"{restored_files} media files restored, the manifest lists {manifest['media']['files']}.")
    return manifest

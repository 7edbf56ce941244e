"""Backup and restore: scripts/backup.sh, then scripts/restore.sh into a new, empty database and
an empty media directory, both run as separate programs as an operator would. The restored
copy holds the same tickets, messages and attachment bytes, and a web process running on it
serves an attachment through the API's permission check."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import uuid
from pathlib import Path

import psycopg2
import pytest
from django.db import connection

from apitokens.services import api_token_create
from tests.factories import make_agent
from tests.scaling.conftest import ROOT, database_url, processes  # noqa: F401  (the fixture)
from tickets.inbound import InboundAttachment, InboundMessage, InboundSender
from tickets.models import Attachment
from tickets.services.ingest import message_ingest
from tickets.services.tickets import ticket_reply

from .outages import http

pytestmark = [pytest.mark.django_db(transaction=True)]

PDF = b"%PDF-1.4\n" + bytes(range(256)) * 40
PHOTO = b"\x89PNG\r\n\x1a\n" + os.urandom(5000)


def run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / "scripts" / script), *args],
        cwd=ROOT,
        env={**os.environ, "PYTHON": str(Path(os.sys.executable)), **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture
def empty_database():
    """A new, empty PostgreSQL database to restore into; dropped afterwards."""
    name = f"{connection.settings_dict['NAME']}_restored_{uuid.uuid4().hex[:8]}"
    admin = psycopg2.connect(database_url("postgres"))
    admin.autocommit = True
    admin.cursor().execute(f'CREATE DATABASE "{name}"')
    yield name
    admin.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


def rows(dsn: str, sql: str) -> list[tuple]:
    with psycopg2.connect(dsn) as conn, conn.cursor() as cursor:
        cursor.execute(sql)
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cursor.fetchall()]


COMPARED = {
    "tickets": "SELECT id, number, subject, status, channel, requester_id FROM tickets_ticket ORDER BY id",
    "messages": "SELECT id, ticket_id, direction, body_text, is_internal, external_id FROM tickets_message ORDER BY id",
    "attachments": "SELECT id, message_id, file, filename, size, sha256 FROM tickets_attachment ORDER BY id",
    "customers": "SELECT id, name FROM tickets_customer ORDER BY id",
}


def test_a_backup_restores_into_an_empty_database_and_media_dir_and_serves_its_files(
    empty_database,
    processes,  # noqa: F811
    settings,
    tmp_path,
):
    source_media = tmp_path / "media"
    settings.MEDIA_ROOT = source_media
    agent = make_agent("rita")
    _token, key = api_token_create(user=agent)
    tickets = []
    for i in range(3):
        result = message_ingest(
            inbound=InboundMessage(
                channel="email",
                sender=InboundSender("email", f"client{i}@example.com", f"Client {i}"),
                subject=f"Invoice {i}",
                body_text=f"Please check invoice {i}.",
                external_id=f"<backup-{i}@example.com>",
                attachments=(
                    InboundAttachment(f"invoice-{i}.pdf", "application/pdf", PDF + bytes([i])),
                    InboundAttachment("photo.png", "image/png", PHOTO + bytes([i])),
                ),
            )
        )
        tickets.append(result.ticket)
        ticket_reply(ticket=result.ticket, author=agent, body_text=f"Thanks, looking at invoice {i}.")
    originals = {a.pk: a.file.read() for a in Attachment.objects.all()}
    assert len(originals) == 6 and all(originals.values())

    # Back up: one directory with the dump, the media archive and a manifest.
    backups = tmp_path / "backups"
    done = run(
        "backup.sh", "--output-dir", str(backups), env={"DATABASE_URL": database_url(), "MEDIA_ROOT": str(source_media)}
    )
    assert done.returncode == 0, done.stderr
    backup = Path(done.stdout.strip())
    assert backup.parent == backups and backup.name.startswith("helpdesk-backup-")
    manifest = json.loads((backup / "manifest.json").read_text())
    assert manifest["counts"]["tickets"] == 3
    assert manifest["counts"]["messages"] == 6
    assert manifest["counts"]["attachments"] == 6
    assert manifest["media"]["files"] == 6
    for name in ("database.dump", "media.tar.gz"):
        assert manifest["files"][name]["sha256"] == hashlib.sha256((backup / name).read_bytes()).hexdigest()
    assert "PGPASSWORD" not in (backup / "manifest.json").read_text()

    # Restore into a new database and an empty media directory.
    restored_url = database_url(empty_database)
    restored_media = tmp_path / "restored-media"
    env = {"DATABASE_URL": restored_url, "MEDIA_ROOT": str(restored_media)}
    done = run("restore.sh", str(backup), env=env)
    assert done.returncode == 0, done.stderr
    assert "Restored the backup" in done.stdout

    for label, sql in COMPARED.items():
        assert rows(restored_url, sql) == rows(database_url(), sql), label
    for attachment in Attachment.objects.all():
        data = (restored_media / attachment.file.name).read_bytes()
        assert data == originals[attachment.pk]
        assert hashlib.sha256(data).hexdigest() == attachment.sha256

    # The app runs on the restored copy and serves a file through the permission check.
    web = processes.web("restored", **env)
    pdf = Attachment.objects.filter(filename="invoice-1.pdf").get()
    url = f"{web}/api/v1/tickets/{tickets[1].number}/attachments/{pdf.pk}/download/"
    status, headers, body = http("GET", url, headers={"Authorization": f"Token {key}"})
    assert status == 200
    assert body == originals[pdf.pk]
    assert headers["Content-Disposition"].startswith("attachment")
    assert "sandbox" in headers["Content-Security-Policy"]
    assert http("GET", url)[0] in (401, 403)  # still behind the check

    # A restore never overwrites: a database with tables is refused, and so is a damaged backup.
    again = run("restore.sh", str(backup), env=env)
    assert again.returncode != 0 and "already has tables" in again.stderr
    damaged = tmp_path / "damaged"
    shutil.copytree(backup, damaged)
    with (damaged / "media.tar.gz").open("r+b") as handle:
        handle.seek(100)
        handle.write(b"\x00\x00\x00")
    checked = run("restore.sh", "--check", str(damaged), env=env)
    assert checked.returncode != 0 and "does not match its checksum" in checked.stderr

#!/bin/sh
# Restore a backup made by scripts/backup.sh into the database of DATABASE_URL (create it
# empty first: createdb helpdesk_restored) and an empty MEDIA_ROOT.
#   scripts/restore.sh var/backups/helpdesk-backup-20260101T030000Z
#   scripts/restore.sh --check DIR     (only verify the checksums)
# See README, "Backup and restore".
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python
exec "$PYTHON" manage.py restore "$@"

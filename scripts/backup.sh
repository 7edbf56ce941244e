#!/bin/sh
# Back up the help desk: the database of DATABASE_URL (pg_dump custom format) and the stored
# files under MEDIA_ROOT, into a new directory helpdesk-backup-<UTC time>/ with a manifest.
#   scripts/backup.sh [--output-dir DIR]      (default: $BACKUP_DIR, or var/backups)
# Prints the directory it made. See README, "Backup and restore".
set -eu
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-.venv/bin/python}"
[ -x "$PYTHON" ] || PYTHON=python
exec "$PYTHON" manage.py backup "$@"

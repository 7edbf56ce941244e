# shellcheck shell=bash
# Make sure the test run has a real PostgreSQL and a real Redis, and export where they are.
#
#   source scripts/test-services.sh     (from bash, in the repository root; `make test` does this)
#
# For each service, in order:
#   1. DATABASE_URL / REDIS_URL already set: use them as they are (a REDIS_URL without a
#      database number gets /15, so the tests never touch database 0).
#   2. Something answers on the usual loopback port (PostgreSQL 127.0.0.1:5432 as user
#      postgres, Redis 127.0.0.1:6379): use it. pytest-django creates and drops its own
#      test_helpdesk database; the tests flush Redis database 15.
#   3. Otherwise (or always, with HELPDESK_TEST_OWN_SERVICES=1) start a throwaway one in a temporary folder on a free high port (installing
#      Debian's postgresql / redis-server first if they are missing), and stop it and remove
#      its folder when the calling shell exits.
#
# Exports DATABASE_URL and REDIS_URL. Sets an EXIT trap in the calling shell.

_ts_python="${HELPDESK_PYTHON:-.venv/bin/python}"
[ -x "$_ts_python" ] || _ts_python="python3"
_ts_here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
_ts_pg_dir=""
_ts_pg_ctl=""
_ts_pg_user=""
_ts_redis_dir=""

_ts_log() { echo "==> $*" >&2; }

_ts_free_port() {
    # First free loopback port at or above $1.
    "$_ts_python" - "$1" <<'PY'
import socket, sys
port = int(sys.argv[1])
while port < 65535:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            port += 1
            continue
    print(port)
    break
else:
    sys.exit("no free port")
PY
}

_ts_pg_answers() {
    # _ts_pg_answers URL: true when PostgreSQL at URL accepts a connection to its maintenance DB.
    "$_ts_python" - "$1" <<'PY' >/dev/null 2>&1
import sys
from urllib.parse import urlsplit, urlunsplit
import psycopg2
parts = urlsplit(sys.argv[1])
url = urlunsplit(parts._replace(path="/postgres"))
psycopg2.connect(url, connect_timeout=3).close()
PY
}

_ts_redis_answers() {
    "$_ts_python" - "$1" <<'PY' >/dev/null 2>&1
import sys
import redis
redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2, socket_timeout=2).ping()
PY
}

_ts_redis_with_db() {
    # Give a REDIS_URL without a database number the test database 15.
    "$_ts_python" - "$1" <<'PY'
import sys
from urllib.parse import urlsplit, urlunsplit
parts = urlsplit(sys.argv[1])
if parts.path in ("", "/"):
    parts = parts._replace(path="/15")
print(urlunsplit(parts))
PY
}

_ts_pg_bindir() {
    if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
        dirname "$(command -v initdb)"
        return
    fi
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    [ -n "$dir" ] && [ -x "$dir/initdb" ] && echo "$dir"
}

_ts_as_pg_user() {
    if [ -n "$_ts_pg_user" ]; then
        runuser -u "$_ts_pg_user" -- "$@"
    else
        "$@"
    fi
}

_ts_pg_start() {
    local bindir port
    bindir="$(_ts_pg_bindir || true)"
    if [ -z "$bindir" ]; then
        "$_ts_here/apt-install.sh" postgresql || return 1
        bindir="$(_ts_pg_bindir || true)"
        [ -n "$bindir" ] || { echo "error: PostgreSQL was installed but initdb is not found" >&2; return 1; }
    fi
    if [ "$(id -u)" -eq 0 ]; then
        # initdb refuses to run as root: run the throwaway server as an unprivileged user.
        if id postgres >/dev/null 2>&1; then _ts_pg_user=postgres; else _ts_pg_user=nobody; fi
    fi
    port="$(_ts_free_port 55432)"
    _ts_pg_dir="$(mktemp -d "${TMPDIR:-/tmp}/helpdesk-test-pg.XXXXXX")" || return 1
    [ -z "$_ts_pg_user" ] || chown "$_ts_pg_user" "$_ts_pg_dir" || return 1
    _ts_log "Starting a throwaway PostgreSQL on 127.0.0.1:$port (data in $_ts_pg_dir)"
    _ts_as_pg_user "$bindir/initdb" -D "$_ts_pg_dir/data" -U postgres --auth=trust -E UTF8 \
        --locale=C.UTF-8 --no-sync >"$_ts_pg_dir/initdb.log" 2>&1 \
        || { cat "$_ts_pg_dir/initdb.log" >&2; return 1; }
    _ts_pg_ctl="$bindir/pg_ctl"
    _ts_as_pg_user "$_ts_pg_ctl" -D "$_ts_pg_dir/data" -l "$_ts_pg_dir/server.log" -w -t 60 \
        -o "-p $port -k $_ts_pg_dir -c listen_addresses=127.0.0.1 -F" start >/dev/null \
        || { cat "$_ts_pg_dir/server.log" >&2; return 1; }
    export DATABASE_URL="postgres://postgres@127.0.0.1:$port/helpdesk"
}

_ts_redis_start() {
    local port
    if ! command -v redis-server >/dev/null 2>&1; then
        "$_ts_here/apt-install.sh" redis-server || return 1
    fi
    port="$(_ts_free_port 56379)"
    _ts_redis_dir="$(mktemp -d "${TMPDIR:-/tmp}/helpdesk-test-redis.XXXXXX")"
    _ts_log "Starting a throwaway Redis on 127.0.0.1:$port"
    redis-server --port "$port" --bind 127.0.0.1 --daemonize yes --save '' --appendonly no \
        --dir "$_ts_redis_dir" --pidfile "$_ts_redis_dir/redis.pid" \
        --logfile "$_ts_redis_dir/redis.log" >/dev/null || return 1
    local tries=0
    until _ts_redis_answers "redis://127.0.0.1:$port/15"; do
        tries=$((tries + 1))
        if [ "$tries" -gt 50 ]; then
            cat "$_ts_redis_dir/redis.log" >&2
            echo "error: the throwaway Redis did not answer" >&2
            return 1
        fi
        sleep 0.1
    done
    export REDIS_URL="redis://127.0.0.1:$port/15"
}

_ts_cleanup() {
    if [ -n "$_ts_pg_dir" ]; then
        _ts_as_pg_user "$_ts_pg_ctl" -D "$_ts_pg_dir/data" -m immediate -w stop >/dev/null 2>&1 || true
        rm -rf "$_ts_pg_dir"
        _ts_pg_dir=""
    fi
    if [ -n "$_ts_redis_dir" ]; then
        if [ -f "$_ts_redis_dir/redis.pid" ]; then
            kill "$(cat "$_ts_redis_dir/redis.pid")" 2>/dev/null || true
            sleep 0.2
        fi
        rm -rf "$_ts_redis_dir"
        _ts_redis_dir=""
    fi
}
trap _ts_cleanup EXIT

_ts_ensure_services() {
    if [ -n "${DATABASE_URL:-}" ]; then
        _ts_log "PostgreSQL: using DATABASE_URL"
    elif [ "${HELPDESK_TEST_OWN_SERVICES:-}" != 1 ] \
        && _ts_pg_answers "postgres://postgres@127.0.0.1:5432/postgres"; then
        export DATABASE_URL="postgres://postgres@127.0.0.1:5432/helpdesk"
        _ts_log "PostgreSQL: using the server on 127.0.0.1:5432"
    else
        _ts_pg_start || return 1
    fi

    if [ -n "${REDIS_URL:-}" ]; then
        REDIS_URL="$(_ts_redis_with_db "$REDIS_URL")"
        export REDIS_URL
        _ts_log "Redis: using REDIS_URL"
    elif [ "${HELPDESK_TEST_OWN_SERVICES:-}" != 1 ] && _ts_redis_answers "redis://127.0.0.1:6379/15"; then
        export REDIS_URL="redis://127.0.0.1:6379/15"
        _ts_log "Redis: using the server on 127.0.0.1:6379 (database 15)"
    else
        _ts_redis_start || return 1
    fi
}

_ts_ensure_services

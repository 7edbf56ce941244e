"""Every benchmark in one command: makes sure the benchmark database holds the generated data
(bench/generate.py; resumes or does nothing when it is already there), runs each benchmark
against it, writes bench/results.md (a table: benchmark, figure, target, met?) with the
machine it ran on, and prints it.

    make bench                                   # 1,000,000 tickets (about 25 min to generate once)
    make bench BENCH_TICKETS=2000 BENCH_QUICK=1  # a smoke run in a minute or two
    .venv/bin/python bench/run_all.py --tickets 1000000 [--only web,sla] [--skip api] [--quick]

The database is BENCH_DATABASE_URL, else postgres://postgres@127.0.0.1:5432/bench_<tickets>
(created when missing). The worker benchmark needs a broker: REDIS_URL, default
redis://127.0.0.1:6379/14; the others run tasks in-process, as `make run` does, unless
REDIS_URL is set.

Contract for a benchmark module in bench/ (how this runner reads its figures):

- if the module has `run(**kwargs) -> dict`, the runner imports it and calls it in-process
  (Django already set up against the benchmark database);
- otherwise it runs `python bench/<module>.py` as a subprocess with BENCH_DATABASE_URL set
  (with `--json` for the modules listed in JSON_FLAG, which then print one JSON line at the
  end) and takes the LAST line of standard output that parses as a JSON object as its
  figures; a module printing none is shown by its last lines of output.

Modules of other areas are picked up when present: chat_fanout.py and kb_search.py.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))


# The modules here that take --json (the others are run without arguments).
JSON_FLAG = {"generate", "web", "ingest", "email_ingest", "worker_memory", "api_load", "sla_sweep", "dashboard"}


@dataclass
class Row:
    benchmark: str
    figure: str
    target: str = ""
    met: bool | None = None  # None: no target


@dataclass
class Result:
    name: str
    figures: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    seconds: float = 0.0


# --- running -----------------------------------------------------------------------------------------


def last_json_line(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except json.JSONDecodeError:
                continue
            if isinstance(value, dict):
                return value
    return None


def run_module(name: str, args: list[str], kwargs: dict[str, Any], timeout: float, in_process: bool) -> Result:
    """One benchmark by the contract above."""
    t0 = time.perf_counter()
    result = Result(name)
    try:
        module = importlib.import_module(name) if in_process else None
        if module is not None and callable(getattr(module, "run", None)):
            result.figures = module.run(**kwargs)
        else:
            flag = ["--json"] if name in JSON_FLAG else []
            proc = subprocess.run(
                [sys.executable, str(BENCH / f"{name}.py"), *flag, *args],
                cwd=ROOT,
                env={**os.environ, "LOG_LEVEL": "WARNING"},
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            figures = last_json_line(proc.stdout)
            if proc.returncode == 0 and figures is None:  # no JSON line: its last lines, as text
                figures = {"output": " / ".join(proc.stdout.strip().splitlines()[-4:])}
            if proc.returncode != 0 or figures is None:
                tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
                result.error = f"exit {proc.returncode}: {' | '.join(tail)}"[:300]
            result.figures = figures or {}
    except subprocess.TimeoutExpired:
        result.error = f"timed out after {timeout:.0f} s"
    except Exception as exc:  # a failing benchmark is reported, the others still run
        result.error = f"{type(exc).__name__}: {exc}"[:300]
    result.seconds = time.perf_counter() - t0
    return result


# --- the table -------------------------------------------------------------------------------------


def _lat(fig: dict[str, Any]) -> str:
    text = f"p50 {fig['p50']:.0f} ms, p95 {fig['p95']:.0f} ms, p99 {fig['p99']:.0f} ms (n={fig['n']})"
    if "sql_p95" in fig:
        text += f"; of which SQL p50 {fig['sql_p50']:.0f} / p95 {fig['sql_p95']:.0f} ms, "
        text += f"CPU p50 {fig['cpu_p50']:.0f} / p95 {fig['cpu_p95']:.0f} ms"
    return text


def rows_for(result: Result) -> list[Row]:
    f, name = result.figures, result.name
    if result.error and not f:
        return [Row(name, f"failed: {result.error}", "", False)]
    rows: list[Row] = []
    if name == "web":
        t = f.get("tickets", 0)
        at = f" at {t:,} tickets"
        for key, label, target in (
            ("list", "agent ticket list (views, filters, sorts)", 100),
            ("list_next_pages", "agent ticket list, next pages (keyset)", 100),
            ("search", "agent search (words, phrases, order numbers)", 150),
            ("ticket_page", "ticket page", 100),
        ):
            if f.get(key, {}).get("n"):
                rows.append(Row(label + at, _lat(f[key]), f"p95 < {target} ms", f[key]["p95"] < target))
        if "list_cold_counts_ms" in f:
            rows.append(Row("agent ticket list, counts not cached" + at, f"{f['list_cold_counts_ms']:.0f} ms"))
        for key, label in (
            ("dashboard_30d", "dashboard, last 30 days"),
            ("dashboard_365d", "dashboard, last 365 days"),
            ("dashboard_api_30d", "metrics API, last 30 days"),
        ):
            fig = f.get(key)
            if not fig:
                continue
            if "error" in fig:
                rows.append(Row(label + at, f"failed: {fig['error']}", "p95 < 300 ms", False))
            else:
                rows.append(Row(label + at, _lat(fig), "p95 < 300 ms", fig["p95"] < 300))
    elif name == "dashboard":
        t = f.get("tickets", 0)
        at = f" at {t:,} tickets"
        if "rollup_rebuild_s" in f:
            rows.append(
                Row(
                    "dashboard rollups, rebuild" + at,
                    f"{f['rollup_rebuild_s'] / 60:.1f} min, {f['rollup_rows']:,} rows",
                )
            )
        if "rollup_incremental_s" in f:
            rows.append(
                Row("dashboard rollups, refresh after 500 tickets changed", f"{f['rollup_incremental_s']:.1f} s")
            )
        days = sorted(
            {int(k.split("_")[1][:-1]) for k in f if k.startswith("dashboard_") and k.split("_")[1][:-1].isdigit()}
        )
        for n in days:
            pages = {
                k: v
                for k, v in f.items()
                if k.startswith(f"dashboard_{n}d") and not k.endswith("_warm") and isinstance(v, dict)
            }
            failed = [k for k, v in pages.items() if "error" in v]
            ok = {k: v for k, v in pages.items() if "p95" in v}
            if not ok:
                continue
            warm = [f[k + "_warm"]["p95"] for k in ok if "p95" in f.get(k + "_warm", {})]
            p95s = [v["p95"] for v in ok.values()]
            figure = (
                f"{len(ok)} filter combinations; cold p95 {min(p95s):.0f}-{max(p95s):.0f} ms"
                + (f" (unfiltered {ok[f'dashboard_{n}d']['p95']:.0f} ms)" if f"dashboard_{n}d" in ok else "")
                + (f"; warm (data cache) p95 {min(warm):.0f}-{max(warm):.0f} ms" if warm else "")
                + (f"; failed: {', '.join(failed)}" if failed else "")
            )
            api = f.get(f"dashboard_api_{n}d", {})
            if "p95" in api:
                figure += f"; metrics API p95 {api['p95']:.0f} ms"
            rows.append(
                Row(
                    f"dashboard, last {n} days, every filter and tag combination (cold cache)" + at,
                    figure,
                    "p95 < 300 ms",
                    not failed and max(p95s) < 300,
                )
            )
    elif name.startswith("ingest:"):
        rows.append(
            Row(
                f"ingest, {f.get('channel')} (one process, follow-up tasks queued for other workers)",
                f"{f['messages_per_s']:.0f} messages/s; p50 {f['p50_ms']:.0f} ms, p95 {f['p95_ms']:.0f} ms; "
                f"{f['queries_median']:.0f} queries per message; "
                f"{f.get('with_follow_ups_per_s', 0):.0f} messages/s with its follow-ups in the same process",
            )
        )
    elif name == "email_ingest":
        rows.append(
            Row(
                "email ingest, raw MIME to ticket (the ingest task, one process; follow-ups queued)",
                f"{f.get('ingest_task_per_s', f['messages_per_s']):.0f} messages/s "
                f"({f['messages_per_s']:.0f} with storing the raw message; p50 {f['p50_ms']:.0f} ms, "
                f"p95 {f['p95_ms']:.0f} ms; {f.get('with_follow_ups_per_s', 0):.0f} with its follow-ups "
                "in the same process)",
                "> 200 messages/s per worker process",
                f.get("ingest_task_per_s", f["messages_per_s"]) > 200,
            )
        )
    elif name == "worker_memory":
        rows.append(
            Row(
                "Celery worker (solo pool), RSS",
                f"{f['rss_warm_mb']:.0f} MiB after the first message, {f['rss_after_mb']:.0f} MiB after "
                f"{f['messages']} more",
            )
        )
        rows.append(
            Row(
                "email ingest in that worker (ingest queue; follow-ups on other queues)",
                f"{f['messages_per_s']:.1f} messages/s",
                "> 200 messages/s per worker process",
                (f["messages_per_s"] or 0) > 200,
            )
        )
    elif name == "api_load":
        for scenario, fig in f.get("scenarios", {}).items():
            rows.append(
                Row(
                    f"REST API {scenario}, {f.get('concurrency')} concurrent clients, one daphne",
                    f"{fig['rps']:.0f} req/s; p50 {fig['p50']:.0f} ms, p95 {fig['p95']:.0f} ms; "
                    f"errors {fig['errors']}/{fig['requests']}",
                )
            )
    elif name == "sla_sweep":
        rows.append(
            Row(
                f"SLA sweep over {f['tickets']:,} open tickets ({f['due']:,} due)",
                f"{f['sweep_s']:.2f} s ({f['breached']:,} breaches recorded); idle sweep {f['idle_sweep_ms']:.0f} ms",
                "< 5 s",
                f["sweep_s"] < 5,
            )
        )
    elif name == "generate":
        rows.append(
            Row(
                "data set",
                f"{f.get('tickets', 0):,} tickets, {f.get('rows_estimate', {}).get('message', 0):,} messages, "
                f"{f.get('customers', 0):,} customers"
                + (f"; generated in {f['seconds'] / 60:.1f} min" if f.get("seconds") else " (already generated)"),
            )
        )
    else:  # another area's module: its figures as they come
        text = ", ".join(f"{k} {v}" for k, v in f.items() if not isinstance(v, dict | list))[:300]
        rows.append(Row(name.replace("_", " "), text or json.dumps(f)[:300]))
    if result.error:
        rows.append(Row(name, f"error: {result.error}", "", False))
    return rows


def machine() -> dict[str, str]:
    from django.db import connection

    info = {"cores": str(os.cpu_count())}
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text()
        info["cpu"] = next(line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if "model name" in line)
    except (OSError, StopIteration):
        info["cpu"] = platform.processor() or platform.machine()
    try:
        kb = int(next(x for x in Path("/proc/meminfo").read_text().splitlines() if x.startswith("MemTotal")).split()[1])
        info["ram"] = f"{kb / 1024 / 1024:.0f} GiB"
    except (OSError, StopIteration):
        info["ram"] = "?"
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        info["postgresql"] = cursor.fetchone()[0]
    info["python"] = platform.python_version()
    info["os"] = platform.platform()
    try:
        info["load"] = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        info["load"] = "?"
    return info


def markdown(rows: list[Row], info: dict[str, str], started: str, took: float) -> str:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = [
        "# Benchmark results",
        "",
        f"Run {started} UTC in {took / 60:.1f} min by `bench/run_all.py`. Machine: {info['cores']} cores "
        f"({info['cpu']}), {info['ram']} RAM, PostgreSQL {info['postgresql']}, Python {info['python']}, "
        f"{info['os']}; load average at the end {info['load']}.",
        "",
        "| benchmark | figure | target | met? |",
        "|---|---|---|---|",
    ]
    for row in rows:
        met = "" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {cell(row.benchmark)} | {cell(row.figure)} | {cell(row.target)} | {met} |")
    return "\n".join(lines) + "\n"


def write(results: list[Result], output: str, started: str, t_all: float) -> str:
    rows = [row for result in results for row in rows_for(result)]
    text = markdown(rows, machine(), started, time.perf_counter() - t_all)
    Path(output).write_text(text)
    Path(output).with_suffix(".json").write_text(
        json.dumps({r.name: {"figures": r.figures, "error": r.error} for r in results}, indent=1, default=str)
    )
    return text


# --- main ------------------------------------------------------------------------------------------


def ensure_database(url: str) -> None:
    """CREATE DATABASE when it does not exist (on the same server, via its `postgres` db)."""
    from urllib.parse import urlparse

    import psycopg2

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    conn = psycopg2.connect(
        host=parts.hostname, port=parts.port or 5432, user=parts.username, password=parts.password, dbname="postgres"
    )
    conn.autocommit = True
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def plan(args: argparse.Namespace) -> list[tuple[str, list[str], dict[str, Any], bool]]:
    """(module, subprocess arguments, run() keyword arguments, in-process?) per benchmark."""
    quick = args.quick
    n = min(60, args.requests) if quick else args.requests
    messages = 100 if quick else 300
    items: list[tuple[str, list[str], dict[str, Any], bool]] = [
        ("web", [], {"requests": n, "quiet": True}, True),
    ]
    for channel in ("sms", "whatsapp", "telegram", "messenger", "instagram", "chat", "voice"):
        items.append((f"ingest:{channel}", ["--channel", channel, "--messages", str(messages // 2)], {}, False))
    items += [
        ("email_ingest", ["--passes", "1"], {}, False),
        ("worker_memory", ["--messages", str(50 if quick else 150)], {}, False),
        ("api_load", ["--requests", str(60 if quick else 200), "--concurrency", "8", "--tickets", "50"], {}, False),
        ("sla_sweep", ["--tickets", str(min(args.sla_tickets, max(1000, args.tickets // 10)))], {}, False),
        # Builds the last year's rollups once when there are none (about 20 min at 1M tickets).
        # --no-refresh: the refresh's cost depends on what the other benchmarks touched (replies
        # to old tickets re-open their days); `bench/dashboard.py` alone measures it.
        (
            "dashboard",
            ["--no-rebuild", "--rebuild-days", "366", "--no-refresh", "--runs", str(5 if quick else 10)],
            {},
            False,
        ),
    ]
    for other in ("chat_fanout", "kb_search"):  # other areas' modules, when present
        if (BENCH / f"{other}.py").exists():
            items.append((other, [], {}, False))
    return items


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tickets", type=int, default=int(os.environ.get("BENCH_TICKETS") or 1_000_000))
    parser.add_argument("--messages-per-ticket", type=int, default=5)
    parser.add_argument("--requests", type=int, default=150, help="requests per web scenario")
    parser.add_argument("--sla-tickets", type=int, default=100_000)
    parser.add_argument("--quick", action="store_true", default=bool(os.environ.get("BENCH_QUICK")))
    parser.add_argument("--only", default="", help="comma-separated benchmark names (prefixes)")
    parser.add_argument("--skip", default="", help="comma-separated benchmark names (prefixes) to leave out")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds per subprocess benchmark")
    parser.add_argument("--output", default=str(BENCH / "results.md"))
    args = parser.parse_args(argv)

    url = os.environ.get("BENCH_DATABASE_URL") or f"postgres://postgres@127.0.0.1:5432/bench_{args.tickets}"
    os.environ["BENCH_DATABASE_URL"] = url
    # The worker and chat benchmarks need a broker / channel layer (a database of their own).
    os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/14")
    ensure_database(url)
    from _setup import django_setup

    django_setup()
    import generate

    started = time.strftime("%Y-%m-%d %H:%M", time.gmtime())
    t_all = time.perf_counter()
    print(f"database {url.rsplit('/', 1)[-1]}: generating up to {args.tickets:,} tickets (resumes; no-op when done)")
    t0 = time.perf_counter()
    gen = generate.run(tickets=args.tickets, messages_per_ticket=args.messages_per_ticket, quiet=args.quick)
    results = [Result("generate", gen, seconds=time.perf_counter() - t0)]

    only = [x for x in args.only.split(",") if x]
    skip = [x for x in args.skip.split(",") if x]
    for name, sub_args, kwargs, in_process in plan(args):
        if (only and not any(name.startswith(o) for o in only)) or any(name.startswith(s) for s in skip):
            continue
        module = name.split(":", 1)[0]
        print(f"running {name} ...", flush=True)
        result = run_module(module, sub_args, kwargs, args.timeout, in_process)
        result.name = name
        results.append(result)
        print(f"  {result.seconds:.0f} s{'  ERROR ' + result.error if result.error else ''}", flush=True)
        text = write(results, args.output, started, t_all)  # after each one: a long run can be read as it goes

    text = write(results, args.output, started, t_all)
    print()
    print(text)
    return 1 if any(r.error for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())

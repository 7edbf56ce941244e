"""Live chat under load: how many WebSocket connections one server holds, and how long a chat
message takes to reach everyone in the conversation (fan-out latency p50 / p95 / p99).

It starts a real ASGI server (daphne, HTTP and WebSocket) on loopback against PostgreSQL and
the Redis channel layer, opens --connections sockets (agent consoles plus several visitor tabs
per conversation), has each conversation taken by an agent, then sends --messages visitor
messages at --rate per second. Each message is stored through the normal ingest path (a ticket,
a Message, events, in-process tasks) and pushed to the visitor's other tabs and the agent; the
latency is from sending on one tab to receiving on each other socket of the conversation.

    createdb -h 127.0.0.1 -U postgres chat_bench
    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat_bench \\
    REDIS_URL=redis://127.0.0.1:6379/12 \\
        .venv/bin/python bench/chat_fanout.py --connections 500 --messages 200 --rate 4

Everything is bounded (connections, messages, a deadline) and only talks to 127.0.0.1; the
server is stopped at the end. Prints connections held and the latency percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _setup(agents: int, conversations: int) -> tuple[list[str], list[str]]:
    """Agents (with signed-in sessions) and visitors (with tokens) in the bench database."""
    from bench._setup import django_setup

    django_setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY, get_user_model
    from django.contrib.sessions.backends.db import SessionStore

    from channels_inbox.chat import services
    from channels_inbox.chat.models import ChatSession
    from tickets.services.agents import agent_create
    from tickets.services.events import Actor

    ChatSession.objects.filter(state__in=("bot", "waiting", "active", "offline")).update(state="ended")
    run = str(int(time.time()))
    cookies = []
    for i in range(agents):
        username = f"bench-chat-{run}-{i}"
        user = agent_create(
            username=username, email=f"{username}@bench.test", role="admin", password=None, actor=Actor.system()
        )
        user = get_user_model().objects.get(pk=user.pk)
        session = SessionStore()
        session[SESSION_KEY] = str(user.pk)
        session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
        session[HASH_SESSION_KEY] = user.get_session_auth_hash()
        session.create()
        cookies.append(f"sessionid={session.session_key}")
    tokens = [services.visitor_token(services.visitor_create(language="en")) for _ in range(conversations)]
    return cookies, tokens


LOG = Path(os.environ.get("TMPDIR", "/tmp")) / "chat_fanout_server.log"


def _env(queue: str, eager: bool) -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": os.environ["BENCH_DATABASE_URL"],
        "CELERY_TASK_ALWAYS_EAGER": "1" if eager else "0",
        "CELERY_QUEUE": queue,
        "EMAIL_BACKEND": "django.core.mail.backends.dummy.EmailBackend",
        "CHAT_MAX_CHATS_PER_AGENT": "1000",
        "CHAT_VISITOR_MESSAGES_PER_MINUTE": "0",
        "CHAT_BOT_ENABLED": "0",
        "LOG_LEVEL": "WARNING",
        "DB_CONN_MAX_AGE": "60",
    }


def _start_worker(queue: str) -> subprocess.Popen:
    """One Celery worker for the background work (routing, triggers, notifications), as in
    production; it gets its own queue so nothing else's tasks are touched."""
    celery = str(Path(sys.executable).parent / "celery")
    return subprocess.Popen(
        [celery, "-A", "helpdesk", "worker", "-P", "solo", "-Q", queue, "-l", "WARNING", "-n", f"{queue}@%h"],
        cwd=ROOT,
        env=_env(queue, eager=False),
        stdout=(LOG.parent / "chat_fanout_worker.log").open("wb"),
        stderr=subprocess.STDOUT,
    )


def _start_server(port: int, env: dict[str, str]) -> subprocess.Popen:
    daphne = str(Path(sys.executable).parent / "daphne")
    server = subprocess.Popen(
        [daphne, "-b", "127.0.0.1", "-p", str(port), "--verbosity", "0", "helpdesk.asgi:application"],
        cwd=ROOT,
        env=env,
        stdout=LOG.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as response:
                if response.status == 200:
                    return server
        except OSError:
            time.sleep(0.3)
    server.kill()
    raise SystemExit("daphne did not start:\n" + LOG.read_text()[-3000:])


class Socket:
    """One WebSocket with a reader task that records when each bench message arrives."""

    def __init__(self, ws, name: str, arrivals: dict[str, list[float]]) -> None:
        self.ws, self.name, self.arrivals = ws, name, arrivals
        self.inbox: asyncio.Queue = asyncio.Queue()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for frame in self.ws:
            if frame.type.name != "TEXT":
                continue
            data = json.loads(frame.data)
            if data.get("type") == "message" and str(data["message"]["text"]).startswith("bench "):
                self.arrivals.setdefault(data["message"]["text"], []).append(time.perf_counter())
                self.arrivals.setdefault(data["message"]["text"] + "|who", []).append(self.name)
            else:
                await self.inbox.put(data)

    async def expect(self, kind: str, timeout: float = 30) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            data = await asyncio.wait_for(self.inbox.get(), max(0.1, deadline - time.monotonic()))
            if data.get("type") == kind:
                return data

    async def send(self, data: dict) -> None:
        await self.ws.send_str(json.dumps(data))


async def _bench(args, base: str, cookies: list[str], tokens: list[str]) -> dict:
    import aiohttp

    ws_base = base.replace("http://", "ws://")
    arrivals: dict[str, list[float]] = {}
    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_connect=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as http:

        async def open_socket(path: str, name: str, cookie: str = "") -> Socket:
            headers = {"Origin": base}
            if cookie:
                headers["Cookie"] = cookie
            ws = await http.ws_connect(ws_base + path, headers=headers, heartbeat=None, max_msg_size=0)
            return Socket(ws, name, arrivals)

        started = time.perf_counter()
        agents = [await open_socket("/ws/chat/agent/", f"agent{i}", c) for i, c in enumerate(cookies)]
        for agent in agents:
            await agent.expect("state")
        tabs: list[list[Socket]] = []
        semaphore = asyncio.Semaphore(50)

        async def visitor(conv: int, tab: int) -> Socket:
            async with semaphore:
                sock = await open_socket("/ws/chat/visitor/", f"v{conv}.{tab}")
                await sock.send({"type": "hello", "token": tokens[conv]})
                await sock.expect("welcome")
                return sock

        for conv in range(len(tokens)):
            tabs.append(list(await asyncio.gather(*(visitor(conv, t) for t in range(args.tabs)))))
        opened = len(agents) + sum(len(t) for t in tabs)
        connect_seconds = time.perf_counter() - started

        # Each conversation starts (a ticket) and is taken by an agent, round-robin.
        for conv, conv_tabs in enumerate(tabs):
            await conv_tabs[0].send({"type": "message", "text": f"hello from visitor {conv}"})
        from asgiref.sync import sync_to_async

        from channels_inbox.chat.models import ChatSession

        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            sessions = await sync_to_async(
                lambda: list(
                    ChatSession.objects.filter(state="waiting", ticket__isnull=False).values_list("id", "visitor_id")
                )
            )()
            if len(sessions) >= len(tabs):
                break
            await asyncio.sleep(0.5)
        session_of_conv: dict[int, int] = {}
        from channels_inbox.chat.services import visitor_from_token

        visitor_ids = await sync_to_async(lambda: [visitor_from_token(t).pk for t in tokens])()
        by_visitor = dict((v, s) for s, v in sessions)
        for conv, visitor_id in enumerate(visitor_ids):
            session_of_conv[conv] = by_visitor[visitor_id]
        for conv, session_id in session_of_conv.items():
            agent = agents[conv % len(agents)]
            await agent.send({"type": "take", "session": session_id})
            await agent.expect("history")

        # The measured part: visitor messages at a steady rate, round-robin over conversations.
        sent_at: dict[str, tuple[float, int]] = {}
        interval = 1.0 / args.rate
        begin = time.perf_counter()
        for i in range(args.messages):
            conv = i % len(tabs)
            text = f"bench {conv} {i}"
            sender = tabs[conv][i % args.tabs]
            sent_at[text] = (time.perf_counter(), conv)
            await sender.send({"type": "message", "text": text})
            pause = begin + (i + 1) * interval - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
        # Wait for the last deliveries (bounded by --settle seconds).
        wanted = len(sent_at) * (args.tabs + 1)
        settle_until = time.monotonic() + args.settle
        while time.monotonic() < settle_until:
            if sum(len(arrivals.get(text, [])) for text in sent_at) >= wanted:
                break
            await asyncio.sleep(0.2)
        send_seconds = time.perf_counter() - begin

        latencies: list[float] = []
        missing = 0
        expected_each = args.tabs  # the other tabs plus the agent; the sender's own echo is not counted
        for text, (t0, conv) in sent_at.items():
            who = arrivals.get(text + "|who", [])
            times = arrivals.get(text, [])
            sender_name = f"v{conv}.{int(text.split()[2]) % args.tabs}"
            others = [t for t, name in zip(times, who, strict=True) if name != sender_name]
            latencies.extend((t - t0) * 1000 for t in others)
            missing += max(0, expected_each - len(others))

        all_sockets = agents + [s for conv_tabs in tabs for s in conv_tabs]
        held = sum(1 for s in all_sockets if not s.ws.closed)
        for s in all_sockets:
            s.reader.cancel()
            await s.ws.close()
        return {
            "connections_opened": opened,
            "connections_held": held,
            "connect_seconds": connect_seconds,
            "messages": len(sent_at),
            "seconds": send_seconds,
            "deliveries": len(latencies),
            "missing": missing,
            "latencies": latencies,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--connections", type=int, default=500, help="sockets in all (agents + visitor tabs)")
    parser.add_argument("--agents", type=int, default=10, help="agent consoles")
    parser.add_argument("--tabs", type=int, default=5, help="open tabs per visitor (conversation)")
    parser.add_argument("--messages", type=int, default=200, help="visitor messages sent while measuring")
    parser.add_argument("--rate", type=float, default=4.0, help="messages per second")
    parser.add_argument("--settle", type=float, default=60.0, help="at most this long for the last deliveries")
    parser.add_argument("--eager", action="store_true", help="background tasks in the web process (as make run)")
    args = parser.parse_args()
    if not os.environ.get("BENCH_DATABASE_URL") or not os.environ.get("REDIS_URL"):
        raise SystemExit(__doc__)
    conversations = max(1, (args.connections - args.agents) // args.tabs)
    cookies, tokens = _setup(args.agents, conversations)
    port = _free_port()
    queue = f"chat-bench-{os.getpid()}"
    worker = None if args.eager else _start_worker(queue)
    server = _start_server(port, _env(queue, eager=args.eager))
    try:
        result = asyncio.run(_bench(args, f"http://127.0.0.1:{port}", cookies, tokens))
    finally:
        for process in (server, worker):
            if process is None:
                continue
            process.terminate()
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        import redis

        redis.Redis.from_url(os.environ["REDIS_URL"]).delete(queue)
    lat = result["latencies"]
    tasks = "tasks in-process" if args.eager else "1 Celery worker"
    print(f"server:            daphne (1 process) + Redis channel layer + PostgreSQL + {tasks}, {os.cpu_count()} cores")
    print(
        f"connections held:  {result['connections_held']} of {result['connections_opened']} "
        f"({args.agents} agent consoles + {conversations} visitors x {args.tabs} tabs; "
        f"opened in {result['connect_seconds']:.1f} s)"
    )
    print(
        f"messages:          {result['messages']} sent at {args.rate:g}/s, stored through ingest and fanned out "
        f"(all delivered after {result['seconds']:.1f} s)"
    )
    print(f"deliveries:        {result['deliveries']} (missing {result['missing']})")
    if lat:
        print(
            f"fan-out latency:   p50 {_percentile(lat, 50):.1f} ms   p95 {_percentile(lat, 95):.1f} ms   "
            f"p99 {_percentile(lat, 99):.1f} ms   (mean {statistics.fmean(lat):.1f} ms, max {max(lat):.1f} ms)"
        )


if __name__ == "__main__":
    main()

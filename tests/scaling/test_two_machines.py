"""Two web processes and two Celery workers against one PostgreSQL and one Redis, with the
work split over separate queues: every inbound message is stored and processed exactly once,
even when the provider delivers each one to both web processes at the same moment."""

from __future__ import annotations

import json
import re
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.contrib.auth import get_user_model
from django.db import connection, connections

from apitokens.services import api_token_create
from helpdesk.scaling import queue_names
from tests.factories import CustomerFactory, TicketFactory, make_agent
from tickets.models import AgentRole, Customer, Message, RawInbound, RawInboundStatus, Ticket

from .conftest import database_url

pytestmark = [pytest.mark.django_db(transaction=True)]

SECRET = "two-machines-secret"
USERS = 4
MESSAGES_EACH = 6


def telegram_update(update_id: int, user_id: int, text: str) -> bytes:
    return json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "from": {"id": user_id, "is_bot": False, "first_name": f"Caller {user_id}"},
                "chat": {"id": user_id, "first_name": f"Caller {user_id}", "type": "private"},
                "date": 1700000000 + update_id,
                "text": text,
            },
        }
    ).encode()


def post(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json", **headers})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def wait_for(condition, timeout: float = 90.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.25)
    return condition()


def test_two_web_processes_and_two_workers_process_every_delivery_once(processes):
    queues = queue_names(processes.queue)
    shared = {"TELEGRAM_WEBHOOK_SECRET": SECRET, "CELERY_SPLIT_QUEUES": "1"}
    webs = [processes.web(f"web{i}", **shared) for i in (1, 2)]
    logs = [processes.worker(f"worker{i}", queues, **shared) for i in (1, 2)]

    updates = [
        (1000 + user * 100 + n, 700 + user, f"message {n} from caller {user}")
        for n in range(MESSAGES_EACH)
        for user in range(USERS)
    ]
    # Every update reaches both web processes at once, as a provider retrying against two
    # machines behind one address might do.
    jobs = [(f"{web}/inbound/telegram/", telegram_update(*u)) for u in updates for web in webs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda job: post(job[0], job[1], {"X-Telegram-Bot-Api-Secret-Token": SECRET}), jobs))
    assert set(statuses) == {200}

    total = len(updates)
    done = wait_for(
        lambda: (
            RawInbound.objects.filter(status=RawInboundStatus.PROCESSED).count() == total
            and Message.objects.filter(channel="telegram").count() == total
        )
    )
    assert done, (
        f"{RawInbound.objects.filter(status=RawInboundStatus.PROCESSED).count()} of {total} processed; logs:\n"
        + "\n".join(log.read_text()[-2000:] for log in logs)
    )
    # Exactly once: one raw row per update (each delivered twice), one message per update,
    # one customer and one running conversation (ticket) per caller.
    assert RawInbound.objects.count() == total
    assert sorted(RawInbound.objects.values_list("deliveries", flat=True)) == [2] * total
    assert Message.objects.filter(channel="telegram").values("external_id").distinct().count() == total
    assert Customer.objects.count() == USERS
    assert Ticket.objects.count() == USERS
    assert sorted(Ticket.objects.values_list("messages__ticket", flat=True).distinct()) == sorted(
        Ticket.objects.values_list("pk", flat=True)
    )
    # The ingest work ran on the ingest queue, on the separate worker processes.
    ran = [
        len(re.findall(r"Task channels_inbox\.raw_inbound_process\[[^\]]+\] succeeded", log.read_text()))
        for log in logs
    ]
    assert sum(ran) >= total, ran
    for log in logs:
        text = log.read_text()
        assert "Traceback" not in text and " ERROR/" not in text, text[-3000:]


def _clone_database(source: str, target: str) -> None:
    """CREATE DATABASE target TEMPLATE source (nobody may be connected to the source)."""
    for conn in connections.all():
        conn.close()
    import psycopg2

    admin = psycopg2.connect(database_url("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{target}"')
            cursor.execute(f'CREATE DATABASE "{target}" TEMPLATE "{source}"')
    finally:
        admin.close()


def _drop_database(name: str) -> None:
    import psycopg2

    admin = psycopg2.connect(database_url("postgres"))
    admin.autocommit = True
    try:
        with admin.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.close()


def api_get_numbers(base: str, key: str) -> set[int]:
    numbers: set[int] = set()
    url = f"{base}/api/v1/tickets/?status=new"
    while url:
        request = urllib.request.Request(url, headers={"Authorization": f"Token {key}"})
        with urllib.request.urlopen(request, timeout=30) as response:
            page = json.loads(response.read())
        numbers.update(item["number"] for item in page["results"])
        url = page.get("next")
    return numbers


def test_report_requests_read_from_the_replica_and_writes_go_to_the_primary(processes):
    manager = make_agent("replica-manager", role=AgentRole.MANAGER)
    _token, key = api_token_create(user=manager, name="replica test")
    customer = CustomerFactory()
    before = {TicketFactory(requester=customer).number for _ in range(3)}

    # The "replica": a copy of the primary as it was now. A real streaming replica would catch
    # up; this one never does, so what a process reads shows where it reads from.
    primary = connection.settings_dict["NAME"]
    replica = f"{primary}_replica"
    _clone_database(primary, replica)
    try:
        later = {TicketFactory(requester=customer).number for _ in range(2)}
        reporting = processes.web(
            "web-reports",
            DATABASE_REPLICA_URL=database_url(replica),
            REPORTS_PATH_PREFIXES="/api/v1/tickets",
        )
        plain = processes.web("web-plain")

        assert api_get_numbers(plain, key) == before | later
        assert api_get_numbers(reporting, key) == before  # read from the replica

        # A write through the reporting process lands on the primary.
        body = json.dumps({"requester": customer.pk, "subject": "Written through the replica process"}).encode()
        request = urllib.request.Request(
            f"{reporting}/api/v1/tickets/",
            data=body,
            headers={"Authorization": f"Token {key}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 201
            created = json.loads(response.read())["number"]
        assert Ticket.objects.filter(number=created).exists()
        assert created in api_get_numbers(plain, key)
        assert created not in api_get_numbers(reporting, key)
        assert get_user_model().objects.filter(username="replica-manager").exists()
    finally:
        processes.stop()
        for conn in connections.all():
            conn.close()
        _drop_database(replica)

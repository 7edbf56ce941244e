"""Faults: a Celery worker killed with SIGKILL in the middle of ingesting.

A real worker runs as its own process (the scale-out tests' `Processes` helper) on the real
Redis broker with a 5-second visibility timeout. Thirty stored SMS payloads are queued for
`channels_inbox.raw_inbound_process`; the worker is killed the moment its log shows it has
received the first one. A second worker started afterwards gets the unacknowledged tasks back
(acks_late + reject_on_worker_lost + the broker's visibility timeout), and every payload ends
processed exactly once: one message per payload, none stored twice.
"""

from __future__ import annotations

import signal
import threading
import time
from urllib.parse import urlencode

import psycopg2
import pytest

from channels_inbox.models import Mailbox
from channels_inbox.tasks import raw_inbound_process_task
from helpdesk.celery import app as celery_app
from tests.channels_inbox.email.mail_servers import SmtpRecorder, free_port
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tests.scaling.conftest import database_url, processes  # noqa: F401  (the fixture)
from tickets.models import DeliveryStatus, Message, RawInbound, RawInboundStatus, Ticket
from tickets.services.ingest import raw_inbound_store
from tickets.services.tickets import ticket_reply

pytestmark = [pytest.mark.django_db(transaction=True)]

COUNT = 30


def _wait_for(predicate, timeout: float, what: str, log=None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace")[-3000:] if log else ""
    raise AssertionError(f"timed out waiting for {what}\n{tail}")


@pytest.fixture
def _tasks_to_the_broker():
    """Send tasks to Redis for the worker processes (the suite runs them in-process otherwise)."""
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved


# A short visibility timeout and a sweep every second, so a lost task comes back in seconds.
WORKER_ENV = {
    "CELERY_VISIBILITY_TIMEOUT": "5",
    "CELERY_UNACKED_RESTORE_SECONDS": "1",
    "CELERY_UNACKED_RESTORE_THROTTLE": "1",
    "DELIVERY_LEASE_SECONDS": "2",
}


def test_a_worker_killed_mid_ingest_loses_nothing_and_stores_nothing_twice(processes, _tasks_to_the_broker):  # noqa: F811
    env = WORKER_ENV
    raws = []
    for i in range(COUNT):
        sid = f"SMfault{i:03d}"
        payload = urlencode({"From": f"+1555010{i:04d}", "Body": f"Message number {i}", "MessageSid": sid})
        raws.append(raw_inbound_store(channel="sms", payload=payload.encode(), external_id=sid)[0])

    # Another session holds the first payload's row, so the worker's ingest of it blocks half-way:
    # the task is certainly in flight (received, not acknowledged) when the worker dies.
    blocker = psycopg2.connect(database_url())
    blocker.cursor().execute("SELECT id FROM tickets_rawinbound WHERE id = %s FOR UPDATE", [raws[0].pk])

    first_log = processes.worker("doomed", [processes.queue], **env)
    proc, _log = processes.running[-1]
    first_task = raw_inbound_process_task.apply_async(args=[raws[0].pk], queue=processes.queue).id
    for raw in raws[1:]:
        raw_inbound_process_task.apply_async(args=[raw.pk], queue=processes.queue)
    _wait_for(
        lambda: f"raw_inbound_process[{first_task}] received" in first_log.read_text(errors="replace"),
        30,
        "the first worker to receive the first task",
        first_log,
    )
    time.sleep(0.5)  # let it get into the ingest and block on the row
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    blocker.rollback()
    blocker.close()
    assert f"raw_inbound_process[{first_task}] succeeded" not in first_log.read_text(errors="replace")
    assert RawInbound.objects.get(pk=raws[0].pk).status == RawInboundStatus.RECEIVED
    # The killed transaction stored nothing half-way.
    assert not Message.objects.filter(channel="sms", external_id="SMfault000").exists()

    second_log = processes.worker("survivor", [processes.queue], **env)
    _wait_for(
        lambda: (
            not RawInbound.objects.filter(pk__in=[r.pk for r in raws])
            .exclude(status=RawInboundStatus.PROCESSED)
            .exists()
        ),
        90,
        "every payload to be processed after the restart",
        second_log,
    )
    # The task the dead worker held came back from the broker to the survivor.
    assert f"raw_inbound_process[{first_task}] received" in second_log.read_text(errors="replace")
    # Exactly once: one inbound message per payload, one ticket per sender, nothing twice.
    for i in range(COUNT):
        assert Message.objects.filter(channel="sms", external_id=f"SMfault{i:03d}").count() == 1, i
    assert Message.objects.filter(channel="sms").count() == COUNT
    assert Ticket.objects.filter(channel="sms").count() == COUNT


class HoldingSmtp(SmtpRecorder):
    """Accepts every message; on the first one it first takes a lock on the outbound message's
    row, so the worker, having had its 250, blocks before it can record the message as sent."""

    def __init__(self, message_id: int) -> None:
        super().__init__()
        self.message_id = message_id
        self.held = threading.Event()
        self.blocker = None

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        if self.blocker is None:
            self.blocker = psycopg2.connect(database_url())
            self.blocker.cursor().execute("SELECT id FROM tickets_message WHERE id = %s FOR UPDATE", [self.message_id])
            self.held.set()
        return await super().handle_DATA(server, session, envelope)


def test_a_worker_killed_mid_send_sends_again_so_nothing_is_dropped_but_a_duplicate_is_possible(
    processes,  # noqa: F811
    _tasks_to_the_broker,
):
    """At-least-once, stated honestly: the worker dies after the SMTP server accepted the mail
    but before the message was recorded as sent. The message stays "sending", its task comes
    back and a second worker sends it again: the customer gets the same mail twice, and the
    message ends sent, never failed or dropped."""
    from aiosmtpd.controller import Controller

    celery_app.conf.task_default_queue = processes.queue
    identity = IdentityFactory(value="kai@customer.test")
    ticket = TicketFactory(channel="email", requester=identity.customer, subject="Order 55")
    agent = make_agent("sam")
    # Queue the reply before any worker runs: the worker is started below.
    message = ticket_reply(ticket=ticket, author=agent, body_text="Your refund is on its way.")
    assert Message.objects.get(pk=message.pk).delivery_status == DeliveryStatus.QUEUED

    smtp = HoldingSmtp(message.pk)
    controller = Controller(smtp, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        Mailbox.objects.create(
            address="support@helpdesk.test",
            display_name="Acme Support",
            smtp_host="127.0.0.1",
            smtp_port=controller.port,
            smtp_starttls=False,
        )
        first_log = processes.worker("doomed-sender", [processes.queue], **WORKER_ENV)
        proc, _log = processes.running[-1]
        assert smtp.held.wait(30), first_log.read_text(errors="replace")[-3000:]
        time.sleep(0.5)  # the worker has its 250 and now waits on the row lock
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        assert Message.objects.get(pk=message.pk).delivery_status == DeliveryStatus.SENDING
        smtp.blocker.rollback()
        smtp.blocker.close()

        second_log = processes.worker("survivor-sender", [processes.queue], **WORKER_ENV)
        _wait_for(
            lambda: Message.objects.get(pk=message.pk).delivery_status == DeliveryStatus.SENT,
            60,
            "the message to be sent after the restart",
            second_log,
        )
    finally:
        controller.stop()
    message.refresh_from_db()
    assert message.delivery_status == DeliveryStatus.SENT and message.delivery_error == ""
    assert message.delivery_attempts == 2
    # The duplicate at-least-once allows: the same mail (same Message-ID) accepted twice.
    assert len(smtp.received) == 2
    assert all(mail.rcpt_tos == ["kai@customer.test"] for mail in smtp.received)
    ids = [mail.message["Message-ID"] for mail in smtp.received]
    assert ids[0] and ids[0] == ids[1]

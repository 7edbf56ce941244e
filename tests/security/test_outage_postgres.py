"""Faults: PostgreSQL unreachable while providers deliver webhooks and a worker sends one.

The web process (daphne) and the Celery worker run as their own programs and reach the test
database only through a TCP proxy of the test's own (`TcpProxy`); cutting the proxy drops every
open connection and refuses new ones, exactly what a database restart or a network partition
looks like to the application. The machine's PostgreSQL itself is never stopped.

Promised: a signed Telegram, Twilio or Meta webhook that arrives while the database is
unreachable is answered 503 with Retry-After (what providers retry), never a 500 traceback and
never a 200 that loses the message; the provider's retry after recovery is taken in exactly
once. A payload the web process stored but whose worker lost the database is queued again by
the recovery sweep and taken in once. An outbound webhook delivery whose worker loses the
database is sent after recovery, once; if the database goes away after the receiver answered,
it is sent again with the same X-Helpdesk-Delivery id (at least once, stated honestly).
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.utils import timezone
from twilio.request_validator import RequestValidator

from channels_inbox.meta.signature import meta_signature
from helpdesk.celery import app as celery_app
from ops.tasks import stalled_requeue_task
from tests.scaling.conftest import processes  # noqa: F401  (the fixture)
from tickets.models import Message, RawInbound, RawInboundStatus
from webhooks.crypto import secret_encrypt
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookSubscription
from webhooks.tasks import webhook_deliver_task, webhook_sweep_task

from .outages import TcpProxy, http, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

TELEGRAM_SECRET = "outage-telegram-secret"
TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "outage-twilio-token-0123456789"
META_SECRET = "outage-meta-secret-0123456789"
PHONE_NUMBER_ID = "1122334455667"
PROVIDER_ENV = {
    "TELEGRAM_WEBHOOK_SECRET": TELEGRAM_SECRET,
    "TWILIO_ACCOUNT_SID": TWILIO_SID,
    "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "TWILIO_FROM_NUMBER": "+15005550006",
    "META_APP_SECRET": META_SECRET,
    "WHATSAPP_PHONE_NUMBER_ID": PHONE_NUMBER_ID,
    "WHATSAPP_ACCESS_TOKEN": "outage-wa-token",
    "OUTAGE_RETRY_AFTER_SECONDS": "17",
}


@pytest.fixture
def db_proxy():
    d = connection.settings_dict
    proxy = TcpProxy(d["HOST"] or "127.0.0.1", int(d["PORT"] or 5432)).start()
    yield proxy
    proxy.cut()


def proxied_url(proxy: TcpProxy) -> str:
    d = connection.settings_dict
    auth = d["USER"] + (f":{d['PASSWORD']}" if d.get("PASSWORD") else "")
    return f"postgres://{auth}@127.0.0.1:{proxy.port}/{d['NAME']}"


@pytest.fixture
def _tasks_to_the_broker():
    saved = celery_app.conf.task_always_eager, celery_app.conf.task_default_queue
    celery_app.conf.task_always_eager = False
    yield
    celery_app.conf.task_always_eager, celery_app.conf.task_default_queue = saved


def telegram_delivery(web: str, update_id: int, text: str):
    body = json.dumps(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "from": {"id": 4242, "is_bot": False, "first_name": "Lena"},
                "chat": {"id": 4242, "first_name": "Lena", "type": "private"},
                "date": 1700000000,
                "text": text,
            },
        }
    ).encode()
    headers = {"Content-Type": "application/json", "X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET}
    return http("POST", f"{web}/inbound/telegram/", body, headers)


def twilio_delivery(web: str, sid: str, text: str):
    url = f"{web}/inbound/twilio/sms/"
    params = {
        "MessageSid": sid,
        "SmsSid": sid,
        "AccountSid": TWILIO_SID,
        "From": "+14155550177",
        "To": "+15005550006",
        "Body": text,
        "NumMedia": "0",
    }
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, params),
    }
    return http("POST", url, urllib.parse.urlencode(params).encode(), headers)


def meta_delivery(web: str, wamid: str, text: str):
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "264937493375603",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550953877", "phone_number_id": PHONE_NUMBER_ID},
                            "contacts": [{"profile": {"name": "Ana Souza"}, "wa_id": "5511912345678"}],
                            "messages": [
                                {
                                    "from": "5511912345678",
                                    "id": wamid,
                                    "timestamp": "1700000000",
                                    "type": "text",
                                    "text": {"body": text},
                                }
                            ],
                        },
                    }
                ],
            }
        ],
    }
    body = json.dumps(payload, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": meta_signature(body, META_SECRET)}
    return http("POST", f"{web}/inbound/meta/", body, headers)


DELIVERIES = [
    ("telegram", "910001", lambda web: telegram_delivery(web, 910001, "Where is my parcel?")),
    ("sms", "SMoutage0001", lambda web: twilio_delivery(web, "SMoutage0001", "Refund please")),
    ("whatsapp", "wamid.OUTAGE0001", lambda web: meta_delivery(web, "wamid.OUTAGE0001", "Olá, preciso de ajuda")),
]


def test_webhooks_during_a_database_outage_get_503_and_their_retries_are_taken_in_once(
    processes,  # noqa: F811
    db_proxy,
):
    url = proxied_url(db_proxy)
    web = processes.web("web", DATABASE_URL=url, **PROVIDER_ENV)
    worker_log = processes.worker("worker", [processes.queue], DATABASE_URL=url, **PROVIDER_ENV)
    status, _, body = http("GET", f"{web}/readyz")
    assert status == 200, body

    db_proxy.cut()
    status, _, body = http("GET", f"{web}/readyz")
    assert status == 503
    assert json.loads(body)["checks"]["database"].startswith("database unreachable")
    for channel, _external_id, deliver in DELIVERIES:
        status, headers, body = deliver(web)
        # Retryable, with a hint when: not a 500 traceback, not a 200 that drops the message.
        assert status == 503, (channel, status, body[:500])
        assert headers["Retry-After"] == "17", channel
        answer = json.loads(body)
        assert answer["retryable"] is True
        assert b"Traceback" not in body and b"OperationalError" not in body
    # Nothing reached the database (the test talks to it directly, past the proxy).
    assert RawInbound.objects.count() == 0

    db_proxy.restore()
    wait_for(lambda: http("GET", f"{web}/readyz")[0] == 200, 30, "the web process to be ready again")
    # The providers retry: each delivery is taken in now, and a second retry (a provider that
    # did not see our answer) changes nothing.
    for _round in range(2):
        for channel, _external_id, deliver in DELIVERIES:
            status, _, body = deliver(web)
            assert status == 200, (channel, status, body[:500])
    wait_for(
        lambda: RawInbound.objects.filter(status=RawInboundStatus.PROCESSED).count() == len(DELIVERIES),
        60,
        "every payload to be processed",
        [worker_log],
    )
    for channel, text_id, _deliver in DELIVERIES:
        raw = RawInbound.objects.get(channel=channel)  # one stored payload per delivery
        assert raw.deliveries == 2, channel
        assert Message.objects.filter(channel=channel).count() == 1, channel
        assert text_id.encode() in bytes(raw.payload), channel
    assert Message.objects.count() == len(DELIVERIES)


class Receiver:
    """An HTTP endpoint for webhook deliveries; records each delivery id it is sent. With
    `on_first` set, calls it before answering the first one (to cut the database then)."""

    def __init__(self) -> None:
        self.deliveries: list[str] = []
        self.on_first = None
        state = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                state.deliveries.append(self.headers["X-Helpdesk-Delivery"])
                if state.on_first is not None and len(state.deliveries) == 1:
                    state.on_first()
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _delivery(receiver: Receiver, event_id: int) -> WebhookDelivery:
    subscription, _ = WebhookSubscription.objects.get_or_create(
        url=receiver.url,
        defaults={"event_types": ["ticket.created"], "secret_encrypted": secret_encrypt("s" * 32)},
    )
    return WebhookDelivery.objects.create(
        subscription=subscription,
        event_type="ticket.created",
        event_id=event_id,
        payload={"event": "ticket.created", "ticket": {"number": event_id}},
        next_attempt_at=timezone.now(),
    )


def test_an_outbound_webhook_the_database_outage_interrupts_is_delivered_after_recovery(
    processes,  # noqa: F811
    db_proxy,
    _tasks_to_the_broker,
):
    receiver = Receiver()
    env = {"DATABASE_URL": proxied_url(db_proxy), "NETGUARD_ALLOW": "127.0.0.1"}
    try:
        log = processes.worker("worker", [processes.queue], **env)

        # 1. The database is unreachable when the worker takes the task: nothing is sent; the
        # delivery is still pending and the sweep (beat, every minute) sends it after recovery.
        before = _delivery(receiver, 5001)
        db_proxy.cut()
        task = webhook_deliver_task.apply_async(args=[before.pk], queue=processes.queue).id
        wait_for(
            lambda: f"webhooks.deliver[{task}] raised" in log.read_text(errors="replace"), 30, "the task to fail", [log]
        )
        assert receiver.deliveries == []
        before.refresh_from_db()
        assert before.status == DeliveryStatus.PENDING and before.attempts == 0
        db_proxy.restore()
        webhook_sweep_task.apply_async(queue=processes.queue)
        wait_for(
            lambda: WebhookDelivery.objects.get(pk=before.pk).status == DeliveryStatus.SUCCEEDED, 30, "delivery", [log]
        )
        assert receiver.deliveries == [str(before.pk)]  # exactly once
        before.refresh_from_db()
        assert before.attempts == 1 and before.last_response_code == 200

        # 2. The database goes away after the receiver got the delivery and before the worker
        # recorded the answer: the claim (attempt counted, next try pushed past the timeout) is
        # stored, the result is not. The next sweep after that time sends it again, with the
        # same delivery id, so the receiver can tell it is the same one.
        receiver.deliveries.clear()
        after = _delivery(receiver, 5002)
        receiver.on_first = db_proxy.cut
        task = webhook_deliver_task.apply_async(args=[after.pk], queue=processes.queue).id
        wait_for(
            lambda: f"webhooks.deliver[{task}] raised" in log.read_text(errors="replace"), 30, "the task to fail", [log]
        )
        receiver.on_first = None
        db_proxy.restore()
        after.refresh_from_db()
        assert after.status == DeliveryStatus.PENDING and after.attempts == 1
        assert after.next_attempt_at > timezone.now()  # not sent again while it may still be in flight
        later = (after.next_attempt_at + dt.timedelta(seconds=1)).isoformat()
        webhook_sweep_task.apply_async(args=[later], queue=processes.queue)
        wait_for(
            lambda: WebhookDelivery.objects.get(pk=after.pk).status == DeliveryStatus.SUCCEEDED, 30, "redelivery", [log]
        )
        assert receiver.deliveries == [str(after.pk), str(after.pk)]
        after.refresh_from_db()
        assert after.attempts == 2
        # The first delivery was not sent again by any of this.
        assert WebhookDelivery.objects.get(pk=before.pk).attempts == 1
    finally:
        receiver.stop()


def test_a_payload_whose_worker_lost_the_database_is_processed_once_after_recovery(
    processes,  # noqa: F811
    db_proxy,
    _tasks_to_the_broker,
):
    """The web process stores the payload (its own connection is fine) but the worker's
    database goes away: the task fails, the payload stays "received". After recovery the
    recovery sweep (beat's ops.stalled_requeue) queues it again and it is taken in once."""
    d = connection.settings_dict
    worker_proxy = TcpProxy(d["HOST"] or "127.0.0.1", int(d["PORT"] or 5432)).start()
    try:
        web = processes.web("web", DATABASE_URL=proxied_url(db_proxy), **PROVIDER_ENV)
        log = processes.worker(
            "worker",
            [processes.queue],
            DATABASE_URL=proxied_url(worker_proxy),
            RECOVERY_STALLED_SECONDS="1",
            **PROVIDER_ENV,
        )
        worker_proxy.cut()
        status, _, body = telegram_delivery(web, 920001, "Is anyone there?")
        assert status == 200, body[:500]
        wait_for(lambda: "raw_inbound_process[" in log.read_text() and "raised" in log.read_text(), 30, "fail", [log])
        raw = RawInbound.objects.get(channel="telegram")
        assert raw.status == RawInboundStatus.RECEIVED
        assert not Message.objects.exists()

        worker_proxy.restore()
        time.sleep(1.5)  # older than RECOVERY_STALLED_SECONDS
        stalled_requeue_task.apply_async(queue=processes.queue)  # what beat sends every minute
        wait_for(
            lambda: RawInbound.objects.get(pk=raw.pk).status == RawInboundStatus.PROCESSED, 30, "processing", [log]
        )
        # The provider delivers it once more (it never saw a failure): nothing new.
        assert telegram_delivery(web, 920001, "Is anyone there?")[0] == 200
        stalled_requeue_task.apply_async(queue=processes.queue)
        wait_for(lambda: log.read_text().count("ops.stalled_requeue[") >= 4, 30, "the second sweep", [log])
        assert Message.objects.filter(channel="telegram").count() == 1
        assert RawInbound.objects.get(pk=raw.pk).deliveries == 2
    finally:
        worker_proxy.cut()

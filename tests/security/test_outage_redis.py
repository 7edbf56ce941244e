"""Faults: Redis (broker, cache and channel layer) crashes and restarts empty.

The test starts a redis-server of its own on a free port, without persistence, and points a
web process (daphne), a Celery worker and Celery beat at it. Killing that server loses every
task it held, as a Redis crash without AOF/RDB does. The machine's Redis is never touched.

Promised and checked:
- while Redis is down, /readyz answers 503 naming the broker; a signed Twilio SMS webhook and an
  /inbound/email/ post get 503 with Retry-After (retryable) within seconds (providers stop
  waiting after ~15 s), but the raw payload is already stored; the API answers 503 too and
  stores nothing;
- after Redis is back, every payload is processed exactly once: those the provider delivers
  again, and those it never retries (the recovery sweep finds them); no message is stored twice;
- replies queued before the crash (their tasks lost with Redis) are sent exactly once after
  recovery, by the recovery sweep;
- a running worker and web process survive a second Redis restart and go on working.
"""

from __future__ import annotations

import json
import time
import urllib.parse
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller
from twilio.request_validator import RequestValidator

from apitokens.services import api_token_create
from channels_inbox.email.mailboxes import mailbox_inbound_token_issue
from channels_inbox.models import Mailbox
from tests.channels_inbox.email.mail_servers import SmtpRecorder
from tests.factories import IdentityFactory, TicketFactory, make_agent
from tests.scaling.conftest import BIN, free_port, processes  # noqa: F401  (the fixture)
from tickets.models import DeliveryStatus, Message, RawInbound, RawInboundStatus

from .outages import RedisServer, http, wait_for

pytestmark = [pytest.mark.django_db(transaction=True)]

TWILIO_SID = "AC" + "0123456789abcdef" * 2
TWILIO_TOKEN = "redis-outage-twilio-token-0123"
SMS_COUNT = 4


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(tmp_path).start()
    yield server
    server.kill()


@pytest.fixture
def smtp():
    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    yield recorder
    controller.stop()


def sms(web: str, sid: str, text: str, sender: str):
    url = f"{web}/inbound/twilio/sms/"
    params = {"MessageSid": sid, "AccountSid": TWILIO_SID, "From": sender, "To": "+15005550006", "Body": text}
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": RequestValidator(TWILIO_TOKEN).compute_signature(url, params),
    }
    return http("POST", url, urllib.parse.urlencode(params).encode(), headers)


def raw_email(message_id: str) -> bytes:
    mail = EmailMessage()
    mail["From"] = "Mia Jones <mia@customer.test>"
    mail["To"] = "support@helpdesk.test"
    mail["Subject"] = "Printer on fire"
    mail["Message-ID"] = message_id
    mail.set_content("It is smoking again.")
    return mail.as_bytes()


def post_email(web: str, token: str, message_id: str):
    headers = {"Content-Type": "message/rfc822", "Authorization": f"Bearer {token}"}
    return http("POST", f"{web}/inbound/email/", raw_email(message_id), headers)


def api_reply(web: str, key: str, number: int, text: str):
    body = json.dumps({"body_text": text, "is_internal": False}).encode()
    headers = {"Content-Type": "application/json", "Authorization": f"Token {key}"}
    return http("POST", f"{web}/api/v1/tickets/{number}/messages/", body, headers)


def replies_received(smtp: SmtpRecorder) -> list[str]:
    """Recipients of the mails the SMTP server accepted for the replies (not acknowledgements)."""
    return sorted(rcpt for mail in smtp.received for rcpt in mail.rcpt_tos if rcpt.startswith("buyer"))


def test_a_redis_crash_loses_no_inbound_message_and_no_queued_reply(processes, redis_server, smtp):  # noqa: F811
    env = {
        "REDIS_URL": redis_server.url,
        "TWILIO_ACCOUNT_SID": TWILIO_SID,
        "TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
        "TWILIO_FROM_NUMBER": "+15005550006",
        "OUTAGE_RETRY_AFTER_SECONDS": "20",
        # The sweep runs every second and takes work that waited 3 seconds.
        "RECOVERY_SWEEP_SECONDS": "1",
        "RECOVERY_STALLED_SECONDS": "3",
        "CELERY_VISIBILITY_TIMEOUT": "5",
    }
    mailbox = Mailbox.objects.create(
        address="support@helpdesk.test",
        display_name="Acme Support",
        smtp_host="127.0.0.1",
        smtp_port=smtp.port,
        smtp_starttls=False,
    )
    inbound_token = mailbox_inbound_token_issue(mailbox=mailbox)
    agent = make_agent("sam")
    _token, key = api_token_create(user=agent)
    tickets = []
    for i in range(3):
        identity = IdentityFactory(value=f"buyer{i}@customer.test")
        tickets.append(TicketFactory(channel="email", requester=identity.customer, subject=f"Order {i}"))

    web = processes.web("web", **env)
    assert http("GET", f"{web}/readyz")[0] == 200

    # 1. Replies are queued while no worker runs (a backlog): their tasks wait in Redis.
    for i, ticket in enumerate(tickets):
        status, _, body = api_reply(web, key, ticket.number, f"Reply number {i}")
        assert status == 201, body[:500]
    replies = list(Message.objects.filter(direction="outbound").order_by("pk"))
    assert [m.delivery_status for m in replies] == [DeliveryStatus.QUEUED] * 3
    assert redis_server.keys(processes.queue), "the reply tasks should be waiting in Redis"

    # 2. Redis crashes: the queued tasks are gone with it.
    redis_server.kill()
    status, _, body = http("GET", f"{web}/readyz")
    assert status == 503 and json.loads(body)["checks"]["broker"].startswith("broker unreachable")
    sids = [f"SMredis{i:04d}" for i in range(SMS_COUNT)]
    for i, sid in enumerate(sids):
        started = time.monotonic()
        status, headers, body = sms(web, sid, f"Help number {i}", f"+1415555{i:04d}")
        # Quickly: Twilio gives up waiting after 15 seconds (and Celery's default waits ~20).
        assert time.monotonic() - started < 5
        assert status == 503, body[:500]
        assert headers["Retry-After"] == "20"
        assert b"Traceback" not in body
    status, headers, body = post_email(web, inbound_token, "<fire-1@customer.test>")
    assert status == 503 and headers["Retry-After"] == "20", body[:500]
    # The payloads were stored before queueing failed: nothing the provider sent is lost.
    assert RawInbound.objects.filter(status=RawInboundStatus.RECEIVED).count() == SMS_COUNT + 1
    # The API cannot check its rate limits without Redis: 503, and nothing is stored.
    status, headers, _ = api_reply(web, key, tickets[0].number, "Sent during the outage")
    assert status == 503 and headers["Retry-After"] == "20"
    assert Message.objects.filter(direction="outbound").count() == 3

    # 3. Redis comes back empty. A worker and beat start; the provider retries half the SMS
    # and the email (the other half it never retries).
    redis_server.start()
    wait_for(lambda: http("GET", f"{web}/readyz")[0] == 200, 30, "the web process to be ready again")
    worker_log = processes.worker("worker", [processes.queue], **env)
    beat_log = processes.start(
        "beat",
        [str(BIN / "celery"), "-A", "helpdesk", "beat", "-l", "info", "-s", str(processes.tmp_path / "beat-schedule")],
        **env,
    )
    for i, sid in enumerate(sids[: SMS_COUNT // 2]):
        status, _, body = sms(web, sid, f"Help number {i}", f"+1415555{i:04d}")
        assert status == 200, body[:500]
    status, _, body = post_email(web, inbound_token, "<fire-1@customer.test>")
    assert status in (200, 202), body[:500]

    logs = [worker_log, beat_log]
    wait_for(
        lambda: RawInbound.objects.filter(status=RawInboundStatus.PROCESSED).count() == SMS_COUNT + 1,
        60,
        "every stored payload to be processed",
        logs,
    )
    wait_for(
        lambda: all(
            m.delivery_status == DeliveryStatus.SENT for m in Message.objects.filter(pk__in=[r.pk for r in replies])
        ),
        60,
        "the replies queued before the crash to be sent",
        logs,
    )
    time.sleep(4)  # a few more sweeps: they must find nothing left to do
    for sid in sids:
        assert Message.objects.filter(channel="sms", external_id=sid).count() == 1, sid
    assert Message.objects.filter(channel="email", direction="inbound").count() == 1
    # Each reply reached the customer once, in one attempt.
    assert replies_received(smtp) == [f"buyer{i}@customer.test" for i in range(3)]
    assert [m.delivery_attempts for m in Message.objects.filter(pk__in=[r.pk for r in replies])] == [1, 1, 1]
    assert "Sending due task ops-stalled-requeue" in beat_log.read_text(errors="replace")

    # 4. A second crash and restart while the worker, beat and web process keep running: they
    # reconnect, and a new message goes through once.
    redis_server.kill()
    time.sleep(1)
    redis_server.start()
    wait_for(
        lambda: sms(web, "SMredis-after", "Back again", "+14155559999")[0] == 200, 60, "the webhook to work again", logs
    )
    wait_for(
        lambda: Message.objects.filter(channel="sms", external_id="SMredis-after").exists(),
        60,
        "the message after the second restart to be processed",
        logs,
    )
    time.sleep(2)
    assert Message.objects.filter(channel="sms", external_id="SMredis-after").count() == 1
    assert len(replies_received(smtp)) == 3

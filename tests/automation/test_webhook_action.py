"""The webhook action: the ticket POSTed as signed JSON to a local receiver that checks the
signature the way an integrator would; retried after a failure; never to a private address
unless allowed."""

from __future__ import annotations

from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest
from django.core.exceptions import ValidationError

from tests.channels_inbox.local_server import LoopbackServer, Recorded
from tickets.automation.models import WebhookCall, WebhookCallStatus
from tickets.automation.services import webhook_target_create
from tickets.automation.tasks import automation_sweep_task
from tickets.models import Event
from tickets.services.events import Actor
from webhooks.signing import webhook_signature_verify

ON_CREATE = {"all": [{"field": "event", "operator": "is", "value": "ticket_created"}]}


class Receiver(LoopbackServer):
    """Answers with `statuses` in turn (the last one repeats); 401 to a bad signature."""

    def __init__(self) -> None:
        self.secret = ""
        self.statuses = [200]
        self.requests: list[tuple[Recorded, bool]] = []

    def _handle(self, handler: BaseHTTPRequestHandler, body: bytes) -> None:
        headers = dict(handler.headers)
        verified = webhook_signature_verify(
            self.secret, headers.get("X-Helpdesk-Timestamp"), body, headers.get("X-Helpdesk-Signature")
        )
        self.requests.append((Recorded("POST", handler.path, headers, body), verified))
        code = (self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]) if verified else 401
        handler.send_response(code)
        handler.send_header("Content-Length", "2")
        handler.end_headers()
        handler.wfile.write(b"ok")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


@pytest.fixture
def allow_private(settings) -> Any:
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = True
    settings.AUTOMATION_WEBHOOK_BACKOFF_SECONDS = 0
    return settings


@pytest.fixture
def target(allow_private, receiver):
    made, secret = webhook_target_create(name="CRM", url=f"{receiver.url}/hooks/rules", actor=Actor.system())
    receiver.secret = secret
    return made


@pytest.mark.django_db
def test_the_ticket_is_posted_signed_and_a_failure_is_retried(make_trigger, make_ticket, target, receiver):
    receiver.statuses = [503, 200]
    make_trigger(
        "To CRM", ON_CREATE, [{"action": "add_tags", "value": "crm"}, {"action": "webhook", "target": target.pk}]
    )
    ticket = make_ticket("Invoice is wrong")
    assert WebhookCall.objects.get().status == WebhookCallStatus.PENDING  # the first try failed
    automation_sweep_task.delay()  # in-process mode: the sweep sends the due retry

    assert [verified for _r, verified in receiver.requests] == [True, True]
    request = receiver.requests[-1][0]
    assert request.path == "/hooks/rules"
    payload = request.json()
    assert payload["event"] == "rule.webhook"
    assert payload["rule"].endswith("To CRM")
    assert payload["ticket"]["number"] == ticket.number
    assert payload["ticket"]["tags"] == ["crm"]  # the earlier action's change is in it
    call = WebhookCall.objects.get()
    assert (call.status, call.attempts, call.last_response_code) == (WebhookCallStatus.SUCCEEDED, 2, 200)


@pytest.mark.django_db
def test_a_call_that_keeps_failing_is_marked_failed_on_the_ticket(
    make_trigger, make_ticket, target, receiver, settings
):
    settings.AUTOMATION_WEBHOOK_MAX_ATTEMPTS = 3
    receiver.statuses = [500]
    make_trigger("To CRM", ON_CREATE, [{"action": "webhook", "target": target.pk}])
    ticket = make_ticket()
    for _sweep in range(4):
        automation_sweep_task.delay()
    call = WebhookCall.objects.get()
    assert (call.status, call.attempts, call.last_error) == (WebhookCallStatus.FAILED, 3, "HTTP 500")
    assert len(receiver.requests) == 3
    failed = Event.objects.get(ticket=ticket, verb="rule_webhook_failed")
    assert failed.data["error"] == "HTTP 500"


@pytest.mark.django_db
def test_private_addresses_are_refused_unless_allowed(make_trigger, make_ticket, receiver, settings):
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = False
    settings.NETGUARD_ALLOW = []  # the test suite allows loopback by default
    for url in (f"{receiver.url}/x", "http://10.1.2.3/hook", "http://[::1]:8000/", "http://169.254.169.254/latest"):
        with pytest.raises(ValidationError) as refused:
            webhook_target_create(name="inside", url=url, actor=Actor.system())
        assert "private" in " ".join(refused.value.messages)

    # A target saved while allowed is still refused at send time once the setting is off.
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = True
    target, _secret = webhook_target_create(name="inside", url=f"{receiver.url}/x", actor=Actor.system())
    settings.AUTOMATION_WEBHOOK_ALLOW_PRIVATE = False
    settings.AUTOMATION_WEBHOOK_MAX_ATTEMPTS = 1
    make_trigger("To inside", ON_CREATE, [{"action": "webhook", "target": target.pk}])
    make_ticket()
    assert receiver.requests == []
    call = WebhookCall.objects.get()
    assert call.status == WebhookCallStatus.FAILED
    assert "refused" in call.last_error or "not a public address" in call.last_error


@pytest.mark.django_db(transaction=True)
def test_on_a_real_worker_the_retry_reaches_the_receiver(celery_worker, make_trigger, make_ticket, target, receiver):
    import time

    receiver.statuses = [500, 202]
    make_trigger("To CRM", ON_CREATE, [{"action": "webhook", "target": target.pk}])
    ticket = make_ticket()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        call = WebhookCall.objects.filter(ticket=ticket).first()
        if call is not None and call.status != WebhookCallStatus.PENDING:
            break
        time.sleep(0.2)
    assert call is not None and call.status == WebhookCallStatus.SUCCEEDED
    assert (call.attempts, call.last_response_code) == (2, 202)
    assert [verified for _r, verified in receiver.requests] == [True, True]

"""Inbound media is fetched again when the provider has a bad moment (5xx, no answer), with
backoff; when it gives up, the message still arrives, naming the file and the tries, and the
raw payload stays stored."""

from __future__ import annotations

import pytest

from channels_inbox.twilio.api import TwilioApiError
from channels_inbox.twilio.retry import fetch_with_retries
from tickets.models import Attachment, Message, RawInbound

from .conftest import SMS_URL, post_signed, sms_params

pytestmark = pytest.mark.django_db


class Flaky:
    def __init__(self, failures: list[int]) -> None:
        self.failures = failures
        self.calls = 0

    def __call__(self) -> bytes:
        self.calls += 1
        if self.failures:
            raise TwilioApiError(status=self.failures.pop(0), message="Service Unavailable")
        return b"ok"


def test_temporary_errors_are_retried_with_backoff(settings, monkeypatch):
    settings.HELPDESK_MEDIA_FETCH_ATTEMPTS = 3
    settings.HELPDESK_MEDIA_FETCH_BACKOFF = 0.5
    waits: list[float] = []
    monkeypatch.setattr("channels_inbox.twilio.retry.time.sleep", waits.append)
    fetch = Flaky([503, 0])
    assert fetch_with_retries(fetch) == b"ok"
    assert fetch.calls == 3 and waits == [0.5, 1.0]


def test_permanent_errors_are_not_retried(settings):
    fetch = Flaky([404])
    with pytest.raises(TwilioApiError):
        fetch_with_retries(fetch)
    assert fetch.calls == 1


def test_an_mms_whose_media_keeps_failing_arrives_with_a_clear_failure(
    client, twilio, settings, django_capture_on_commit_callbacks
):
    settings.HELPDESK_MEDIA_FETCH_BACKOFF = 0
    url = twilio.url + f"/2010-04-01/Accounts/{twilio.account_sid}/Messages/MM0001/Media/ME-broken"
    twilio.media_failures = {url.removeprefix(twilio.url): 3}
    params = sms_params(
        "SM" + "e" * 32, "Photo of the damage", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg"
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert post_signed(client, SMS_URL, params).status_code == 200
    gets = [r for r in twilio.requests if r.method == "GET"]
    assert len(gets) == 3
    message = Message.objects.get()
    assert "[Attachment not fetched: ME-broken.jpg (" in message.body_text
    assert "(gave up after 3 tries)" in message.body_text
    (failed,) = message.metadata["attachments_failed"]
    assert failed["url"] == url and failed["reason"].endswith("(gave up after 3 tries)")
    assert not Attachment.objects.exists()
    assert RawInbound.objects.get().payload  # kept, to be replayed


def test_an_mms_fetched_on_the_second_try_is_stored(client, twilio, settings, django_capture_on_commit_callbacks):
    settings.HELPDESK_MEDIA_FETCH_BACKOFF = 0
    url = twilio.media_url("ME-photo", b"\xff\xd8\xff jpeg", "image/jpeg")
    twilio.media_failures = {url.removeprefix(twilio.url): 1}
    params = sms_params("SM" + "f" * 32, "Photo", NumMedia="1", MediaUrl0=url, MediaContentType0="image/jpeg")
    with django_capture_on_commit_callbacks(execute=True):
        post_signed(client, SMS_URL, params)
    assert Attachment.objects.get().size == len(b"\xff\xd8\xff jpeg")

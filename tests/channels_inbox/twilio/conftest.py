"""Fixtures for the SMS channel: the adapter registered for the test (or the one the app
registered), settings pointing at a local Twilio API, and signing requests as Twilio does."""

from __future__ import annotations

import json
import urllib.parse
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from channels_inbox import registry
from channels_inbox.twilio.adapter import SmsAdapter

from .twilio_server import TwilioServer

VECTORS = (
    Path(__file__).resolve().parents[3]
    / ".."
    / "shared"
    / "corpora"
    / "webhooks"
    / "twilio_request_validator_vectors.json"
).resolve()

ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "test-auth-token-0123456789abcdef"
DESK_NUMBER = "+15005550006"
SMS_URL = "/inbound/twilio/sms/"
STATUS_URL = "/inbound/twilio/sms/status/"


def vectors() -> dict:
    if not VECTORS.is_file():
        pytest.skip(f"shared Twilio signature vectors not present at {VECTORS}")
    return json.loads(VECTORS.read_text())


@pytest.fixture
def sms_adapter():
    existing = registry.registered().get("sms")
    if existing is not None:
        yield existing
        return
    adapter = registry.register(SmsAdapter())
    yield adapter
    registry.unregister("sms")


@pytest.fixture
def twilio_api():
    server = TwilioServer(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def twilio(settings, sms_adapter, twilio_api, tmp_path):
    """The SMS channel set up against the local Twilio API."""
    settings.TWILIO_ACCOUNT_SID = ACCOUNT_SID
    settings.TWILIO_AUTH_TOKEN = AUTH_TOKEN
    settings.TWILIO_API_BASE = twilio_api.url
    settings.TWILIO_FROM_NUMBER = DESK_NUMBER
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    settings.TWILIO_WEBHOOK_BASE_URL = ""
    settings.MEDIA_ROOT = tmp_path
    return twilio_api


def sign(url: str, params: dict[str, str], token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def sms_params(sid: str, body: str, sender: str = "+14155550100", **extra: str) -> dict[str, str]:
    """An inbound SMS webhook's fields, as Twilio posts them."""
    return {
        "ToCountry": "US",
        "SmsMessageSid": sid,
        "NumMedia": "0",
        "SmsSid": sid,
        "SmsStatus": "received",
        "Body": body,
        "To": DESK_NUMBER,
        "NumSegments": "1",
        "MessageSid": sid,
        "AccountSid": ACCOUNT_SID,
        "From": sender,
        "ApiVersion": "2010-04-01",
        **extra,
    }


def post_signed(client, path: str, params: dict[str, str], *, signature: str | None = "auto", base: str = ""):
    """POST form fields the way Twilio does, signed for http://testserver<path> unless told."""
    url = (base or "http://testserver") + path
    headers = {}
    if signature == "auto":
        headers["HTTP_X_TWILIO_SIGNATURE"] = sign(url, params)
    elif signature is not None:
        headers["HTTP_X_TWILIO_SIGNATURE"] = signature
    body = urllib.parse.urlencode(params)
    return client.post(path, data=body, content_type="application/x-www-form-urlencoded", **headers)

"""Fixtures for the Meta channels: adapters registered for the test (or the ones the app
registered), settings pointing at a local Graph API, signing as Meta does, and the shared corpora."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from channels_inbox import registry
from channels_inbox.meta.messenger import register_instagram_adapter, register_messenger_adapter
from channels_inbox.meta.signature import meta_signature
from channels_inbox.meta.whatsapp import register_whatsapp_adapter

from .graph_server import GraphServer

WEBHOOKS = (Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora" / "webhooks").resolve()
VECTORS = WEBHOOKS / "meta_x_hub_signature_256_vectors.json"
WHATSAPP_CORPUS = WEBHOOKS / "whatsapp_pywa_updates"
MESSENGER_CORPUS = WEBHOOKS / "messenger_chatwoot"

APP_SECRET = "test-app-secret-0123456789abcdef"
VERIFY_TOKEN = "verify-me-please"
VERSION = "v21.0"
WHATSAPP_TOKEN = "EAAG-whatsapp-token-never-logged"
PAGE_TOKEN = "EAAG-page-token-never-logged"
INSTAGRAM_TOKEN = "EAAG-instagram-token-never-logged"
PHONE_NUMBER_ID = "1122334455667"
PAGE_ID = "117172741761305"
URL = "/inbound/meta/"


def corpus(folder: Path, name: str) -> dict[str, Any]:
    path = folder / name
    if not path.is_file():
        pytest.skip(f"shared Meta corpus not present at {path}")
    return json.loads(path.read_text())


@pytest.fixture
def meta_adapters():
    """WhatsApp, Messenger and Instagram adapters, registered here unless the app already did."""
    keys = ("whatsapp", "messenger", "instagram")
    already = {key for key in keys if key in registry.registered()}
    register_whatsapp_adapter()
    register_messenger_adapter()
    register_instagram_adapter()
    yield {key: registry.get(key) for key in keys}
    for key in keys:
        if key not in already:
            registry.unregister(key)


@pytest.fixture
def graph_api():
    server = GraphServer(version=VERSION, tokens=(WHATSAPP_TOKEN, PAGE_TOKEN, INSTAGRAM_TOKEN)).start()
    yield server
    server.stop()


@pytest.fixture
def meta(settings, meta_adapters, graph_api, tmp_path):
    """The Meta channels set up against the local Graph API."""
    settings.META_APP_SECRET = APP_SECRET
    settings.META_VERIFY_TOKEN = VERIFY_TOKEN
    settings.META_GRAPH_BASE = graph_api.url
    settings.META_GRAPH_VERSION = VERSION
    settings.WHATSAPP_ACCESS_TOKEN = WHATSAPP_TOKEN
    settings.WHATSAPP_PHONE_NUMBER_ID = PHONE_NUMBER_ID
    settings.MESSENGER_PAGE_ACCESS_TOKEN = PAGE_TOKEN
    settings.INSTAGRAM_ACCESS_TOKEN = INSTAGRAM_TOKEN
    settings.MEDIA_ROOT = tmp_path
    return graph_api


def body_of(payload: dict[str, Any] | bytes) -> bytes:
    # Meta sends non-ASCII escaped as \uXXXX, compact.
    return payload if isinstance(payload, bytes) else json.dumps(payload, separators=(",", ":")).encode()


def post_signed(client, payload: dict[str, Any] | bytes, *, signature: str | None = "auto", secret: str = APP_SECRET):
    body = body_of(payload)
    headers = {}
    if signature == "auto":
        headers["HTTP_X_HUB_SIGNATURE_256"] = meta_signature(body, secret)
    elif signature is not None:
        headers["HTTP_X_HUB_SIGNATURE_256"] = signature
    return client.post(URL, data=body, content_type="application/json", **headers)


def wa_body(
    messages: list[dict] | None = None,
    *,
    statuses: list[dict] | None = None,
    name: str = "Ana Souza",
    wa_id: str = "5511912345678",
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550953877", "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages is not None:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": wa_id}]
        value["messages"] = messages
    if statuses is not None:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "264937493375603", "changes": [{"value": value, "field": "messages"}]}],
    }


def wa_text(wamid: str, text: str, *, wa_id: str = "5511912345678", ts: int | None = None) -> dict[str, Any]:
    import time

    return {
        "from": wa_id,
        "id": wamid,
        "timestamp": str(ts or int(time.time())),
        "type": "text",
        "text": {"body": text},
    }


def page_body(events: list[dict], *, obj: str = "page") -> dict[str, Any]:
    return {"object": obj, "entry": [{"id": PAGE_ID, "time": 1648581633369, "messaging": events}]}

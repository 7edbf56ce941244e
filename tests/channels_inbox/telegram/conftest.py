"""Fixtures for the Telegram channel: the adapter registered for the test (or the one the app
registered), settings pointing at a local Bot API server, and the shared update corpus."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from channels_inbox import registry
from channels_inbox.telegram.adapter import TelegramAdapter

from .bot_api_server import BotApiServer

CORPUS = (
    Path(__file__).resolve().parents[3] / ".." / "shared" / "corpora" / "webhooks" / "telegram_nutgram_updates"
).resolve()

SECRET = "s3cret-Webhook_token"
TOKEN = "123456:TEST-bot-token-never-logged"
URL = "/inbound/telegram/"


def corpus_files() -> list[Path]:
    return sorted(CORPUS.glob("*.json")) if CORPUS.is_dir() else []


def corpus_update(name: str) -> dict[str, Any]:
    path = CORPUS / f"{name}.json"
    if not path.is_file():
        pytest.skip(f"shared Telegram corpus not present at {CORPUS}")
    return json.loads(path.read_text())


@pytest.fixture
def telegram_adapter():
    existing = registry.registered().get("telegram")
    if existing is not None:
        yield existing
        return
    adapter = registry.register(TelegramAdapter())
    yield adapter
    registry.unregister("telegram")


@pytest.fixture
def bot_api():
    server = BotApiServer(token=TOKEN).start()
    yield server
    server.stop()


@pytest.fixture
def telegram(settings, telegram_adapter, bot_api, tmp_path):
    """The Telegram channel set up against the local Bot API server."""
    settings.TELEGRAM_WEBHOOK_SECRET = SECRET
    settings.TELEGRAM_BOT_TOKEN = TOKEN
    settings.TELEGRAM_API_BASE = bot_api.url
    settings.MEDIA_ROOT = tmp_path
    return bot_api


def post_update(client, update: dict[str, Any] | bytes, *, secret: str | None = SECRET):
    body = update if isinstance(update, bytes) else json.dumps(update).encode()
    headers = {} if secret is None else {"HTTP_X_TELEGRAM_BOT_API_SECRET_TOKEN": secret}
    return client.post(URL, data=body, content_type="application/json", **headers)

"""Fixtures of the live chat tests: browser fixtures (from tests/e2e) and a real ASGI server
(Daphne, HTTP and WebSocket) forked from the test process, so it uses the test database,
Redis and eager Celery."""

from __future__ import annotations

import pytest

from channels_inbox.chat.models import ChatAgentStatus
from tests.e2e.conftest import _async_unsafe_allowed, browser  # noqa: F401
from tests.factories import make_agent


@pytest.fixture
def chat_agent(transactional_db):
    return make_agent("maria")


@pytest.fixture
def agent_online(chat_agent):
    """An agent with the chat console open (as the console's socket records it)."""
    from django.utils import timezone

    ChatAgentStatus.objects.update_or_create(
        user=chat_agent, defaults={"connections": 1, "last_seen_at": timezone.now()}
    )
    return chat_agent


@pytest.fixture
def asgi_server(transactional_db):
    from daphne.testing import DaphneProcess
    from django.db import connections

    connections.close_all()  # the child must not share the parent's database sockets
    server = DaphneProcess("127.0.0.1", _asgi_application)
    server.start()
    if not server.ready.wait(20):
        server.terminate()
        pytest.fail("Daphne did not start")
    yield f"http://127.0.0.1:{server.port.value}"
    server.terminate()
    server.join(10)


def _asgi_application():
    from concurrent.futures import ThreadPoolExecutor

    from asgiref.sync import SyncToAsync
    from channels.layers import channel_layers
    from channels.testing.live import make_application
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    # A forked child must not reuse the parent's channel layer pools or asgiref's executor.
    channel_layers.backends = {}
    SyncToAsync.single_thread_executor = ThreadPoolExecutor(max_workers=1)
    return make_application(static_wrapper=ASGIStaticFilesHandler)


@pytest.fixture
def smtp_mailbox(transactional_db):
    """A default mailbox sending through aiosmtpd on a loopback port; `.received` holds the
    raw bytes of every message the help desk sent."""
    from aiosmtpd.controller import Controller

    from channels_inbox.models import Mailbox
    from tests.channels_inbox.email.mail_servers import SmtpRecorder, free_port

    recorder = SmtpRecorder()
    controller = Controller(recorder, hostname="127.0.0.1", port=free_port())
    controller.start()
    recorder.port = controller.port
    Mailbox.objects.create(
        address="support@helpdesk.test",
        display_name="Acme Support",
        is_default=True,
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_starttls=False,
    )
    yield recorder
    controller.stop()

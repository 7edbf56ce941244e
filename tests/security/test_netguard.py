"""SSRF guard: URLs the product fetches never reach loopback, private or reserved addresses
unless an administrator allowed them; checked when a URL is saved and again on connecting."""

from __future__ import annotations

import socket
import urllib.error
import urllib.request

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from helpdesk import netguard
from helpdesk.netguard import UnsafeURL, address_blocked, guarded_urlopen, url_check

BLOCKED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",  # cloud metadata
    "100.64.0.1",  # carrier-grade NAT
    "0.0.0.0",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "::1",
    "::",
    "fe80::1",
    "fc00::1",
    "ff02::1",
    "::ffff:127.0.0.1",  # IPv4-mapped
    "::ffff:169.254.169.254",
    "2002:7f00:1::",  # 6to4 of 127.0.0.1
    "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
]
PUBLIC = ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", BLOCKED)
def test_non_public_addresses_are_blocked(address):
    assert address_blocked(address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert not address_blocked(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8000/admin/",
        "http://[::1]:6379/",
        "http://169.254.169.254/latest/meta-data/",
        "http://2130706433/",  # 127.0.0.1 as one number
        "http://0x7f.1/",
        "https://10.0.0.5/hook",
        "http://[::ffff:7f00:1]/",
    ],
)
def test_url_check_refuses_internal_targets_with_a_clear_reason(url, settings):
    settings.NETGUARD_ALLOW = []
    with pytest.raises(UnsafeURL, match="NETGUARD_ALLOW"):
        url_check(url)


@pytest.mark.parametrize("url", ["ftp://example.com/x", "file:///etc/passwd", "gopher://127.0.0.1/", "http:///nohost"])
def test_url_check_refuses_other_schemes_and_hostless_urls(url):
    with pytest.raises(UnsafeURL):
        url_check(url)


def test_allow_list_takes_networks_and_hosts(settings):
    settings.NETGUARD_ALLOW = ["10.0.0.0/8", "intranet.example"]
    url_check("https://10.20.30.40/hook")
    with pytest.raises(UnsafeURL):
        url_check("https://192.168.0.1/hook")
    url_check("https://intranet.example/hook")  # allowed by name, whatever it resolves to


def test_provider_base_url_hosts_are_allowed(settings):
    settings.NETGUARD_ALLOW = []
    settings.TELEGRAM_API_BASE = "http://127.0.0.1:9"
    url_check("http://127.0.0.1:9/file/bot123/photo.jpg")


def test_unresolvable_names_pass_the_save_check_but_not_when_required():
    url_check("https://no-such-host.invalid/hook")
    with pytest.raises(UnsafeURL, match="could not be found"):
        url_check("https://no-such-host.invalid/hook", require_resolvable=True)


def test_guarded_urlopen_refuses_loopback_and_the_server_sees_nothing(loopback_server, settings):
    settings.NETGUARD_ALLOW = []
    with pytest.raises(urllib.error.URLError, match="refused to connect"):
        guarded_urlopen(loopback_server.url + "/private", timeout=5)
    assert loopback_server.hits == []
    settings.NETGUARD_ALLOW = ["127.0.0.1/32"]
    with guarded_urlopen(loopback_server.url + "/allowed", timeout=5) as response:
        assert response.read() == b"secret internal data"
    assert loopback_server.hits == ["/allowed"]


def test_dns_rebinding_is_refused_at_connect_time(loopback_server, settings, monkeypatch):
    """A name that resolved to a public address when saved and to 127.0.0.1 when fetched."""
    settings.NETGUARD_ALLOW = []
    real = socket.getaddrinfo
    answers = iter(["93.184.216.34", "127.0.0.1"])

    def rebinding(host, port, *args, **kwargs):
        if host == "rebind.example":
            return real(next(answers), port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(netguard.socket, "getaddrinfo", rebinding)
    url = f"http://rebind.example:{loopback_server.port}/hook"
    url_check(url)  # saved: looks public
    with pytest.raises(urllib.error.URLError, match="refused to connect"):
        guarded_urlopen(url, timeout=5)
    assert loopback_server.hits == []


def test_redirects_to_internal_addresses_are_refused(settings):
    """A public receiver answering 302 to the metadata service gets nowhere."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Redirect(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802
            self.send_response(302)
            self.send_header("Location", "http://169.254.169.254/latest/meta-data/")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        settings.NETGUARD_ALLOW = ["127.0.0.1"]  # the first hop only
        with pytest.raises(urllib.error.URLError, match="refused to connect"):
            guarded_urlopen(f"http://127.0.0.1:{server.server_address[1]}/", timeout=5)
    finally:
        server.shutdown()
        server.server_close()


# --- Where the product fetches ---------------------------------------------------------------


@pytest.fixture
def manager(db):
    from tests.factories import make_agent

    return make_agent("netguard-manager", role="manager")


def test_webhook_subscription_to_loopback_is_refused_on_save(manager, settings):
    from tickets.services.events import Actor
    from webhooks.models import WebhookSubscription
    from webhooks.services import webhook_subscription_create

    settings.NETGUARD_ALLOW = []
    with pytest.raises(ValidationError) as info:
        webhook_subscription_create(
            url="http://127.0.0.1:8000/admin/", event_types=["ticket.created"], actor=Actor.agent(manager)
        )
    assert "loopback, private or reserved" in info.value.message_dict["url"][0]
    # The model's clean() (used by the admin form) says the same.
    with pytest.raises(ValidationError) as info:
        WebhookSubscription(url="http://169.254.169.254/", event_types=["ticket.created"]).full_clean(
            exclude=["secret_encrypted"]
        )
    assert "url" in info.value.message_dict
    assert not WebhookSubscription.objects.exists()


def test_webhook_api_answers_400_for_a_private_target(manager, settings, client):
    settings.NETGUARD_ALLOW = []
    client.force_login(manager)
    response = client.post(
        "/api/v1/webhooks/subscriptions/",
        {"url": "http://192.168.1.10/hook", "event_types": ["ticket.created"]},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "NETGUARD_ALLOW" in str(response.json())


@pytest.mark.django_db
def test_webhook_delivery_is_refused_at_send_time(loopback_server, manager, settings):
    """Saved while allowed (or before a DNS change); by send time it is refused, recorded
    as a failed try with the reason, and the server gets nothing."""
    from tickets.services.events import Actor
    from webhooks.models import WebhookDelivery
    from webhooks.services import webhook_delivery_attempt, webhook_subscription_create

    settings.NETGUARD_ALLOW = ["127.0.0.1"]
    subscription, _secret = webhook_subscription_create(
        url=loopback_server.url + "/hook", event_types=["ticket.created"], actor=Actor.agent(manager)
    )
    delivery = WebhookDelivery.objects.create(
        subscription=subscription, event_type="ticket.created", payload={}, next_attempt_at=timezone.now()
    )
    settings.NETGUARD_ALLOW = []
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "retry"
    delivery.refresh_from_db()
    assert "refused to connect" in delivery.last_error
    assert loopback_server.hits == []
    settings.NETGUARD_ALLOW = ["127.0.0.1"]
    delivery.next_attempt_at = timezone.now()
    delivery.save(update_fields=["next_attempt_at"])
    assert webhook_delivery_attempt(delivery_id=delivery.pk) == "succeeded"
    assert loopback_server.hits == ["/hook"]


def test_provider_media_url_from_a_payload_cannot_reach_internal_addresses(loopback_server, settings):
    """A Meta/Twilio media URL in a (signed) payload pointing at an internal service."""
    from channels_inbox.http import ProviderUnreachable, http_open

    settings.NETGUARD_ALLOW = []
    settings.META_GRAPH_BASE = "https://graph.facebook.com"
    request = urllib.request.Request(loopback_server.url + "/internal/media", method="GET")
    with pytest.raises(ProviderUnreachable, match="refused to connect"):
        http_open(request, limit=1000, timeout=5)
    assert loopback_server.hits == []
    # The configured provider base (tests point it at a local server) stays reachable.
    settings.META_GRAPH_BASE = loopback_server.url
    status, body, _type = http_open(request, limit=1000, timeout=5)
    assert (status, body) == (200, b"secret internal data")

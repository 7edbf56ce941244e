"""Accounts: lockout, sign-in rate limit, API auth failure limit, session idle timeout, TOTP
two-factor sign-in, the admins' audit log."""

from __future__ import annotations

import datetime as dt

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.models import LoginFailure
from tests.factories import TicketFactory, make_agent
from tickets.models import Event
from tickets.services.events import Actor, event_record

pytestmark = pytest.mark.django_db
PASSWORD = "pw-for-tests-1"


@pytest.fixture(autouse=True)
def _no_otp_throttle(settings):
    """django-otp slows retries after a wrong code (1 s, 2 s, ...); the tests type fast."""
    settings.OTP_TOTP_THROTTLE_FACTOR = 0


def sign_in(client, username, password=PASSWORD, **extra):
    return client.post("/agent/login/", {"username": username, "password": password}, **extra)


def code_for(device: TOTPDevice, offset: int = 0) -> str:
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=offset):06d}"


# --- Lockout and rate limits ---------------------------------------------------------------------


def test_five_wrong_passwords_lock_the_account_from_that_address(client, settings):
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_LOCKOUT_MINUTES = 5, 15
    make_agent("alice")
    for _ in range(4):
        response = sign_in(client, "alice", "wrong")
        assert response.status_code == 200 and b"do not match" in response.content
    response = sign_in(client, "alice", "wrong")
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content and b"15 minutes" in response.content
    # Even the right password is refused while locked, and nothing signs in.
    response = sign_in(client, "alice")
    assert response.status_code == 429 and "_auth_user_id" not in client.session
    # Another address is not locked out by this one.
    assert sign_in(client, "alice", REMOTE_ADDR="203.0.113.9").status_code == 302
    # The failures are in the audit log, the last one marked as locking.
    verbs = list(Event.objects.filter(verb="sign_in_failed").values_list("data__locked", flat=True))
    assert verbs == [False, False, False, False, True]


def test_the_lock_ends_after_the_lockout_minutes(client, settings):
    settings.LOGIN_FAILURE_LIMIT, settings.LOGIN_LOCKOUT_MINUTES = 3, 10
    make_agent("bruno")
    for _ in range(3):
        sign_in(client, "bruno", "wrong")
    assert sign_in(client, "bruno").status_code == 429
    LoginFailure.objects.update(at=timezone.now() - dt.timedelta(minutes=11))
    assert sign_in(client, "bruno").status_code == 302
    assert not LoginFailure.objects.filter(username="bruno").exists()  # cleared on success


def test_sign_in_attempts_per_address_are_rate_limited(client, settings):
    settings.LOGIN_RATE_PER_MINUTE = 3
    for n in range(3):
        assert sign_in(client, f"nobody{n}", "x").status_code == 200
    response = sign_in(client, "nobody9", "x")
    assert response.status_code == 429 and response["Retry-After"] == "60"
    assert b"Too many sign-in attempts" in response.content


def test_failed_api_token_authentication_is_rate_limited_per_address(client, settings):
    settings.API_AUTH_FAILURES_PER_MINUTE = 3
    for _ in range(3):
        assert client.get("/api/v1/tickets/", HTTP_AUTHORIZATION="Token wrong").status_code == 401
    response = client.get("/api/v1/tickets/", HTTP_AUTHORIZATION="Token wrong")
    assert response.status_code == 429 and "Too many failed" in response.json()["detail"]
    # Another address still gets an ordinary 401.
    assert client.get("/api/v1/tickets/", HTTP_AUTHORIZATION="Token x", REMOTE_ADDR="198.51.100.7").status_code == 401


def test_the_admin_sign_in_goes_through_the_same_guarded_page(client):
    response = client.get("/admin/login/?next=/admin/")
    assert response.status_code == 302 and response["Location"] == "/agent/login/?next=/admin/"


# --- Sessions ------------------------------------------------------------------------------------


def test_an_idle_session_is_signed_out(client, settings, monkeypatch):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    make_agent("idle")
    assert sign_in(client, "idle").status_code == 302
    assert client.get("/agent/").status_code == 200
    import accounts.middleware as middleware

    later = middleware.time.time() + 31 * 60
    monkeypatch.setattr(middleware.time, "time", lambda: later)
    response = client.get("/agent/")
    assert response.status_code == 302 and response["Location"].startswith("/agent/login/")
    assert "_auth_user_id" not in client.session


def test_an_active_session_stays(client, settings, monkeypatch):
    settings.SESSION_IDLE_TIMEOUT_MINUTES = 30
    make_agent("busy")
    sign_in(client, "busy")
    import accounts.middleware as middleware

    start = middleware.time.time()
    for minutes in (20, 40, 60):
        monkeypatch.setattr(middleware.time, "time", lambda m=minutes: start + m * 60)
        assert client.get("/agent/").status_code == 200


# --- Two-factor ----------------------------------------------------------------------------------


def enrol(client, user) -> TOTPDevice:
    client.force_login(user)
    page = client.get("/accounts/2fa/")
    assert page.status_code == 200
    assert b"<svg" in page.content and b"otpauth://totp/" in page.content
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    assert client.post("/accounts/2fa/", {"token": wrong}).status_code == 200
    device.refresh_from_db()
    assert not device.confirmed
    response = client.post("/accounts/2fa/", {"token": code_for(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed
    return device


def test_enrolment_then_every_sign_in_asks_for_the_code(client):
    user = make_agent("carla")
    device = enrol(client, user)
    assert Event.objects.filter(verb="two_factor_enabled", object_id=user.pk).exists()
    client.logout()
    response = sign_in(client, "carla")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/verify/"
    # The password alone signs nobody in.
    assert "_auth_user_id" not in client.session
    assert client.get("/agent/").status_code == 302
    wrong = client.post("/accounts/2fa/verify/", {"token": "123456" if code_for(device) != "123456" else "654321"})
    assert wrong.status_code == 200 and b"not right" in wrong.content
    device.refresh_from_db()
    response = client.post("/accounts/2fa/verify/", {"token": code_for(device, offset=1)})
    assert response.status_code == 302 and response["Location"] == "/agent/"
    assert client.get("/agent/").status_code == 200
    assert Event.objects.filter(verb="signed_in", object_id=user.pk, data__two_factor=True).exists()


def test_wrong_codes_count_towards_the_lockout(client, settings):
    settings.LOGIN_FAILURE_LIMIT = 3
    user = make_agent("dora")
    device = enrol(client, user)
    client.logout()
    sign_in(client, "dora")
    bad = "999999" if code_for(device) != "999999" else "888888"
    assert client.post("/accounts/2fa/verify/", {"token": bad}).status_code == 200
    assert client.post("/accounts/2fa/verify/", {"token": bad}).status_code == 200
    assert client.post("/accounts/2fa/verify/", {"token": bad}).status_code == 429
    assert sign_in(client, "dora").status_code == 429  # the password step is locked too


def test_admins_must_enrol_when_required(client, settings):
    settings.ACCOUNTS_REQUIRE_2FA_FOR_ADMINS = True
    admin = make_agent("root", role="admin")
    agent = make_agent("plain")
    sign_in(client, "root")
    response = client.get("/agent/")
    assert response.status_code == 302 and response["Location"] == "/accounts/2fa/"
    assert client.get("/admin/").status_code == 302
    client.logout()
    sign_in(client, "plain")
    assert client.get("/agent/").status_code == 200  # not an admin: not required
    client.logout()
    enrol(client, admin)
    assert client.get("/agent/").status_code == 200
    assert agent.is_active


def test_a_session_with_an_enrolled_user_but_no_code_is_sent_to_verify(client):
    user = make_agent("eve")
    enrol(client, user)
    client.logout()
    client.force_login(user)  # e.g. a session from before enrolment
    response = client.get("/agent/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/2fa/verify/")


def test_customers_cannot_open_the_enrolment_page(client):
    from tests.factories import CustomerFactory, make_customer_user

    user = make_customer_user(CustomerFactory())
    client.force_login(user)
    assert client.get("/accounts/2fa/").status_code == 403


# --- Audit log -----------------------------------------------------------------------------------


def test_the_audit_log_lists_staff_actions_for_admins_only(client, django_assert_max_num_queries):
    admin = make_agent("boss", role="admin")
    alice = make_agent("alice2")
    ticket = TicketFactory()
    for n in range(30):
        event_record(obj=ticket, verb="changed", field="priority", old="low", new=f"v{n}", actor=Actor.agent(alice))
    event_record(obj=ticket, verb="created", actor=Actor.system())  # not staff: not listed
    LogEntry.objects.log_action(
        user_id=admin.pk,
        content_type_id=ContentType.objects.get_for_model(ticket).pk,
        object_id=ticket.pk,
        object_repr=str(ticket),
        action_flag=CHANGE,
        change_message="Changed subject.",
    )
    client.force_login(alice)
    assert client.get("/accounts/audit/").status_code == 403
    client.force_login(admin)
    with django_assert_max_num_queries(12):
        response = client.get("/accounts/audit/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.count("data-audit-row") == 31
    assert "admin_changed" in body and f"#{ticket.number}" in body
    filtered = client.get("/accounts/audit/", {"user": "alice2", "verb": "changed"}).content.decode()
    assert filtered.count("data-audit-row") == 30 and "<td>admin_changed</td>" not in filtered
    tomorrow = (timezone.localdate() + dt.timedelta(days=1)).isoformat()
    assert client.get("/accounts/audit/", {"date_from": tomorrow}).content.decode().count("data-audit-row") == 0


def test_the_audit_log_pages_through_older_entries(client):
    from accounts import selectors

    admin = make_agent("boss2", role="admin")
    ticket = TicketFactory()
    base = timezone.now() - dt.timedelta(hours=1)
    for n in range(5):
        e = event_record(obj=ticket, verb="changed", field="priority", new=n, actor=Actor.agent(admin))
        Event.objects.filter(pk=e.pk).update(created_at=base + dt.timedelta(minutes=n))
    rows, older = selectors.audit_entry_list(filters=selectors.AuditFilters(user="boss2"), limit=3)
    assert [r.detail.split("→ ")[1] for r in rows] == ["4", "3", "2"] and older is not None
    rest, older2 = selectors.audit_entry_list(filters=selectors.AuditFilters(user="boss2", before=older), limit=3)
    assert [r.detail.split("→ ")[1] for r in rest] == ["1", "0"] and older2 is None

"""In the browser: the sign-in page with its lockout message, turning on two-factor sign-in
(QR code), signing in with a code, the admins' audit log; no page breaks its own CSP, and an
injected inline script does not run."""

from __future__ import annotations

import re

import pytest
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import expect

from tests.factories import TicketFactory, make_agent
from tickets.services.events import Actor, event_record

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.e2e]
PASSWORD = "pw-e2e-accounts-77"


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    settings.LOGIN_FAILURE_LIMIT = 3


@pytest.fixture
def csp_errors(page):
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if "Content Security Policy" in msg.text else None)
    return errors


def code_for(device: TOTPDevice, drift: int = 0) -> str:
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=drift):06d}"


def sign_in(page, username: str, password: str = PASSWORD) -> None:
    page.goto("/agent/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def test_lockout_message_after_repeated_wrong_passwords(page, screenshot, csp_errors):
    make_agent("locky", password=PASSWORD)
    for _ in range(3):
        sign_in(page, "locky", "wrong-password")
    expect(page.get_by_role("alert")).to_contain_text("Too many failed sign-ins")
    screenshot("accounts-login-locked")
    sign_in(page, "locky")  # the right password, still locked
    expect(page.get_by_role("alert")).to_contain_text("Try again in")
    assert csp_errors == []


def test_language_choice_still_submits_without_inline_script(page, csp_errors):
    page.goto("/agent/login/")
    page.get_by_label("Language").select_option("pt-br")
    expect(page.get_by_role("button", name=re.compile("Entrar"))).to_be_visible()
    assert csp_errors == []


def test_enrol_then_sign_in_with_a_code(page, screenshot, csp_errors):
    user = make_agent("twofa", password=PASSWORD)
    sign_in(page, "twofa")
    expect(page).to_have_url(re.compile(r"/agent/$"))
    page.goto("/accounts/2fa/")
    expect(page.locator(".qr svg")).to_be_visible()
    secret = page.locator("[data-secret]").inner_text()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    screenshot("accounts-2fa-setup")
    device = TOTPDevice.objects.get(user=user, confirmed=False)
    page.get_by_role("textbox", name="Code").fill(code_for(device))
    page.get_by_role("button", name="Turn on").click()
    expect(page.locator("[data-2fa-on]")).to_be_visible()
    screenshot("accounts-2fa-on")

    page.get_by_role("button", name="Log out").click()
    sign_in(page, "twofa")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/verify/$"))
    expect(page.get_by_role("heading", name="Enter your code")).to_be_visible()
    screenshot("accounts-2fa-verify")
    page.get_by_role("textbox", name="Code").fill(code_for(device, drift=1))
    page.get_by_role("button", name="Verify").click()
    expect(page).to_have_url(re.compile(r"/agent/$"))
    assert csp_errors == []


def test_admin_reads_the_audit_log_and_inline_scripts_are_blocked(page, screenshot, csp_errors):
    make_agent("auditor", role="admin", password=PASSWORD)
    alice = make_agent("alice-e2e")
    ticket = TicketFactory()
    event_record(obj=ticket, verb="changed", field="priority", old="normal", new="urgent", actor=Actor.agent(alice))
    sign_in(page, "auditor")
    expect(page).to_have_url(re.compile(r"/agent/$"))
    page.goto("/accounts/audit/")
    expect(page.get_by_role("heading", name="Audit log of staff actions")).to_be_visible()
    expect(page.locator("tr[data-audit-row]").filter(has_text="alice-e2e")).to_contain_text("priority")
    page.get_by_label("User").fill("alice-e2e")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("tr[data-audit-row]")).to_have_count(1)
    screenshot("accounts-audit-log")
    assert csp_errors == []
    # What stored XSS would do: an inline script without the nonce. The policy refuses it.
    try:
        page.add_script_tag(content="window.__injected = true;")
    except Exception:  # noqa: BLE001 - Playwright reports the refused script as an error
        pass
    assert page.evaluate("window.__injected === undefined")
    assert any("Content Security Policy" in e for e in csp_errors)

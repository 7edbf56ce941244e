"""/inbound/meta/: the subscription check, X-Hub-Signature-256 against the shared vectors, and
refusal of unsigned or badly signed deliveries (which store nothing)."""

from __future__ import annotations

import pytest

from channels_inbox.meta.signature import meta_signature, meta_signature_valid
from tickets.models import RawInbound

from .conftest import APP_SECRET, URL, VECTORS, VERIFY_TOKEN, body_of, post_signed, wa_body, wa_text

pytestmark = [pytest.mark.django_db]


def vectors() -> dict:
    import json

    if not VECTORS.is_file():
        pytest.skip(f"shared Meta signature vectors not present at {VECTORS}")
    return json.loads(VECTORS.read_text())


def test_the_shared_positive_vectors_verify():
    data = vectors()
    assert data["vectors"]
    for vector in data["vectors"]:
        secret = vector.get("app_secret") or vector["secret"]
        body = vector["raw_body"].encode()
        assert meta_signature(body, secret) == vector["expected_header"], vector["name"]
        assert meta_signature_valid(body=body, header=vector["expected_header"], app_secret=secret), vector["name"]
        assert not meta_signature_valid(body=body + b" ", header=vector["expected_header"], app_secret=secret)


def test_the_shared_negative_vectors_are_refused():
    for vector in vectors()["negative_vectors_derived"]:
        body = vector["raw_body"].encode()
        assert not meta_signature_valid(body=body, header=vector["header"], app_secret=vector["secret"]), vector["name"]


def test_the_real_whatsapp_delivery_is_accepted_by_the_view(client, meta, settings):
    vector = vectors()["vectors"][0]
    settings.META_APP_SECRET = vector["app_secret"]
    body = vector["raw_body"].encode()
    response = client.post(
        URL, data=body, content_type="application/json", HTTP_X_HUB_SIGNATURE_256=vector["expected_header"]
    )
    assert response.status_code == 200
    raw = RawInbound.objects.get()
    assert raw.channel == "whatsapp" and bytes(raw.payload) == body


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "not-a-signature", "sha1=abc"],
    ids=["missing", "empty", "wrong", "garbage", "sha1"],
)
def test_unsigned_or_badly_signed_deliveries_get_403_and_store_nothing(client, meta, signature):
    response = post_signed(client, wa_body([wa_text("wamid.A", "hi")]), signature=signature)
    assert response.status_code == 403
    assert RawInbound.objects.count() == 0


def test_a_body_signed_with_another_secret_or_tampered_is_refused(client, meta):
    payload = wa_body([wa_text("wamid.A", "hi")])
    assert post_signed(client, payload, secret="someone-elses-secret").status_code == 403
    signature = meta_signature(body_of(payload), APP_SECRET)
    tampered = body_of(payload).replace(b"hi", b"ho")
    assert post_signed(client, tampered, signature=signature).status_code == 403
    assert RawInbound.objects.count() == 0


def test_everything_is_refused_while_no_app_secret_is_set(client, meta, settings):
    settings.META_APP_SECRET = ""
    assert (
        post_signed(client, wa_body([wa_text("wamid.A", "hi")]), signature=meta_signature(b"{}", "")).status_code == 403
    )


def test_the_verify_challenge_is_echoed_for_our_token(client, meta):
    response = client.get(
        URL, {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert response.status_code == 200 and response.content == b"1158201444"


@pytest.mark.parametrize(
    "params",
    [
        {"hub.mode": "subscribe", "hub.verify_token": "wrong", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {"hub.challenge": "1"},
    ],
    ids=["wrong-token", "wrong-mode", "nothing"],
)
def test_a_wrong_verify_challenge_gets_403(client, meta, params):
    response = client.get(URL, params)
    assert response.status_code == 403 and b"1" not in response.content


def test_no_verify_token_configured_refuses_the_challenge(client, meta, settings):
    settings.META_VERIFY_TOKEN = ""
    response = client.get(URL, {"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "7"})
    assert response.status_code == 403


def test_a_signed_body_that_is_not_json_is_a_400(client, meta):
    assert post_signed(client, b"not json").status_code == 400
    assert RawInbound.objects.count() == 0


def test_an_object_we_do_not_take_is_answered_200_and_not_stored(client, meta):
    assert post_signed(client, {"object": "user", "entry": []}).status_code == 200
    assert RawInbound.objects.count() == 0

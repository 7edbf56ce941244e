"""X-Twilio-Signature: the shared vectors (taken from twilio-python's own tests), and the SMS
endpoints refusing anything unsigned, badly signed, or signed while no auth token is set."""

from __future__ import annotations

import hashlib
import logging

import pytest
from django.http import QueryDict

from channels_inbox.twilio.signature import twilio_signature_valid
from tickets.models import RawInbound

from .conftest import SMS_URL, STATUS_URL, VECTORS, post_signed, sign, sms_params, vectors


def _vector_cases() -> list[dict]:
    return vectors()["vectors"] if VECTORS.is_file() else []


@pytest.mark.parametrize("vector", _vector_cases() or [None], ids=lambda v: v["name"][:60] if v else "no-vectors")
def test_the_shared_signature_vectors(vector):
    if vector is None:
        vectors()  # skips with the reason
    token = vectors()["auth_token"]
    if "raw_form_body" in vector:
        params = QueryDict(vector["raw_form_body"])
    elif "params" in vector:
        params = vector["params"]
    else:
        params = vector["body"]  # a JSON body, checked through ?bodySHA256= in the URL
    if "url" not in vector and "url_requested" not in vector:
        assert hashlib.sha256(vector["body"].encode()).hexdigest() == vector["expected_body_sha256_hex"]
        return
    url = vector.get("url_requested") or vector["url"]
    signature = vector.get("expected_signature") or vector["header_signature"]
    assert twilio_signature_valid(url=url, params=params, signature=signature, auth_token=token)
    assert not twilio_signature_valid(url=url, params=params, signature=signature, auth_token=token + "x")
    assert not twilio_signature_valid(url=url + "&tampered=1", params=params, signature=signature, auth_token=token)
    if isinstance(params, QueryDict):
        tampered = params.copy()
        tampered.appendlist(next(iter(params)), "tampered")
        assert not twilio_signature_valid(url=url, params=tampered, signature=signature, auth_token=token)
    elif isinstance(params, dict):
        tampered = {**params, next(iter(params)): "tampered"}
        assert not twilio_signature_valid(url=url, params=tampered, signature=signature, auth_token=token)


@pytest.mark.django_db
@pytest.mark.parametrize("path", [SMS_URL, STATUS_URL])
@pytest.mark.parametrize("signature", [None, "", "RSOYDt4T1cUTdK1PDd93/VVr8B8=", "wrong"])
def test_unsigned_or_badly_signed_requests_are_refused_and_store_nothing(client, twilio, path, signature):
    response = post_signed(client, path, sms_params("SM" + "1" * 32, "Hello"), signature=signature)
    assert response.status_code == 403
    assert RawInbound.objects.count() == 0


@pytest.mark.django_db
def test_a_signature_made_with_another_token_is_refused(client, twilio):
    params = sms_params("SM" + "2" * 32, "Hello")
    signature = sign("http://testserver" + SMS_URL, params, token="someone-elses-token")
    assert post_signed(client, SMS_URL, params, signature=signature).status_code == 403


@pytest.mark.django_db
def test_a_changed_parameter_breaks_the_signature(client, twilio):
    params = sms_params("SM" + "3" * 32, "Hello")
    signature = sign("http://testserver" + SMS_URL, params)
    assert post_signed(client, SMS_URL, {**params, "Body": "Hello!"}, signature=signature).status_code == 403


@pytest.mark.django_db
def test_without_an_auth_token_everything_is_refused_with_a_log_line(client, twilio, settings, caplog):
    settings.TWILIO_AUTH_TOKEN = ""
    params = sms_params("SM" + "4" * 32, "Hello")
    with caplog.at_level(logging.ERROR):
        response = post_signed(client, SMS_URL, params, signature=sign("http://testserver" + SMS_URL, params, ""))
    assert response.status_code == 403
    assert "TWILIO_AUTH_TOKEN is not set" in caplog.text
    assert RawInbound.objects.count() == 0


@pytest.mark.django_db
def test_behind_a_proxy_the_public_base_url_is_what_twilio_signed(client, twilio, settings):
    params = sms_params("SM" + "5" * 32, "Hello from behind the proxy")
    public = "https://desk.example.com"
    assert post_signed(client, SMS_URL, params, base=public).status_code == 403  # Django sees http://testserver
    settings.TWILIO_WEBHOOK_BASE_URL = public + "/"
    response = post_signed(client, SMS_URL, params, base=public)
    assert response.status_code == 200
    assert RawInbound.objects.get().meta["url"] == public + SMS_URL


@pytest.mark.django_db
def test_the_query_string_is_part_of_what_is_signed(client, twilio):
    params = sms_params("SM" + "6" * 32, "Hello")
    path = SMS_URL + "?desk=main"
    assert post_signed(client, path, params).status_code == 200
    assert post_signed(client, path, params, signature=sign("http://testserver" + SMS_URL, params)).status_code == 403

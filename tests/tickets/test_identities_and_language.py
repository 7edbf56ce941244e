from __future__ import annotations

import pytest

from tests.factories import CustomerFactory, TicketFactory
from tickets.customer_messages import customer_language, ticket_received_text
from tickets.identities import InvalidIdentity, normalize


@pytest.mark.parametrize(
    ("kind", "raw", "expected"),
    [
        ("email", "Ana Souza <Ana.Souza@Example.COM>", "ana.souza@example.com"),
        ("email", "  bob@example.com ", "bob@example.com"),
        ("phone", "+1 (415) 555-0100", "+14155550100"),
        ("phone", "0044 20 7946 0000", "+442079460000"),
        ("whatsapp", "whatsapp:+5511912345678", "+5511912345678"),
        ("telegram", " 123456789 ", "123456789"),
    ],
)
def test_identities_are_normalised_so_one_sender_is_one_key(kind, raw, expected):
    assert normalize(kind, raw) == expected


@pytest.mark.parametrize(
    ("kind", "raw"), [("email", "no-at-sign"), ("email", ""), ("phone", "12"), ("chat", "  "), ("fax", "1")]
)
def test_values_that_identify_nobody_are_refused(kind, raw):
    with pytest.raises(InvalidIdentity):
        normalize(kind, raw)


@pytest.fixture(scope="module")
def catalogues():
    """The .mo files are built at install (make install); build them if this run has none."""
    from pathlib import Path

    from django.conf import settings
    from django.core.management import call_command
    from django.utils import translation

    if not list(Path(settings.LOCALE_PATHS[0]).glob("*/LC_MESSAGES/django.mo")):
        call_command("compile_translations", verbosity=0)
        translation.trans_real._translations = {}
        translation.trans_real._default = None


@pytest.mark.django_db
@pytest.mark.usefixtures("catalogues")
@pytest.mark.parametrize(
    ("language", "expected"),
    [
        ("pt-br", "Recebemos a sua solicitação"),
        ("ru", "Мы получили ваш запрос"),
        ("en", "We have received your request"),
        ("pt", "Recebemos a sua solicitação"),
        ("de", "We have received your request"),
    ],
)
def test_a_customer_is_answered_in_their_language(language, expected):
    ticket = TicketFactory(requester=_customer_with_raw_language(language), subject="Pedido")
    text = ticket_received_text(ticket)
    assert expected in text
    assert f"#{ticket.number}" in text


def _customer_with_raw_language(language):
    customer = CustomerFactory(name="Ana")
    type(customer).objects.filter(pk=customer.pk).update(language=language)
    customer.refresh_from_db()
    return customer


@pytest.mark.django_db
def test_customer_language_falls_back_sensibly():
    assert customer_language(_customer_with_raw_language("RU")) == "ru"
    assert customer_language(_customer_with_raw_language("")) == "en"

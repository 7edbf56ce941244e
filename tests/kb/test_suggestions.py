"""Suggestions as a customer types, in the agent composer, and deflection counting."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.urls import reverse
from django.utils import timezone

from kb.models import SuggestionOutcome, SuggestionShown
from kb.reports import deflection_stats
from kb.selectors import article_suggest
from kb.services import article_translation_save, suggestion_outcome_record, suggestion_shown_record
from tests.factories import TicketFactory, make_agent
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db
needs_postgres = pytest.mark.skipif(not django_settings.USES_POSTGRES, reason="stemming needs PostgreSQL")


@pytest.fixture
def library(make_article, agent):
    actor = Actor.agent(agent)
    invoice = make_article("download-invoice", "Download an invoice", "Every invoice is a PDF under Billing.")
    article_translation_save(
        article=invoice, language="ru", title="Как скачать счёт", body_markdown="Все счета лежат в разделе Оплата.",
        actor=actor,
    )  # fmt: skip
    article_translation_save(
        article=invoice, language="pt-br", title="Baixar uma fatura", body_markdown="Todas as faturas ficam em PDF.",
        actor=actor,
    )  # fmt: skip
    make_article("reset-password", "Reset your password", "Choose Forgot password on the sign-in page.")
    make_article("refund-overrides", "Invoice overrides", "Download invoice overrides.", visibility="internal")
    make_article("invoice-draft", "Download an invoice (new)", "Draft.", publish=False)
    return invoice


@needs_postgres
@pytest.mark.parametrize(
    ("language", "text", "title"),
    [
        ("en", "Hi, I can't download my invoices for March", "Download an invoice"),
        ("ru", "Не могу скачать счета за март", "Как скачать счёт"),
        ("pt-br", "Como baixar as faturas de março?", "Baixar uma fatura"),
        ("en", "forgot my password, cannot reset it", "Reset your password"),
    ],
)
def test_strong_matches_are_suggested_in_the_readers_language(library, language, text, title):
    assert [entry.title for entry in article_suggest(text, language)] == [title]


@needs_postgres
def test_weak_matches_internal_and_draft_articles_are_never_suggested(library):
    assert article_suggest("My parcel never arrived", "en") == []
    # One common word with a two-word title is not enough...
    assert article_suggest("the invoice address is wrong on my account", "en", min_score=0.5) == []
    # ...but the internal and draft articles about invoices never show, whatever the threshold.
    found = {entry.article.slug for entry in article_suggest("download invoice", "en", limit=10, min_score=0)}
    assert found == {"download-invoice"}


def test_the_web_form_gets_suggestions_as_json_and_showing_them_is_recorded_once(client, library):
    url = reverse("kb:suggest")
    assert client.get(url, {"q": "dow"}).json() == {"articles": []}  # too short to look up
    data = client.get(url, {"q": "download invoice", "lang": "en"}).json()
    assert [a["title"] for a in data["articles"]] == ["Download an invoice"]
    assert data["articles"][0]["url"].startswith("/help/suggest/open/download-invoice/")
    client.get(url, {"q": "download invoice please", "lang": "en"})  # same articles: not recorded again
    shown = SuggestionShown.objects.get()
    assert (shown.source, shown.article_ids, shown.query) == ("web_form", [library.pk], "download invoice")
    visitor = client.session["kb_visitor"]
    assert shown.visitor_key == visitor

    response = client.get(data["articles"][0]["url"])
    assert response.status_code == 302 and response["Location"] == "/help/a/download-invoice/?lang=en"
    assert client.post(reverse("kb:suggest_submitted")).status_code == 204
    outcomes = list(SuggestionOutcome.objects.order_by("created_at").values_list("visitor_key", "outcome"))
    assert outcomes == [(visitor, "opened"), (visitor, "submitted")]


def test_the_request_form_loads_the_suggestion_script(client):
    page = client.get("/support/").content.decode()
    assert 'id="kb-suggestions"' in page and "/static/kb/suggest.js" in page and 'data-url="/help/suggest/"' in page


def _history(visitor, shown_minutes_ago, events, source="web_form"):
    now = timezone.now()
    shown = suggestion_shown_record(source=source, visitor_key=visitor, articles=[], query="x")
    SuggestionShown.objects.filter(pk=shown.pk).update(created_at=now - timedelta(minutes=shown_minutes_ago))
    for outcome, minutes_ago in events:
        row = suggestion_outcome_record(source=source, visitor_key=visitor, outcome=outcome)
        SuggestionOutcome.objects.filter(pk=row.pk).update(created_at=now - timedelta(minutes=minutes_ago))


def test_deflection_is_counted_on_a_hand_built_history(settings):
    settings.KB_DEFLECTION_WINDOW_MINUTES = 30
    _history("deflected", 120, [("opened", 118)])  # read it, never wrote
    _history("wrote-anyway", 120, [("opened", 118), ("submitted", 100)])  # wrote 18 min after reading
    _history("wrote-much-later", 300, [("opened", 290), ("submitted", 200)])  # 90 min later: a new problem
    _history("never-opened", 120, [("submitted", 110)])
    _history("too-recent", 10, [("opened", 9)])  # the window is not over yet
    _history("chat:42", 60, [("resolved", 59)], source="chat")  # told the bot it helped
    _history("chat:43", 60, [("opened", 59), ("escalated", 50)], source="chat")
    stats = deflection_stats(since=timezone.now() - timedelta(days=1))
    assert stats.visitors_shown == 7
    assert stats.visitors_helped == 6
    assert stats.contacted_after == 2
    assert stats.undecided == 1
    assert stats.deflected == 3
    assert stats.by_source == {"web_form": 2, "chat": 1}
    assert stats.rate == 60  # 3 of the 5 decided


def test_the_chat_bot_can_record_with_articles_or_ids(library):
    shown = suggestion_shown_record(source="chat", visitor_key="chat:7", articles=[library, library.pk], query="q")
    assert shown.article_ids == [library.pk, library.pk]
    with pytest.raises(Exception, match="Unknown outcome"):
        suggestion_outcome_record(source="chat", visitor_key="chat:7", outcome="maybe")


@needs_postgres
def test_the_agent_composer_offers_matching_articles_to_insert(client, library):
    agent = make_agent("composer-agent", role="admin")
    ticket = TicketFactory(subject="Cannot download invoice")
    client.force_login(agent)
    page = client.get(reverse("agent:ticket", args=[ticket.number])).content.decode()
    assert "Insert link" in page
    link = f"[Download an invoice]({django_settings.SITE_URL}/help/a/download-invoice/?lang=en)"
    assert f'data-kb-insert="{link}"' in page
    assert "Invoice overrides" not in page  # internal articles are never offered for a customer reply


def test_suggest_endpoint_answers_json_without_recording_for_agents(client, library, agent):
    client.force_login(agent)
    data = json.loads(client.get(reverse("kb:suggest"), {"q": "download invoice"}).content)
    assert isinstance(data["articles"], list)
    assert not SuggestionShown.objects.exists()


def test_a_request_sent_without_javascript_still_counts_against_deflection(client, library, settings):
    """The form's beacon needs JavaScript; the portal also records the submission on the server,
    so a reader who opened a suggestion and then sent the form is not counted as deflected."""
    from tests.portal.test_portal import form_data

    data = client.get(reverse("kb:suggest"), {"q": "download invoice", "lang": "en"}).json()
    client.get(data["articles"][0]["url"])
    visitor = client.session["kb_visitor"]
    assert client.post("/support/", form_data(subject="Invoice still missing")).status_code == 302
    outcomes = list(SuggestionOutcome.objects.order_by("created_at").values_list("visitor_key", "outcome"))
    assert outcomes == [(visitor, "opened"), (visitor, "submitted")]
    stats = deflection_stats(since=timezone.now() - timedelta(hours=1), now=timezone.now() + timedelta(hours=2))
    assert (stats.visitors_helped, stats.contacted_after, stats.deflected) == (1, 1, 0)

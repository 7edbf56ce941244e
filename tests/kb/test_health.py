"""KB health: stale, unhelpful and "followed by a request" articles; content gaps."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from kb.models import Article, ArticleFeedback, ArticleView, SearchLog, SuggestionOutcome
from kb.reports import (
    followed_by_ticket_articles,
    gaps_from_searches,
    gaps_from_tickets,
    stale_articles,
    unhelpful_articles,
)
from tests.factories import TicketFactory, make_agent

pytestmark = pytest.mark.django_db
AGO = timezone.now() - timedelta(days=30)


def _ago(**kwargs):
    return timezone.now() - timedelta(**kwargs)


def test_articles_not_reviewed_for_n_days_are_stale_until_marked_reviewed(client, make_article, settings):
    settings.KB_STALE_DAYS = 90
    old = make_article("old", "Old article", "Text.")
    make_article("fresh", "Fresh article", "Text.")
    Article.objects.filter(pk=old.pk).update(reviewed_at=_ago(days=120), published_at=_ago(days=400))
    assert [a.slug for a in stale_articles()] == ["old"]
    client.force_login(make_agent("kb-lead"))
    assert "Old article" in client.get(reverse("kb:staff_health")).content.decode()
    client.post(reverse("kb:staff_article_reviewed", args=[old.pk]))
    assert stale_articles() == []


def test_unhelpful_needs_enough_votes_and_a_high_share_of_no(make_article, settings):
    settings.KB_UNHELPFUL_MIN_VOTES, settings.KB_UNHELPFUL_RATIO = 4, 0.5
    bad = make_article("bad", "Bad", "Text.")
    few = make_article("few", "Few votes", "Text.")
    good = make_article("good", "Good", "Text.")
    votes = [(bad, [False, False, False, True]), (few, [False, False]), (good, [True, True, True, False])]
    for article, answers in votes:
        for i, helpful in enumerate(answers):
            ArticleFeedback.objects.create(article=article, language="en", helpful=helpful, session_key=f"s{i}")
    assert [(a.slug, votes, no) for a, votes, no in unhelpful_articles()] == [("bad", 4, 3)]


def test_articles_often_followed_by_a_request(make_article, settings):
    settings.KB_DEFLECTION_WINDOW_MINUTES = 30
    confusing = make_article("confusing", "Confusing", "Text.")
    clear = make_article("clear", "Clear", "Text.")
    for i in range(4):
        ArticleView.objects.create(article=confusing, visitor_key=f"v{i}", created_at=_ago(hours=2))
        ArticleView.objects.create(article=clear, visitor_key=f"w{i}", created_at=_ago(hours=2))
    for i in range(3):  # three readers of "confusing" wrote to us 10 minutes after reading
        SuggestionOutcome.objects.create(
            source="web_form",
            visitor_key=f"v{i}",
            outcome="submitted",
            created_at=_ago(hours=2) + timedelta(minutes=10),
        )
    # A reader of "clear" wrote a day later: not because of the article.
    SuggestionOutcome.objects.create(
        source="web_form", visitor_key="w0", outcome="submitted", created_at=_ago(minutes=1)
    )
    found = followed_by_ticket_articles(since=_ago(days=1), min_count=3)
    assert [(a.slug, readers, followed) for a, readers, followed in found] == [("confusing", 4, 3)]


def test_content_gaps_from_searches_that_often_find_nothing():
    for query, times in (("warranty", 3), ("gift card", 1)):
        for _ in range(times):
            SearchLog.objects.create(query=query, language="en", results=0)
    SearchLog.objects.create(query="invoice", language="en", results=2)
    assert [(row["query"], row["n"]) for row in gaps_from_searches(since=_ago(days=1), min_count=2)] == [
        ("warranty", 3)
    ]


def test_content_gaps_from_clusters_of_tickets_no_article_answers(make_article, client):
    make_article("download-invoice", "Download an invoice", "Every invoice is a PDF under Billing.")
    for subject in ("Warranty for my headphones", "Warranty claim", "Is the warranty 2 years?"):
        TicketFactory(subject=subject)
    for subject in ("Cannot download invoice", "Download invoice", "Where to download my invoice"):
        TicketFactory(subject=subject)
    TicketFactory(subject="Gift card balance")  # alone: not a cluster
    old = TicketFactory(subject="Warranty old")
    type(old).objects.filter(pk=old.pk).update(created_at=_ago(days=90))
    gaps = gaps_from_tickets(since=_ago(days=30), min_count=3)
    assert [(gap.keyword, gap.tickets) for gap in gaps] == [("warranty", 3)]
    assert "Warranty claim" in gaps[0].examples

    client.force_login(make_agent("kb-lead"))
    page = client.get(reverse("kb:staff_health")).content.decode()
    assert "<strong>warranty</strong>" in page


def test_the_health_page_costs_a_bounded_number_of_queries(client, make_article, django_assert_max_num_queries):
    for i in range(5):
        make_article(f"a{i}", f"Article {i}", "Text.")
        TicketFactory(subject=f"Topic{i} question")
    Article.objects.update(reviewed_at=_ago(days=400), published_at=_ago(days=400))
    client.force_login(make_agent("kb-lead"))
    with django_assert_max_num_queries(30):
        page = client.get(reverse("kb:staff_health")).content.decode()
    assert page.count("Mark reviewed") == 5

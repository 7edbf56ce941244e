"""KB API beyond articles: categories (read) and versions (read; restore for editors)."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from apitokens.services import api_token_create, scopes_for
from kb.models import ArticleVersion, ArticleVisibility
from kb.services import article_translation_save
from tests.factories import CustomerFactory, make_agent, make_customer_user
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db


def _client(user):
    client = APIClient()
    _token, key = api_token_create(user=user, scopes=scopes_for("write"))
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def articles(make_article, agent):
    public = make_article("refunds", "Refunds", "How refunds work.")
    make_article("overrides", "Refund overrides", "Staff only.", visibility=ArticleVisibility.INTERNAL)
    article_translation_save(
        article=public, language="en", title="Refunds", body_markdown="How refunds work now.", actor=Actor.agent(agent)
    )
    return public


def test_categories_count_only_the_articles_the_caller_may_read(articles, billing, django_assert_max_num_queries):
    customer = _client(make_customer_user(CustomerFactory(), "cust"))
    agent = _client(make_agent("reader"))
    body = customer.get("/api/v1/kb/categories/").json()
    (row,) = body["results"]
    assert (row["slug"], row["article_count"], [s["slug"] for s in row["sections"]]) == ("billing", 1, ["invoices"])
    assert agent.get(f"/api/v1/kb/categories/{billing.pk}/").json()["article_count"] == 2
    with django_assert_max_num_queries(8):
        assert agent.get("/api/v1/kb/categories/").status_code == 200


def test_versions_are_for_agents_and_restoring_needs_the_editor_permission(articles):
    assert _client(make_customer_user(CustomerFactory(), "cust")).get("/api/v1/kb/versions/").status_code == 403
    agent = _client(make_agent("plain-agent"))
    body = agent.get("/api/v1/kb/versions/", {"article": articles.pk}).json()
    assert [(v["number"], v["is_current"]) for v in body["results"]] == [(2, True), (1, False)]
    first = ArticleVersion.objects.get(translation__article=articles, number=1)
    assert agent.post(f"/api/v1/kb/versions/{first.pk}/restore/").status_code == 403

    editor = _client(make_agent("editor", role="admin"))
    response = editor.post(f"/api/v1/kb/versions/{first.pk}/restore/")
    assert response.status_code == 201, response.content
    assert (response.json()["number"], response.json()["body_markdown"]) == (3, "How refunds work.")
    articles.refresh_from_db()
    assert articles.translations.get().body_markdown == "How refunds work."

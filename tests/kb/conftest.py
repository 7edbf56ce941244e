from __future__ import annotations

import pytest

from kb.models import Category, Section
from kb.services import article_create, article_publish
from tests.factories import make_agent
from tickets.services.events import Actor


@pytest.fixture
def agent(db):
    return make_agent("kb-writer")


@pytest.fixture
def billing(db):
    category = Category.objects.create(name="Billing", slug="billing", translated_names={"ru": "Оплата"})
    Section.objects.create(category=category, name="Invoices", slug="invoices")
    return category


@pytest.fixture
def make_article(agent, billing):
    def make(slug, title, body, *, publish=True, language="en", **kwargs):
        article = article_create(
            slug=slug,
            category=billing,
            title=title,
            body_markdown=body,
            language=language,
            actor=Actor.agent(agent),
            **kwargs,
        )
        if publish:
            article_publish(article=article, actor=Actor.agent(agent))
        article.refresh_from_db()
        return article

    return make

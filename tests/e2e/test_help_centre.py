"""A visitor opens the help centre, searches, reads an article and says it helped."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from channels_inbox.webform.adapter import register_web_adapter
from kb.models import (
    Article,
    ArticleFeedback,
    Category,
    SearchClick,
    SearchLog,
    Section,
    SuggestionOutcome,
    SuggestionShown,
)
from kb.services import article_create, article_publish, article_translation_save
from tests.factories import make_agent
from tickets.services.events import Actor

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture
def help_centre():
    actor = Actor.agent(make_agent("kb-editor"))
    account = Category.objects.create(name="Account", slug="account", description="Sign-in, profile and security.")
    billing = Category.objects.create(name="Billing", slug="billing", description="Plans, invoices and refunds.")
    security = Section.objects.create(category=account, name="Security", slug="security")
    texts = [
        (
            account,
            security,
            "two-factor",
            "Turn on two-factor sign-in",
            "Protect your account with a one-time code.\n\n## Steps\n\n1. Open **Profile → Security**.\n"
            "2. Scan the QR code with an authenticator app.\n3. Type the six-digit code to confirm.\n\n"
            "> Keep the recovery codes somewhere safe.",
            ["security"],
        ),
        (
            account,
            None,
            "change-email",
            "Change your email address",
            "Open **Profile**, edit the address and confirm it from the message we send.",
            ["profile"],
        ),
        (
            billing,
            None,
            "download-invoice",
            "Download an invoice",
            "Every invoice is under **Billing → Invoices** as a PDF.\n\n| Plan | Billed |\n|---|---|\n"
            "| Monthly | each month |\n| Yearly | once a year |",
            ["invoices"],
        ),
    ]
    for category, section, slug, title, body, tags in texts:
        article = article_create(
            slug=slug, category=category, section=section, title=title, body_markdown=body, tags=tags, actor=actor
        )
        article_publish(article=article, actor=actor)
    article_translation_save(
        article=article,
        language="ru",
        title="Как скачать счёт",
        body_markdown="Все счета лежат в разделе **Оплата → Счета** в формате PDF.",
        actor=actor,
    )
    article_translation_save(
        article=article,
        language="pt-br",
        title="Baixar uma fatura",
        body_markdown="Todas as faturas ficam em **Cobrança → Faturas** em PDF.",
        actor=actor,
    )


def test_visitor_searches_reads_and_votes(page, screenshot, help_centre):
    page.goto("/help/")
    expect(page).to_have_title("Help centre")
    expect(page.get_by_role("heading", name="How can we help?")).to_be_visible()
    expect(page.get_by_role("link", name="Billing")).to_be_visible()
    screenshot("help-home")

    page.get_by_label("Search the help centre").fill("authenticator code")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("status")).to_contain_text("1 article found")
    result = page.get_by_role("link", name="Turn on two-factor sign-in")
    expect(result).to_be_visible()
    screenshot("help-search-results")

    result.click()
    expect(page).to_have_title("Turn on two-factor sign-in · Help centre")
    expect(page.get_by_role("navigation", name="Breadcrumbs")).to_contain_text("Account")
    expect(page.get_by_role("heading", name="Steps")).to_be_visible()
    expect(page.get_by_role("link", name="Change your email address")).to_be_visible()  # related
    screenshot("help-article")

    page.get_by_role("button", name="Yes").click()
    expect(page.get_by_text("Thanks for your feedback!")).to_be_visible()
    feedback = ArticleFeedback.objects.get()
    assert (feedback.article.slug, feedback.helpful) == ("two-factor", True)


def test_article_in_russian(page, screenshot, help_centre):
    page.goto("/help/a/download-invoice/?lang=ru")
    expect(page.get_by_role("heading", name="Как скачать счёт")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "ru")
    screenshot("help-article-ru")


@pytest.mark.parametrize(
    ("language", "heading", "title"),
    [
        ("en", "How can we help?", "Download an invoice"),
        ("pt-br", "Como podemos ajudar?", "Baixar uma fatura"),
        ("ru", "Чем мы можем помочь?", "Как скачать счёт"),
    ],
)
def test_help_centre_and_article_in_three_languages_at_phone_width(
    page, screenshot, help_centre, language, heading, title
):
    page.goto(f"/help/?lang={language}")
    expect(page.locator("html")).to_have_attribute("lang", language)
    expect(page.get_by_role("heading", name=heading)).to_be_visible()
    screenshot(f"help-home-{language}")
    page.goto(f"/help/a/download-invoice/?lang={language}")
    expect(page.get_by_role("heading", name=title)).to_be_visible()
    screenshot(f"help-article-{language}")
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(f"help-article-{language}-phone")


def test_searches_and_clicks_are_recorded(page, help_centre):
    page.goto("/help/")
    page.get_by_label("Search the help centre").fill("invoice")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="Download an invoice").click()
    expect(page).to_have_url(re.compile(r"/help/a/download-invoice/"))
    assert list(SearchLog.objects.values_list("query", "results")) == [("invoice", 1)]
    assert SearchClick.objects.get().article.slug == "download-invoice"


def test_the_web_form_suggests_articles_as_the_customer_types(page, screenshot, help_centre):
    register_web_adapter()
    page.goto("/support/")
    page.get_by_label("Subject").fill("Where can I download my invoice?")
    suggestion = page.locator("#kb-suggestions").get_by_role("link", name="Download an invoice")
    expect(suggestion).to_be_visible()
    screenshot("portal-form-suggestions")
    with page.context.expect_page() as opened:
        suggestion.click()
    article = opened.value
    expect(article.get_by_role("heading", name="Download an invoice")).to_be_visible()
    article.close()
    shown = SuggestionShown.objects.get()
    assert shown.source == "web_form"
    assert SuggestionOutcome.objects.get().outcome == "opened"
    page.set_viewport_size({"width": 375, "height": 812})
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot("portal-form-suggestions-phone")


def test_staff_see_search_analytics_and_kb_health(page, screenshot, help_centre):
    for query in ("invoice", "invoice", "warranty", "warranty", "warranty"):
        SearchLog.objects.create(query=query, language="en", results=0 if query == "warranty" else 1)
    Article.objects.filter(slug="change-email").update(reviewed_at=timezone.now() - timedelta(days=400))
    make_agent("kb-lead", role="admin")
    page.goto("/agent/login/")
    page.get_by_label("Username").fill("kb-lead")
    page.get_by_label("Password").fill("pw-for-tests-1")
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/agent/"))
    page.goto("/help/staff/analytics/")
    expect(page.get_by_role("heading", name="Help centre search and suggestions")).to_be_visible()
    expect(page.locator("[data-kpi=searches]")).to_have_text("5")
    screenshot("kb-staff-analytics")
    page.get_by_role("link", name="KB health").click()
    expect(page.get_by_role("heading", name="KB health", exact=True)).to_be_visible()
    expect(page.get_by_role("heading", name="Content gaps")).to_be_visible()
    expect(page.get_by_role("link", name="Change your email address")).to_be_visible()  # stale
    expect(page.get_by_text("“warranty”")).to_be_visible()  # searched 3 times, found nothing
    screenshot("kb-staff-health")

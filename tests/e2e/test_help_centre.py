"""A visitor opens the help centre, searches, reads an article and says it helped."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from kb.models import ArticleFeedback, Category, Section
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

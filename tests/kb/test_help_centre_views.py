import pytest

from kb.models import ArticleFeedback, ArticleVisibility
from kb.services import article_translation_save
from tickets.services.events import Actor

pytestmark = [pytest.mark.django_db]


def test_public_reader_sees_published_articles_with_title_and_description(client, make_article):
    make_article("change-plan", "Change your plan", "Go to **Billing** and pick a plan.", summary="Switch plans.")
    home = client.get("/help/")
    assert home.status_code == 200
    assert "Change your plan" in home.content.decode() and "Billing" in home.content.decode()
    page = client.get("/help/a/change-plan/").content.decode()
    assert "<title>Change your plan · Help centre</title>" in page
    assert '<meta name="description" content="Switch plans.">' in page
    assert "<strong>Billing</strong>" in page
    assert 'href="/help/c/billing/?lang=en"' in page  # breadcrumb


@pytest.mark.parametrize("kind", ["draft", "internal"])
def test_drafts_and_internal_articles_are_404_for_the_public_but_visible_to_agents(client, make_article, agent, kind):
    if kind == "draft":
        make_article("secret", "Unreleased feature", "Coming soon.", publish=False)
    else:
        make_article("secret", "Escalation runbook", "Call the on-call.", visibility=ArticleVisibility.INTERNAL)
    assert client.get("/help/a/secret/").status_code == 404
    assert "secret" not in client.get("/help/").content.decode()
    client.force_login(agent)
    response = client.get("/help/a/secret/")
    assert response.status_code == 200
    assert "Internal" in response.content.decode() or "Draft" in response.content.decode()


def test_language_follows_lang_parameter_then_browser_and_falls_back_to_english(client, make_article, agent):
    article = make_article("invoices", "Download invoices", "Invoices are in Billing.")
    article_translation_save(
        article=article,
        language="ru",
        title="Скачать счета",
        body_markdown="Счета находятся в разделе Оплата.",
        actor=Actor.agent(agent),
    )
    make_article("refunds", "Refunds", "Refunds take five days.")

    ru = client.get("/help/a/invoices/?lang=ru").content.decode()
    assert '<html lang="ru">' in ru and "Скачать счета" in ru
    assert 'hreflang="en"' in ru and 'hreflang="pt-br"' not in ru  # only the translations that exist
    browser_ru = client.get("/help/a/invoices/", HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9").content.decode()
    assert "Скачать счета" in browser_ru
    fallback = client.get("/help/a/refunds/?lang=pt-br").content.decode()
    assert "Refunds take five days." in fallback
    assert "here it is in English" in fallback or "inglês" in fallback
    home_ru = client.get("/help/?lang=ru").content.decode()
    assert "Оплата" in home_ru  # the category's Russian name


def test_feedback_is_recorded_once_per_session(client, make_article):
    article = make_article("two-factor", "Two-factor login", "Use an authenticator app.")
    first = client.post("/help/a/two-factor/feedback/", {"helpful": "yes", "comment": "Clear", "lang": "en"})
    assert first.status_code == 302
    client.post("/help/a/two-factor/feedback/", {"helpful": "no"})
    feedback = ArticleFeedback.objects.get(article=article)
    assert (feedback.helpful, feedback.comment) == (True, "Clear")
    assert "Thanks for your feedback" in client.get("/help/a/two-factor/").content.decode()
    other = client.__class__()
    other.post("/help/a/two-factor/feedback/", {"helpful": "no"})
    assert ArticleFeedback.objects.filter(article=article).count() == 2


def test_feedback_on_hidden_article_is_404(client, make_article):
    make_article("hidden", "Hidden", "Text", publish=False)
    assert client.post("/help/a/hidden/feedback/", {"helpful": "yes"}).status_code == 404
    assert not ArticleFeedback.objects.exists()


def test_related_articles_share_tags(client, make_article):
    make_article("sso-setup", "Set up single sign-on", "SAML steps.", tags=["sso", "security"])
    make_article("sso-errors", "Single sign-on errors", "Common SAML errors.", tags=["sso"])
    page = client.get("/help/a/sso-setup/").content.decode()
    assert "Related articles" in page and "Single sign-on errors" in page


def test_home_query_count_does_not_grow_with_articles(client, make_article, django_assert_max_num_queries):
    for n in range(12):
        make_article(f"article-{n}", f"Article {n}", "Body text")
    with django_assert_max_num_queries(6):
        assert client.get("/help/").status_code == 200

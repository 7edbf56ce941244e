import pytest
from django.conf import settings

from kb.models import ArticleVisibility
from kb.selectors import article_search
from kb.services import article_translation_save
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db
needs_postgres = pytest.mark.skipif(not settings.USES_POSTGRES, reason="full-text search runs on PostgreSQL")


@pytest.fixture
def library(make_article, agent):
    actor = Actor.agent(agent)
    shipping = make_article("shipping", "Shipping times", "Parcels are delivered by courier within three days.")
    article_translation_save(
        article=shipping,
        language="pt-br",
        title="Prazos de entrega",
        body_markdown="As encomendas são entregues pelos correios em três dias úteis.",
        actor=actor,
    )
    article_translation_save(
        article=shipping,
        language="ru",
        title="Сроки доставки",
        body_markdown="Посылки доставляются курьером за три дня.",
        actor=actor,
    )
    make_article("returns", "Returning an item", "Print the label and drop the parcel at a post office.")
    make_article("staff-only", "Courier contract", "Our courier account number.", visibility=ArticleVisibility.INTERNAL)
    return shipping


@needs_postgres
@pytest.mark.parametrize(
    ("language", "query", "title"),
    [
        ("en", "delivering couriers", "Shipping times"),  # English stemming: delivering ~ delivered
        ("pt-br", "encomenda correio", "Prazos de entrega"),  # plural forms in the body
        ("ru", "курьер", "Сроки доставки"),  # Russian stemming: курьер ~ курьером
    ],
)
def test_search_finds_words_in_the_body_in_each_language(library, language, query, title):
    results = article_search(query=query, user=None, language=language)
    assert [r.title for r in results] == [title]
    assert "<mark>" in results[0].snippet


@needs_postgres
def test_search_ranks_title_matches_first_and_falls_back_to_english(library):
    results = article_search(query="parcel", user=None, language="en")
    assert {r.title for r in results} == {"Shipping times", "Returning an item"}
    # An article not translated into Portuguese is still found by its English text.
    fallback = article_search(query="label", user=None, language="pt-br")
    assert [(r.title, r.translation.language) for r in fallback] == [("Returning an item", "en")]


@needs_postgres
def test_search_hides_internal_articles_from_the_public_but_not_agents(library, agent):
    assert article_search(query="contract", user=None, language="en") == []
    assert [r.title for r in article_search(query="contract", user=agent, language="en")] == ["Courier contract"]


def test_search_page_escapes_the_query_and_shows_results(client, library):
    page = client.get("/help/search/", {"q": "parcel <script>"}).content.decode()
    assert "<script>" not in page.split("<body")[1]
    page = client.get("/help/search/", {"q": "courier"}).content.decode()
    assert "Shipping times" in page and "Courier contract" not in page

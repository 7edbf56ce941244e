"""Search analytics: what readers search, what finds nothing, what they click; the staff page."""

from __future__ import annotations

import pytest
from django.urls import reverse

from kb.models import SearchClick, SearchLog
from tests.factories import CustomerFactory, make_agent, make_customer_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def library(make_article):
    make_article("shipping", "Shipping times", "Parcels are delivered by courier within three days.")
    make_article("returns", "Returning an item", "Print the label and drop the parcel at a post office.")


def test_searches_are_recorded_normalised_with_their_result_counts(client, library):
    client.get("/help/search/", {"q": "  Parcel?? "})
    client.get("/help/search/", {"q": "warranty claim", "lang": "ru"})
    rows = list(SearchLog.objects.order_by("id").values_list("query", "language", "results"))
    assert rows == [("parcel", "en", 2), ("warranty claim", "ru", 0)]
    assert SearchLog.objects.first().visitor_key == client.session["kb_visitor"]


def test_agents_searches_are_not_counted(client, library, agent):
    client.force_login(agent)
    client.get("/help/search/", {"q": "parcel"})
    assert not SearchLog.objects.exists()


def test_a_click_on_a_result_is_counted_and_leads_to_the_article(client, library):
    page = client.get("/help/search/", {"q": "courier"}).content.decode()
    search = SearchLog.objects.get()
    link = f"/help/r/{search.pk}/1/shipping/?lang=en"
    assert f'href="{link}"' in page
    response = client.get(link)
    assert response.status_code == 302 and response["Location"] == "/help/a/shipping/?lang=en"
    click = SearchClick.objects.get()
    assert (click.search, click.article.slug, click.position) == (search, "shipping", 1)
    # Someone else's search id (another browser) does not count as their click.
    from django.test import Client

    Client().get(link)
    assert SearchClick.objects.count() == 1


def test_staff_page_lists_top_and_empty_searches_and_click_through(client, library, django_assert_max_num_queries):
    for _ in range(3):
        client.get("/help/search/", {"q": "parcel"})
    search = SearchLog.objects.first()
    client.get(f"/help/r/{search.pk}/2/returns/")
    for _ in range(2):
        client.get("/help/search/", {"q": "warranty"})
    client.force_login(make_agent("kb-lead"))
    with django_assert_max_num_queries(12):
        page = client.get(reverse("kb:staff_analytics")).content.decode()
    assert 'data-kpi="searches">5<' in page
    assert 'data-kpi="no-result">2<' in page
    assert 'data-kpi="click-through">33 %<' in page  # 1 of 3 searches with results was clicked
    top = page.split("Top searches")[1].split("Searches that found nothing")[0]
    assert top.index("parcel") < top.index("warranty")
    assert "<td>warranty</td><td>2</td>" in page.split("Searches that found nothing")[1]


def test_the_staff_pages_are_for_agents_only(client):
    assert "login" in client.get(reverse("kb:staff_analytics"))["Location"]
    client.force_login(make_customer_user(CustomerFactory(), "cust"))
    assert client.get(reverse("kb:staff_analytics")).status_code == 403
    assert client.get(reverse("kb:staff_health")).status_code == 403

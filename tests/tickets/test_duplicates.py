"""Likely duplicate customers: the pairs an agent is shown, with the reason, and who may see them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.factories import CustomerFactory, IdentityFactory, OrganizationFactory, make_agent
from tickets.duplicates import customer_duplicate_list

pytestmark = [pytest.mark.django_db]


@pytest.fixture
def agent():
    return make_agent("dupe-agent")


def test_the_same_number_on_sms_and_whatsapp_is_a_likely_duplicate(agent):
    sms = CustomerFactory(name="Ana")
    IdentityFactory(customer=sms, kind="phone", value="+5511912345678")
    whatsapp = CustomerFactory(name="Ana S.")
    IdentityFactory(customer=whatsapp, kind="whatsapp", value="+5511912345678")
    IdentityFactory(customer=CustomerFactory(), kind="whatsapp", value="+5511900000000")  # nobody else's

    [pair] = customer_duplicate_list(user=agent)
    assert (pair.kept, pair.other) == (sms, whatsapp)  # the older customer is the one to keep
    assert pair.reasons == ["Same phone number +5511912345678"]


def test_same_email_name_and_person_name_at_other_domains(agent):
    work = CustomerFactory(name="Bruno Reis")
    IdentityFactory(customer=work, kind="email", value="bruno.reis@acme.example")
    home = CustomerFactory(name="bruno reis ")
    IdentityFactory(customer=home, kind="email", value="bruno.reis@mail.example")
    namesake = CustomerFactory(name="Carla Reis")  # same local part, another person
    IdentityFactory(customer=namesake, kind="email", value="bruno.reis@other.example")

    [pair] = customer_duplicate_list(user=agent)
    assert (pair.kept, pair.other) == (work, home)
    assert pair.reasons == ["Same name and email name “bruno.reis@” at different domains"]


def test_same_name_in_the_same_organization_and_all_reasons_on_one_pair(agent):
    acme, other = OrganizationFactory(name="Acme"), OrganizationFactory(name="Other")
    first = CustomerFactory(name="Dana Lee", organization=acme)
    second = CustomerFactory(name="Dana Lee", organization=acme)
    third = CustomerFactory(name="Dana Lee", organization=acme)
    CustomerFactory(name="Dana Lee", organization=other)
    CustomerFactory(name="Dana Lee", organization=None)
    IdentityFactory(customer=first, kind="phone", value="+14155550100")
    IdentityFactory(customer=second, kind="whatsapp", value="+14155550100")

    pairs = customer_duplicate_list(user=agent)
    assert [(p.kept, p.other) for p in pairs] == [(first, second), (first, third)]
    assert pairs[0].reasons == ["Same phone number +14155550100", "Same name in the same organization"]
    assert pairs[1].reasons == ["Same name in the same organization"]


def test_the_page_lists_pairs_with_links_to_review_the_merge(client, agent, django_assert_max_num_queries):
    client.force_login(agent)
    acme = OrganizationFactory(name="Acme")
    pairs = []
    for n in range(8):
        kept = CustomerFactory(name=f"Person {n}", organization=acme)
        other = CustomerFactory(name=f"Person {n}", organization=acme)
        IdentityFactory(customer=kept, kind="phone", value=f"+1415555010{n}")
        IdentityFactory(customer=other, kind="whatsapp", value=f"+1415555010{n}")
        pairs.append((kept, other))
    with django_assert_max_num_queries(14):
        response = client.get(reverse("agent:customer_duplicates"))
    html = response.content.decode()
    assert response.status_code == 200
    for kept, other in pairs:
        assert f"/agent/customers/{kept.pk}/merge/?source={other.pk}" in html
    assert "Same name in the same organization" in html


def test_the_page_says_when_there_is_nothing_to_merge(client, agent):
    client.force_login(agent)
    CustomerFactory(name="Only One")
    assert "No likely duplicates found." in client.get(reverse("agent:customer_duplicates")).content.decode()


def test_only_agents_who_may_see_customers(client):
    url = reverse("agent:customer_duplicates")
    assert client.get(url).status_code == 302  # signed out: to the sign-in page
    allowed = make_agent("may-see-customers", role="light_agent")
    client.force_login(allowed)
    assert client.get(url).status_code == 200
    no_role = make_agent("no-role-left")
    no_role.groups.clear()  # an agent whose role was taken away: no permission to see customers
    client.force_login(no_role)
    assert client.get(url).status_code == 403

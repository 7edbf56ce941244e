"""Macros, SLA policies, business hours, knowledge base articles, surveys and metrics through
the API, with each role's permissions."""

from __future__ import annotations

import datetime as dt
import secrets

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from kb.models import Article, ArticleStatus, ArticleVisibility, Category
from kb.services import article_create, article_publish
from metrics.models import Survey
from tests.api.conftest import assert_error
from tests.factories import TicketFactory, make_agent, make_customer_user
from tickets.models import Event, Macro, SlaPolicy, Ticket
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "url",
    [
        "/api/v1/macros/",
        "/api/v1/sla-policies/",
        "/api/v1/business-hours/",
        "/api/v1/kb/articles/",
        "/api/v1/surveys/",
        "/api/v1/metrics/",
    ],
)
def test_anonymous_callers_get_401_everywhere(url):
    assert_error(APIClient().get(url), 401, "not_authenticated")


@pytest.mark.parametrize(
    "url", ["/api/v1/macros/", "/api/v1/sla-policies/", "/api/v1/business-hours/", "/api/v1/surveys/"]
)
def test_customer_logins_cannot_read_desk_settings_or_surveys(desk, client_for, url):
    assert_error(client_for(make_customer_user(desk["ana"], "ana")).get(url), 403, "permission_denied")


# --- Macros ----------------------------------------------------------------------------------------


def test_agents_see_the_macros_available_to_them_and_cannot_write(desk, client_for):
    Macro.objects.create(name="Everyone")
    Macro.objects.create(name="Billing only", team=desk["billing"])
    Macro.objects.create(name="Tech only", team=desk["tech"])
    Macro.objects.create(name="Retired", is_active=False)
    agent = client_for(desk["alice"])
    assert [m["name"] for m in agent.get("/api/v1/macros/").json()["results"]] == ["Billing only", "Everyone"]
    assert [m["name"] for m in agent.get("/api/v1/macros/", {"shared": "true"}).json()["results"]] == ["Everyone"]
    assert_error(agent.post("/api/v1/macros/", {"name": "x"}, format="json"), 403, "permission_denied")
    assert client_for(desk["lena"]).get("/api/v1/macros/").status_code == 200
    manager = client_for(desk["mona"]).get("/api/v1/macros/", {"ordering": "-name"}).json()["results"]
    assert [m["name"] for m in manager] == ["Tech only", "Retired", "Everyone", "Billing only"]


def test_managers_create_change_and_delete_macros(desk, client_for):
    client = client_for(desk["mona"])
    created = client.post(
        "/api/v1/macros/",
        {
            "name": "Refund issued",
            "body": "Hello {{ customer.name }}",
            "actions": [{"field": "status", "value": "solved"}, {"field": "add_tags", "value": ["refund"]}],
            "team": desk["billing"].pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.content
    macro = Macro.objects.get(pk=created.json()["id"])
    assert macro.created_by == desk["mona"] and macro.actions[1] == {"field": "add_tags", "value": ["refund"]}
    changed = client.patch(f"/api/v1/macros/{macro.pk}/", {"is_active": False}, format="json")
    assert changed.status_code == 200 and changed.json()["is_active"] is False
    assert Event.objects.filter(object_type="macro", object_id=macro.pk, field="is_active").exists()
    bad = client.post("/api/v1/macros/", {"name": "x", "actions": [{"field": "subject", "value": "y"}]}, format="json")
    assert_error(bad, 400, "invalid", "actions")
    assert client.delete(f"/api/v1/macros/{macro.pk}/").status_code == 204
    assert not Macro.objects.filter(pk=macro.pk).exists()
    assert Event.objects.filter(object_type="macro", object_id=macro.pk, verb="deleted").exists()


# --- SLA policies and business hours ----------------------------------------------------------------


POLICY = {
    "name": "Everyone",
    "targets": [{"metric": "first_response", "minutes": 60, "business_hours": False}],
}


def test_managers_write_sla_policies_and_open_tickets_get_the_new_deadline(
    desk, client_for, django_capture_on_commit_callbacks
):
    ticket = desk["tickets"]["billing"]
    client = client_for(desk["mona"])
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post("/api/v1/sla-policies/", POLICY, format="json")
    assert created.status_code == 201, created.content
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == ticket.created_at + dt.timedelta(minutes=60)
    policy_url = f"/api/v1/sla-policies/{created.json()['id']}/"
    with django_capture_on_commit_callbacks(execute=True):
        changed = client.patch(
            policy_url,
            {"targets": [{"metric": "first_response", "minutes": 120, "business_hours": False}]},
            format="json",
        )
    assert changed.status_code == 200, changed.content
    assert changed.json()["targets"] == [
        {"metric": "first_response", "priority": "", "minutes": 120, "business_hours": False}
    ]
    ticket.refresh_from_db()
    assert ticket.first_response_due_at == ticket.created_at + dt.timedelta(minutes=120)
    assert client_for(desk["alice"]).get(policy_url).json()["name"] == "Everyone"
    assert Event.objects.filter(object_type="slapolicy", verb="targets_set").exists()


def test_sla_policy_input_is_checked(desk, client_for):
    client = client_for(desk["mona"])
    bad_priority = client.post("/api/v1/sla-policies/", {"name": "X", "priorities": ["soon"]}, format="json")
    assert_error(bad_priority, 400, "invalid", "priorities")
    twice = {"name": "Y", "targets": [{"metric": "resolution", "minutes": 5}, {"metric": "resolution", "minutes": 9}]}
    assert_error(client.post("/api/v1/sla-policies/", twice, format="json"), 400, "invalid", "a second target")
    client.post("/api/v1/sla-policies/", POLICY, format="json")
    assert_error(client.post("/api/v1/sla-policies/", POLICY, format="json"), 400, "invalid", "name")
    assert SlaPolicy.objects.count() == 1


def test_agents_read_sla_settings_but_only_managers_write(desk, client_for):
    agent = client_for(desk["alice"])
    assert agent.get("/api/v1/sla-policies/").status_code == 200
    assert_error(agent.post("/api/v1/sla-policies/", POLICY, format="json"), 403, "permission_denied")
    assert_error(agent.post("/api/v1/business-hours/", {"name": "x"}, format="json"), 403, "permission_denied")


def test_business_hours_with_intervals_and_holidays_validated_by_the_model(desk, client_for):
    client = client_for(desk["mona"])
    payload = {
        "name": "Berlin",
        "time_zone": "Europe/Berlin",
        "holiday_country": "de",
        "intervals": [{"weekday": 0, "start_time": "09:00", "end_time": "17:00"}],
        "holidays": [{"date": "2026-12-24", "name": "Christmas Eve"}],
    }
    created = client.post("/api/v1/business-hours/", payload, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["holiday_country"] == "DE"
    assert body["intervals"] == [{"weekday": 0, "start_time": "09:00:00", "end_time": "17:00:00"}]
    assert body["holidays"] == [{"date": "2026-12-24", "name": "Christmas Eve"}]
    wrong_zone = client.patch(f"/api/v1/business-hours/{body['id']}/", {"time_zone": "Mars/Olympus"}, format="json")
    assert_error(wrong_zone, 400, "invalid", "Mars/Olympus is not an IANA time zone")
    no_country = client.post("/api/v1/business-hours/", {"name": "Z", "holiday_country": "XX"}, format="json")
    assert_error(no_country, 400, "invalid", "holiday_country")
    listed = client_for(desk["alice"]).get("/api/v1/business-hours/", {"name": "berl"}).json()["results"]
    assert [c["name"] for c in listed] == ["Berlin"]


# --- Knowledge base -------------------------------------------------------------------------------


@pytest.fixture
def articles(desk):
    category = Category.objects.create(name="Account", slug="account")
    actor = Actor.system()
    public = article_create(slug="reset", category=category, title="Reset", body_markdown="**do it**", actor=actor)
    article_publish(article=public, actor=actor)
    internal = article_create(
        slug="refund-policy",
        category=category,
        title="Refunds",
        body_markdown="x",
        actor=actor,
        visibility=ArticleVisibility.INTERNAL,
    )
    article_publish(article=internal, actor=actor)
    draft = article_create(slug="draft", category=category, title="Draft", body_markdown="y", actor=actor)
    return {"category": category, "public": public, "internal": internal, "draft": draft}


def test_customers_see_public_published_articles_agents_see_all(desk, client_for, articles):
    customer = client_for(make_customer_user(desk["ana"], "ana"))
    assert [a["slug"] for a in customer.get("/api/v1/kb/articles/").json()["results"]] == ["reset"]
    assert_error(customer.get(f"/api/v1/kb/articles/{articles['internal'].pk}/"), 404, "not_found")
    agent = client_for(desk["lena"])
    assert {a["slug"] for a in agent.get("/api/v1/kb/articles/").json()["results"]} == {
        "reset",
        "refund-policy",
        "draft",
    }
    internal = agent.get("/api/v1/kb/articles/", {"visibility": "internal"}).json()["results"]
    assert [a["slug"] for a in internal] == ["refund-policy"]
    body = agent.get(f"/api/v1/kb/articles/{articles['public'].pk}/").json()
    assert body["translations"][0]["body_html"].strip() == "<p><strong>do it</strong></p>"


def test_writing_articles_takes_the_kb_editors_permission(desk, client_for, articles):
    payload = {"slug": "new", "category": articles["category"].pk, "title": "New", "body_markdown": "z"}
    assert_error(
        client_for(desk["alice"]).post("/api/v1/kb/articles/", payload, format="json"), 403, "permission_denied"
    )
    # Managers edit the knowledge base (their role holds the kb permissions).
    by_manager = client_for(desk["mona"]).post("/api/v1/kb/articles/", {**payload, "slug": "by-mona"}, format="json")
    assert by_manager.status_code == 201, by_manager.content
    admin = client_for(make_agent("root", role="admin"))
    created = admin.post("/api/v1/kb/articles/", {**payload, "status": "published"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "published" and created.json()["translations"][0]["title"] == "New"
    url = f"/api/v1/kb/articles/{created.json()['id']}/"
    translated = admin.patch(url, {"language": "pt-br", "title": "Novo", "body_markdown": "z"}, format="json")
    assert translated.status_code == 200, translated.content
    assert {t["language"] for t in translated.json()["translations"]} == {"en", "pt-br"}
    unpublished = admin.patch(url, {"status": "draft"}, format="json")
    assert unpublished.json()["status"] == "draft"
    assert Article.objects.get(slug="new").status == ArticleStatus.DRAFT
    assert_error(admin.post("/api/v1/kb/articles/", payload, format="json"), 400, "invalid", "slug")
    assert_error(client_for(desk["alice"]).patch(url, {"status": "published"}, format="json"), 403, "permission_denied")


# --- Surveys and metrics -----------------------------------------------------------------------------


def _survey(ticket, agent=None, score=None, channel="email"):
    return Survey.objects.create(
        ticket=ticket,
        customer=ticket.requester,
        kind="csat",
        key=secrets.token_hex(16),
        channel=channel,
        agent=agent,
        team=ticket.team,
        score=score,
        answered_at=timezone.now() if score else None,
    )


def test_survey_responses_are_listed_with_filters_and_visibility(desk, client_for):
    t = desk["tickets"]
    answered = _survey(t["billing"], agent=desk["alice"], score=5)
    _survey(t["no_team"], channel="chat")
    _survey(t["tech"], score=2)
    agent = client_for(desk["alice"])
    assert {s["id"] for s in agent.get("/api/v1/surveys/").json()["results"]} == {
        answered.pk,
        Survey.objects.get(ticket=t["no_team"]).pk,
    }
    only = agent.get("/api/v1/surveys/", {"answered": "true", "agent": desk["alice"].pk}).json()["results"]
    assert [(s["ticket"], s["score"]) for s in only] == [(t["billing"].number, 5)]
    assert "key" not in only[0]
    manager = client_for(desk["mona"])
    assert len(manager.get("/api/v1/surveys/").json()["results"]) == 3
    assert [s["channel"] for s in manager.get("/api/v1/surveys/", {"channel": "chat"}).json()["results"]] == ["chat"]
    by_team = manager.get("/api/v1/surveys/", {"team": desk["tech"].pk, "ticket": t["tech"].number}).json()
    assert [s["score"] for s in by_team["results"]] == [2]
    assert_error(manager.post("/api/v1/surveys/", {}, format="json"), 405, "method_not_allowed")


def test_metrics_for_managers_with_a_date_range(desk, client_for):
    today = timezone.localdate()
    Ticket.objects.filter(pk=desk["tickets"]["tech"].pk).update(created_at=timezone.now() - dt.timedelta(days=90))
    TicketFactory(team=desk["billing"], channel="chat")
    client = client_for(desk["mona"])
    response = client.get("/api/v1/metrics/", {"date_from": str(today - dt.timedelta(days=6)), "date_to": str(today)})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["summary"]["created"] == 3
    assert {r["channel"]: r["count"] for r in body["volume_by_channel"]} == {"email": 2, "chat": 1}
    assert len(body["daily"]) == 7 and sum(d["created"] for d in body["daily"]) == 3
    billing = client.get("/api/v1/metrics/", {"team": desk["billing"].pk}).json()
    assert billing["summary"]["created"] == 2 and billing["filters"]["team"] == desk["billing"].pk
    backwards = client.get("/api/v1/metrics/", {"date_from": str(today), "date_to": str(today - dt.timedelta(days=1))})
    assert_error(backwards, 400, "invalid", "starts after it ends")
    assert_error(client_for(desk["alice"]).get("/api/v1/metrics/"), 403, "permission_denied")

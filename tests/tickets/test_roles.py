"""Roles live on Django groups: changing an agent's role changes what they may do."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from tests.factories import TeamFactory, TicketFactory, make_agent
from tickets.models import Event
from tickets.roles import ROLE_GROUP_NAMES
from tickets.selectors import ticket_list
from tickets.services.agents import agent_set_role
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db


def test_the_four_role_groups_exist_after_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= set(ROLE_GROUP_NAMES.values())
    assert Group.objects.get(name="Light agent").permissions.filter(codename="reply_publicly").count() == 0
    assert Group.objects.get(name="Agent").permissions.filter(codename="reply_publicly").count() == 1


def test_an_agent_is_in_exactly_the_group_of_their_role():
    user = make_agent("alice")
    assert list(user.groups.values_list("name", flat=True)) == ["Agent"]
    assert not user.is_staff and not user.is_superuser


def test_promoting_an_agent_to_manager_widens_what_they_see_and_is_audited():
    other = TeamFactory()
    TicketFactory(team=other)
    user = make_agent("bob", teams=[])
    assert ticket_list(user=user).count() == 0

    agent_set_role(user=user, role="manager", actor=Actor.system())
    user = get_user_model().objects.get(pk=user.pk)

    assert list(user.groups.values_list("name", flat=True)) == ["Manager"]
    assert user.is_staff and user.has_perm("tickets.view_all_tickets")
    assert ticket_list(user=user).count() == 1
    event = Event.objects.get(object_type="agentprofile", field="role")
    assert (event.old_value, event.new_value) == ("agent", "manager")


def test_admins_are_superusers_for_the_admin_site():
    user = make_agent("root", role="admin")
    assert user.is_superuser and user.is_staff


def test_an_unknown_role_is_refused():
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="Unknown role"):
        agent_set_role(user=make_agent("c"), role="overlord", actor=Actor.system())


def test_managers_edit_the_knowledge_base_and_portal_access_in_the_admin_agents_do_not(client):
    from django.urls import reverse

    manager = make_agent("kbm", role="manager")
    agent = make_agent("kba", role="agent")
    for perm in ("kb.change_article", "kb.add_article", "kb.delete_category", "portal.change_organizationportalaccess"):
        assert manager.has_perm(perm), perm
        assert not agent.has_perm(perm), perm

    assert client.login(username="kbm", password="pw-for-tests-1")
    assert client.get(reverse("admin:kb_article_changelist")).status_code == 200
    assert client.get(reverse("admin:kb_article_add")).status_code == 200
    assert client.get(reverse("admin:portal_organizationportalaccess_changelist")).status_code == 200
    # Agents and managers do not get the admin's user or token screens.
    assert client.get(reverse("admin:auth_user_changelist")).status_code == 403

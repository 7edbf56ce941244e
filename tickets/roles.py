"""Agent roles on Django's groups and permissions.

Each role is a group of the same name holding the permissions below; an agent's
`AgentProfile.role` decides which one group they are in (tickets.services.agents).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

from .models import AgentRole

_TICKET_WORK = [
    "tickets.view_ticket",
    "tickets.change_ticket",
    "tickets.add_ticket",
    "tickets.reply_publicly",
    "tickets.view_message",
    "tickets.add_message",
    "tickets.view_attachment",
    "tickets.view_customer",
    "tickets.add_customer",
    "tickets.change_customer",
    "tickets.view_identity",
    "tickets.add_identity",
    "tickets.view_organization",
    "tickets.view_tag",
    "tickets.add_tag",
    "tickets.view_macro",
    "tickets.view_team",
    "tickets.view_event",
]

_MANAGEMENT = [
    "tickets.view_all_tickets",
    "tickets.merge_ticket",
    "tickets.delete_ticket",
    "tickets.add_organization",
    "tickets.change_organization",
    "tickets.add_organizationdomain",
    "tickets.change_organizationdomain",
    "tickets.delete_organizationdomain",
    "tickets.view_organizationdomain",
    "tickets.add_macro",
    "tickets.change_macro",
    "tickets.delete_macro",
    "tickets.add_team",
    "tickets.change_team",
    "tickets.change_tag",
    "tickets.delete_tag",
    "tickets.view_agentprofile",
    "tickets.view_customfield",
    "tickets.view_rawinbound",
    # SLA: managers keep the promises, so they edit calendars and policies.
    *[
        f"tickets.{action}_{model}"
        for model in ("slapolicy", "slatarget", "businesscalendar", "businessinterval", "businessholiday")
        for action in ("view", "add", "change", "delete")
    ],
    "tickets.view_slaclock",
    "tickets.view_slaledgerentry",
    # Knowledge base: managers own the help centre's content (articles, their translations,
    # versions and files, categories, sections, tags) in the admin.
    *[
        f"kb.{action}_{model}"
        for model in ("category", "section", "kbtag", "article", "articletranslation", "articleattachment")
        for action in ("view", "add", "change", "delete")
    ],
    "kb.view_articleversion",
    "kb.view_articlefeedback",
    # Customer portal: which organizations' members see their colleagues' requests.
    *[f"portal.{action}_organizationportalaccess" for action in ("view", "add", "change", "delete")],
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    # Light agents see tickets and write internal notes, but cannot answer customers.
    AgentRole.LIGHT_AGENT: [
        "tickets.view_ticket",
        "tickets.view_message",
        "tickets.add_message",
        "tickets.view_attachment",
        "tickets.view_customer",
        "tickets.view_identity",
        "tickets.view_organization",
        "tickets.view_tag",
        "tickets.view_team",
        "tickets.view_event",
    ],
    AgentRole.AGENT: _TICKET_WORK + ["tickets.merge_ticket"],
    AgentRole.MANAGER: _TICKET_WORK + _MANAGEMENT,
    # Admins are also Django superusers for the admin site (see agent_create).
    AgentRole.ADMIN: _TICKET_WORK
    + _MANAGEMENT
    + [
        "tickets.add_customfield",
        "tickets.change_customfield",
        "tickets.delete_customfield",
        "tickets.add_agentprofile",
        "tickets.change_agentprofile",
        "tickets.change_rawinbound",
    ],
}


# Group names are fixed English words, not translated labels, so they never change with the
# interface language.
ROLE_GROUP_NAMES: dict[str, str] = {
    AgentRole.ADMIN: "Admin",
    AgentRole.MANAGER: "Manager",
    AgentRole.AGENT: "Agent",
    AgentRole.LIGHT_AGENT: "Light agent",
}


def role_group_name(role: str) -> str:
    return ROLE_GROUP_NAMES[role]


# Apps whose permissions the roles hand out.
ROLE_APPS = ("tickets", "kb", "portal")


def role_groups_sync() -> None:
    """Create the four role groups and give each exactly its role's permissions."""
    from django.apps import apps
    from django.contrib.auth.management import create_permissions

    # post_migrate runs app by app; make sure the other apps' permissions exist already.
    for label in ROLE_APPS:
        create_permissions(apps.get_app_config(label), verbosity=0)
    wanted = {code for codes in ROLE_PERMISSIONS.values() for code in codes}
    by_code: dict[str, Permission] = {}
    for perm in Permission.objects.filter(content_type__app_label__in=ROLE_APPS).select_related("content_type"):
        by_code[f"{perm.content_type.app_label}.{perm.codename}"] = perm
    missing = wanted - set(by_code)
    if missing:  # pragma: no cover - only when a permission is renamed without updating roles
        raise RuntimeError(f"Role permissions not found: {sorted(missing)}")
    for role, codes in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.get_or_create(name=role_group_name(role))
        group.permissions.set([by_code[c] for c in codes])


def role_groups_sync_handler(sender: Any, **kwargs: Any) -> None:
    role_groups_sync()

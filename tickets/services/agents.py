"""Agents: people who work tickets, and the role that decides what they may do."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser, Group
from django.core.exceptions import ValidationError
from django.db import transaction

from ..models import AgentProfile, AgentRole, Team
from ..roles import ROLE_GROUP_NAMES, role_group_name, role_groups_sync
from .events import Actor, event_record


def _role_group(role: str) -> Group:
    group = Group.objects.filter(name=role_group_name(role)).first()
    if group is None:
        role_groups_sync()
        group = Group.objects.get(name=role_group_name(role))
    return group


def _apply_role(user: AbstractUser, role: str) -> None:
    user.groups.remove(*Group.objects.filter(name__in=ROLE_GROUP_NAMES.values()))
    user.groups.add(_role_group(role))
    # Admins manage everything in the admin site; managers use it for their settings.
    user.is_staff = role in (AgentRole.ADMIN, AgentRole.MANAGER)
    user.is_superuser = role == AgentRole.ADMIN
    user.save(update_fields=["is_staff", "is_superuser"])


def agent_create(
    *,
    username: str,
    email: str,
    role: str,
    actor: Actor,
    password: str | None = None,
    first_name: str = "",
    last_name: str = "",
    teams: Iterable[Team] = (),
    language: str = "en",
) -> AbstractUser:
    if role not in AgentRole.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(AgentRole.values)}.")
    User = get_user_model()
    with transaction.atomic():
        user = User.objects.create_user(
            username=username, email=email, password=password, first_name=first_name, last_name=last_name
        )
        profile = AgentProfile.objects.create(user=user, role=role, language=language)
        profile.teams.set(list(teams))
        _apply_role(user, role)
        event_record(obj=profile, verb="created", new={"username": username, "role": role}, actor=actor)
    return user


def agent_set_role(*, user: AbstractUser, role: str, actor: Actor) -> AgentProfile:
    if role not in AgentRole.values:
        raise ValidationError(f"Unknown role {role!r}; choose one of {', '.join(AgentRole.values)}.")
    with transaction.atomic():
        profile = AgentProfile.objects.select_for_update().get(user=user)
        old = profile.role
        profile.role = role
        profile.save(update_fields=["role"])
        _apply_role(user, role)
        # Permissions are cached on the user object; make the next check see the new role.
        for cache in ("_perm_cache", "_user_perm_cache", "_group_perm_cache"):
            user.__dict__.pop(cache, None)
        if old != role:
            event_record(obj=profile, verb="changed", field="role", old=old, new=role, actor=actor)
    return profile

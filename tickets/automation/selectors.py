"""Reads of triggers, automations and notifications."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet

from .models import Automation, Notification, Trigger


def trigger_list() -> QuerySet[Trigger]:
    return Trigger.objects.select_related("created_by").order_by("position", "id")


def automation_list() -> QuerySet[Automation]:
    return Automation.objects.select_related("created_by").order_by("position", "id")


def notification_list(*, user: AbstractBaseUser) -> QuerySet[Notification]:
    """The user's own notifications, newest first, with their tickets."""
    return Notification.objects.filter(user=user).select_related("ticket").order_by("-created_at", "-id")


def notification_unread_count(*, user: AbstractBaseUser) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()

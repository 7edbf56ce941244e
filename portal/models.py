"""Portal settings kept per organization: whether its people see each other's requests."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Customer, Organization


class OrganizationPortalAccess(models.Model):
    """Who in an organization sees the organization's requests in the portal, besides their own.

    With `share_tickets` every customer of the organization sees (and may answer) every request
    of the organization; without it only the customers listed in `managers` do. A manager who
    moves to another organization loses the access at once: the check is made against the
    customer's current organization. Customers of an organization without this row see only
    their own requests."""

    organization = models.OneToOneField(
        Organization, verbose_name=_("organization"), on_delete=models.CASCADE, related_name="portal_access"
    )
    share_tickets = models.BooleanField(
        _("members see all the organization's requests"),
        default=False,
        help_text=_("Every customer of the organization sees and may answer its requests in the portal."),
    )
    managers = models.ManyToManyField(
        Customer,
        verbose_name=_("organization managers"),
        blank=True,
        related_name="portal_managed_access",
        help_text=_("These customers see all the organization's requests even when members do not."),
    )
    updated_at = models.DateTimeField(_("updated"), default=timezone.now)

    class Meta:
        verbose_name = _("organization portal access")
        verbose_name_plural = _("organization portal access")

    def __str__(self) -> str:
        return str(self.organization)

    def clean_managers(self, managers) -> None:
        strangers = [str(c) for c in managers if c.organization_id != self.organization_id]
        if strangers:
            raise ValidationError(_("Not customers of this organization: %(names)s.") % {"names": ", ".join(strangers)})

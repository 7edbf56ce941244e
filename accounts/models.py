"""Sign-in failures (for the lockout) and the consent ledger."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tickets.models import Customer


class LoginFailure(models.Model):
    """One failed sign-in (a wrong password or a wrong second-factor code) for a username from
    an address. Enough recent rows for the pair lock it (accounts.services.lockout)."""

    username = models.CharField(_("username"), max_length=150)
    ip_address = models.CharField(_("address"), max_length=45)
    stage = models.CharField(_("stage"), max_length=10, default="password")
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-at"]
        verbose_name = _("failed sign-in")
        verbose_name_plural = _("failed sign-ins")
        indexes = [models.Index(fields=["username", "ip_address", "at"], name="loginfailure_pair_at")]

    def __str__(self) -> str:
        return f"{self.username} from {self.ip_address} at {self.at:%Y-%m-%d %H:%M}"


class ConsentChannel(models.TextChoices):
    EMAIL = "email", _("Email")
    SMS = "sms", _("SMS")
    WHATSAPP = "whatsapp", _("WhatsApp")
    MARKETING = "marketing", _("Marketing")


class ConsentRecord(models.Model):
    """The ledger of consent: every time a customer's permission to be contacted on a channel
    was granted or withdrawn, by what and when. Rows are never changed, only added."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consent_records")
    channel = models.CharField(_("channel"), max_length=20, choices=ConsentChannel.choices)
    granted = models.BooleanField(_("granted"))
    source = models.CharField(_("source"), max_length=40, help_text=_("sms_keyword, agent, api, customer, system"))
    evidence = models.JSONField(_("evidence"), default=dict, blank=True)
    actor_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    event_id = models.BigIntegerField(_("audit event"), null=True, blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("consent record")
        verbose_name_plural = _("consent records")
        indexes = [models.Index(fields=["customer", "channel", "at"], name="consent_customer_channel_at")]

    def __str__(self) -> str:
        state = "granted" if self.granted else "withdrawn"
        return f"{self.customer_id} {self.channel} {state} ({self.source})"


class PrivacyCustomer(Customer):
    """The customer list in the admin with the privacy actions (export, erase)."""

    class Meta:
        proxy = True
        verbose_name = _("customer (privacy requests)")
        verbose_name_plural = _("customers (privacy requests)")

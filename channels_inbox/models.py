"""Channel configuration: the email mailboxes the help desk reads and sends from."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .email.credentials import credential_decrypt, credential_encrypt


class AfterImport(models.TextChoices):
    MARK_SEEN = "seen", _("Mark as read")
    MOVE = "move", _("Move to a folder")


class Mailbox(models.Model):
    """One support address: where its mail is fetched (IMAP) and how replies leave (SMTP).

    Passwords are stored encrypted (see channels_inbox.email.credentials) and the inbound
    token for POST /inbound/email/ only as a SHA-256 hash."""

    address = models.EmailField(_("address"), unique=True, help_text=_("e.g. support@example.com"))
    display_name = models.CharField(_("display name"), max_length=200, blank=True, help_text=_("e.g. Acme Support"))
    default_team = models.ForeignKey(
        "tickets.Team",
        verbose_name=_("default team"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text=_("New tickets from this mailbox go to this team."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    is_default = models.BooleanField(
        _("default mailbox"),
        default=False,
        help_text=_("Sends email on tickets that did not arrive through a mailbox (web form, API, ...)."),
    )
    acknowledge_new_tickets = models.BooleanField(
        _("acknowledge new tickets"),
        default=True,
        help_text=_("Send the customer an automatic acknowledgement with the ticket number."),
    )

    imap_host = models.CharField(_("IMAP host"), max_length=255, blank=True, help_text=_("Empty: no polling."))
    imap_port = models.PositiveIntegerField(_("IMAP port"), default=993)
    imap_ssl = models.BooleanField(_("IMAP over SSL/TLS"), default=True)
    imap_username = models.CharField(_("IMAP user name"), max_length=255, blank=True)
    imap_password_encrypted = models.TextField(_("IMAP password (encrypted)"), blank=True, editable=False)
    imap_folder = models.CharField(_("IMAP folder"), max_length=255, default="INBOX")
    after_import = models.CharField(
        _("after import"), max_length=10, choices=AfterImport.choices, default=AfterImport.MARK_SEEN
    )
    after_import_folder = models.CharField(
        _("move to folder"), max_length=255, blank=True, help_text=_("Used when imported mail is moved.")
    )

    smtp_host = models.CharField(_("SMTP host"), max_length=255, blank=True)
    smtp_port = models.PositiveIntegerField(_("SMTP port"), default=587)
    smtp_starttls = models.BooleanField(_("SMTP STARTTLS"), default=True)
    smtp_ssl = models.BooleanField(_("SMTP over SSL/TLS"), default=False)
    smtp_username = models.CharField(_("SMTP user name"), max_length=255, blank=True)
    smtp_password_encrypted = models.TextField(_("SMTP password (encrypted)"), blank=True, editable=False)

    inbound_token_hash = models.CharField(
        _("inbound token hash"), max_length=64, blank=True, editable=False, db_index=True
    )
    inbound_token_created_at = models.DateTimeField(_("inbound token created"), null=True, blank=True, editable=False)

    imap_uid_validity = models.BigIntegerField(_("IMAP UIDVALIDITY"), null=True, blank=True, editable=False)
    imap_last_uid = models.BigIntegerField(_("highest IMAP UID imported"), default=0, editable=False)
    last_polled_at = models.DateTimeField(_("last polled"), null=True, blank=True, editable=False)
    last_error = models.TextField(_("last error"), blank=True, editable=False)
    last_error_at = models.DateTimeField(_("last error at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), default=timezone.now, editable=False)

    class Meta:
        ordering = ["address"]
        verbose_name = _("mailbox")
        verbose_name_plural = _("mailboxes")
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=Q(is_default=True), name="mailbox_one_default"),
            models.CheckConstraint(
                condition=Q(after_import="seen") | ~Q(after_import_folder=""), name="mailbox_move_needs_folder"
            ),
            models.CheckConstraint(condition=Q(smtp_ssl=False) | Q(smtp_starttls=False), name="mailbox_smtp_one_tls"),
        ]

    def __str__(self) -> str:
        return f"{self.display_name} <{self.address}>" if self.display_name else self.address

    @property
    def imap_password(self) -> str:
        return credential_decrypt(self.imap_password_encrypted)

    @imap_password.setter
    def imap_password(self, value: str) -> None:
        self.imap_password_encrypted = credential_encrypt(value)

    @property
    def smtp_password(self) -> str:
        return credential_decrypt(self.smtp_password_encrypted)

    @smtp_password.setter
    def smtp_password(self, value: str) -> None:
        self.smtp_password_encrypted = credential_encrypt(value)

    @property
    def domain(self) -> str:
        return self.address.rpartition("@")[2].lower()

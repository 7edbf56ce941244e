from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = _("Accounts, security and privacy")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from tickets.models import Event

        from .receivers import consent_from_event

        post_save.connect(consent_from_event, sender=Event, dispatch_uid="accounts.consent_from_event")

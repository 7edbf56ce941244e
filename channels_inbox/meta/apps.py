from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MetaConfig(AppConfig):
    """Holds the WhatsApp message templates (the adapters register from channels_inbox)."""

    name = "channels_inbox.meta"
    label = "channels_meta"
    verbose_name = _("WhatsApp, Messenger and Instagram")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.views.ticket_page import composer_provider_register

        from .composer import whatsapp_composer_context

        composer_provider_register(whatsapp_composer_context)

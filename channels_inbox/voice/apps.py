from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    name = "channels_inbox.voice"
    label = "channels_voice"
    verbose_name = _("Phone calls")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.views.ticket_page import composer_provider_register

        from ..twilio.composer import sms_composer_context
        from .adapter import register_voice_adapter
        from .composer import call_composer_context

        register_voice_adapter()
        composer_provider_register(sms_composer_context)
        composer_provider_register(call_composer_context)

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VoiceConfig(AppConfig):
    name = "channels_inbox.voice"
    label = "channels_voice"
    verbose_name = _("Phone calls")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .adapter import register_voice_adapter

        register_voice_adapter()

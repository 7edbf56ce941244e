from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class ChannelsInboxConfig(AppConfig):
    name = "channels_inbox"
    verbose_name = _("Channels")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        # Each channel registers its adapter (and through it its outbound sender) once.
        from .email.acknowledgement import connect_email_signals
        from .email.adapter import register_email_adapter
        from .meta.messenger import register_instagram_adapter, register_messenger_adapter
        from .meta.whatsapp import register_whatsapp_adapter
        from .telegram.adapter import register_telegram_adapter
        from .twilio.adapter import register_sms_adapter
        from .webform.adapter import register_web_adapter

        register_email_adapter()
        register_telegram_adapter()
        register_sms_adapter()
        register_web_adapter()
        register_whatsapp_adapter()
        register_messenger_adapter()
        register_instagram_adapter()
        connect_email_signals()

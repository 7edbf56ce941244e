from django.apps import AppConfig
from django.db.models.signals import post_delete, post_save
from django.utils.translation import gettext_lazy as _


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = _("Webhooks")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from tickets.models import Event

        from .models import WebhookSubscription
        from .receivers import event_saved, subscription_changed

        # Infrastructure only: every audit Event may become webhook deliveries, after commit.
        post_save.connect(event_saved, sender=Event, dispatch_uid="webhooks.event_saved")
        # ... when some subscription is active (cached; see receivers.subscriptions_active).
        post_save.connect(subscription_changed, sender=WebhookSubscription, dispatch_uid="webhooks.sub_saved")
        post_delete.connect(subscription_changed, sender=WebhookSubscription, dispatch_uid="webhooks.sub_deleted")

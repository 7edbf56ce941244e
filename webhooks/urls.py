"""/api/v1/webhooks/ routes (include under that prefix with the namespace "webhooks")."""

from rest_framework.routers import SimpleRouter

from . import api

app_name = "webhooks"

router = SimpleRouter()
router.register("subscriptions", api.WebhookSubscriptionViewSet, basename="subscription")
router.register(
    r"subscriptions/(?P<subscription_pk>[0-9]+)/deliveries", api.WebhookDeliveryViewSet, basename="delivery"
)

urlpatterns = router.urls

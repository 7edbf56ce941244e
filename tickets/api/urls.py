"""/api/v1/ routes (included by helpdesk.urls under the namespace "api")."""

from rest_framework.routers import SimpleRouter

from . import views

app_name = "api"

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register(r"tickets/(?P<ticket_number>[0-9]+)/messages", views.TicketMessageViewSet, basename="ticket-message")
router.register(r"tickets/(?P<ticket_number>[0-9]+)/events", views.TicketEventViewSet, basename="ticket-event")
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("teams", views.TeamViewSet, basename="team")
router.register("tags", views.TagViewSet, basename="tag")
router.register("agents", views.AgentViewSet, basename="agent")

urlpatterns = router.urls

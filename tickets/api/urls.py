"""/api/v1/ routes (included by helpdesk.urls under the namespace "api")."""

from rest_framework.routers import SimpleRouter

from kb import api as kb_api
from tickets.automation import api as automation_api
from tickets.routing import api as routing_api

from . import resources, views

app_name = "api"

router = SimpleRouter()
router.register("tickets", views.TicketViewSet, basename="ticket")
router.register(r"tickets/(?P<ticket_number>[0-9]+)/messages", views.TicketMessageViewSet, basename="ticket-message")
router.register(r"tickets/(?P<ticket_number>[0-9]+)/events", views.TicketEventViewSet, basename="ticket-event")
router.register(
    r"tickets/(?P<ticket_number>[0-9]+)/attachments", views.TicketAttachmentViewSet, basename="ticket-attachment"
)
router.register("customers", views.CustomerViewSet, basename="customer")
router.register("organizations", views.OrganizationViewSet, basename="organization")
router.register("teams", views.TeamViewSet, basename="team")
router.register("tags", views.TagViewSet, basename="tag")
router.register("agents", views.AgentViewSet, basename="agent")
router.register("macros", resources.MacroViewSet, basename="macro")
router.register("sla-policies", resources.SlaPolicyViewSet, basename="sla-policy")
router.register("business-hours", resources.BusinessCalendarViewSet, basename="business-calendar")
router.register("kb/articles", resources.ArticleViewSet, basename="kb-article")
router.register("kb/categories", kb_api.CategoryViewSet, basename="kb-category")
router.register("kb/versions", kb_api.ArticleVersionViewSet, basename="kb-version")
router.register("surveys", resources.SurveyViewSet, basename="survey")
router.register("metrics", resources.MetricsViewSet, basename="metrics")
router.register("triggers", automation_api.TriggerViewSet, basename="trigger")
router.register("automations", automation_api.AutomationViewSet, basename="automation")
router.register("rule-webhook-targets", automation_api.WebhookTargetViewSet, basename="rule-webhook-target")
router.register("routing-rules", routing_api.RoutingRuleViewSet, basename="routing-rule")
router.register("team-assignments", routing_api.TeamAssignmentViewSet, basename="team-assignment")

urlpatterns = router.urls

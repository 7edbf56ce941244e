"""OpenAPI pieces for drf-spectacular: the token auth scheme, the error responses, the
Idempotency-Key header and examples for the ticket endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse

from .serializers import ErrorSerializer


class TokenAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "tickets.api.authentication.TokenAuthentication"
    name = "TokenAuth"

    def get_security_definition(self, auto_schema: Any) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>`. Create a key with `python manage.py create_api_token USERNAME` "
            "or in the admin; a read-only token (scope `read`) can only use GET.",
        }


def _error(description: str, code: str, message: str, fields: dict[str, list[str]] | None = None) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description=description,
        examples=[OpenApiExample(code, value={"error": {"code": code, "message": message, "fields": fields or {}}})],
    )


ERRORS = {
    400: _error(
        "The input is not valid",
        "invalid",
        "Some fields are not valid: subject.",
        {"subject": ["This field is required."]},
    ),
    401: _error("No, invalid, expired or revoked token", "authentication_failed", "Invalid API token."),
    403: _error(
        "Your role or token scope does not allow this", "permission_denied", "Your role cannot change tickets."
    ),
    404: _error("Not found, or not yours to see", "not_found", "No such ticket."),
    429: _error(
        "Too many requests; see the Retry-After header", "throttled", "Too many requests; try again in 12 seconds."
    ),
}

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Any unique string (a UUID). Retrying with the same key within 24 hours returns the "
    "first response (header `Idempotent-Replayed: true`) and creates nothing twice.",
)

_TICKET = {
    "number": 1042,
    "subject": "Order 5531 arrived damaged",
    "status": "open",
    "priority": "high",
    "type": "incident",
    "channel": "api",
    "language": "en",
    "requester": {"id": 17, "name": "Ana Souza"},
    "organization": {"id": 3, "name": "Acme Ltd"},
    "team": {"id": 2, "name": "Billing"},
    "assignee": {"id": 5, "username": "alice", "name": "Alice Agent"},
    "tags": ["damaged", "vip"],
    "custom_fields": {"order_id": "5531"},
    "first_response_due_at": "2025-03-04T10:00:00Z",
    "next_response_due_at": None,
    "resolution_due_at": "2025-03-05T09:00:00Z",
    "first_responded_at": None,
    "last_customer_message_at": "2025-03-04T09:00:00Z",
    "last_agent_message_at": None,
    "solved_at": None,
    "closed_at": None,
    "merged_into": None,
    "follow_up_of": None,
    "created_at": "2025-03-04T09:00:00Z",
    "updated_at": "2025-03-04T09:05:00Z",
}

TICKET_EXAMPLE = OpenApiExample("A ticket", value=_TICKET, response_only=True)

TICKET_CREATE_EXAMPLES = [
    OpenApiExample(
        "New customer by email, with their message",
        value={
            "requester_identity": {"kind": "email", "value": "ana@example.com", "name": "Ana Souza"},
            "subject": "Order 5531 arrived damaged",
            "comment": "The box was crushed and the mug is broken.",
            "priority": "high",
            "tags": ["damaged"],
        },
        request_only=True,
    ),
    OpenApiExample(
        "Existing customer, assigned to a team",
        value={"requester": 17, "subject": "Callback requested", "team": 2, "type": "task"},
        request_only=True,
    ),
    OpenApiExample("Created", value=_TICKET, response_only=True, status_codes=["201"]),
]

TICKET_UPDATE_EXAMPLES = [
    OpenApiExample("Solve", value={"status": "solved"}, request_only=True),
    OpenApiExample("Assign and tag", value={"assignee": 5, "team": 2, "tags": ["vip", "damaged"]}, request_only=True),
    OpenApiExample("Updated", value={**_TICKET, "status": "solved"}, response_only=True),
    OpenApiExample(
        "A move the workflow does not allow",
        value={
            "error": {
                "code": "invalid_transition",
                "message": "Ticket #1042 cannot go from Closed to Open. Closed tickets are final; "
                "a new message from the customer opens a follow-up.",
                "fields": {"status": ["Ticket #1042 cannot go from Closed to Open. ..."]},
            }
        },
        response_only=True,
        status_codes=["400"],
    ),
]

EXPAND = OpenApiParameter(
    "expand",
    OpenApiTypes.STR,
    OpenApiParameter.QUERY,
    required=False,
    description="Comma-separated: `requester`, `assignee`, `team`, `organization`. Those related objects come "
    "in full (the requester with identities, the assignee with role and teams) instead of as summaries, "
    "at no extra cost per ticket.",
    examples=[OpenApiExample("Requester and assignee", value="requester,assignee")],
)

TICKET_BULK_EXAMPLES = [
    OpenApiExample(
        "Solve three tickets and tag them",
        value={"tickets": [1042, 1043, 1050], "changes": {"status": "solved", "tags_add": ["outage-0311"]}},
        request_only=True,
    ),
    OpenApiExample(
        "Per-ticket outcome",
        value={
            "succeeded": 1,
            "failed": 1,
            "results": [
                {"number": 1042, "ok": True, "error": None, "ticket": {**_TICKET, "status": "solved"}},
                {
                    "number": 1043,
                    "ok": False,
                    "error": {
                        "code": "invalid_transition",
                        "message": "Ticket #1043 cannot go from Closed to Solved. Closed tickets are final; ...",
                    },
                    "ticket": None,
                },
            ],
        },
        response_only=True,
        status_codes=["200"],
    ),
]

CUSTOMER_MERGE_EXAMPLES = [
    OpenApiExample("Merge customer 88 into this one", value={"source": 88}, request_only=True),
    OpenApiExample(
        "Both have a portal login",
        value={
            "error": {
                "code": "portal_user_conflict",
                "message": "source: Both customers have their own portal login (ana and ana2). ...",
                "fields": {"source": ["Both customers have their own portal login (ana and ana2). ..."]},
            }
        },
        response_only=True,
        status_codes=["400"],
    ),
]

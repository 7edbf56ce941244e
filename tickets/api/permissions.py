"""Who may do what through the API: the same role permissions as the agent workspace
(`user.has_perm`), plus the token's scopes."""

from __future__ import annotations

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from apitokens.models import ApiToken, TokenScope


def is_agent(user: object) -> bool:
    return bool(getattr(user, "is_superuser", False) or hasattr(user, "agent_profile"))


class TokenScopePermission(BasePermission):
    """A read-only token may only read. (A browser session is not limited by scopes.)"""

    message = "This API token is read-only; create a token with the write scope to make changes."

    def has_permission(self, request: Request, view: APIView) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken) or request.method in SAFE_METHODS:
            return True
        return token.has_scope(TokenScope.WRITE)


class RolePermission(BasePermission):
    """Checks the view's `required_perms`, a mapping from "read", "create" and "update" to
    a Django permission (or None for "no role permission needed; the selector decides")."""

    def has_permission(self, request: Request, view: APIView) -> bool:
        required: dict[str, str | None] = getattr(view, "required_perms", {})
        action = getattr(view, "action", None)
        if action and action in required:  # a named action (bulk, merge, ...) states its own
            need = required[action]
        elif request.method in SAFE_METHODS:
            need = required.get("read")
        elif request.method == "POST":
            need = required.get("create")
        else:
            need = required.get("update")
        if need is None:
            return True
        if request.user.has_perm(need):
            return True
        self.message = _refusal(request.method or "", need)
        return False


def _refusal(method: str, perm: str) -> str:
    what = perm.split(".", 1)[1].split("_", 1)[1].replace("organizationdomain", "organization domain")
    verb = {"view": "see", "add": "create", "change": "change"}.get(perm.split(".", 1)[1].split("_", 1)[0], "use")
    plural = what + ("s" if not what.endswith("s") else "")
    return f"Your role cannot {verb} {plural}."


class IsAgent(BasePermission):
    message = "Only agents can use this part of the API."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return is_agent(request.user)

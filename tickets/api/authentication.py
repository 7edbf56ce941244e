"""`Authorization: Token <key>` with keys from the apitokens app."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, get_authorization_header
from rest_framework.request import Request

from apitokens.models import ApiToken
from apitokens.services import ApiTokenInvalid, api_token_authenticate

KEYWORD = "Token"


class TokenAuthentication(BaseAuthentication):
    """Authenticates a request by API token; `request.auth` is then the ApiToken.

    A header with another keyword ("Basic ...") is left to the other authentication
    classes; a malformed, unknown, expired or revoked token is a 401 that says which."""

    def authenticate(self, request: Request) -> tuple[AbstractBaseUser, ApiToken] | None:
        parts = get_authorization_header(request).split()
        if not parts or parts[0].lower() != KEYWORD.lower().encode():
            return None
        if len(parts) != 2:
            raise exceptions.AuthenticationFailed(
                f"Malformed Authorization header: send exactly '{KEYWORD} <key>', with no spaces in the key."
            )
        try:
            key = parts[1].decode()
        except UnicodeError as exc:
            raise exceptions.AuthenticationFailed("The token contains characters a key never has.") from exc
        try:
            token = api_token_authenticate(key=key)
        except ApiTokenInvalid as exc:
            raise exceptions.AuthenticationFailed(str(exc)) from exc
        return token.user, token

    def authenticate_header(self, request: Request) -> str:
        # A WWW-Authenticate header makes DRF answer 401 (not 403) when credentials are missing.
        return f'{KEYWORD} realm="api"'

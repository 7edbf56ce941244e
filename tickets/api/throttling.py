from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle

DEFAULT_RATE = "1200/minute"


class ApiUserRateThrottle(UserRateThrottle):
    """Per user (anonymous: per address). The rate is REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    ["api"], read on every request so a settings change applies at once. A throttled request
    gets 429 with a Retry-After header."""

    scope = "api"

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope) or DEFAULT_RATE

import pytest
from django.core.cache import cache

from channels_inbox.webform.adapter import register_web_adapter


@pytest.fixture(autouse=True)
def _web_adapter_and_clean_limits():
    register_web_adapter()  # channels_inbox's AppConfig.ready() does this once wired
    cache.clear()
    yield
    cache.clear()

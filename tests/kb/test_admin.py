import pytest
from django.urls import reverse

from kb.models import ArticleStatus, ArticleVersion
from tickets.models import Event

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-12345678"))
    return client


def test_publish_action_and_version_diff_and_restore(admin_client, make_article):
    article = make_article("vpn", "Connect to the VPN", "Install the client.", publish=False)
    response = admin_client.post(
        reverse("admin:kb_article_changelist"), {"action": "publish", "_selected_action": [article.pk]}
    )
    assert response.status_code == 302
    article.refresh_from_db()
    assert article.status == ArticleStatus.PUBLISHED
    assert Event.objects.filter(object_id=article.pk, field="status", new_value="published").exists()

    form = {
        "slug": "vpn", "category": article.category_id, "section": "", "visibility": "public", "position": 0,
        "translations-TOTAL_FORMS": 1, "translations-INITIAL_FORMS": 1, "translations-MIN_NUM_FORMS": 1,
        "translations-MAX_NUM_FORMS": 1000, "translations-0-id": article.translations.get().pk,
        "translations-0-article": article.pk, "translations-0-language": "en",
        "translations-0-title": "Connect to the VPN", "translations-0-summary": "",
        "translations-0-body_markdown": "Install the new client.",
        "attachments-TOTAL_FORMS": 0, "attachments-INITIAL_FORMS": 0, "attachments-MIN_NUM_FORMS": 0,
        "attachments-MAX_NUM_FORMS": 1000,
    }  # fmt: skip
    response = admin_client.post(reverse("admin:kb_article_change", args=[article.pk]), form)
    assert response.status_code == 302, response.content.decode()[:2000]
    second = ArticleVersion.objects.get(translation__article=article, number=2)
    page = admin_client.get(reverse("admin:kb_articleversion_diff", args=[second.pk])).content.decode()
    assert "-Install the client." in page and "+Install the new client." in page

    first = ArticleVersion.objects.get(translation__article=article, number=1)
    admin_client.post(reverse("admin:kb_articleversion_diff", args=[first.pk]))
    assert article.translations.get().body_markdown == "Install the client."
    assert ArticleVersion.objects.filter(translation__article=article).count() == 3

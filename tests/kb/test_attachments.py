"""Images and files on articles: upload limits, Markdown to insert, and who may download them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from kb.models import ArticleAttachment, ArticleVisibility
from kb.services import article_attachment_add, article_translation_save, attachment_markdown
from tests.factories import CustomerFactory, make_agent, make_customer_user
from tickets.models import Event
from tickets.services.events import Actor

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _add(article, agent, name, content):
    return article_attachment_add(article=article, upload=SimpleUploadedFile(name, content), actor=Actor.agent(agent))


def test_an_uploaded_image_goes_into_the_markdown_and_shows_in_the_article(client, make_article, agent):
    article = make_article("vpn", "Connect to the VPN", "Install the client.")
    image = _add(article, agent, "vpn settings.png", PNG)
    snippet = attachment_markdown(image)
    assert snippet == f"![vpn_settings.png](/help/files/{image.pk}/vpn_settings.png)"
    article_translation_save(
        article=article, language="en", title="Connect to the VPN", body_markdown=f"Like this:\n\n{snippet}",
        actor=Actor.agent(agent),
    )  # fmt: skip
    page = client.get(reverse("kb:article", args=["vpn"])).content.decode()
    assert f'<img alt="vpn_settings.png" src="/help/files/{image.pk}/vpn_settings.png">' in page
    response = client.get(f"/help/files/{image.pk}/vpn_settings.png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PNG
    assert Event.objects.filter(object_id=article.pk, verb="file_added").exists()


def test_svg_is_kept_but_only_ever_downloaded_never_run(client, make_article, agent):
    article = make_article("logo", "Our logo", "Download it.")
    svg = _add(article, agent, "logo.svg", SVG)
    assert attachment_markdown(svg).startswith("[logo.svg](")  # a link, not an image
    response = client.get(f"/help/files/{svg.pk}/logo.svg")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment")
    assert "sandbox" in response["Content-Security-Policy"]


@pytest.mark.parametrize(
    ("name", "content", "why"),
    [
        ("photo.png", b"<html>not an image</html>", "is not really"),
        ("tool.exe", b"MZ\x90\x00", "cannot be added"),
        ("big.pdf", b"%PDF-" + b"0" * 2048, "too large"),
    ],
)
def test_uploads_are_refused_with_a_reason(make_article, agent, settings, name, content, why):
    settings.KB_MAX_ATTACHMENT_BYTES = 1024
    article = make_article("files", "Files", "Files.")
    with pytest.raises(ValidationError) as error:
        _add(article, agent, name, content)
    assert why in str(error.value)
    assert not ArticleAttachment.objects.exists()


def test_customers_cannot_upload(make_article):
    article = make_article("files", "Files", "Files.")
    customer = make_customer_user(CustomerFactory(), "cust")
    with pytest.raises(Exception, match="Only agents"):
        _add(article, customer, "a.png", PNG)


def test_files_of_internal_and_draft_articles_are_only_for_agents(client, make_article, agent):
    internal = make_article("overrides", "Refund overrides", "Staff only.", visibility=ArticleVisibility.INTERNAL)
    draft = make_article("soon", "Coming soon", "Draft.", publish=False)
    secret = _add(internal, agent, "limits.pdf", b"%PDF-1.4 secret")
    early = _add(draft, agent, "plan.png", PNG)
    customer = make_customer_user(CustomerFactory(), "cust")
    for user in (None, customer):
        if user:
            client.force_login(user)
        assert client.get(f"/help/files/{secret.pk}/limits.pdf").status_code == 404
        assert client.get(f"/help/files/{early.pk}/plan.png").status_code == 404
    client.force_login(make_agent("other-agent"))
    response = client.get(f"/help/files/{secret.pk}/limits.pdf")
    assert response.status_code == 200 and response["Content-Disposition"].startswith("attachment")
    assert client.get(f"/help/files/{secret.pk}/other-name.pdf").status_code == 404


def test_editors_upload_in_the_article_admin(client, make_article, django_user_model):
    article = make_article("vpn", "Connect to the VPN", "Install the client.")
    client.force_login(django_user_model.objects.create_superuser("boss", "boss@example.com", "pw-12345678"))
    translation = article.translations.get()
    form = {
        "slug": "vpn", "category": article.category_id, "section": "", "visibility": "public", "position": 0,
        "translations-TOTAL_FORMS": 1, "translations-INITIAL_FORMS": 1, "translations-MIN_NUM_FORMS": 1,
        "translations-MAX_NUM_FORMS": 1000, "translations-0-id": translation.pk, "translations-0-article": article.pk,
        "translations-0-language": "en", "translations-0-title": translation.title, "translations-0-summary": "",
        "translations-0-body_markdown": translation.body_markdown,
        "attachments-TOTAL_FORMS": 1, "attachments-INITIAL_FORMS": 0, "attachments-MIN_NUM_FORMS": 0,
        "attachments-MAX_NUM_FORMS": 1000, "attachments-0-article": article.pk,
        "attachments-0-file": SimpleUploadedFile("screen.png", PNG, content_type="image/png"),
    }  # fmt: skip
    response = client.post(reverse("admin:kb_article_change", args=[article.pk]), form)
    assert response.status_code == 302, response.content.decode()[:3000]
    image = ArticleAttachment.objects.get()
    assert (image.filename, image.content_type, image.size) == ("screen.png", "image/png", len(PNG))
    page = client.get(reverse("admin:kb_article_change", args=[article.pk])).content.decode()
    assert f"![screen.png](/help/files/{image.pk}/screen.png)" in page

    form["attachments-0-file"] = SimpleUploadedFile("fake.png", b"GIF89a nope", content_type="image/png")
    response = client.post(reverse("admin:kb_article_change", args=[article.pk]), form)
    assert response.status_code == 200 and "is not really a png file" in response.content.decode()

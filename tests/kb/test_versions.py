import pytest
from django.core.exceptions import PermissionDenied

from kb.models import ArticleStatus, ArticleVersion
from kb.selectors import article_version_diff
from kb.services import article_status_set, article_translation_save, article_version_restore
from tickets.models import Event
from tickets.services.events import Actor


@pytest.mark.django_db
def test_each_saved_change_is_a_version_and_the_diff_shows_it(make_article, agent):
    article = make_article("reset-password", "Reset your password", "Open settings.\nClick reset.", publish=False)
    translation = article.translations.get()
    actor = Actor.agent(agent)
    article_translation_save(
        article=article,
        language="en",
        title="Reset your password",
        body_markdown="Open settings.\nClick *Send reset link*.",
        actor=actor,
    )
    # Saving the same text again keeps the history as it is.
    article_translation_save(
        article=article,
        language="en",
        title="Reset your password",
        body_markdown="Open settings.\nClick *Send reset link*.",
        actor=actor,
    )
    versions = list(translation.versions.order_by("number"))
    assert [v.number for v in versions] == [1, 2]
    assert versions[1].author == agent
    diff = article_version_diff(version=versions[1])
    assert ("remove", "-Click reset.") in diff
    assert ("add", "+Click *Send reset link*.") in diff
    assert ("same", " Open settings.") in diff
    assert Event.objects.filter(object_type="article", object_id=article.pk, verb="translation_changed").count() == 1


@pytest.mark.django_db
def test_restore_brings_back_old_text_as_a_new_version(make_article, agent):
    article = make_article("export-data", "Export data", "Use the CSV button.")
    actor = Actor.agent(agent)
    article_translation_save(
        article=article, language="en", title="Export your data", body_markdown="Use <b>Export</b>.", actor=actor
    )
    first = ArticleVersion.objects.get(translation__article=article, number=1)
    restored = article_version_restore(version=first, actor=actor)
    translation = article.translations.get()
    assert restored.number == 3
    assert (translation.title, translation.body_markdown) == ("Export data", "Use the CSV button.")
    assert translation.body_html == "<p>Use the CSV button.</p>"
    assert "Restored from version 1" in restored.note
    assert translation.versions.count() == 3
    assert Event.objects.filter(object_id=article.pk, verb="version_restored").exists()


@pytest.mark.django_db
def test_status_changes_are_audited_and_need_an_agent(make_article, agent, django_user_model):
    article = make_article("draft-one", "Draft one", "Body", publish=False)
    article_status_set(article=article, status=ArticleStatus.IN_REVIEW, actor=Actor.agent(agent))
    event = Event.objects.get(object_id=article.pk, field="status")
    assert (event.old_value, event.new_value, event.actor_user) == ("draft", "in_review", agent)
    outsider = django_user_model.objects.create_user("reader", password="pw-12345678")
    with pytest.raises(PermissionDenied):
        article_status_set(article=article, status=ArticleStatus.PUBLISHED, actor=Actor.agent(outsider))
    article.refresh_from_db()
    assert article.status == ArticleStatus.IN_REVIEW

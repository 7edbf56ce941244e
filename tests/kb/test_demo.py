from kb.demo import kb_demo_seed
from kb.models import Article, ArticleTranslation
from kb.selectors import article_search


def test_demo_articles_in_three_languages_once(db):
    assert kb_demo_seed() == 6
    assert kb_demo_seed() == 0  # seed_demo can run again
    languages = set(
        ArticleTranslation.objects.filter(article__slug="reset-password").values_list("language", flat=True)
    )
    assert languages == {"en", "pt-br", "ru"}
    assert Article.objects.filter(status="published").count() == 6
    assert [e.title for e in article_search(query="senha", user=None, language="pt-br")][:1] == ["Redefinir sua senha"]

from django import template

register = template.Library()


@register.filter
def name_in(obj, language: str) -> str:
    """A category's or section's name in the reader's language."""
    return obj.name_in(language) if obj is not None else ""


@register.simple_tag
def first_title(article) -> str:
    """The English (else any) title of an article whose translations are prefetched."""
    texts = {t.language: t.title for t in article.translations.all()}
    return texts.get("en") or next(iter(texts.values()), article.slug)

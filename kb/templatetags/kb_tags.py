from django import template

register = template.Library()


@register.filter
def name_in(obj, language: str) -> str:
    """A category's or section's name in the reader's language."""
    return obj.name_in(language) if obj is not None else ""

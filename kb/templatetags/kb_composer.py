"""`{% kb_composer_suggestions ticket %}`: help-centre articles for the agent's reply composer."""

from __future__ import annotations

from django import template
from django.conf import settings
from django.urls import reverse

from kb.selectors import article_suggest
from tickets.models import Message, MessageDirection

register = template.Library()


@register.inclusion_tag("kb/_composer_suggestions.html")
def kb_composer_suggestions(ticket) -> dict:
    """Up to three public articles matching the ticket's subject and the customer's last message,
    each with the Markdown link to insert. A fixed number of queries, whatever the ticket's size."""
    last = (
        Message.objects.filter(ticket=ticket, direction=MessageDirection.INBOUND, is_internal=False)
        .order_by("-created_at", "-id")
        .values_list("body_text", flat=True)
        .first()
    )
    text = f"{ticket.subject}\n{(last or '')[:600]}"
    items = []
    for entry in article_suggest(text, ticket.language, limit=3):
        url = f"{settings.SITE_URL}{reverse('kb:article', args=[entry.article.slug])}?lang={entry.translation.language}"
        items.append({"title": entry.title, "url": url, "markdown": f"[{entry.title}]({url})", "score": entry.score})
    return {"suggestions": items}

"""Article Markdown to safe HTML: Python-Markdown renders, nh3 keeps only an allow-list."""

from __future__ import annotations

import markdown
import nh3

_EXTENSIONS = ["tables", "fenced_code", "sane_lists"]
_TAGS = {
    "a", "abbr", "b", "blockquote", "br", "code", "dd", "del", "dl", "dt", "em", "h2", "h3", "h4", "h5", "h6",
    "hr", "i", "img", "kbd", "li", "ol", "p", "pre", "s", "strong", "sub", "sup", "table", "tbody", "td",
    "tfoot", "th", "thead", "tr", "ul",
}  # fmt: skip
_ATTRIBUTES = {
    "*": {"title", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan", "align"},
    "th": {"colspan", "rowspan", "align"},
    "code": {"class"},
}


def _heading_down(html: str) -> str:
    # The page's <h1> is the article title; a "# heading" in the body becomes an <h2>.
    return html.replace("<h1>", "<h2>").replace("</h1>", "</h2>")


def render_markdown(text: str) -> str:
    """Rendered, sanitised HTML for an article body. Raw HTML in the Markdown goes through the
    same allow-list: scripts, styles, event handlers and javascript: URLs are removed."""
    if not text:
        return ""
    html = markdown.markdown(text, extensions=_EXTENSIONS, output_format="html")
    return nh3.clean(
        _heading_down(html),
        tags=_TAGS,
        attributes=_ATTRIBUTES,
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )

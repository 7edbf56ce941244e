"""The agent workspace's pages. Thin: parse the request, call a selector or service, render."""

from .attachments import attachment_download
from .ticket_list import bulk, home
from .ticket_page import ticket_detail, ticket_fields_submit, ticket_merge_submit, ticket_reply_submit

__all__ = [
    "attachment_download",
    "bulk",
    "home",
    "ticket_detail",
    "ticket_fields_submit",
    "ticket_merge_submit",
    "ticket_reply_submit",
]

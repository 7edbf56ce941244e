"""The agent workspace's pages. Thin: parse the request, call a selector or service, render."""

from .attachments import attachment_download
from .directory import (
    customer_directory,
    customer_edit_submit,
    customer_profile,
    organization_directory,
    organization_profile,
)
from .duplicates import customer_duplicates
from .saved_views import saved_view_create_submit, saved_view_update_submit
from .ticket_list import bulk, home
from .ticket_page import (
    ticket_detail,
    ticket_fields_submit,
    ticket_link_submit,
    ticket_live,
    ticket_merge_submit,
    ticket_reply_submit,
    ticket_unlink_submit,
)

__all__ = [
    "attachment_download",
    "bulk",
    "customer_directory",
    "customer_duplicates",
    "customer_edit_submit",
    "customer_profile",
    "home",
    "organization_directory",
    "organization_profile",
    "saved_view_create_submit",
    "saved_view_update_submit",
    "ticket_detail",
    "ticket_fields_submit",
    "ticket_link_submit",
    "ticket_live",
    "ticket_merge_submit",
    "ticket_reply_submit",
    "ticket_unlink_submit",
]

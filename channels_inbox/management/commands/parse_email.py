"""Print what the email parser makes of a raw message, without storing anything."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from ...email.adapter import max_message_bytes
from ...email.parser import email_parse
from ...email.source import raw_message_read


class Command(BaseCommand):
    help = (
        "Parse one raw RFC 5322 message (FILE, or - for standard input) and print the result. "
        "With --json: from, to, cc, reply_to, subject, date, message_id, in_reply_to, references, "
        "body_text, body_html (sanitised), attachments, is_auto_reply, is_bounce (plus reply_text, "
        "ticket_number and bounce details)."
    )

    def add_arguments(self, parser) -> None:
        parser.add_argument("file", help="Path of the raw message, or - to read standard input.")
        parser.add_argument("--json", action="store_true", help="Print the parsed message as JSON.")

    def handle(self, *args, file: str, json: bool, **options) -> None:
        limit = max_message_bytes()
        parsed = email_parse(raw_message_read(file, max_bytes=limit), max_bytes=limit)
        data = parsed.as_json()
        if json:
            self.stdout.write(_dumps(data))
            return
        sender = data["from"]
        lines = [
            f"From:        {sender['name']} <{sender['email']}>" if sender else "From:        (none)",
            f"Subject:     {data['subject']}",
            f"Date:        {data['date'] or '-'}",
            f"Message-ID:  {data['message_id'] or '-'}",
            f"In-Reply-To: {' '.join(data['in_reply_to']) or '-'}",
            f"Ticket:      {('#' + str(data['ticket_number'])) if data['ticket_number'] else '-'}",
            f"Auto-reply:  {'yes (' + parsed.auto_reply_reason + ')' if parsed.is_auto_reply else 'no'}",
            f"Bounce:      {parsed.bounce.summary() if parsed.bounce else 'no'}",
            f"Attachments: {len(data['attachments'])}",
        ]
        for item in data["attachments"]:
            lines.append(f"  - {item['filename']} ({item['content_type']}, {item['size']} bytes)")
        lines += ["", parsed.reply_text]
        self.stdout.write("\n".join(lines))


def _dumps(data: dict) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2)

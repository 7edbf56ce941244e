"""On PostgreSQL, ticket numbers come from a sequence (no lock, no gaps under rollback aside)."""

from django.conf import settings
from django.db import migrations


def create_sequence(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    start = int(settings.HELPDESK_TICKET_NUMBER_START)
    schema_editor.execute(f"CREATE SEQUENCE IF NOT EXISTS tickets_ticket_number_seq START {start}")


def drop_sequence(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP SEQUENCE IF EXISTS tickets_ticket_number_seq")


class Migration(migrations.Migration):
    dependencies = [("tickets", "0001_initial")]
    operations = [migrations.RunPython(create_sequence, drop_sequence)]

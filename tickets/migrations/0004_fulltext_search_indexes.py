"""GIN indexes for the agent's keyword search on PostgreSQL (SQLite searches by substring).

The expressions are exactly what `SearchVector(<field>, config="english")` compiles to, so
the planner uses them for the workspace's search."""

from django.db import migrations

INDEXES = {
    "ticket_subject_fts": ("tickets_ticket", "subject"),
    "message_body_fts": ("tickets_message", "body_text"),
}


def create(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, (table, column) in INDEXES.items():
        schema_editor.execute(
            f'CREATE INDEX IF NOT EXISTS "{name}" ON "{table}" '
            f"USING gin (to_tsvector('english'::regconfig, COALESCE(\"{column}\", '')))"
        )


def drop(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in INDEXES:
        schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')


class Migration(migrations.Migration):
    dependencies = [("tickets", "0003_sla_business_hours")]
    operations = [migrations.RunPython(create, drop)]

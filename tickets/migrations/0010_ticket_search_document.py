"""One stored full-text document per ticket for the agent's search (issue 12).

`tickets_ticketsearchdocument` holds, for every ticket, one `tsvector` of its subject and the
text of every message (internal notes included), so that the search reads a stored vector
instead of running `to_tsvector` over message texts for each candidate (the expression indexes
of migration 0004, dropped here). It is a table of its own rather than a column of
`tickets_ticket` so that ticket rows stay narrow (lists, counts and the dashboard read them)
and so that a `Ticket.save()` never writes back a stale vector.

PostgreSQL triggers keep it current, whatever writes the rows (the ORM, `QuerySet.update()`,
bulk inserts, COPY in bench/generate.py, raw SQL): a ticket inserted or its subject changed,
messages inserted, edited, moved to another ticket (merge), erased or deleted. The row also
copies the ticket's team and assignee (no foreign key constraints: a copy, kept by the same
triggers), so that an agent's search narrows to the tickets they may see inside this table, an
index on each ANDed with the GIN index: a phrase from one team's topics, common overall, has
no matches among another team's tickets, and walking that agent's list to find out read every
one of them (7 s at 1,000,000 tickets). The vector is
rebuilt from the ticket's rows by `tickets_search_document(ticket id)`:

    to_tsvector('english', left(subject || messages' texts in time order, 100,000 characters))

where each message contributes at most its first 20,000 characters. The caps keep a vector well
under PostgreSQL's 1 MB limit for any text (an error there would refuse the message); words
beyond them are not searchable, and positions past 16,383 (a long ticket's tail) all count as
16,383, so a quoted phrase there may go unmatched while its words still match.

Backfill: in batches of BATCH tickets, one transaction each, printing progress. The migration
is not atomic: interrupted, `migrate` run again continues where it stopped. The GIN
index is built afterwards, concurrently. SQLite gets the empty table and nothing else (the
search falls back to substrings there).
"""

import sys
import time

import django.contrib.postgres.indexes
import django.contrib.postgres.search
import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models, transaction

MESSAGE_CHARS = 20_000
DOCUMENT_CHARS = 100_000
BATCH = 20_000
TABLE = "tickets_ticketsearchdocument"
INDEX = "ticket_search_document"
OLD_INDEXES = {
    "ticket_subject_fts": ("tickets_ticket", "subject"),
    "message_body_fts": ("tickets_message", "body_text"),
}

FUNCTIONS = f"""
CREATE OR REPLACE FUNCTION tickets_search_document(ticket bigint) RETURNS tsvector
LANGUAGE sql VOLATILE AS $$
    SELECT to_tsvector('english'::regconfig, left(
        coalesce((SELECT t.subject FROM tickets_ticket t WHERE t.id = ticket), '')
        || E'\\n' || coalesce((
            SELECT string_agg(left(m.body_text, {MESSAGE_CHARS}), E'\\n' ORDER BY m.created_at, m.id)
            FROM tickets_message m WHERE m.ticket_id = ticket
        ), ''),
        {DOCUMENT_CHARS}))
$$;

CREATE OR REPLACE FUNCTION tickets_search_refresh(ticket bigint) RETURNS void
LANGUAGE sql VOLATILE AS $$
    UPDATE {TABLE} SET document = tickets_search_document(ticket) WHERE ticket_id = ticket
$$;

CREATE OR REPLACE FUNCTION tickets_search_ticket_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO {TABLE} (ticket_id, document, team_id, assignee_id)
    SELECT n.id, tickets_search_document(n.id), n.team_id, n.assignee_id FROM new_tickets n ORDER BY n.id
    ON CONFLICT (ticket_id) DO UPDATE
    SET document = excluded.document, team_id = excluded.team_id, assignee_id = excluded.assignee_id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_ticket_changed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE {TABLE} SET
        team_id = NEW.team_id,
        assignee_id = NEW.assignee_id,
        document = CASE WHEN OLD.subject IS DISTINCT FROM NEW.subject
                        THEN tickets_search_document(NEW.id) ELSE document END
    WHERE ticket_id = NEW.id;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_messages_inserted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ticket bigint;
BEGIN
    FOR ticket IN SELECT DISTINCT n.ticket_id FROM new_messages n ORDER BY 1 LOOP
        PERFORM tickets_search_refresh(ticket);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_messages_updated() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ticket bigint;
BEGIN
    FOR ticket IN
        WITH changed AS (
            SELECT o.ticket_id AS old_ticket, n.ticket_id AS new_ticket
            FROM old_messages o JOIN new_messages n ON n.id = o.id
            WHERE o.body_text IS DISTINCT FROM n.body_text OR o.ticket_id IS DISTINCT FROM n.ticket_id
        )
        SELECT old_ticket FROM changed UNION SELECT new_ticket FROM changed ORDER BY 1
    LOOP
        PERFORM tickets_search_refresh(ticket);
    END LOOP;
    RETURN NULL;
END
$$;

CREATE OR REPLACE FUNCTION tickets_search_messages_deleted() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    ticket bigint;
BEGIN
    FOR ticket IN SELECT DISTINCT o.ticket_id FROM old_messages o ORDER BY 1 LOOP
        PERFORM tickets_search_refresh(ticket);
    END LOOP;
    RETURN NULL;
END
$$;
"""

TRIGGERS = {
    "tickets_search_ticket_inserted": (
        "AFTER INSERT ON tickets_ticket REFERENCING NEW TABLE AS new_tickets FOR EACH STATEMENT"
    ),
    "tickets_search_ticket_changed": (
        "AFTER UPDATE OF subject, team_id, assignee_id ON tickets_ticket FOR EACH ROW WHEN ("
        "OLD.subject IS DISTINCT FROM NEW.subject OR OLD.team_id IS DISTINCT FROM NEW.team_id "
        "OR OLD.assignee_id IS DISTINCT FROM NEW.assignee_id)"
    ),
    "tickets_search_messages_inserted": (
        "AFTER INSERT ON tickets_message REFERENCING NEW TABLE AS new_messages FOR EACH STATEMENT"
    ),
    "tickets_search_messages_updated": (
        "AFTER UPDATE ON tickets_message REFERENCING OLD TABLE AS old_messages NEW TABLE AS new_messages "
        "FOR EACH STATEMENT"
    ),
    "tickets_search_messages_deleted": (
        "AFTER DELETE ON tickets_message REFERENCING OLD TABLE AS old_messages FOR EACH STATEMENT"
    ),
}
TRIGGER_TABLES = {name: spec.split(" ON ")[1].split()[0] for name, spec in TRIGGERS.items()}
FUNCTION_NAMES = [*TRIGGERS, "tickets_search_refresh", "tickets_search_document"]


class CreateModelIfMissing(migrations.CreateModel):
    """CreateModel that finds its table already there (a run of this non-atomic migration that
    was interrupted during the backfill): running migrate again continues the backfill."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        model = to_state.apps.get_model(app_label, self.name)
        if model._meta.db_table in schema_editor.connection.introspection.table_names():
            return
        super().database_forwards(app_label, schema_editor, from_state, to_state)


def _postgresql(schema_editor) -> bool:
    return schema_editor.connection.vendor == "postgresql"


def install_triggers(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor, transaction.atomic(using=schema_editor.connection.alias):
        cursor.execute(FUNCTIONS)
        for name, spec in TRIGGERS.items():
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{TRIGGER_TABLES[name]}"')
            cursor.execute(f'CREATE TRIGGER "{name}" {spec} EXECUTE FUNCTION {name}()')


def drop_triggers(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor, transaction.atomic(using=schema_editor.connection.alias):
        for name in TRIGGERS:
            cursor.execute(f'DROP TRIGGER IF EXISTS "{name}" ON "{TRIGGER_TABLES[name]}"')
        for name in FUNCTION_NAMES:
            cursor.execute(f"DROP FUNCTION IF EXISTS {name} CASCADE")


def backfill(apps, schema_editor):
    """Every existing ticket's document, BATCH tickets per transaction, with progress.

    New tickets and messages written meanwhile are handled by the triggers (a ticket that
    already has its document is skipped here); messages added to a ticket while its batch was
    being computed are caught up at the end."""
    if not _postgresql(schema_editor):
        return
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM tickets_message")
        messages_before = cursor.fetchone()[0]
        cursor.execute(
            f"SELECT count(*) FROM tickets_ticket t WHERE NOT EXISTS (SELECT 1 FROM {TABLE} d WHERE d.ticket_id = t.id)"
        )
        total = cursor.fetchone()[0]
    if not total:
        return
    out = sys.stdout
    out.write(f"\n  Search documents for {total:,} tickets, {BATCH:,} per transaction...\n")
    out.flush()
    started = time.monotonic()
    done = 0
    last_id = 0
    while True:
        with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
            cursor.execute(
                f"""
                WITH batch AS (
                    SELECT t.id FROM tickets_ticket t
                    WHERE t.id > %s AND NOT EXISTS (SELECT 1 FROM {TABLE} d WHERE d.ticket_id = t.id)
                    ORDER BY t.id LIMIT %s
                ), written AS (
                    INSERT INTO {TABLE} (ticket_id, document, team_id, assignee_id)
                    SELECT t.id, tickets_search_document(t.id), t.team_id, t.assignee_id
                    FROM batch JOIN tickets_ticket t ON t.id = batch.id ORDER BY t.id
                    ON CONFLICT (ticket_id) DO NOTHING
                )
                SELECT count(*), max(id) FROM batch
                """,
                [last_id, BATCH],
            )
            count, highest = cursor.fetchone()
        if not count:
            break
        done += count
        last_id = highest
        elapsed = time.monotonic() - started
        rate = done / elapsed if elapsed else 0.0
        left = (total - done) / rate / 60 if rate and total > done else 0.0
        shown = min(done, total)
        out.write(f"  {shown:,}/{total:,} ({100 * shown / total:.1f}%)  {rate:,.0f}/s  ETA {left:.1f} min\n")
        out.flush()
    with transaction.atomic(using=connection.alias), connection.cursor() as cursor:
        # Messages added while their ticket's batch was being computed (not yet visible to it).
        cursor.execute(
            "SELECT tickets_search_refresh(ticket_id) FROM "
            "(SELECT DISTINCT ticket_id FROM tickets_message WHERE id > %s ORDER BY 1) late",
            [messages_before],
        )
    out.write(f"  Search documents written in {time.monotonic() - started:.1f} s\n")
    out.flush()


def create_index(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    started = time.monotonic()
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("SHOW maintenance_work_mem")
        before = cursor.fetchone()[0]
        cursor.execute("SET maintenance_work_mem = '256MB'")
        try:
            # A failed concurrent build leaves an invalid index behind: start again cleanly.
            cursor.execute(
                "SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %s AND NOT i.indisvalid",
                [INDEX],
            )
            if cursor.fetchone():
                cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"')
            cursor.execute(f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{INDEX}" ON {TABLE} USING gin (document)')
        finally:
            cursor.execute("SET maintenance_work_mem = %s", [before])
        cursor.execute(f"ANALYZE {TABLE}")
    seconds = time.monotonic() - started
    if seconds > 5:
        sys.stdout.write(f"  Search index built in {seconds:.1f} s\n")
        sys.stdout.flush()


def drop_index(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{INDEX}"')


def drop_old_indexes(apps, schema_editor):
    """The expression indexes of 0004 served only the old search; every message insert paid
    for them."""
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor:
        for name in OLD_INDEXES:
            cursor.execute(f'DROP INDEX CONCURRENTLY IF EXISTS "{name}"')


def recreate_old_indexes(apps, schema_editor):
    if not _postgresql(schema_editor):
        return
    with schema_editor.connection.cursor() as cursor:
        for name, (table, column) in OLD_INDEXES.items():
            cursor.execute(
                f'CREATE INDEX CONCURRENTLY IF NOT EXISTS "{name}" ON "{table}" '
                f"USING gin (to_tsvector('english'::regconfig, COALESCE(\"{column}\", '')))"
            )


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("tickets", "0009_backlog_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        CreateModelIfMissing(
            name="TicketSearchDocument",
            fields=[
                (
                    "ticket",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="search_document",
                        serialize=False,
                        to="tickets.ticket",
                    ),
                ),
                ("document", django.contrib.postgres.search.SearchVectorField(editable=False, null=True)),
                (
                    "team",
                    models.ForeignKey(
                        db_constraint=False,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to="tickets.team",
                    ),
                ),
                (
                    "assignee",
                    models.ForeignKey(
                        db_constraint=False,
                        editable=False,
                        null=True,
                        on_delete=django.db.models.deletion.DO_NOTHING,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "verbose_name": "ticket search document",
                "verbose_name_plural": "ticket search documents",
            },
        ),
        migrations.RunPython(install_triggers, drop_triggers),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AddIndex(
                    model_name="ticketsearchdocument",
                    index=django.contrib.postgres.indexes.GinIndex(fields=["document"], name=INDEX),
                ),
            ],
            database_operations=[migrations.RunPython(create_index, drop_index)],
        ),
        migrations.RunPython(drop_old_indexes, recreate_old_indexes),
    ]

"""Indexes for every sort the agent's list offers over all tickets (issue 12).

0007-0009 index the unsolved tickets; "All tickets" (and any view whose status filter takes in
solved or closed ones) sorted by creation time, priority or SLA due time had nothing to walk,
so PostgreSQL sorted every matching ticket for each page (by priority: ~3.5 s at 1,000,000
tickets). Each index ends in the id, the last key of the keyset order. The number sort needs
none: numbers are unique, so the number alone is the keyset order (tickets.views.ticket_list).

Two covering indexes let the sidebar's view counts be index-only scans: one over unsolved
tickets (status, team, assignee and the SLA deadlines: every view but "Recently solved") and
one over solved tickets by solved time (with status, team and assignee). Counting an agent's
views read every unsolved and recently solved ticket row before (~200 ms at a million
tickets, 0.5-2.3 s with a cold cache).

On PostgreSQL also extended statistics on (assignee, team): agents are assigned tickets of
their own teams, so "assigned to me and in team X" is often empty, but the planner, taking
the two for independent, expected thousands of rows and walked the whole list index looking
for them (3.4 s at a million tickets; with the statistics: a bitmap of both indexes, 7 ms).

The expressions are the ones tickets.selectors.ticket_priority_rank() and ticket_due_at()
compile to (and Ticket.Meta.indexes holds), so the planner matches them. On PostgreSQL each
index is created with IF NOT EXISTS (a benchmark database may have it from a run by hand);
elsewhere through the schema editor.
"""

import datetime

from django.db import migrations, models
from django.db.models.functions import Coalesce, Least

NAMES = (
    "ticket_created_id",
    "ticket_priority_all",
    "ticket_due_all",
    "ticket_unsolved_counts",
    "ticket_solved_counts",
)
UNSOLVED = ["new", "open", "pending", "on_hold"]
NO_DEADLINE = datetime.datetime(9999, 12, 31, tzinfo=datetime.UTC)


def _index(name: str) -> models.Index:
    if name == "ticket_created_id":
        return models.Index(fields=["-created_at", "-id"], name=name)
    if name == "ticket_unsolved_counts":
        return models.Index(
            fields=["status", "team", "assignee", "first_response_due_at", "next_response_due_at", "resolution_due_at"],
            name=name,
            condition=models.Q(status__in=UNSOLVED),
        )
    if name == "ticket_solved_counts":
        return models.Index(
            fields=["solved_at", "status", "team", "assignee"],
            name=name,
            condition=models.Q(solved_at__isnull=False),
        )
    if name == "ticket_priority_all":
        rank = models.Case(
            *[
                models.When(priority=value, then=models.Value(rank))
                for rank, value in enumerate(("low", "normal", "high", "urgent"))
            ],
            default=models.Value(0),
            output_field=models.IntegerField(),
        )
        return models.Index(rank.desc(), models.F("updated_at").desc(), models.F("id").desc(), name=name)
    due = Least(
        *[
            Coalesce(column, models.Value(NO_DEADLINE))
            for column in ("first_response_due_at", "next_response_due_at", "resolution_due_at")
        ]
    )
    return models.Index(due, models.F("id"), name=name)


STATISTICS = "ticket_assignee_team_stats"


def create(apps, schema_editor):
    ticket = apps.get_model("tickets", "Ticket")
    postgres = schema_editor.connection.vendor == "postgresql"
    for name in NAMES:
        index = _index(name)
        if postgres:
            sql = str(index.create_sql(ticket, schema_editor))
            schema_editor.execute(sql.replace("CREATE INDEX ", "CREATE INDEX IF NOT EXISTS ", 1), params=None)
        else:
            schema_editor.add_index(ticket, index)
    if postgres:
        schema_editor.execute(
            f'CREATE STATISTICS IF NOT EXISTS "{STATISTICS}" (mcv, dependencies) '
            'ON "assignee_id", "team_id" FROM "tickets_ticket"'
        )
        # The new index expressions and the statistics mean nothing to the planner until then.
        schema_editor.execute('ANALYZE "tickets_ticket"')


def drop(apps, schema_editor):
    ticket = apps.get_model("tickets", "Ticket")
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f'DROP STATISTICS IF EXISTS "{STATISTICS}"')
    for name in NAMES:
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f'DROP INDEX IF EXISTS "{name}"')
        else:
            schema_editor.remove_index(ticket, _index(name))


class Migration(migrations.Migration):
    dependencies = [("tickets", "0010_ticket_search_document")]
    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.AddIndex(model_name="ticket", index=_index(name)) for name in NAMES],
            database_operations=[migrations.RunPython(create, drop)],
        )
    ]

"""The default QA scorecard built on the seven Cs of customer service."""

from django.db import migrations

SEVEN_CS = [
    ("Clear communication", "Plain words, a direct answer, no jargon.", 2),
    ("Consistency", "The same answer any agent would give, in line with policy and the knowledge base.", 1),
    ("Courtesy", "Friendly, respectful, acknowledges the customer's situation.", 1),
    ("Capability", "Knew the product and solved the problem without needless hand-offs.", 2),
    ("Correctness", "Accurate facts, right steps, nothing missed.", 3),
    ("Convenience", "Least effort for the customer: no repeated questions, clear next step.", 1),
    ("Commitment", "Took ownership and followed up as promised.", 1),
]


def create(apps, schema_editor):
    Scorecard = apps.get_model("metrics", "Scorecard")
    Criterion = apps.get_model("metrics", "ScorecardCriterion")
    card, created = Scorecard.objects.get_or_create(
        name="Seven Cs",
        defaults={"description": "Default scorecard: the seven Cs of customer service.", "is_default": True},
    )
    if created:
        for position, (name, description, weight) in enumerate(SEVEN_CS):
            Criterion.objects.create(
                scorecard=card, name=name, description=description, weight=weight, position=position
            )


class Migration(migrations.Migration):
    dependencies = [("metrics", "0002_invitations_rollups_goals_qa")]

    operations = [migrations.RunPython(create, migrations.RunPython.noop)]

from django.db import migrations, models


def forget_old_rollups(apps, schema_editor):
    """The rows lack the new tag groupings and the duration histograms: drop them and reset the
    watermark, so `manage.py metrics_rollups_rebuild` (or the next refresh) rebuilds them.
    Until then the dashboard computes from the tickets."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("TRUNCATE metrics_dailyrollup")
    else:
        apps.get_model("metrics", "DailyRollup").objects.all().delete()
    apps.get_model("metrics", "RollupState").objects.update(watermark=None)


class Migration(migrations.Migration):
    dependencies = [
        ("metrics", "0006_rollup_unsolved"),
    ]

    operations = [
        migrations.RunPython(forget_old_rollups, migrations.RunPython.noop),
        migrations.AddField(
            model_name="dailyrollup",
            name="frt_hist",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="dailyrollup",
            name="resolution_hist",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddIndex(
            model_name="dailyrollup",
            index=models.Index(
                condition=models.Q(("gset", 31)),
                fields=["tag_id", "agent_id", "day"],
                name="dailyrollup_tag_agent",
            ),
        ),
    ]

from django.db import migrations, models
from django.db.models import Min


def fill(apps, schema_editor):  # type: ignore[no-untyped-def]
    ReportLinkage = apps.get_model("linking", "ReportLinkage")
    groups = ReportLinkage.objects.values("cluster_id", "report__unit_id").annotate(m=Min("report_id"))
    for g in groups.iterator():
        ReportLinkage.objects.filter(cluster_id=g["cluster_id"], report__unit_id=g["report__unit_id"]).update(unit_cluster_id=g["m"])


class Migration(migrations.Migration):

    dependencies = [
        ("linking", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="reportlinkage",
            name="unit_cluster_id",
            field=models.BigIntegerField(db_index=True, default=0),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
    ]

"""Rule set version 1 (himaya.triage.defaults) as data, so that supervisors edit
versions in the database and the code's defaults can evolve without changing
what a unit has published."""
from django.db import migrations


def load(apps, schema_editor):  # type: ignore[no-untyped-def]
    from himaya.triage.defaults import DEFAULT_RULESET

    RuleSet = apps.get_model("triage", "RuleSet")
    if not RuleSet.objects.filter(version=1).exists():
        RuleSet.objects.create(version=1, note="Built-in defaults", created_by="system", **DEFAULT_RULESET)


def unload(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("triage", "RuleSet").objects.filter(version=1, created_by="system").delete()


class Migration(migrations.Migration):
    dependencies = [("triage", "0001_initial")]
    operations = [migrations.RunPython(load, unload)]

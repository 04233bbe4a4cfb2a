"""The defaults of issue 19 (dialect patterns and their rules, combinations, the
referral action, a lighter foreign-jurisdiction weight) for installations whose
active rule set came from the earlier defaults: a new version made by
`defaults.ruleset_upgrade` from the active one (a supervisor's edits kept). On a
new installation version 1 already holds them and nothing is written. The
reports are re-triaged on the new version by `himaya triage rebuild` (or one by
one as they change); until then each keeps the version it was triaged with."""
from django.db import migrations
from django.db.models import Max


def upgrade(apps, schema_editor):  # type: ignore[no-untyped-def]
    from himaya.triage.defaults import ruleset_upgrade

    RuleSet = apps.get_model("triage", "RuleSet")
    version = RuleSet.objects.aggregate(v=Max("version"))["v"]
    if version is None:
        return
    rs = RuleSet.objects.get(version=version)
    active = {"rules": rs.rules, "thresholds": rs.thresholds, "service_targets": rs.service_targets, "phrases": rs.phrases}
    new = ruleset_upgrade(active)
    if new == active:
        return
    RuleSet.objects.create(version=version + 1, note="Dialect patterns, combinations and referral action (upgrade of the built-in defaults)",
                           created_by="system-upgrade", **new)


def downgrade(apps, schema_editor):  # type: ignore[no-untyped-def]
    apps.get_model("triage", "RuleSet").objects.filter(created_by="system-upgrade").delete()


class Migration(migrations.Migration):
    dependencies = [("triage", "0003_queue_table_lean")]
    operations = [migrations.RunPython(upgrade, downgrade)]

"""An index on the reports whose jurisdiction decision is "foreign", for the
queue's `decision=foreign` filter (SPEC §5: queue page p95 < 300 ms at 1 M).

Without it that filter reads the whole linkage table: foreign reports are few
(referrals abroad), so neither the queue's order index nor a join finds 50 of
them, let alone counts up to the paginator's cap, without a sequential scan
(~13 ms per page view at 20 k reports, growing with the table). Partial, so it
costs a rebuild only the foreign rows. Plain SQL rather than Meta.indexes:
ReportLinkage's model states that the decision column has no full index, and
this keeps the migration state and the model in step without editing it."""
from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("linking", "0004_derived_tables_lean"),
    ]

    operations = [
        migrations.RunSQL(
            "CREATE INDEX IF NOT EXISTS linking_linkage_foreign ON linking_reportlinkage (report_id) WHERE decision = 'foreign'",
            reverse_sql="DROP INDEX IF EXISTS linking_linkage_foreign",
        ),
    ]

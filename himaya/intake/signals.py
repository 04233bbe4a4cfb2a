from django.dispatch import Signal

# Sent (from a background task) once per finished or imported report, with report_id.
report_received = Signal()

# Sent inside the transaction that stored a batch of imported reports (a bulk import
# writes its rows without the ORM, so no post_save is sent for them), with unit_id,
# finished_at (the same for every report of the batch) and report_ids. Its listeners
# do for the batch, in one go, what they do on a report's post_save.
reports_stored = Signal()

# Sent inside the transaction that finished one report (a provider's finish, the portal, a
# partner's referral, a single import), with report_ids: its listeners note the arrival in
# that transaction (the enrichment flow's waiting row, which lets one worker take many
# waiting arrivals at once). A listener that returns True takes the arrival in its charge
# (its workers run it): intake then queues no `report_received` task for it.
reports_arriving = Signal()

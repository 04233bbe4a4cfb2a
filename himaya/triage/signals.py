from django.dispatch import Signal

# Sent inside the transaction that triaged (and linked) many reports at once with bulk
# writes (the enrichment flow's batch of arrivals), which send no post_save: with
# report_ids. Its listeners do for the batch what they do on a triage or linkage row's
# post_save.
reports_triaged = Signal()

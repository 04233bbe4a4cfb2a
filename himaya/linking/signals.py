from django.dispatch import Signal

# Sent inside the transaction that changed them, with report_ids: the reports
# whose cluster (as a set of reports) changed — split, joined or left. Their
# cluster size and history feed triage.
clusters_changed = Signal()

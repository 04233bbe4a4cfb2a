from django.dispatch import Signal

# Sent after commit when the verdict on a stored content changes (pending→new, new→known, ...),
# with blob_address, old_status, new_status and report_ids (every report holding that content).
# Triage listens to re-score those reports.
media_status_changed = Signal()

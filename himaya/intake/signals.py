from django.dispatch import Signal

# Sent (from a background task) once per finished or imported report, with report_id.
report_received = Signal()

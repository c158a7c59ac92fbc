"""What the hosts app announces; apps above it listen (apps/live pushes it to open pages).

- `host_status_changed(sender=Host, host_ids=[...])`: these hosts were lost (unreachable) or
  came back (online) just now, after the change was saved.
"""

from django.dispatch import Signal

host_status_changed = Signal()

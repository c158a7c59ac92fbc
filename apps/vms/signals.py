"""What apps/vms tells the apps above it, as Django signals (apps/live pushes them to open
pages; apps/vms names no listener).

- `vm_changed(sender=VirtualMachine, vm=vm)`: the VM's power state, status, addresses or
  current job changed. Sent at once; a receiver that talks to the outside world defers
  that to `transaction.on_commit`. Receivers must not raise.
- `suspension_changed(sender=VirtualMachine, owner=user, suspended=bool, vm=vm or None,
  reason=str)`: a customer (vm None) or a single VM was suspended or unsuspended for
  non-payment (apps/vms/suspension.py).
"""

from django.dispatch import Signal

vm_changed = Signal()
suspension_changed = Signal()


def notify_vm_changed(vm):
    """Send `vm_changed` for `vm` (call it after changing any of the fields above)."""
    vm_changed.send(sender=type(vm), vm=vm)

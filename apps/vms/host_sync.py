"""What the host watcher's reconciliation does for VMs (registered with
apps.hosts.domain_sync in VmsConfig.ready()), in this order, on every (re)connect and every
VMM_RECONCILE_INTERVAL: the clean-ups owed to the host are carried out (apps.vms.cleanup),
the VMs' power states are compared with the host's (apps.vms.state_sync), and the panel's
domains and volumes left on the host are removed or flagged (apps.vms.strays).
Raises the driver's `Unreachable` (the watcher then treats the host as lost)."""

from apps.vms import cleanup, state_sync, strays


def reconcile(host, driver):
    """Returns state_sync's `Reconciled` summary."""
    cleanup.settle_owed(host, driver)
    result = state_sync.reconcile_host(host, driver)
    strays.reconcile_strays(host, driver)
    return result

from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "apps.vms"
    verbose_name = "Virtual machines"

    def ready(self):
        from apps.hosts import domain_sync
        from apps.jobs import registry
        from apps.vms import cleanup, host_sync, state_sync, suspension
        from apps.vms.models import VirtualMachine
        from apps.vms.services import refresh_vm_state

        registry.register_operations(f"{self.name}.operations")
        registry.register_state_refresher(VirtualMachine, refresh_vm_state)
        # The host watcher (apps.hosts) keeps VMs, and what is left of them on hosts, in step.
        domain_sync.register(apply_event=state_sync.apply_event, reconcile=host_sync.reconcile)
        # Clean-ups owed to hosts are also settled by the jobs reconciler (every minute).
        registry.register_housekeeping(cleanup.settle_owed_everywhere)
        # Customers whose termination grace period is over lose their VMs (docs/billing.md).
        registry.register_housekeeping(suspension.terminate_due)

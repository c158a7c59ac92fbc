from django.apps import AppConfig


class VmsConfig(AppConfig):
    name = "apps.vms"
    verbose_name = "Virtual machines"

    def ready(self):
        from apps.hosts import domain_sync
        from apps.jobs import registry
        from apps.vms import state_sync
        from apps.vms.models import VirtualMachine
        from apps.vms.services import refresh_vm_state

        registry.register_operations(f"{self.name}.operations")
        registry.register_state_refresher(VirtualMachine, refresh_vm_state)
        # The host watcher (apps.hosts) keeps VMs' power states in step through these.
        domain_sync.register(apply_event=state_sync.apply_event, reconcile=state_sync.reconcile_host)

from django.apps import AppConfig
from django.db.models.signals import pre_delete


def _release_on_delete(sender, instance, **kwargs):
    """A VM row deleted by any path (the delete job, the admin) releases its addresses with
    the cool-down, instead of the foreign key's SET_NULL freeing them at once."""
    if sender._meta.label == "vms.VirtualMachine":
        from apps.ipam.allocation import release

        release(instance)


def _managed_networks(host):
    from apps.ipam.models import Network

    carried = Network.objects.filter(hosts=host).exclude(libvirt_network="")
    return list(carried.values_list("libvirt_network", flat=True))


def _managed_bridges(host):
    """(network, bridge) for the host bridges the networks `host` carries put guests on: a
    network that is a host bridge, or a bridged libvirt network onto one."""
    from apps.ipam.models import Network, NetworkKind

    carried = Network.objects.filter(hosts=host).exclude(bridge="").order_by("name")
    return [(n.name, n.bridge) for n in carried if not n.libvirt_network or n.kind == NetworkKind.BRIDGED]


class IpamConfig(AppConfig):
    name = "apps.ipam"
    verbose_name = "Public addresses"

    def ready(self):
        # By label: apps.ipam sits below apps.vms and does not import it.
        pre_delete.connect(_release_on_delete, dispatch_uid="ipam-release-on-vm-delete")
        # The host check also checks the libvirt networks of the managed networks a host carries.
        from apps.hosts import checks

        checks.register_network_source(_managed_networks)
        checks.register_bridge_source(_managed_bridges)
        # Making a host carry a network (apps.ipam.host_networks) is a job.
        from apps.jobs import registry

        registry.register_operations(f"{self.name}.operations")

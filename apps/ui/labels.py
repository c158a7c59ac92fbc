"""Translated names for what the panel shows by value, and the colour ("tone") of each
state's badge. The same tables are sent to the browser (labels_for_js) so that live updates
read the same as the rendered page.

The names of model choices (states, statuses, roles, visibility) are not kept here: they
are the TextChoices labels beside their model, translated there, and only looked up here.
What is no model choice stays here: the names of operations and of their steps. They are
registry entries, not model fields (an admin's override may add any), and only the web UI
translates them; the API gives the English names the jobs store (docs/architecture.md)."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext_lazy

from apps.accounts.models import Role
from apps.backups.models import BackupFileState, BackupState, RepositoryState
from apps.hosts.models import HostStatus
from apps.images.models import ImageStatus, Visibility
from apps.jobs.models import JobStatus, StepStatus
from apps.traffic.models import TrafficState
from apps.vms.models import PowerState, SnapshotConsistency, SnapshotState, VmStatus

OPERATIONS = {
    "vm_create": gettext_lazy("Create VM"),
    "vm_start": gettext_lazy("Start"),
    "vm_stop": gettext_lazy("Shut down"),
    "vm_power_off": gettext_lazy("Power off"),
    "vm_reboot": gettext_lazy("Reboot"),
    "vm_suspend": gettext_lazy("Pause"),
    "vm_resume": gettext_lazy("Resume"),
    "vm_reinstall": gettext_lazy("Reinstall"),
    "vm_reset_password": gettext_lazy("Reset password"),
    "vm_resize": gettext_lazy("Resize"),
    "vm_delete": gettext_lazy("Delete"),
    "vm_make_image": gettext_lazy("Make an image"),
    "vm_recover": gettext_lazy("Recover on another host"),
    "vm_migrate": gettext_lazy("Migrate to another host"),
    "vm_rescue": gettext_lazy("Boot into rescue mode"),
    "vm_unrescue": gettext_lazy("Leave rescue mode"),
    "host_evacuate": gettext_lazy("Empty this host"),
    "vm_address_add": gettext_lazy("Add an address"),
    "vm_address_remove": gettext_lazy("Remove an address"),
    "vm_snapshot_create": gettext_lazy("Take a snapshot"),
    "vm_snapshot_revert": gettext_lazy("Revert to a snapshot"),
    "vm_snapshot_delete": gettext_lazy("Delete a snapshot"),
    "vm_backup_create": gettext_lazy("Back up"),
    "vm_backup_scheduled": gettext_lazy("Scheduled backup"),
    "vm_backup_restore": gettext_lazy("Restore a backup"),
    "vm_backup_delete": gettext_lazy("Delete a backup"),
    "vm_backup_restore_new": gettext_lazy("Restore a backup into a new VM"),
    "backup_delete": gettext_lazy("Delete a backup of a deleted VM"),
    "backup_file_extract": gettext_lazy("Take files out of a backup"),
    "backup_repository_init": gettext_lazy("Initialize a backup repository"),
    "vm_billing_suspend": gettext_lazy("Suspend for non-payment"),
    "vm_billing_unsuspend": gettext_lazy("Lift the suspension"),
    "customer_suspend": gettext_lazy("Suspend the customer"),
    "customer_unsuspend": gettext_lazy("Lift the customer's suspension"),
    "customer_terminate": gettext_lazy("Terminate the customer"),
    "vm_traffic_throttle": gettext_lazy("Throttle for traffic"),
    "vm_traffic_unthrottle": gettext_lazy("Lift the traffic throttle"),
    "host_refresh": gettext_lazy("Check host"),
    "host_network_setup": gettext_lazy("Set up a network on the host"),
    "cluster_baseline": gettext_lazy("Compute the baseline CPU"),
    "image_import": gettext_lazy("Import image"),
    "image_delete": gettext_lazy("Delete image"),
}
# Step names of the built-in operations; others are shown as the operation wrote them.
STEP_NAMES = {
    "Choose a host": gettext_lazy("Choose a host"),
    "Copy the image to the host": gettext_lazy("Copy the image to the host"),
    "Create the disk": gettext_lazy("Create the disk"),
    "Configure the guest": gettext_lazy("Configure the guest"),
    "Update the interface filter": gettext_lazy("Update the interface filter"),
    "Put the disk on the host": gettext_lazy("Put the disk on the host"),
    "Define and start the VM": gettext_lazy("Define and start the VM"),
    "Wait for the guest to come up": gettext_lazy("Wait for the guest to come up"),
    "Start the VM": gettext_lazy("Start the VM"),
    "Shut down the guest": gettext_lazy("Shut down the guest"),
    "Power off": gettext_lazy("Power off"),
    "Reboot the guest": gettext_lazy("Reboot the guest"),
    "Pause the VM": gettext_lazy("Pause the VM"),
    "Resume the VM": gettext_lazy("Resume the VM"),
    "Connect to the hypervisor": gettext_lazy("Connect to the hypervisor"),
    "Check the storage pool": gettext_lazy("Check the storage pool"),
    "Compute the baseline CPU": gettext_lazy("Compute the baseline CPU"),
    "Define the network": gettext_lazy("Define the network"),
    "Start it, and at every boot": gettext_lazy("Start it, and at every boot"),
    "Remove the old system": gettext_lazy("Remove the old system"),
    "Give up the lost host": gettext_lazy("Give up the lost host"),
    "Check the target": gettext_lazy("Check the target"),
    "Copy the image to the target": gettext_lazy("Copy the image to the target"),
    "Copy the disk to the target": gettext_lazy("Copy the disk to the target"),
    "Put the VM on the target": gettext_lazy("Put the VM on the target"),
    "Switch the VM to the target": gettext_lazy("Switch the VM to the target"),
    "Remove the VM from the source": gettext_lazy("Remove the VM from the source"),
    "List the VMs on the host": gettext_lazy("List the VMs on the host"),
    "Move the VMs": gettext_lazy("Move the VMs"),
    "Check that the host is empty": gettext_lazy("Check that the host is empty"),
    "Reach the guest agent": gettext_lazy("Reach the guest agent"),
    "Set the root password": gettext_lazy("Set the root password"),
    "Stop the VM": gettext_lazy("Stop the VM"),
    "Resize": pgettext_lazy("step", "Resize"),
    "Grow the root filesystem": gettext_lazy("Grow the root filesystem"),
    "Remove the VM from the host": gettext_lazy("Remove the VM from the host"),
    "Forget the VM": gettext_lazy("Forget the VM"),
    "Copy the disk": gettext_lazy("Copy the disk"),
    "Seal the image": gettext_lazy("Seal the image"),
    "Register the image": gettext_lazy("Register the image"),
    "Start the VM again": gettext_lazy("Start the VM again"),
    "Check the image file": gettext_lazy("Check the image file"),
    "Copy into the image store": gettext_lazy("Copy into the image store"),
    "Check that no VM uses the image": gettext_lazy("Check that no VM uses the image"),
    "Remove the copies from the hosts": gettext_lazy("Remove the copies from the hosts"),
    "Remove the image file": gettext_lazy("Remove the image file"),
    "Forget the image": gettext_lazy("Forget the image"),
    "Take the VM down": gettext_lazy("Take the VM down"),
    "Bring back the power state": gettext_lazy("Bring back the power state"),
    "Limit the network bandwidth": gettext_lazy("Limit the network bandwidth"),
    "Remove the network bandwidth limit": gettext_lazy("Remove the network bandwidth limit"),
    "Take the snapshot": gettext_lazy("Take the snapshot"),
    "Measure the snapshots": gettext_lazy("Measure the snapshots"),
    "Power off the VM": gettext_lazy("Power off the VM"),
    "Go back to the snapshot": gettext_lazy("Go back to the snapshot"),
    "Merge the snapshot's layer": gettext_lazy("Merge the snapshot's layer"),
    "Remove the layer's file": gettext_lazy("Remove the layer's file"),
    "Initialize the repository": gettext_lazy("Initialize the repository"),
    "Open the repository": gettext_lazy("Open the repository"),
    "Store it in the repository": gettext_lazy("Store it in the repository"),
    "Apply the retention": gettext_lazy("Apply the retention"),
    "Fetch the backup": gettext_lazy("Fetch the backup"),
    "Replace the disk": gettext_lazy("Replace the disk"),
    "Forget the backup": gettext_lazy("Forget the backup"),
    "Forget its backups": gettext_lazy("Forget its backups"),
    "Define the VM": gettext_lazy("Define the VM"),
    "Fetch the backup's disk": gettext_lazy("Fetch the backup's disk"),
    "Take the file out": gettext_lazy("Take the file out"),
    "Remove the scratch disk": gettext_lazy("Remove the scratch disk"),
    "Keep it for download": gettext_lazy("Keep it for download"),
    "Copy the rescue system to the host": gettext_lazy("Copy the rescue system to the host"),
    "Boot the rescue system": gettext_lazy("Boot the rescue system"),
    "Shut down the rescue system": gettext_lazy("Shut down the rescue system"),
    "Boot the VM's own system": gettext_lazy("Boot the VM's own system"),
}

# Each kind of badge or name: the model's choices, or one of the tables above.
TABLES = {
    "power": dict(PowerState.choices),
    "vm": dict(VmStatus.choices),
    "job": dict(JobStatus.choices),
    "step": dict(StepStatus.choices),
    "host": dict(HostStatus.choices),
    "image": dict(ImageStatus.choices),
    "visibility": dict(Visibility.choices),
    "role": dict(Role.choices),
    "traffic": dict(TrafficState.choices),
    "snapshot": dict(SnapshotState.choices),
    "consistency": dict(SnapshotConsistency.choices),
    "backup": dict(BackupState.choices),
    "repository": dict(RepositoryState.choices),
    "backupfile": dict(BackupFileState.choices),
    "operation": OPERATIONS,
    "stepname": STEP_NAMES,
}

# Badge colours: ok (green), busy (blue), warn (amber), bad (red), idle (grey).
TONES = {
    "power": {
        PowerState.RUNNING: "ok",
        PowerState.PAUSED: "warn",
        PowerState.CRASHED: "bad",
        PowerState.MISSING: "bad",
    },
    "vm": {VmStatus.ACTIVE: "ok", VmStatus.CREATING: "busy", VmStatus.DELETING: "warn", VmStatus.FAILED: "bad"},
    "job": {JobStatus.SUCCEEDED: "ok", JobStatus.RUNNING: "busy", JobStatus.FAILED: "bad"},
    "step": {StepStatus.SUCCEEDED: "ok", StepStatus.RUNNING: "busy", StepStatus.FAILED: "bad"},
    "host": {HostStatus.ONLINE: "ok", HostStatus.MAINTENANCE: "warn", HostStatus.UNREACHABLE: "bad"},
    "image": {ImageStatus.READY: "ok", ImageStatus.PENDING: "busy", ImageStatus.ERROR: "bad"},
    "visibility": {Visibility.PUBLIC: "ok", Visibility.SHARED: "busy"},
    "traffic": {
        TrafficState.OK: "ok",
        TrafficState.WARNING: "warn",
        TrafficState.REACHED: "bad",
        TrafficState.THROTTLED: "bad",
        TrafficState.FAILED: "warn",
        TrafficState.SUSPENDED: "bad",
        TrafficState.LIFTED: "busy",
    },
    "snapshot": {
        SnapshotState.READY: "ok",
        SnapshotState.CREATING: "busy",
        SnapshotState.REVERTING: "busy",
        SnapshotState.DELETING: "warn",
        SnapshotState.FAILED: "bad",
    },
    "backup": {
        BackupState.READY: "ok",
        BackupState.CREATING: "busy",
        BackupState.RESTORING: "busy",
        BackupState.DELETING: "warn",
        BackupState.FAILED: "bad",
    },
    "repository": {RepositoryState.READY: "ok", RepositoryState.INITIALIZING: "busy", RepositoryState.FAILED: "bad"},
    "backupfile": {
        BackupFileState.READY: "ok",
        BackupFileState.EXTRACTING: "busy",
        BackupFileState.FAILED: "bad",
    },
    "consistency": {
        SnapshotConsistency.FROZEN: "ok",
        SnapshotConsistency.STOPPED: "ok",
        SnapshotConsistency.CRASH: "warn",
    },
}


def label(kind, value):
    """The translated name of `value` in table `kind`, or the value itself if unknown."""
    return str(TABLES.get(kind, {}).get(value, value))


def tone(kind, value):
    return TONES.get(kind, {}).get(value, "idle")


def labels_for_js():
    """Every table in the active language, plus the words the live scripts need."""
    data = {kind: {key: str(text) for key, text in table.items()} for kind, table in TABLES.items()}
    data["tones"] = TONES
    data["words"] = {
        "seconds": _("s"),
        "minutes": _("min"),
        "failedAt": _("Failed at step"),
        "offline": _("Live updates are paused; reconnecting…"),
        "busy": _("busy"),
    }
    return data

"""An order served from a warm pool (apps/vms/warm_pool.py, docs/warm-pool.md): the standby
it took is made the order's VM live, through the guest agent, under the deploy's own step
names, each saying it was taken from the pool:

1. Choose a host: the standby's (online).
2. Copy the image to the host: not needed.
3. Create the disk: grown online to the ordered size (block resize).
4. Configure the guest: hostname, root password hash, SSH keys, time zone, new SSH host
   keys and machine-id, static addresses (when the VM has public ones), the root
   partition and filesystem grown (apps.vms.guest_grow).
5. Put the disk on the host: already there.
6. Define and start the VM: the new vCPUs brought online in the guest (vCPUs and memory
   were set live as step 4 began: the standby was defined with the pool's maximums).
7. Wait for the guest to come up.

`take_over(ctx, vm, params)` returns True when the VM is ready. When any of it fails the
standby is destroyed (domain and volumes), the steps are set pending again (their detail
keeps what happened) and it returns False: the caller deploys the VM from the image in the
same job.
"""

import shlex
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from apps.hosts.hypervisor import hypervisor_for
from apps.hosts.models import Host, HostStatus
from apps.ipam.allocation import addresses_of
from apps.ipam.guest import guest_network
from apps.jobs.models import JobStep, StepStatus
from apps.jobs.runner import OperationError
from apps.vms import cleanup, guest_grow
from apps.vms.address_change import update_filter
from apps.vms.deploy.power import start_and_wait_for_agent
from apps.vms.guest_config import addresses, gateways, onlink, static_network_unit
from apps.vms.guest_persist import UNIT

TAKEN = "taken from the warm pool"
AGENT_WAIT = 30  # s: a ready standby's agent answered before; a moment's silence is waited out
# $1 hostname, $2 root password hash ("" locks password logins), $3 time zone, $4 the
# authorized_keys file, then (type, private key, public key) for each new SSH host key
# (made by the panel: an RSA key takes seconds to make in an emulated guest). A new
# machine-id from the kernel's random source (not from the firmware's UUID, which is the
# standby's). Written by the shell itself wherever it can: every program started costs about
# a quarter of a second in an emulated guest (the hostname through /proc, /etc/hosts
# rewritten line by line); usermod stays, for /etc/shadow's locking and atomic rename.
PERSONALISE = r"""set -e
h="$1"; short="${h%%.*}"; mine="127.0.1.1<TAB>$h $short"
printf '%s\n' "$h" > /etc/hostname
printf '%s' "$h" > /proc/sys/kernel/hostname
hosts=""; found=""
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in "127.0.1.1 "*|"127.0.1.1<TAB>"*) line=$mine; found=1 ;; esac
  hosts="$hosts$line
"
done < /etc/hosts
if [ -z "$found" ]; then hosts="$hosts$mine
"; fi
printf '%s' "$hosts" > /etc/hosts
if [ -n "$2" ]; then usermod -p "$2" root; else passwd -l root >/dev/null; fi
umask 077
if [ ! -d /root/.ssh ]; then mkdir /root/.ssh; fi
if [ -e /root/.ssh/authorized_keys ]; then chmod 600 /root/.ssh/authorized_keys; fi
printf '%s' "$4" > /root/.ssh/authorized_keys
umask 022
zone=""; if [ -r /etc/timezone ]; then read -r zone < /etc/timezone || true; fi
if [ "$zone" != "$3" ] && [ -e "/usr/share/zoneinfo/$3" ]; then
  ln -sf "/usr/share/zoneinfo/$3" /etc/localtime; printf '%s\n' "$3" > /etc/timezone
fi
IFS=- read -r u1 u2 u3 u4 u5 < /proc/sys/kernel/random/uuid
printf '%s%s%s%s%s\n' "$u1" "$u2" "$u3" "$u4" "$u5" > /etc/machine-id
d=/var/lib/dbus/machine-id
if [ -f "$d" ] && [ ! -L "$d" ]; then printf '%s%s%s%s%s\n' "$u1" "$u2" "$u3" "$u4" "$u5" > "$d"; fi
if [ -d /etc/ssh ] && [ -n "$5" ]; then
  shift 4
  made=" "
  while [ $# -ge 3 ]; do
    umask 077; printf '%s' "$2" > "/etc/ssh/ssh_host_$1_key"
    umask 022; printf '%s' "$3" > "/etc/ssh/ssh_host_$1_key.pub"
    made="$made$1 "; shift 3
  done
  for f in /etc/ssh/ssh_host_*_key*; do  # the key types the panel did not make go
    kind=${f#/etc/ssh/ssh_host_}; kind=${kind%%_key*}
    case "$made" in *" $kind "*) ;; *) rm -f "$f" ;; esac
  done
  # sshd reads its host keys as it starts: a SIGHUP makes it start again in place (what
  # "systemctl reload ssh" sends, without the unit's config test and systemd's round trip)
  if [ -s /run/sshd.pid ]; then read -r pid < /run/sshd.pid; kill -HUP "$pid" || true
  else systemctl try-reload-or-restart ssh.service >/dev/null 2>&1 || true; fi
fi
echo personalised
""".replace("<TAB>", "\t")
HOST_KEY_TYPES = ("rsa", "ecdsa", "ed25519")
# $1 the number of vCPUs: bring the hot-plugged ones online (cpu0 always is), until the
# guest has them; only the shell's own commands unless it has to wait.
ONLINE_CPUS = r"""n=1; i=0
while :; do
  n=1
  for c in /sys/devices/system/cpu/cpu[1-9]*/online; do
    v=0; read -r v 2>/dev/null < "$c" || true
    if [ "$v" != 1 ] && { echo 1 > "$c"; } 2>/dev/null; then v=1; fi
    if [ "$v" = 1 ]; then n=$((n + 1)); fi
  done
  if [ "$n" -ge "$1" ] || [ "$i" -ge 40 ]; then break; fi
  i=$((i + 1)); sleep 0.25
done
echo "$n"
"""
# $1 MAC, $2 the systemd-networkd unit, then the CIDRs; GW4/GW6 lines added per VM.
STATIC = r"""dev=""; for d in /sys/class/net/*; do [ "$(cat "$d/address")" = "$1" ] && dev=${d##*/}; done
[ -n "$dev" ] || { echo "no interface with MAC $1"; exit 3; }
mkdir -p /etc/systemd/network
printf '%s' "$2" > UNIT
shift 2
ip address flush dev "$dev" scope global
for cidr in "$@"; do ip address replace "$cidr" dev "$dev"; done
""".replace("UNIT", UNIT)


def take_over(ctx, vm, params):
    """Personalise the standby `vm` (module docstring); False after falling back."""
    try:
        _personalise(ctx, vm, params)
        return True
    except Exception as exc:  # whatever failed (the step says what): the image's path still serves the order
        reason = str(exc) or type(exc).__name__
        ctx.logger.warning("personalising standby %s failed; deploying from the image", vm.domain_name, exc_info=True)
    _fall_back(ctx, vm, reason)
    return False


def _personalise(ctx, vm, params):
    # The new host keys are made while the first steps run (an RSA key takes the panel's
    # machine about half a second).
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="host-keys") as keygen:
        _personalise_with(ctx, vm, params, keygen.submit(host_keys, params["hostname"]))


def _personalise_with(ctx, vm, params, new_host_keys):
    from apps.vms.deploy.steps import mark_active, wait_for_guest

    taken = params["warm_pool"]
    with ctx.step("Choose a host"):
        host = Host.objects.get(pk=vm.host_id)
        if host.status != HostStatus.ONLINE:
            raise OperationError(f"Host {host.name} is {host.get_status_display().lower()}")
        vm.host = host
        ctx.note(f"{TAKEN}: its standby runs on {host.name} ({host.uri})")
    driver = hypervisor_for(host)
    with ctx.step("Copy the image to the host"):
        ctx.note(f"not needed: {TAKEN} (deployed from {vm.image.name} ahead of the order)")
    grows = vm.disk_gb > taken["disk_gb"]
    with ctx.step("Create the disk"):
        if grows:
            driver.resize_disk_live(vm.domain_name, "vda", vm.disk_gb * 2**30)
            ctx.note(f"{TAKEN}: its {taken['disk_gb']} GiB disk grown online to {vm.disk_gb} GiB")
        else:
            ctx.note(f"{TAKEN}: its {vm.disk_gb} GiB disk")
    with ctx.step("Configure the guest"):
        start_and_wait_for_agent(ctx, vm, timeout=AGENT_WAIT)
        # The ordered vCPUs and memory first: the guest takes them in while it is personalised.
        driver.set_vcpus(vm.domain_name, vm.vcpus)
        driver.set_memory(vm.domain_name, vm.memory_mb)
        started = time.monotonic()
        keys = "".join(f"{key}\n" for key in params.get("ssh_keys") or ())
        # One round trip: personalised, the root grown if the disk was (whatever that says,
        # the sizes measured next judge it), and measured.
        script = PERSONALISE + ("set +e\n" + guest_grow.GROW if grows else "") + guest_grow.MEASURE
        argv = ["/bin/sh", "-c", script, "sh", params["hostname"], params.get("root_password_hash") or ""]
        argv += [params.get("timezone") or "UTC", keys, *new_host_keys.result()]
        measured = guest_grow.GrowSizes.parse(_run(driver, vm, argv, "personalising the guest"))
        ctx.note(
            f"{TAKEN}, personalised live through the guest agent: hostname {params['hostname']}, "
            f"{'password set' if params.get('root_password_hash') else 'password login locked'}, "
            f"{len(params.get('ssh_keys') or [])} SSH key(s), new SSH host keys and machine-id"
            f"{', the root partition and filesystem grown' if grows else ''} ({time.monotonic() - started:.1f}s)"
        )
        if measured.reached:
            ctx.note(f"{measured}: {'grown' if grows else 'already grown'}")
        else:  # tried again (e.g. the guest's own resize2fs was busy), then refused
            guest_grow.grow_root(driver, vm.domain_name, ctx.note, measured=measured)
        public = guest_network(addresses_of(vm))
        if public is not None:
            _static_addresses(ctx, driver, vm, public)
    with ctx.step("Put the disk on the host"):
        ctx.note(f"already there: {TAKEN}")
    with ctx.step("Define and start the VM"):
        online = _run(driver, vm, ["/bin/sh", "-c", ONLINE_CPUS, "sh", str(vm.vcpus)], "bringing vCPUs online")
        ctx.note(
            f"{TAKEN}: running; {vm.vcpus} vCPU ({online.strip()} online), "
            f"{vm.memory_mb} MiB set live (as its configuration began)"
        )
    with ctx.step("Wait for the guest to come up"):
        ctx.note(f"{TAKEN}: up since before the order")
        # Its lease (if any) is this very system's: no earlier system's to wait out.
        addresses_now = wait_for_guest(ctx, driver, vm, old_leases={}, agent_only=public is not None)
    mark_active(vm, addresses_now)


def _static_addresses(ctx, driver, vm, network):
    """Bind the NIC's filter to the VM's public addresses, configure them live and write the
    systemd-networkd unit the guest boots with (as the normal deploy writes it)."""
    update_filter(ctx, vm)
    script = STATIC
    for gateway in gateways(network):
        family = "-6 " if ":" in gateway else ""
        flag = " onlink" if gateway in onlink(network) else ""
        script += f'ip {family}route replace default via {shlex.quote(gateway)} dev "$dev"{flag}\n'
    argv = ["/bin/sh", "-c", script, "sh", vm.mac_address, static_network_unit(network), *addresses(network)]
    _run(driver, vm, argv, "configuring the addresses")
    ctx.note(f"static address {', '.join(addresses(network))} (kept in {UNIT})")


def host_keys(hostname):
    """[type, private key, public key, ...] for a new SSH host key of each HOST_KEY_TYPES."""
    out = []
    with tempfile.TemporaryDirectory() as work:
        for kind in HOST_KEY_TYPES:
            path = Path(work) / kind
            command = ["ssh-keygen", "-q", "-t", kind, "-N", "", "-C", f"root@{hostname}", "-f", str(path)]
            subprocess.run(command, check=True, capture_output=True, timeout=60)
            out += [kind, path.read_text(), path.with_suffix(".pub").read_text()]
    return out


def _run(driver, vm, argv, what):
    code, output = driver.agent_exec(vm.domain_name, argv, timeout=120)
    if code != 0:
        raise OperationError(f"{what} failed: {output.strip()[-300:]}")
    return output


def _fall_back(ctx, vm, reason):
    """Destroy the standby, set the steps pending again and say why in the first one."""
    cleanup.remove_from_host(vm)
    steps = list(ctx.job.steps.order_by("position"))
    for step in steps:
        step.status = StepStatus.PENDING
        step.started_at = step.finished_at = None
    note = f"{TAKEN}, but personalising it failed: {reason}; the standby was destroyed: deployed from the image"
    steps[0].detail = f"{steps[0].detail}\n{note}" if steps[0].detail else note
    JobStep.objects.bulk_update(steps, ["status", "started_at", "finished_at", "detail"])

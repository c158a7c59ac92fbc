"""What a new guest is told: its hostname, root password (as a hash), SSH keys, time zone,
network and first-boot script. Two ways to say it, chosen per image: virt-customize
arguments for the offline disk, or a cloud-init NoCloud seed. Pure functions."""

import json
import shlex

# Grow the root partition and filesystem to fill the (already grown) disk. Runs inside
# the guest's tree under libguestfs, where the disk is /dev/sda.
# growpart exits 1 when there is nothing to grow.
GROW_ROOT = (
    'dev=$(findmnt -n -o SOURCE /); disk=/dev/$(lsblk -no pkname "$dev"); '
    "part=$(cat /sys/class/block/${dev#/dev/}/partition); "
    'growpart "$disk" "$part" || [ $? -eq 1 ]; resize2fs "$dev"'
)


def addresses(network):
    """The CIDR addresses of a network parameter: a typed one ({"address"}) or the VM's
    public addresses from pools ({"addresses", "gateway6"}, docs/addresses.md)."""
    return list(network.get("addresses") or [network["address"]])


def gateways(network):
    return [gw for gw in (network.get("gateway"), network.get("gateway6")) if gw]


def onlink(network):
    """The gateways the guest reaches on the link (outside its subnets: a routed /64's)."""
    return set(network.get("onlink") or ())


def static_network_unit(network):
    """A systemd-networkd unit for static addresses; sorts before the image's DHCP one. A
    gateway outside the guest's subnets gets a [Route] with GatewayOnLink=yes (the kernel
    refuses a plain Gateway= it has no route to)."""
    lines = ["[Match]", "Name=en* eth*", "", "[Network]"]
    lines += [f"Address={address}" for address in addresses(network)]
    lines += [f"Gateway={gateway}" for gateway in gateways(network) if gateway not in onlink(network)]
    lines += [f"DNS={server}" for server in network["dns"]]
    if network.get("addresses"):
        lines.append("IPv6AcceptRA=no")
    for gateway in gateways(network):
        if gateway in onlink(network):
            lines += ["", "[Route]", f"Gateway={gateway}", "GatewayOnLink=yes"]
    return "\n".join(lines) + "\n"


def network_config(network, mac=None):
    """The cloud-init network-config v2 (netplan's format too) for `network`, as a dict. The
    NIC with `mac` is named eth0: cloud-init renders an entry's id as the interface name for
    systemd-networkd and ifupdown (a name glob would name no interface), and renames the NIC
    to it. Without a MAC: every e* interface (netplan only understands that)."""
    if mac:
        key, primary = "eth0", {"match": {"macaddress": mac.lower()}, "set-name": "eth0"}
    else:
        key, primary = "primary", {"match": {"name": "e*"}}
    primary["addresses"] = addresses(network)
    routes = []
    for gw in gateways(network):
        route = {"to": "default" if ":" not in gw else "::/0", "via": gw}
        if gw in onlink(network):
            route["on-link"] = True
        routes.append(route)
    if routes:
        primary["routes"] = routes
    if network["dns"]:
        primary["nameservers"] = {"addresses": network["dns"]}
    if network.get("addresses"):
        primary["accept-ra"] = False
    return {"version": 2, "ethernets": {key: primary}}


# The new hostname replaces the old one in /etc/hostname and, field by field, in /etc/hosts
# (as virt-customize's own --hostname does on Debian).
SET_HOSTNAME = (
    'old=$(cat /etc/hostname 2>/dev/null || true); printf "%s\\n" "$new" > /etc/hostname; '
    'if [ -n "$old" ] && [ -f /etc/hosts ]; then '
    'awk -v old="$old" -v new="$new" \'{for (i = 2; i <= NF; i++) if ($i == old) $i = new} 1\' '
    "/etc/hosts > /etc/hosts.vmm-new && cat /etc/hosts.vmm-new > /etc/hosts && rm -f /etc/hosts.vmm-new; fi"
)


def hostname_script(hostname):
    """Shell lines that give the guest's tree `hostname` (SET_HOSTNAME)."""
    return f"new={shlex.quote(hostname)}\n{SET_HOSTNAME}"


def customize_script(params):
    """The one shell command, run in the guest's tree, that sets the hostname, the root
    password and SSH keys and grows the root filesystem.

    Not virt-customize's own --hostname and --ssh-inject: both go through augeas, which
    loads all its lenses in the appliance, and under TCG they took 7 s and 11 s of a deploy
    (docs/deploy.md)."""
    lines = ["set -e", hostname_script(params["hostname"])]
    if params.get("root_password_hash"):
        lines.append(f"usermod -p {shlex.quote(params['root_password_hash'])} root")
    keys = params.get("ssh_keys") or ()
    if keys:
        lines.append("install -d -m 700 /root/.ssh")
        lines.append("printf '%s\\n' " + " ".join(shlex.quote(key) for key in keys) + " >> /root/.ssh/authorized_keys")
        lines.append("chmod 600 /root/.ssh/authorized_keys")
    lines.append(GROW_ROOT)
    return "\n".join(lines)


def customize_args(params, first_boot_path=None):
    """virt-customize arguments that configure the guest and grow its root filesystem."""
    args = ["--timezone", params["timezone"], "--run-command", customize_script(params)]
    if params.get("network"):
        unit = static_network_unit(params["network"])
        args += ["--write", f"/etc/systemd/network/05-vmmanager-static.network:{unit}"]
    if first_boot_path:
        args += ["--firstboot", str(first_boot_path)]
    return args


def cloud_init_seed(vm, params):
    """(user_data, meta_data, network_config or None) for a NoCloud seed."""
    config = {
        "hostname": params["hostname"].split(".")[0],
        "fqdn": params["hostname"],
        "timezone": params["timezone"],
        "growpart": {"mode": "auto", "devices": ["/"]},
        "resize_rootfs": True,
        # Debian's default refuses root logins with keys; the panel sells root access.
        "disable_root": False,
        "ssh_pwauth": bool(params.get("root_password_hash")),
    }
    if params.get("root_password_hash"):
        config["chpasswd"] = {
            "expire": False,
            "users": [{"name": "root", "password": params["root_password_hash"], "type": "hash"}],
        }
    if params.get("ssh_keys"):
        config["ssh_authorized_keys"] = list(params["ssh_keys"])
    if params.get("first_boot_script"):
        config["write_files"] = [
            {"path": "/var/lib/vmmanager/first-boot.sh", "permissions": "0755", "content": params["first_boot_script"]}
        ]
        config["runcmd"] = [["/var/lib/vmmanager/first-boot.sh"]]
    # JSON is YAML: no YAML library needed, and no quoting surprises.
    user_data = "#cloud-config\n" + json.dumps(config, indent=2) + "\n"
    meta_data = json.dumps({"instance-id": f"vmm-{vm.uuid}", "local-hostname": params["hostname"]}) + "\n"
    config_v2 = None
    if params.get("network"):
        config_v2 = json.dumps(network_config(params["network"], vm.mac_address))
    return user_data, meta_data, config_v2

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


def static_network_unit(network):
    """A systemd-networkd unit for static addresses; sorts before the image's DHCP one."""
    lines = ["[Match]", "Name=en* eth*", "", "[Network]"]
    lines += [f"Address={address}" for address in addresses(network)]
    lines += [f"Gateway={gateway}" for gateway in gateways(network)]
    lines += [f"DNS={server}" for server in network["dns"]]
    if network.get("addresses"):
        lines.append("IPv6AcceptRA=no")
    return "\n".join(lines) + "\n"


def customize_args(params, first_boot_path=None):
    """virt-customize arguments that configure the guest and grow its root filesystem."""
    args = ["--hostname", params["hostname"], "--timezone", params["timezone"], "--run-command", GROW_ROOT]
    if params.get("root_password_hash"):
        args += ["--run-command", f"usermod -p {shlex.quote(params['root_password_hash'])} root"]
    for key in params.get("ssh_keys") or ():
        args += ["--ssh-inject", f"root:string:{key}"]
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
    network_config = None
    if params.get("network"):
        net = params["network"]
        primary = {"match": {"name": "e*"}, "addresses": addresses(net)}
        routes = [{"to": "default" if ":" not in gw else "::/0", "via": gw} for gw in gateways(net)]
        if routes:
            primary["routes"] = routes
        if net["dns"]:
            primary["nameservers"] = {"addresses": net["dns"]}
        if net.get("addresses"):
            primary["accept-ra"] = False
        network_config = json.dumps({"version": 2, "ethernets": {"primary": primary}})
    return user_data, meta_data, network_config

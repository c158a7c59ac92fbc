"""What a running guest keeps across reboots when its public addresses change (the extra
address jobs, apps.vms.address_change): the shell script the guest agent runs after the live
`ip address` change, and the files it may write. Pure: the script decides in the guest
which of them applies, from what is there:

- a systemd-networkd unit the panel wrote (`05-vmmanager-static.network`: virt-customize
  images, or a cloud-init guest the panel changed before): rewritten with every address;
- else a cloud-init guest (`/etc/cloud` exists): the network config cloud-init rendered at
  the first boot (it renders it once per instance, and not again at later boots) is
  replaced with one holding every address: netplan's `/etc/netplan/50-cloud-init.yaml`,
  ifupdown's `/etc/network/interfaces.d/50-cloud-init`, else (systemd-networkd, as the
  panel's demo image) the panel's own unit, which sorts before cloud-init's
  `10-cloud-init-*.network` and so wins;
- else nothing is kept (the script says so): the guest's own config is not the panel's to
  guess.

The script's positional parameters: $1 the NIC's MAC, $2 the changed CIDR, $3 the
systemd-networkd unit, $4 the netplan YAML, $5 the ifupdown stanzas with `@DEV@` for the
interface; `$dev` is the interface (found by MAC before). It prints `kept in <path>` or
`not kept: ...`. `VMM_ROOT` (empty in guests) lets the tests run it on a directory."""

import json

from apps.vms.guest_config import addresses, gateways, network_config, onlink, static_network_unit

UNIT = "/etc/systemd/network/05-vmmanager-static.network"
NETPLAN = "/etc/netplan/50-cloud-init.yaml"
ENI = "/etc/network/interfaces.d/50-cloud-init"
PERSIST = f"""R="${{VMM_ROOT:-}}"
if [ -f "$R{UNIT}" ]; then
  printf '%s' "$3" > "$R{UNIT}" && echo "kept in {UNIT}"
elif [ -d "$R/etc/cloud" ]; then
  if [ -f "$R{NETPLAN}" ]; then
    printf '%s' "$4" > "$R{NETPLAN}" && chmod 600 "$R{NETPLAN}" && echo "kept in {NETPLAN}"
  elif [ -f "$R{ENI}" ] || [ -f "$R{ENI}.cfg" ]; then
    f="$R{ENI}"; [ -f "$f" ] || f="$f.cfg"
    printf '%s' "$5" | sed "s/@DEV@/$dev/g" > "$f" && echo "kept in ${{f#"$R"}}"
  elif [ -d "$R/etc/systemd/network" ]; then
    printf '%s' "$3" > "$R{UNIT}" && echo "kept in {UNIT}"
  else
    echo "not kept: cloud-init wrote no netplan, ifupdown or systemd-networkd config"
  fi
else
  echo "not kept: the guest has no network config written by the panel or cloud-init"
fi"""


def netplan_yaml(network, mac=None):
    """netplan's file: the network-config v2 under `network:` (JSON is YAML)."""
    return json.dumps({"network": network_config(network, mac)}, indent=2) + "\n"


def eni_stanzas(network):
    """ifupdown's stanzas for `network`, `@DEV@` standing for the interface: one per
    address, the family's gateway and the DNS servers on its first."""
    lines = ["auto lo", "iface lo inet loopback", "", "auto @DEV@"]
    v4_gateway = next((gw for gw in gateways(network) if ":" not in gw), None)
    v6_gateway = next((gw for gw in gateways(network) if ":" in gw), None)
    first = {"inet": True, "inet6": True}
    dns = bool(network["dns"])
    for cidr in addresses(network):
        family = "inet6" if ":" in cidr else "inet"
        lines += [f"iface @DEV@ {family} static", f"    address {cidr}"]
        if first[family]:
            first[family] = False
            gateway = v6_gateway if family == "inet6" else v4_gateway
            if gateway and gateway in onlink(network):
                flag = "-6 " if family == "inet6" else ""
                lines.append(f"    up ip {flag}route replace default via {gateway} dev @DEV@ onlink")
            elif gateway:
                lines.append(f"    gateway {gateway}")
            if family == "inet6":
                lines.append("    accept_ra 0")
        if dns:
            lines.append("    dns-nameservers " + " ".join(network["dns"]))
            dns = False
        lines.append("")
    return "\n".join(lines)


def persist_args(network, mac=None):
    """The script's $3..$5 for `network` (apps.ipam.guest.guest_network) on the NIC `mac`."""
    return [static_network_unit(network), netplan_yaml(network, mac), eni_stanzas(network)]

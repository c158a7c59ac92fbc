#!/usr/bin/env bash
# Build (once) the rescue system the panel boots a customer's VM into (direct
# kernel boot, the VM's own disk attached as virtio /dev/vda): the host's
# Debian kernel plus a busybox initramfs with filesystem modules (ext4, xfs,
# vfat, btrfs), e2fsprogs and xfs_repair, a root shell on the serial console
# (ttyS0) and on tty1 (VNC), networking from the kernel command line or DHCP,
# acpid so that an ACPI shutdown powers it off cleanly, and SSH (dropbear, port
# 22, public keys only) for root when the initrd carries authorized keys.
#
# SSH keys: the panel appends to this initrd, per VM, a second newc cpio
# archive (gzip'd) holding root/.ssh/authorized_keys (the VM owner's saved
# public keys, one a line); the kernel unpacks concatenated archives in order.
# Pad initrd.img with zeros to a multiple of 4 bytes before appending (needed
# for a plain cpio, harmless for a gzip'd one). With no such file (or an empty
# one) there is no SSH server. A fresh ed25519 host key is made on each boot;
# the banner shows its fingerprint.
#
# Kernel command line the panel passes:
#   console=tty0 console=ttyS0,115200 panic=-1
#   [vmm_rescue.ip=ADDR/PREFIX[,ADDR/PREFIX...]]  static IPv4/IPv6 on eth0,
#   [vmm_rescue.gw=ADDR[,ADDR]]                   default route(s),
#   [vmm_rescue.dns=ADDR[,ADDR...]]               /etc/resolv.conf;
#   without vmm_rescue.ip, eth0 is configured by DHCP (udhcpc, background).
# The guest prints VMM-RESCUE-UP on its consoles when the shells are ready.
#
# Usage: rescue-system.sh [--check]
#   stdout (the contract, parsed by other code):
#     kernel=/abs/path/vmlinuz
#     initrd=/abs/path/initrd.img
#   --check  also boot it once under libvirt (TCG) with an ext4 disk and a
#            throwaway SSH key appended as above, use the shell on the serial
#            console to mount the disk and write to it, log in by SSH with the
#            key (and see a password login refused), then shut it down by ACPI.
set -euo pipefail
here="$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")"
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$here/lib.sh"

case "${1:-}" in
    ""|--check) ;;
    *) die "usage: $0 [--check]" ;;
esac

MARKER=VMM-RESCUE-UP
# Disk, NIC and console drivers; filesystems (nls_* for vfat's default
# codepage/charset); evdev + button so acpid sees the ACPI power button.
MODULES=(virtio_pci virtio_blk virtio_net virtio_console virtio_scsi sd_mod
         ext4 xfs vfat btrfs nls_cp437 nls_iso8859_1 evdev button)
# Copied with their shared libraries into /usr/sbin of the initramfs.
TOOLS=(e2fsck mke2fs resize2fs tune2fs debugfs dumpe2fs xfs_repair fsck.fat mkfs.fat
       dropbear dropbearkey)
# name -> the tool it is a link to (Debian ships them as hard links).
LINKS=(fsck.ext2:e2fsck fsck.ext3:e2fsck fsck.ext4:e2fsck
       mkfs.ext2:mke2fs mkfs.ext3:mke2fs mkfs.ext4:mke2fs e2label:tune2fs
       fsck.vfat:fsck.fat mkfs.vfat:mkfs.fat)
DIR="$VMM_CACHE/rescue"
KERNEL="$DIR/vmlinuz"
INITRD="$DIR/initrd.img"
MAX_INITRD_MB=40

# copy_with_libs ROOT BINARY DEST: BINARY into ROOT/DEST plus the shared
# libraries and the dynamic loader it needs, at the same paths as on the host.
copy_with_libs() {
    local root="$1" bin="$2" dest="$3" lib
    install -D -m 755 "$bin" "$root$dest/$(basename "$bin")"
    # "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)";
    # linux-vdso has no file.
    while read -r lib; do
        [[ -e "$root$lib" ]] || install -D -m 755 "$lib" "$root$lib"
    done < <(ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }')
}

build() {
    apt_ensure linux-image-amd64 busybox-static cpio kmod e2fsprogs dosfstools dropbear-bin
    apt_ensure xfsprogs || say "xfsprogs not installable: the rescue system has no xfs_repair"
    local vmlinuz kver tmp t path link size
    vmlinuz="$(newest_kernel)"
    kver="${vmlinuz#/boot/vmlinuz-}"
    say "building rescue system from kernel $kver"

    mkdir -p "$DIR"
    tmp="$(mktemp -d "$DIR/.build.XXXXXX")"
    # shellcheck disable=SC2064  # expand now: $tmp is local to this function
    trap "rm -rf '$tmp'" EXIT
    local root="$tmp/root"
    mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,mnt,root} \
             "$root"/{etc/acpi/PWRF,etc/dropbear,usr/share/udhcpc,var/log,lib/modules}
    chmod 1777 "$root/tmp"
    ln -s ../run "$root/var/run"
    cp /bin/busybox "$root/bin/busybox"

    collect_modules "$kver" "$root/lib/modules" "${MODULES[@]}"

    for t in "${TOOLS[@]}"; do
        if path="$(PATH=/usr/sbin:/sbin:/usr/bin:/bin command -v "$t")"; then
            copy_with_libs "$root" "$path" /usr/sbin
        else
            say "no $t on this host: not in the rescue system"
        fi
    done
    for link in "${LINKS[@]}"; do
        if [[ -e "$root/usr/sbin/${link#*:}" ]]; then
            ln -s "${link#*:}" "$root/usr/sbin/${link%%:*}"
        fi
    done
    cp /etc/mke2fs.conf "$root/etc/mke2fs.conf"
    # dropbear looks root up with getpwnam/getspnam; glibc (2.34+) has the
    # "files" NSS service built in, an older one loads libnss_files.so.2.
    for path in /lib/x86_64-linux-gnu/libnss_files.so.2 /usr/lib/x86_64-linux-gnu/libnss_files.so.2; do
        if [[ -e "$path" ]]; then install -D -m 644 "$path" "$root$path"; break; fi
    done
    # The copied tools must run with the copied libraries alone.
    chroot "$root" /usr/sbin/e2fsck -V >/dev/null 2>&1 || die "e2fsck does not run inside the rescue root"
    chroot "$root" /usr/sbin/dropbear -V >/dev/null 2>&1 || die "dropbear does not run inside the rescue root"

    ln -s /proc/self/mounts "$root/etc/mtab"
    # root's password is locked ("*"): SSH is by key only (dropbear -s), and a
    # non-empty password field keeps dropbear from refusing the user.
    echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
    echo "root:*:19000:0:99999:7:::" > "$root/etc/shadow"
    chmod 600 "$root/etc/shadow"
    echo "root:x:0:" > "$root/etc/group"
    echo /bin/sh > "$root/etc/shells"
    printf '%s\n' "passwd: files" "group: files" "shadow: files" > "$root/etc/nsswitch.conf"
    echo rescue > "$root/etc/hostname"

    cat > "$root/etc/profile" <<'PROFILE'
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
export PS1='rescue:\w# '
# A serial line has no window size; give line editing and vi a sane one.
[ "$(stty size 2>/dev/null)" = "0 0" ] && stty rows 24 cols 80 2>/dev/null
alias ll='ls -l'
# An interactive SSH login gets the banner too (the consoles show it already).
if [ -n "$SSH_TTY" ]; then rescue-help; fi
PROFILE

    # The banner (with the marker) each console shows before its shell starts;
    # also a command the user can run again.
    cat > "$root/usr/bin/rescue-help" <<'HELP'
#!/bin/sh
echo
echo "======================================================================"
echo "@MARKER@"
echo "Rescue system of the panel. You are root; your VM is not running."
echo "Your VM's disk is /dev/vda. To work on it:"
echo "  mount /dev/vda1 /mnt      (a disk without partitions: mount /dev/vda /mnt)"
echo "  e2fsck -f /dev/vda1, xfs_repair /dev/vda1, resize2fs, tune2fs, debugfs"
echo "Unmount before leaving rescue mode: umount /mnt"
echo "Block devices and partitions:"
awk 'NR > 2 && $4 !~ /^(ram|loop)/ { printf "  /dev/%-10s %10.1f MiB\n", $4, $3 / 1024 }' /proc/partitions
echo "Network (eth0): $(ip -o addr show dev eth0 2>/dev/null | awk '{ printf "%s ", $4 }')"
# /run/rescue-ssh (from /init): "on FINGERPRINT" or "off REASON".
ssh=off ssh_info="(SSH not set up)"
[ -s /run/rescue-ssh ] && read -r ssh ssh_info < /run/rescue-ssh
if [ "$ssh" = on ]; then
    addrs="$(ip -o addr show dev eth0 2>/dev/null | awk '$4 !~ /^fe80:/ { sub("/.*", "", $4); printf " root@%s", $4 }')"
    echo "SSH:${addrs:- port 22 (eth0 has no address yet)} with the VM owner's saved keys"
    echo "SSH host key: ED25519 $ssh_info"
else
    echo "SSH: off $ssh_info"
fi
echo "Run rescue-help to see this again."
echo "======================================================================"
HELP
    sed -i "s/@MARKER@/$MARKER/" "$root/usr/bin/rescue-help"
    chmod 755 "$root/usr/bin/rescue-help"
    # What init runs on each console (TERM as $1), with the tty as its
    # controlling terminal.
    cat > "$root/usr/bin/rescue-shell" <<'SHELL'
#!/bin/sh
export TERM="${1:-linux}"
rescue-help
cd /root
exec sh -l
SHELL
    chmod 755 "$root/usr/bin/rescue-shell"

    # busybox acpid turns the power button (evdev: "button/power PWRF
    # 00000080") into running /etc/acpi/PWRF/00000080.
    cat > "$root/etc/acpi/PWRF/00000080" <<'ACPI'
#!/bin/sh
echo "rescue: ACPI power button: syncing, unmounting, powering off" >/dev/console
sync
umount -a -r 2>/dev/null
poweroff -f
ACPI
    chmod 755 "$root/etc/acpi/PWRF/00000080"

    # udhcpc's hook: $1 is the event; interface, ip, mask (prefix length),
    # router, dns, domain come in the environment.
    cat > "$root/usr/share/udhcpc/default.script" <<'DHCP'
#!/bin/sh
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        [ "$1" = bound ] && ip -4 addr flush dev "$interface"
        ip addr replace "$ip/${mask:-24}" dev "$interface"
        if [ -n "$router" ]; then
            ip -4 route del default dev "$interface" 2>/dev/null
            for r in $router; do
                ip route add default via "$r" dev "$interface" && break
            done
        fi
        if [ -n "$dns" ]; then
            : > /etc/resolv.conf
            [ -n "$domain" ] && echo "search $domain" >> /etc/resolv.conf
            for d in $dns; do echo "nameserver $d" >> /etc/resolv.conf; done
        fi
        echo "rescue: DHCP: $interface has $ip/${mask:-24}${router:+ via $router}" >/dev/console
        ;;
esac
exit 0
DHCP
    chmod 755 "$root/usr/share/udhcpc/default.script"

    cat > "$root/init" <<'INIT'
#!/bin/busybox sh
# PID 1 of the rescue system (built by scripts/rescue-system.sh): sets it up,
# then becomes busybox init. PID 1 must never exit: that is a kernel panic.
/bin/busybox --install -s /bin
export PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /mnt /tmp /root
mount -t devpts devpts /dev/pts
# The cpio has no /dev/console node, so the kernel gave us no stdio.
exec </dev/console >/dev/console 2>&1
# Some fail harmlessly (e.g. crct10dif-pclmul on a CPU without PCLMUL).
for m in $(cat /lib/modules/order); do insmod "/lib/modules/$m.ko" 2>/dev/null; done
hostname rescue

# ACPI power button (virsh shutdown) -> /etc/acpi/PWRF/00000080 -> poweroff.
acpid -l /var/log/acpid.log
ls /dev/input/event* >/dev/null 2>&1 || echo "rescue: no input event devices: ACPI shutdown will not work"

# Network: never blocks the boot.
ips= gws= dns=
for arg in $(cat /proc/cmdline); do
    case "$arg" in
        vmm_rescue.ip=*)  ips="${arg#*=}" ;;
        vmm_rescue.gw=*)  gws="${arg#*=}" ;;
        vmm_rescue.dns=*) dns="${arg#*=}" ;;
    esac
done
ip link set lo up
if [ -e /sys/class/net/eth0 ]; then
    ip link set eth0 up
    if [ -n "$ips" ]; then
        for a in $(echo "$ips" | tr , ' '); do
            ip addr add "$a" dev eth0 || echo "rescue: bad address $a"
        done
        for g in $(echo "$gws" | tr , ' '); do
            case "$g" in
                *:*) ip -6 route add default via "$g" dev eth0 ;;
                *)   ip -4 route add default via "$g" dev eth0 ;;
            esac || echo "rescue: cannot add default route via $g"
        done
        if [ -n "$dns" ]; then
            for d in $(echo "$dns" | tr , ' '); do echo "nameserver $d"; done > /etc/resolv.conf
        fi
    else
        udhcpc -b -q -i eth0 -s /usr/share/udhcpc/default.script >/dev/null 2>&1 &
    fi
else
    echo "rescue: no eth0: no network"
fi

# SSH for root with the VM owner's keys, which the panel appends to the initrd.
# The panel's archive may carry its own uid and modes: dropbear wants these
# owned by root and not writable by others.
ssh_cmd=
if [ -s /root/.ssh/authorized_keys ]; then
    chown -R 0:0 /root
    chmod 700 /root /root/.ssh
    chmod 600 /root/.ssh/authorized_keys
    key=/etc/dropbear/dropbear_ed25519_host_key
    if dropbearkey -t ed25519 -f "$key" >/dev/null 2>&1; then
        echo "on $(dropbearkey -y -f "$key" | sed -n 's/^Fingerprint: //p')" > /run/rescue-ssh
        # Password logins off (-s); run by init below (respawned), logging to a file.
        ssh_cmd="/usr/sbin/dropbear -F -E -s -p 22 -r $key </dev/null >/dev/null 2>>/var/log/dropbear.log"
    else
        echo "off (cannot make a host key)" > /run/rescue-ssh
    fi
else
    echo "off (no saved SSH keys)" > /run/rescue-ssh
fi

# A root shell on the serial console and one on tty1 (VNC), respawned when it
# exits: busybox init does that, as PID 1 from here on (it never exits and
# reaps orphans). Not `while ...; done &` from this script: a non-interactive
# shell starts background jobs with SIGINT ignored for good, so Ctrl-C would
# not work in the shells; init gives each shell default signals and its tty
# as controlling terminal (job control). Only ttys that exist get a shell.
: > /etc/inittab
for t in ttyS0:vt102 tty1:linux; do
    if ( exec <"/dev/${t%%:*}" ) 2>/dev/null; then
        echo "${t%%:*}::respawn:/usr/bin/rescue-shell ${t#*:}" >> /etc/inittab
    fi
done
# No tty: init runs it with our stdio (the console), through sh for the redirections.
[ -n "$ssh_cmd" ] && echo "::respawn:$ssh_cmd" >> /etc/inittab
exec init
INIT
    chmod 755 "$root/init"

    (cd "$root" && find . | cpio -o -H newc --quiet | gzip -9) > "$tmp/initrd.img"
    size=$(($(stat -c %s "$tmp/initrd.img") / 1024 / 1024))
    say "initrd.img is $size MB compressed ($(du -sm "$root" | cut -f1) MB unpacked)"
    ((size < MAX_INITRD_MB)) || say "WARNING: initrd.img is over $MAX_INITRD_MB MB: drop modules or tools"
    install_boot_pair "$vmlinuz" "$tmp/initrd.img" "$KERNEL" "$INITRD"
    rm -rf "$tmp"; trap - EXIT
}

# Drives the serial console through `virsh console` on a pty (virsh wants a
# terminal): waits for the shell prompt, runs the commands, expects output.
# argv: domain, marker text expected from `cat /mnt/marker`, transcript file.
# shellcheck disable=SC2016  # python code, not shell: nothing to expand
CONSOLE_PY='
import os, pty, re, select, sys, time
name, marker, transcript = sys.argv[1:4]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("virsh", ["virsh", "-q", "-c", "qemu:///system", "console", "--force", name])
log = open(transcript, "ab")
buf = b""
def expect(pattern, timeout):
    global buf
    rx, end = re.compile(pattern.encode()), time.time() + timeout
    while True:
        m = rx.search(buf)
        if m:
            buf = buf[m.end():]
            return
        left = end - time.time()
        r = select.select([fd], [], [], max(left, 0))[0] if left > 0 else []
        if not r:
            sys.exit("console: no %r within %d s" % (pattern, timeout))
        try:
            data = os.read(fd, 4096)
        except OSError:
            data = b""
        if not data:
            sys.exit("console: closed while waiting for %r" % pattern)
        log.write(data); log.flush()
        buf += data
def send(text):
    os.write(fd, text.encode())
prompt = r"rescue:[^\r\n#]*# "
time.sleep(1)
send("\r")
expect(prompt, 30)
# The expected texts are not in the command lines (the terminal echoes them).
send("ip -o addr show dev eth0; ip route; ping -c 1 -W 5 198.51.100.129\r")
expect(r"198\.51\.100\.253/25", 20)
expect(r"2001:db8::77/64", 20)
expect(r"default via 198\.51\.100\.129", 20)
expect(r"1 packets received", 20)
expect(prompt, 20)
send("mount /dev/vda /mnt && cat /mnt/marker && echo written-in-rescue >/mnt/rescued && umount /mnt && echo STEP-$((6*7))-OK\r")
expect(re.escape(marker), 60)
expect("STEP-42-OK", 60)
expect(prompt, 20)
send("\x1d")  # ^] leaves virsh console
time.sleep(1)
try:
    os.kill(pid, 15)
except ProcessLookupError:
    pass
os.waitpid(pid, 0)
'

# Boot it once as a transient TCG domain (as the panel would, with a NIC on the
# isolated test network of scripts/host.sh and a static address from the command line) with an ext4
# disk and a throwaway SSH key appended to the initrd, drive the serial shell,
# log in by SSH, then check ACPI shutdown and the disk write.
check() {
    # Globals (not locals) because the trap runs after check() has returned.
    name="vmm-rescue-check-$$"
    log="/var/log/libvirt/qemu/$name-serial.log"
    work="$(mktemp -d /tmp/vmm-rescue-check.XXXXXX)"
    chmod 755 "$work"
    disk="$work/disk.raw"
    mkdir -p /var/log/libvirt/qemu
    trap '"${VIRSH[@]}" destroy "$name" >/dev/null 2>&1 || true
          rm -rf "$work"; rm -f "$log" "/var/log/libvirt/qemu/$name.log"' EXIT
    local text="rescue-check-marker-$$-$RANDOM"
    mkdir "$work/fs"
    echo "$text" > "$work/fs/marker"
    truncate -s 32M "$disk"
    mkfs.ext4 -q -F -d "$work/fs" "$disk"

    # The initrd as the panel uploads it: initrd.img padded to 4 bytes, then a
    # gzip'd newc cpio with root/.ssh/authorized_keys. Owned by some other uid
    # here, as a panel not running as root would make it (/init fixes that).
    apt_ensure openssh-client
    ssh-keygen -q -t ed25519 -N '' -C rescue-check -f "$work/key"
    mkdir -p "$work/extra/root/.ssh"
    cp "$work/key.pub" "$work/extra/root/.ssh/authorized_keys"
    chmod 700 "$work/extra/root" "$work/extra/root/.ssh"
    chmod 600 "$work/extra/root/.ssh/authorized_keys"
    chown -R 1000:1000 "$work/extra/root"
    cp "$INITRD" "$work/initrd.img"
    truncate -s %4 "$work/initrd.img"
    (cd "$work/extra" && find root | cpio -o -H newc --quiet | gzip -9) >> "$work/initrd.img"
    chmod 644 "$work/initrd.img"
    SSH=(ssh -F /dev/null -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null
         -o GlobalKnownHostsFile=/dev/null -o LogLevel=ERROR -o BatchMode=yes -o ConnectTimeout=10)
    local ip=198.51.100.253
    ! ping -c 1 -W 1 "$ip" >/dev/null 2>&1 || die "$ip answers already: something on vmm-test uses it"

    say "checking: booting $name (TCG)"
    "${VIRSH[@]}" create /dev/stdin >/dev/null <<XML
<domain type='qemu'>
  <name>$name</name>
  <memory unit='MiB'>512</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>$KERNEL</kernel>
    <initrd>$work/initrd.img</initrd>
    <cmdline>console=tty0 console=ttyS0,115200 panic=-1 vmm_rescue.ip=198.51.100.253/25,2001:db8::77/64 vmm_rescue.gw=198.51.100.129</cmdline>
  </os>
  <features><acpi/><apic/></features>
  <on_poweroff>destroy</on_poweroff>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/><source file='$disk'/><target dev='vda' bus='virtio'/>
    </disk>
    <interface type='network'><source network='vmm-test'/><model type='virtio'/></interface>
    <serial type='pty'><log file='$log' append='off'/><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <graphics type='vnc' autoport='yes' listen='127.0.0.1'/>
    <video><model type='vga'/></video>
  </devices>
</domain>
XML
    local start=$SECONDS
    until grep -q "$MARKER" "$log" 2>/dev/null; do
        ((SECONDS - start < 120)) || { tail -n 30 "$log" >&2 || true; die "no $MARKER after 120 s"; }
        sleep 0.5
    done
    local up=$EPOCHREALTIME
    say "$MARKER after $((SECONDS - start)) s"
    grep -q "/dev/vda " "$log" || { tail -n 30 "$log" >&2; die "the banner does not list /dev/vda"; }

    # When SSH answers, and with the host key the banner shows.
    local hostkey="" fp
    start=$SECONDS
    until hostkey="$(ssh-keyscan -T 5 -t ed25519 "$ip" 2>/dev/null)" && [[ -n "$hostkey" ]]; do
        ((SECONDS - start < 60)) || { tail -n 30 "$log" >&2 || true; die "no SSH on $ip 60 s after $MARKER"; }
        sleep 0.2
    done
    say "SSH answered $(awk -v a="$up" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }') s after $MARKER"
    fp="$(ssh-keygen -l -f - <<<"$hostkey" | awk '{ print $2 }')"
    grep -q "SSH: root@$ip root@2001:db8::77 with the VM owner's saved keys" "$log" \
        || { tail -n 30 "$log" >&2; die "the banner does not offer SSH to root@$ip"; }
    grep -qF "SSH host key: ED25519 $fp" "$log" \
        || { tail -n 30 "$log" >&2; die "the banner does not show the host key $fp"; }
    say "the banner shows the host key SSH presents ($fp); using the shell on the serial console"

    python3 -c "$CONSOLE_PY" "$name" "$text" "$work/console.txt" \
        || { tail -c 3000 "$work/console.txt" >&2 || true; die "the serial shell did not do its job"; }
    say "mounted /dev/vda, read the marker, wrote /rescued; logging in by SSH"

    local out
    out="$("${SSH[@]}" -o IdentitiesOnly=yes -i "$work/key" "root@$ip" \
        'cat /proc/partitions; mount | grep -c . ; echo SSH-OK' 2>&1)" \
        || { printf '%s\n' "$out" >&2; die "SSH login with the appended key failed"; }
    [[ "$out" == *SSH-OK* && "$out" == *" vda"* ]] \
        || { printf '%s\n' "$out" >&2; die "SSH: no SSH-OK or no vda in /proc/partitions"; }
    # Only public keys: the server must not even offer password logins.
    if out="$("${SSH[@]}" -o PreferredAuthentications=password,keyboard-interactive \
            -o PubkeyAuthentication=no "root@$ip" true 2>&1)"; then
        die "SSH without a key logged in"
    fi
    [[ "$out" == *"Permission denied (publickey)."* ]] \
        || { printf '%s\n' "$out" >&2; die "SSH offers more than public keys"; }
    say "SSH as root with the appended key works (saw vda); password logins refused; sending ACPI shutdown"

    "${VIRSH[@]}" shutdown "$name" >/dev/null
    start=$SECONDS
    while "${VIRSH[@]}" domstate "$name" >/dev/null 2>&1; do
        ((SECONDS - start < 30)) || { tail -n 20 "$log" >&2 || true; die "still running 30 s after ACPI shutdown"; }
        sleep 0.5
    done
    say "powered off $((SECONDS - start)) s after ACPI shutdown"

    [[ "$(debugfs -R "cat /rescued" "$disk" 2>/dev/null)" == written-in-rescue ]] \
        || die "/rescued is not on the disk: the write from the rescue shell did not land"
    say "check ok: rescue shell mounted and wrote the disk, SSH with the owner's key, ACPI shutdown powered off"
}

# Built again when this script changed since (a cache made by an older recipe lacks what the
# panel and its tests now expect of it, such as the SSH server).
RECIPE="$(sha256sum "${BASH_SOURCE[0]}" "$here/lib.sh" | sha256sum | cut -c1-16)"
if [[ ! -s "$KERNEL" || ! -s "$INITRD" || "$(cat "$DIR/.recipe" 2>/dev/null)" != "$RECIPE" ]]; then
    build
    echo "$RECIPE" > "$DIR/.recipe"
fi
echo "kernel=$KERNEL"
echo "initrd=$INITRD"
if [[ "${1:-}" == --check ]]; then
    check
fi

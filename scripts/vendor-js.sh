#!/usr/bin/env bash
# Fetch the browser libraries of the web consoles from the npm registry (`npm pack`, which
# checks each tarball against the registry's integrity hash) into static/vendor/, with their
# licences. No CDN: the panel serves them itself. The result is committed; run this again
# only to change a version below (docs/console.md).
set -euo pipefail
cd "$(dirname "$0")/.."
XTERM=6.0.0        # @xterm/xterm, MIT: the serial console's terminal
XTERM_FIT=0.11.0   # @xterm/addon-fit, MIT: sizes the terminal to its box
NOVNC=1.7.0        # @novnc/novnc, MPL-2.0 (pako inside: MIT): the graphical console

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@xterm/xterm@$XTERM" "@xterm/addon-fit@$XTERM_FIT" "@novnc/novnc@$NOVNC" >/dev/null)
for tgz in "$work"/*.tgz; do
  mkdir -p "${tgz%.tgz}" && tar -xzf "$tgz" -C "${tgz%.tgz}"
done

out=static/vendor/xterm
rm -rf "$out" && mkdir -p "$out"
cp "$work/xterm-xterm-$XTERM/package/lib/xterm.js" "$work/xterm-xterm-$XTERM/package/css/xterm.css" "$out/"
cp "$work/xterm-xterm-$XTERM/package/LICENSE" "$out/LICENSE"
cp "$work/xterm-addon-fit-$XTERM_FIT/package/lib/addon-fit.js" "$out/"
sed -i '/sourceMappingURL=/d' "$out"/*.js   # the maps are not shipped
echo "@xterm/xterm $XTERM, @xterm/addon-fit $XTERM_FIT (npm)" > "$out/VERSION"

out=static/vendor/novnc
rm -rf "$out" && mkdir -p "$out"
cp -r "$work/novnc-novnc-$NOVNC/package/core" "$work/novnc-novnc-$NOVNC/package/vendor" "$out/"
cp "$work/novnc-novnc-$NOVNC/package/LICENSE.txt" "$out/LICENSE.txt"
echo "@novnc/novnc $NOVNC (npm)" > "$out/VERSION"
echo "==> static/vendor/xterm and static/vendor/novnc"

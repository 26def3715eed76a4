#!/usr/bin/env bash
# Fetches the real programs the tests use, from Debian's packages, into
# .tools/ (git-ignored): promtool and prometheus (package prometheus),
# alertmanager and amtool (prometheus-alertmanager), and shellcheck.
# The packages are unpacked with dpkg -x, never installed: no service starts.
# Idempotent: tools already unpacked are kept.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
tools="$root/.tools"
bin="$tools/bin"
mkdir -p "$bin"

want=(promtool prometheus alertmanager amtool shellcheck)
missing=0
for t in "${want[@]}"; do
  [ -x "$bin/$t" ] || missing=1
done
if [ "$missing" = 0 ] && [ -e /usr/share/prometheus/alertmanager/default.tmpl ]; then
  echo "fetch-tools: all tools present in $bin"
  exit 0
fi

download="$(mktemp -d)"
trap 'rm -rf "$download"' EXIT

# A fresh machine has no package lists yet; apt-get download needs them.
if ! (cd "$download" && apt-get download prometheus prometheus-alertmanager shellcheck >/dev/null 2>&1); then
  echo "fetch-tools: updating the package lists"
  apt-get update -qq
  (cd "$download" && apt-get download prometheus prometheus-alertmanager shellcheck)
fi

for deb in "$download"/*.deb; do
  dpkg -x "$deb" "$tools/root"
done

for t in "${want[@]}"; do
  src="$tools/root/usr/bin/$t"
  # Debian names the Alertmanager binary prometheus-alertmanager.
  [ "$t" = alertmanager ] && src="$tools/root/usr/bin/prometheus-alertmanager"
  if [ ! -x "$src" ]; then
    echo "fetch-tools: $t not found in the unpacked packages" >&2
    exit 1
  fi
  ln -sf "$src" "$bin/$t"
done

# Debian's Alertmanager reads its notification templates from this fixed
# directory; put the unpacked copies there (data files, no service).
tmpl=/usr/share/prometheus/alertmanager
if [ ! -e "$tmpl/default.tmpl" ]; then
  { mkdir -p "$tmpl" && cp "$tools/root$tmpl"/*.tmpl "$tmpl/"; } ||
    echo "fetch-tools: cannot install the templates in $tmpl (run as root): Alertmanager will not send notifications" >&2
fi

"$bin/promtool" --version 2>&1 | head -n 1
"$bin/alertmanager" --version 2>&1 | head -n 1
"$bin/shellcheck" --version | sed -n 2p

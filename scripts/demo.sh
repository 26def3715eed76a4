#!/usr/bin/env bash
# The demo: a simulated Proxmox VE cluster and Proxmox Backup Server (HTTPS,
# self-signed, pinned by fingerprint) and the exporter in front of them.
# Ctrl-C stops both.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
addr="${DEMO_ADDRESS:-127.0.0.1:10049}"
dir="$root/.demo"
mkdir -p "$dir"
rm -f "$dir/proxmox_backup_exporter.yml"

go build -o "$dir/proxmox-simulator" ./cmd/proxmox-simulator
go build -o "$dir/proxmox_backup_exporter" .

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

"$dir/proxmox-simulator" --scenario "${DEMO_SCENARIO:-demo}" --write-config "$dir/proxmox_backup_exporter.yml" &
pids+=($!)
for _ in $(seq 50); do
  [ -s "$dir/proxmox_backup_exporter.yml" ] && break
  sleep 0.1
done
[ -s "$dir/proxmox_backup_exporter.yml" ] || { echo "demo: the simulator did not start" >&2; exit 1; }

"$dir/proxmox_backup_exporter" --config.file="$dir/proxmox_backup_exporter.yml" --web.listen-address="$addr" &
pids+=($!)
sleep 1

cat <<MSG

The demo is running. Open:
  http://$addr/                          landing page
  http://$addr/status                    backup status of every guest and group
  http://$addr/probe?target=demo-pve     metrics of the simulated PVE cluster
  http://$addr/probe?target=demo-pbs     metrics of the simulated PBS
  http://$addr/metrics                   the exporter's own metrics
Press Ctrl-C to stop.
MSG
wait

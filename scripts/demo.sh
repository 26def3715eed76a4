#!/usr/bin/env bash
# The demo: a simulated Proxmox VE cluster, a Proxmox Backup Server and its
# offsite copy, a second PBS (HTTPS, self-signed, pinned by fingerprint), and
# the exporter in front of them.
# Ctrl-C stops both.
#
# Ports (each a host:port): DEMO_ADDRESS (the exporter, 127.0.0.1:10049),
# DEMO_PVE_ADDRESS (127.0.0.1:18006), DEMO_PBS_ADDRESS (127.0.0.1:18007),
# DEMO_PBS_OFFSITE_ADDRESS (127.0.0.1:18008).
# DEMO_SCENARIO picks a simulator preset or scenario file (demo).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
addr="${DEMO_ADDRESS:-127.0.0.1:10049}"
pve_addr="${DEMO_PVE_ADDRESS:-127.0.0.1:18006}"
pbs_addr="${DEMO_PBS_ADDRESS:-127.0.0.1:18007}"
offsite_addr="${DEMO_PBS_OFFSITE_ADDRESS:-127.0.0.1:18008}"
dir="$root/.demo"
mkdir -p "$dir"
rm -f "$dir/proxmox_backup_exporter.yml"

fail() {
	echo "demo: $*" >&2
	exit 1
}

# A port that is taken fails now, with its name, rather than later with a
# half-started demo.
port_free() {
	local host="${2%:*}" port="${2##*:}"
	if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
		fail "$1 address $2 is taken; set $3 to another host:port"
	fi
}
port_free exporter "$addr" DEMO_ADDRESS
port_free "simulated PVE" "$pve_addr" DEMO_PVE_ADDRESS
port_free "simulated PBS" "$pbs_addr" DEMO_PBS_ADDRESS
port_free "simulated offsite PBS" "$offsite_addr" DEMO_PBS_OFFSITE_ADDRESS

go build -o "$dir/proxmox-simulator" ./cmd/proxmox-simulator
go build -o "$dir/proxmox_backup_exporter" .

pids=()
cleanup() {
	kill "${pids[@]}" 2>/dev/null || true
	wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

"$dir/proxmox-simulator" --scenario "${DEMO_SCENARIO:-demo}" \
	--pve.listen-address "$pve_addr" --pbs.listen-address "$pbs_addr" \
	--pbs-offsite.listen-address "$offsite_addr" \
	--write-config "$dir/proxmox_backup_exporter.yml" &
pids+=($!)
for _ in $(seq 100); do
	[ -s "$dir/proxmox_backup_exporter.yml" ] && break
	kill -0 "${pids[0]}" 2>/dev/null || fail "the simulator stopped (see its messages above)"
	sleep 0.1
done
[ -s "$dir/proxmox_backup_exporter.yml" ] || fail "the simulator wrote no configuration within 10 s"

"$dir/proxmox_backup_exporter" --config.file="$dir/proxmox_backup_exporter.yml" --web.listen-address="$addr" &
started=$!
pids+=("$started")

# Ready means: the simulator wrote its config, the exporter answers, and a
# probe of each simulated target reports it up.
probe_up() {
	curl -fsS --max-time 10 "http://$addr/probe?target=$1" 2>/dev/null | grep -qx 'proxmox_backup_up 1'
}
ready=0
for _ in $(seq 100); do
	if ! kill -0 "${pids[0]}" 2>/dev/null; then
		fail "the simulator stopped (see its messages above)"
	fi
	kill -0 "$started" 2>/dev/null || fail "the exporter stopped (see its messages above)"
	if probe_up demo-pve && probe_up demo-pbs && probe_up demo-pbs-offsite; then
		ready=1
		break
	fi
	sleep 0.2
done
[ "$ready" = 1 ] || fail "the simulated targets did not answer a probe within 20 s"

cat <<MSG

The demo is running. Open:
  http://$addr/                          landing page
  http://$addr/status                    backup status of every guest and group
  http://$addr/probe?target=demo-pve     metrics of the simulated PVE cluster
  http://$addr/probe?target=demo-pbs     metrics of the simulated PBS
  http://$addr/probe?target=demo-pbs-offsite  metrics of its offsite copy
  http://$addr/metrics                   the exporter's own metrics
Press Ctrl-C to stop.
MSG
wait

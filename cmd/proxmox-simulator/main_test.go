package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"proxmox_backup_exporter/simulator"
)

func TestScenarioFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "scenario.yml")
	if err := os.WriteFile(path, []byte(`
pve:
  version: "8.4.14"
  release: "8.4"
  nodes:
    - {name: pve1, timezone: Europe/Vienna}
  guests:
    - {vmid: 100, name: db01, type: qemu, node: pve1}
  storages:
    - name: pbs
      type: pbs
      shared: true
      datastore: main
      volumes:
        - {vmid: 100, time: 2026-11-20T01:03:00Z, size: 1073741824, verify: ok, verify_time: 2026-11-20T03:00:00Z}
  jobs:
    - {id: backup-nightly, schedule: "02:00", storage: pbs, all: true}
  tasks:
    - node: pve1
      start: 2026-11-20T01:00:00Z
      end: 2026-11-20T01:10:00Z
      args: --all 1 --storage pbs
      guests:
        - {vmid: 100, type: qemu, start: 2026-11-20T01:03:00Z, duration: 4m12s}
pbs:
  version: "4.0"
  datastores:
    - name: main
      total: 1000
      used: 500
      namespaces:
        - path: ""
          groups:
            - backup_type: vm
              backup_id: "100"
              snapshots:
                - {time: 2026-11-20T01:03:00Z, size: 1073741824}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	pve, pbs, err := loadScenario(path, mergeSizes(simulatorSizes(), simulatorSizes()))
	if err != nil {
		t.Fatal(err)
	}
	if pve.TokenID == "" || pbs.TokenID == "" {
		t.Error("a scenario without tokens gets the test tokens")
	}
	if d := pve.Tasks[0].Guests[0].Duration.String(); d != "4m12s" {
		t.Errorf("duration %s", d)
	}
	if len(pbs.Datastores[0].Namespaces[0].Groups[0].Snapshots) != 1 {
		t.Error("snapshots not loaded")
	}

	if err := os.WriteFile(path, []byte("pve:\n  nodez: []\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := loadScenario(path, simulatorSizes()); err == nil || !strings.Contains(err.Error(), "nodez") {
		t.Errorf("unknown key: %v", err)
	}
	if _, _, err := loadScenario("nope", simulatorSizes()); err == nil || !strings.Contains(err.Error(), "unknown preset") {
		t.Errorf("unknown preset: %v", err)
	}
}

func simulatorSizes() simulator.Sizes { return simulator.DefaultSizes("small") }

package exporter

import (
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// A token whose volume role on /vms lacks VM.Audit sees no guest: the grant
// on /vms replaces what / gave (pve-access-control PVE/AccessControl.pm
// roles), and GET /cluster/resources leaves out guests without VM.Audit
// with HTTP 200 (pve-manager PVE/API2/Cluster.pm resources). The probe says
// so in a metric and the status page in words.
func TestTokenMissingVMAudit(t *testing.T) {
	cfg, pve, _ := simulators(t)
	pve.ACLs = []simulator.ACL{
		{Path: "/", Privs: []string{"Sys.Audit", "VM.Audit"}},
		{Path: "/vms", Privs: []string{"Datastore.AllocateSpace", "VM.Backup"}},
		{Path: "/storage", Privs: []string{"Datastore.AllocateSpace"}},
	}
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

	status, body := te.get("/probe?target=cluster")
	if status != 200 {
		t.Fatalf("status %d", status)
	}
	for _, want := range []string{
		`proxmox_backup_token_missing_privilege{path="/vms",privilege="VM.Audit"} 1`,
		`proxmox_backup_collector_success{collector="guests"} 1`,
		`proxmox_backup_collector_success{collector="permissions"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/probe lacks %s", want)
		}
	}
	if strings.Contains(body, "proxmox_backup_guest_info{") {
		t.Error("guests exported although the token cannot see them")
	}
	// The whole output is a golden file too: it carries the metric into
	// the mixin's contract check and promtool's lint.
	checkGolden(t, filepath.Join("testdata", "probe_cluster_missing_vm_audit.prom"), normalize(body))

	_, body = te.get("/status.json?target=cluster")
	var page struct {
		Targets []statusTarget `json:"targets"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Targets) != 1 || !strings.Contains(strings.Join(page.Targets[0].Problems, "\n"), "the token lacks VM.Audit on /vms: guests are hidden") {
		t.Errorf("status problems: %+v", page.Targets)
	}
}

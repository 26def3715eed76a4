package exporter

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
	"proxmox_backup_exporter/verdict"
)

// demoWithOffsite serves the demo and its offsite PBS at the golden time,
// the demo's PBS naming the offsite one.
func demoWithOffsite(t *testing.T) string {
	pve, pbs := simulator.DemoScenario(goldenNow)
	offsite := simulator.DemoOffsite(goldenNow, pbs)
	offsite.Now = func() time.Time { return goldenNow }
	srv := httptest.NewServer(offsite.Handler())
	t.Cleanup(srv.Close)
	return "targets:\n" + pair(t, "demo-", pve, pbs) + "    offsite: demo-pbs-offsite\n" +
		simTarget("demo-pbs-offsite", "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
}

// /status.json reports the guest with a single copy and the lagging
// offsite copy on the primary's group row; the offsite comparison holds
// when the page shows the primary alone, and the offsite target's own
// problems stay out of that page.
func TestStatusShowsCopies(t *testing.T) {
	te := newTestExporter(t, demoWithOffsite(t), func() time.Time { return goldenNow })
	type page struct {
		Problems []verdict.Problem `json:"problems"`
		Rows     []statusRow       `json:"rows"`
	}
	get := func(path string) page {
		status, body := te.get(path)
		if status != 200 {
			t.Fatalf("%s: %d", path, status)
		}
		var p page
		if err := json.Unmarshal([]byte(body), &p); err != nil {
			t.Fatal(err)
		}
		return p
	}
	has := func(p page, target, problem, id string) *verdict.Problem {
		for i := range p.Problems {
			if q := &p.Problems[i]; q.Target == target && q.Problem == problem && q.Object.ID == id {
				return q
			}
		}
		return nil
	}
	all := get("/status.json")
	if p := has(all, "demo-pve", "single_copy", "112"); p == nil || p.Alert != "ProxmoxBackupSingleCopy" {
		t.Errorf("no single copy of files (112): %+v", all.Problems)
	}
	lag := has(all, "demo-pbs", "offsite_lagging", "main:ct/103")
	if lag == nil || lag.Object.Labels["offsite_target"] != "demo-pbs-offsite" || !strings.Contains(lag.Text, "demo-pbs-offsite") {
		t.Fatalf("no lagging copy of ct/103: %+v", lag)
	}
	for _, p := range all.Problems {
		if (p.Problem == "offsite_lagging" && p.Object.ID != "main:ct/103") || (p.Problem == "single_copy" && p.Object.ID != "112") {
			t.Errorf("unexpected %s", p.Problem+" "+p.Target+" "+p.Object.ID)
		}
	}
	var row *statusRow
	for i := range all.Rows {
		if r := &all.Rows[i]; r.Target == "demo-pbs" && r.Kind == "group" && r.Where == "main" && r.ID == "ct/103" {
			row = r
		}
	}
	if row == nil || row.State != stateWarning || !strings.Contains(strings.Join(row.Reasons, " "), "offsite") {
		t.Errorf("the group's row: %+v", row)
	}

	one := get("/status.json?target=demo-pbs")
	if has(one, "demo-pbs", "offsite_lagging", "main:ct/103") == nil {
		t.Error("the lagging copy is missing from the primary's own page")
	}
	for _, p := range one.Problems {
		if p.Target != "demo-pbs" {
			t.Errorf("the primary's page reports %s of %s", p.Problem, p.Target)
		}
	}
	for _, r := range one.Rows {
		if r.Target != "demo-pbs" {
			t.Fatalf("the primary's page shows a row of %s", r.Target)
		}
	}
	// The offsite target's page judges it alone: it has no offsite.
	if p := get("/status.json?target=demo-pbs-offsite"); has(p, "demo-pbs", "offsite_lagging", "main:ct/103") != nil {
		t.Error("the offsite's page reports the primary's problem")
	}

	// The HTML page names the problem.
	if _, body := te.get("/status?target=demo-pbs"); !strings.Contains(body, "offsite copy lagging") {
		t.Error("/status does not show the lagging copy")
	}
}

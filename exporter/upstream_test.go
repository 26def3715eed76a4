package exporter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// A backup dated past the year 9999 once made /status.json answer 200 with
// an empty body for every target. It is now ignored with a warning; a backup
// dated in the future is shown as a problem of its own and does not hide
// the age of the real last backup.
func TestImpossibleAndFutureDates(t *testing.T) {
	pbs := simulator.PBSTestScenario(goldenNow)
	size := uint64(1 << 30)
	grp := &pbs.Datastores[0].Namespaces[0].Groups[0] // main, vm/100
	lastReal := grp.Snapshots[len(grp.Snapshots)-1].Time
	grp.Snapshots = append(grp.Snapshots,
		simulator.Snapshot{Time: goldenNow.Add(3 * time.Hour), Size: &size},
		simulator.Snapshot{Time: time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC), Size: &size},
	)
	srv := httptest.NewServer(pbs.Handler())
	t.Cleanup(srv.Close)
	cfg := fmt.Sprintf("targets:\n  backup:\n    type: pbs\n    url: %s\n    token_id: %q\n    token_secret: %q\n", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

	status, body := te.get("/status.json")
	if status != 200 {
		t.Fatalf("/status.json: %d %s", status, body)
	}
	var page statusPage
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatalf("/status.json is not JSON: %v\n%s", err, body)
	}
	var row *statusRow
	for i := range page.Rows {
		if page.Rows[i].ID == "vm/100" && page.Rows[i].Where == "main" {
			row = &page.Rows[i]
		}
	}
	if row == nil || row.LastBackup == nil || !row.LastBackup.Equal(lastReal) {
		t.Fatalf("row of vm/100: %+v, want its last backup at %v", row, lastReal)
	}
	if !strings.Contains(strings.Join(row.Reasons, "; "), "1 snapshot dated more than 10m in the future") {
		t.Errorf("reasons %q do not name the future snapshot", row.Reasons)
	}
	if !strings.Contains(te.logs.String(), "Ignored snapshots dated outside the years 1970 to 9999") {
		t.Errorf("no warning about the impossible date:\n%s", te.logs)
	}
	_, metrics := te.get("/probe?target=backup")
	for _, want := range []string{
		`proxmox_backup_group_future_snapshots{backup_id="100",backup_type="vm",datastore="main",namespace=""} 1`,
		fmt.Sprintf(`proxmox_backup_group_last_backup_timestamp_seconds{backup_id="100",backup_type="vm",datastore="main",namespace=""} %v`, float64(lastReal.Unix())),
		`proxmox_backup_group_snapshots{backup_id="100",backup_type="vm",datastore="main",namespace=""} 4`,
		`proxmox_backup_collector_success{collector="groups"} 1`,
	} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/probe lacks %s", want)
		}
	}
	if status, body := te.get("/status"); status != 200 || !strings.Contains(body, "in the future") {
		t.Errorf("/status: %d, or it does not show the future snapshot", status)
	}
}

// A page whose encoding fails is a 500 with a logged reason, never a 200
// with an empty body.
func TestStatusEncodingFailure(t *testing.T) {
	cfg, _, _ := simulators(t)
	te := newTestExporter(t, cfg, func() time.Time { return time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC) })
	status, body := te.get("/status.json")
	if status != 500 || !strings.Contains(body, "cannot render") {
		t.Fatalf("%d %q", status, body)
	}
	if !strings.Contains(te.logs.String(), "Cannot render the status page") || !strings.Contains(te.logs.String(), "year outside of range") {
		t.Errorf("the log does not say why:\n%s", te.logs)
	}
}

// A server that echoes the Authorization header, or the secret alone, in
// its answers shows it nowhere: not in the log, /probe, /status or
// /status.json.
func TestEchoedSecretNeverShown(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth := r.Header.Get("Authorization")
		secret := auth[strings.LastIndexAny(auth, "=:")+1:]
		switch {
		case strings.HasSuffix(r.URL.Path, "/version"):
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, "authentication failure; Authorization: %s (secret %s)", auth, secret)
		}
	})
	pve := simulator.PVETestScenario(goldenNow)
	// A guest whose name is the secret, and a node name that echoes it.
	pve.Guests[0].Name = "x" + simulator.TestPVETokenSecret
	srv := httptest.NewServer(echo)
	t.Cleanup(srv.Close)
	named := httptest.NewServer(pve.Handler())
	t.Cleanup(named.Close)
	cfg := "targets:\n" + pveTargetConfig("echo", srv.URL) +
		fmt.Sprintf("  named:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n", named.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	var pages []string
	for _, p := range []string{"/probe?target=echo", "/probe?target=named", "/status", "/status.json"} {
		_, body := te.get(p)
		pages = append(pages, p+"\n"+body)
	}
	all := strings.Join(pages, "\n") + te.logs.String()
	for _, s := range []string{testSecret, simulator.TestPVETokenSecret, "PVEAPIToken=monitor"} {
		if strings.Contains(all, s) {
			t.Errorf("%q is shown:\n%s", s, all)
		}
	}
	if !strings.Contains(te.logs.String(), "Authorization: <redacted>") || !strings.Contains(pages[0], "proxmox_backup_up 0") {
		t.Errorf("the rejected token is not reported, redacted:\n%s", te.logs)
	}
	if !strings.Contains(pages[1], `name="x<redacted>"`) {
		t.Errorf("the guest named after the secret is not redacted")
	}
}

package collector

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// The reader task's worker id, as proxmox-backup's src/api2/reader/mod.rs
// upgrade_to_backup_reader_protocol writes it: "{store}:{type}/{id}/{time
// as %08X}", no namespace.
func TestParseReaderID(t *testing.T) {
	for in, want := range map[string]string{
		"main:vm/100/6919A5C0":        "main vm 100",
		"store2:host/nas01/6919A5C0":  "store2 host nas01",
		"main:ct/101/1":               "main ct 101",
		"main:vm/100":                 "",
		"vm/100/6919A5C0":             "",
		":vm/100/6919A5C0":            "",
		"main:vm/100/zz":              "",
		"main:vm//6919A5C0":           "",
		"main:vm/100/6919A5C0/extra":  "",
		"main:ns/prod/vm/100/6919A5C": "",
	} {
		k, ok := parseReaderID(in)
		got := ""
		if ok {
			got = k.store + " " + k.backupType + " " + k.backupID
		}
		if got != want {
			t.Errorf("parseReaderID(%q) = %q, want %q", in, got, want)
		}
	}
}

func groupOf(t *testing.T, r *Result, store, ns, typ, id string) *Group {
	t.Helper()
	for i := range r.PBS.Groups {
		g := &r.PBS.Groups[i]
		if g.Datastore == store && g.Namespace == ns && g.BackupType == typ && g.BackupID == id {
			return g
		}
	}
	t.Fatalf("group %s/%s %s/%s not in the result", store, ns, typ, id)
	return nil
}

// Each group's newest reader task, in one listing filtered by type; the
// running reader counts from its start.
func TestPBSLastRead(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	r := probePBS(t, p, "")
	if ok, err := collectorOK(r, "reads"); !ok {
		t.Fatalf("reads collector: %v", err)
	}
	for _, tc := range []struct {
		store, ns, typ, id string
		want               time.Time
	}{
		{"main", "", "vm", "100", testNow.Add(-2 * 24 * time.Hour)},
		{"main", "prod", "vm", "200", testNow.Add(-5 * 24 * time.Hour)},
		{"archive", "", "vm", "100", testNow.Add(-24 * time.Hour)},
		{"main", "", "ct", "101", testNow.Add(-3 * time.Minute)},
		{"main", "", "host", "nas01", time.Time{}},
	} {
		if g := groupOf(t, r, tc.store, tc.ns, tc.typ, tc.id); !g.LastRead.Equal(tc.want) {
			t.Errorf("%s/%s %s/%s: last read %v, want %v", tc.store, tc.ns, tc.typ, tc.id, g.LastRead, tc.want)
		}
	}
	m := metricsText(t, r)
	want := fmt.Sprintf(`proxmox_backup_group_last_read_timestamp_seconds{backup_id="200",backup_type="vm",datastore="main",namespace="prod"} %g`, float64(testNow.Add(-5*24*time.Hour).Unix()))
	if !strings.Contains(m, want+"\n") {
		t.Errorf("metrics lack %s", want)
	}
	if strings.Contains(m, `last_read_timestamp_seconds{backup_id="nas01"`) {
		t.Error("a group never read has a last read")
	}

	// A shorter lookback leaves out the older reads, and a datastore
	// outside the target's list is not reported.
	r = probePBS(t, p, "    restore_lookback: 3d\n    datastores: [main]\n")
	if g := groupOf(t, r, "main", "prod", "vm", "200"); !g.LastRead.IsZero() {
		t.Errorf("a read beyond the 3d lookback: %v", g.LastRead)
	}
	if g := groupOf(t, r, "main", "", "vm", "100"); !g.LastRead.Equal(testNow.Add(-2 * 24 * time.Hour)) {
		t.Errorf("main vm/100 within the lookback: %v", g.LastRead)
	}
}

// Reader tasks do not name the namespace: a group whose type and id are in
// two namespaces of the datastore gets no last read, and the probe says why.
func TestPBSLastReadAmbiguous(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	ns := &p.Datastores[0].Namespaces[1] // main/prod
	ns.Groups = append(ns.Groups, simulator.Group{BackupType: "vm", BackupID: "100", Snapshots: []simulator.Snapshot{{Time: testNow.Add(-30 * time.Hour)}}})
	r := probePBS(t, p, "")
	for _, n := range []string{"", "prod"} {
		if g := groupOf(t, r, "main", n, "vm", "100"); !g.LastRead.IsZero() {
			t.Errorf("main/%s vm/100: last read %v despite the ambiguity", n, g.LastRead)
		}
	}
	if g := groupOf(t, r, "archive", "", "vm", "100"); g.LastRead.IsZero() {
		t.Error("archive's vm/100 is unambiguous")
	}
	if !strings.Contains(strings.Join(r.Warnings, "\n"), "datastore main: 2 groups were read whose type and id are in several namespaces") {
		t.Errorf("warnings %q", r.Warnings)
	}
}

// A failed listing fails the collector and exports no last read.
func TestPBSReadsFail(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	fs, err := simulator.ParseFaults([]string{"pbs:/nodes/localhost/tasks=status:500"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(simulator.WithFaults("pbs", fs, p.Handler()))
	t.Cleanup(srv.Close)
	r := probeSim(t, "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, "")
	if ok, _ := collectorOK(r, "reads"); ok {
		t.Fatal("reads collector succeeded")
	}
	if ok, _ := collectorOK(r, "groups"); !ok {
		t.Error("groups collector failed")
	}
	if m := metricsText(t, r); strings.Contains(m, "last_read") {
		t.Error("a last read exported after a failed listing")
	}
}

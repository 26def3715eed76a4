package collector

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/proxmox/tasklog"
	"proxmox_backup_exporter/simulator"
)

// The test scenario's restores, end to end through the simulated API: the
// newest finished restore per backed-up guest, whatever guest it went into,
// with the backup's own time from the archive name.
func TestPVERestores(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	r := probePVE(t, p)
	if ok, err := collectorOK(r, "restores"); !ok {
		t.Fatalf("restores collector: %v", err)
	}
	d := r.PVE
	if !d.RestoresKnown || len(d.Restores) != 2 {
		t.Fatalf("known %v, restores %+v", d.RestoresKnown, d.Restores)
	}
	var want [2]*simulator.PVETask // 100's newest, 103's
	for i := range p.Tasks {
		tk := &p.Tasks[i]
		if tk.Restore == nil || tk.End.IsZero() {
			continue
		}
		switch tk.Restore.Source {
		case 100:
			if want[0] == nil || tk.End.After(want[0].End) {
				want[0] = tk
			}
		case 103:
			want[1] = tk
		}
	}
	// 100: the PBS restore into 9100 ten days ago succeeded (the older,
	// stopped one is not the last); its log names the repository, which
	// the storage configuration maps to storage "pbs".
	g := guest(t, r, 100)
	lr := g.LastRestore
	if lr == nil || !lr.Success || lr.TargetVMID != 9100 || lr.Node != "pve1" || !lr.End.Equal(want[0].End) ||
		!lr.BackupTime.Equal(want[0].Restore.BackupTime) || lr.Storage != "pbs" || lr.Live {
		t.Errorf("100's last restore %+v, want the task %+v", lr, want[0])
	}
	// 103: a container restore from a local vzdump file, failed; its log
	// names the volume, so the storage is known, and the file name's
	// local time (New York) is the backup's time.
	lr = guest(t, r, 103).LastRestore
	if lr == nil || lr.Success || lr.TargetVMID != 9103 || lr.Node != "pve2" || lr.Storage != "local" ||
		!lr.BackupTime.Equal(want[1].Restore.BackupTime) || !strings.Contains(lr.Status, "unable to restore CT 9103") {
		t.Errorf("103's last restore %+v", lr)
	}
	// 102's live-restore is still running: not a finished test.
	if lr := guest(t, r, 102).LastRestore; lr != nil {
		t.Errorf("102's running restore counted: %+v", lr)
	}
	for vmid, req := range map[int]bool{100: false, 101: true, 102: false, 103: true, 104: false} {
		if g := guest(t, r, vmid); g.RestoreTestRequired != req {
			t.Errorf("guest %d: restore test required %v, want %v (tags %q)", vmid, g.RestoreTestRequired, req, g.Tags)
		}
	}

	m := metricsText(t, r)
	for _, line := range []string{
		fmt.Sprintf(`proxmox_backup_guest_last_restore_timestamp_seconds{vmid="100"} %g`, float64(want[0].End.Unix())),
		`proxmox_backup_guest_last_restore_success{vmid="100"} 1`,
		fmt.Sprintf(`proxmox_backup_guest_last_restore_backup_timestamp_seconds{vmid="100"} %g`, float64(want[0].Restore.BackupTime.Unix())),
		`proxmox_backup_guest_last_restore_info{restore_node="pve1",restore_vmid="9100",storage="pbs",vmid="100"} 1`,
		`proxmox_backup_guest_last_restore_success{vmid="103"} 0`,
		`proxmox_backup_guest_last_restore_info{restore_node="pve2",restore_vmid="9103",storage="local",vmid="103"} 1`,
		`proxmox_backup_guest_restore_test_required{vmid="101"} 1`,
		`proxmox_backup_guest_restore_test_required{vmid="100"} 0`,
	} {
		if !strings.Contains(m, line+"\n") {
			t.Errorf("metrics lack %s", line)
		}
	}
	if strings.Contains(m, `last_restore_success{vmid="102"}`) {
		t.Error("a running restore exported")
	}
}

// The opt-in of every guest, and another tag.
func TestPVERestoreTestOptIn(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	r := probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "    restore_test_all: true\n")
	for _, g := range r.PVE.Guests {
		if !g.RestoreTestRequired {
			t.Errorf("restore_test_all: guest %d not required", g.VMID)
		}
	}
	r = probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "    restore_test_tag: db\n")
	for _, g := range r.PVE.Guests {
		if g.RestoreTestRequired != (g.VMID == 100) {
			t.Errorf("tag db: guest %d (tags %q) required %v", g.VMID, g.Tags, g.RestoreTestRequired)
		}
	}
}

// A restore listing that fails, or an offline node, leaves the restores unknown: no requirement
// and no restore is exported, so nothing reads as "never tested"; the other
// collectors are unaffected.
func TestPVERestoresListingFails(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	fs, err := simulator.ParseFaults([]string{"pve:/nodes/pve1/tasks=status:500"})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(simulator.WithFaults("pve", fs, p.Handler()))
	t.Cleanup(srv.Close)
	r := probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "")
	if ok, _ := collectorOK(r, "restores"); ok {
		t.Fatal("restores collector succeeded")
	}
	if r.PVE.RestoresKnown || len(r.PVE.Restores) != 0 {
		t.Errorf("known %v, restores %+v", r.PVE.RestoresKnown, r.PVE.Restores)
	}
	if m := metricsText(t, r); strings.Contains(m, "_restore_") {
		t.Errorf("restore metrics exported:\n%s", m)
	}
	if ok, _ := collectorOK(r, "guests"); !ok {
		t.Error("guests collector failed")
	}
	if r := probePVE(t, simulator.PVETestScenario(testNow)); r.PVE.RestoresKnown {
		t.Error("restores known with node pve3 offline")
	}
}

// Restores older than the lookback are not listed, and a shorter lookback
// drops 100's restore of ten days ago.
func TestPVERestoreLookback(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	r := probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "    restore_lookback: 5d\n")
	if lr := guest(t, r, 100).LastRestore; lr != nil {
		t.Errorf("a restore beyond the 5d lookback: %+v", lr)
	}
	if lr := guest(t, r, 103).LastRestore; lr == nil || time.Since(lr.End) < 0 {
		t.Errorf("103's restore two days ago missing: %+v", lr)
	}
}

// A VM restore's log names a file path or a PBS repository; the storage
// configuration (shapes as GET /storage gives them) says which storage.
func TestArchiveStorage(t *testing.T) {
	stores := []storageConfig{
		{Storage: "local", Type: "dir", Path: "/var/lib/vz"},
		{Storage: "nas", Type: "nfs", Path: "/mnt/pve/nas/"},
		{Storage: "pbs-nvme", Type: "pbs", Server: "pbs.example.net", Datastore: "main", Namespace: "site-a/cluster1"},
		{Storage: "pbs-root", Type: "pbs", Server: "pbs.example.net", Datastore: "main"},
		{Storage: "pbs-v6", Type: "pbs", Server: "2001:db8::7", Datastore: "store"},
		{Storage: "twin-a", Type: "pbs", Server: "twin", Datastore: "x"},
		{Storage: "twin-b", Type: "pbs", Server: "twin", Datastore: "x"},
	}
	for _, tc := range []struct {
		r    tasklog.Restore
		want string
	}{
		{tasklog.Restore{Archive: "/var/lib/vz/dump/vzdump-qemu-100-2026_11_20-02_00_04.vma.zst"}, "local"},
		{tasklog.Restore{Archive: "/mnt/pve/nas/dump/vzdump-qemu-100-2026_11_20-02_00_04.vma"}, "nas"},
		{tasklog.Restore{Archive: "/srv/elsewhere/vzdump-qemu-100-2026_11_20-02_00_04.vma"}, ""},
		{tasklog.Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "pve@pbs!pve-backup@pbs.example.net:main", Namespace: "site-a/cluster1"}, "pbs-nvme"},
		{tasklog.Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "root@pam@pbs.example.net:8008:main"}, "pbs-root"},
		{tasklog.Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "root@pam@[2001:db8::7]:store"}, "pbs-v6"},
		{tasklog.Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "root@pam@twin:x"}, ""},
		{tasklog.Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "root@pam@pbs.example.net:other"}, ""},
		{tasklog.Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "garbage"}, ""},
	} {
		if got := archiveStorage(&tc.r, stores); got != tc.want {
			t.Errorf("%+v: storage %q, want %q", tc.r, got, tc.want)
		}
	}
}

package collector

import (
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"proxmox_backup_exporter/simulator"
)

// A storage counts as holding a recent copy of a guest while the guest's
// newest finished backup there is younger than the target's window: with
// the default 48h, guest 100's local backup of five days ago does not
// count and its PBS backup of nine hours ago does; with 8d both do. A
// fresh local copy of 101 makes two at once; 104 has no backup at all.
func TestRecentBackupStorages(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	size := uint64(1 << 30)
	for i := range p.Storages {
		if p.Storages[i].Name == "local" {
			p.Storages[i].Volumes = append(p.Storages[i].Volumes, simulator.PVEVolume{VMID: 101, Type: "qemu", Node: "pve1", Time: testNow.Add(-3 * time.Hour), Size: &size})
		}
	}
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		extra string
		want  map[int]int
	}{
		{"", map[int]int{100: 1, 101: 2, 104: 0, 105: 0}},
		{"    recent_backup_window: 8d\n", map[int]int{100: 2, 101: 2, 104: 0, 105: 1}},
		// 72h exactly: the PBS backup of 105, 72h old, is not younger.
		{"    recent_backup_window: 72h\n", map[int]int{100: 1, 105: 0}},
	} {
		r := probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, tc.extra)
		for vmid, want := range tc.want {
			if got := guest(t, r, vmid).RecentStorages; got != want {
				t.Errorf("window %q: guest %d has %d recent storages, want %d", strings.TrimSpace(tc.extra), vmid, got, want)
			}
		}
	}
}

// The offsite setting of a PBS target is in its probe's output, whether or
// not the server answers; a target without one exports no such series.
func TestOffsiteInfo(t *testing.T) {
	pbs := simulator.PBSTestScenario(testNow)
	srv := httptest.NewServer(pbs.Handler())
	t.Cleanup(srv.Close)
	count := func(r *Result) int {
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(NewMetrics(r))
		n, err := testutil.GatherAndCount(reg, "proxmox_backup_offsite_info")
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	r := probeSim(t, "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, "    offsite: copy\n  copy:\n    type: pbs\n    url: https://copy:8007\n    token_id: a@pbs!b\n    token_secret: x\n")
	if r.Offsite != "copy" || count(r) != 1 {
		t.Errorf("offsite %q, %d series", r.Offsite, count(r))
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewMetrics(r))
	if err := testutil.GatherAndCompare(reg, strings.NewReader(`# HELP proxmox_backup_offsite_info The target of the exporter's configuration that holds copies of this PBS's backup groups, made by PBS sync (the target's offsite setting).
# TYPE proxmox_backup_offsite_info gauge
proxmox_backup_offsite_info{offsite_target="copy"} 1
`), "proxmox_backup_offsite_info"); err != nil {
		t.Error(err)
	}
	r.Up = false
	if count(r) != 1 {
		t.Error("no offsite series while the target is down")
	}
	if r := probeSim(t, "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, ""); count(r) != 0 {
		t.Error("an offsite series without the setting")
	}
}

package collector

import (
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// A job's last run is its newest task on each node, even when newer manual
// backups already gave every guest its last attempt: the task list is read
// on until each enabled job with guests on the node, pinned to it or not,
// has its run.
func TestPVEJobLastRunBehindManualBackups(t *testing.T) {
	for _, pin := range []bool{false, true} {
		scenario := func() *simulator.PVE {
			p := simulator.PVEHealthyScenario(testNow)
			if pin {
				// The pool job's guests all live on pve1, where it ran;
				// it is the only enabled job there.
				p.Jobs[0].Node = "pve1"
				p.Jobs[2].Disabled = true
			}
			return p
		}
		before := probePVE(t, scenario())
		p := scenario()
		for _, g := range p.Guests {
			p.Tasks = append(p.Tasks, manual(g.Node, g.VMID, testNow.Add(-10*time.Minute), ""))
		}
		after := probePVE(t, p)
		checked := 0
		for _, j := range before.PVE.Jobs {
			if !j.Enabled || j.LastRun.IsZero() {
				continue
			}
			checked++
			got := pveJob(t, after, j.ID)
			if !got.LastRun.Equal(j.LastRun) || got.LastRunSuccess == nil || *got.LastRunSuccess != *j.LastRunSuccess {
				t.Errorf("pinned %v, job %s (node %q): last run %v (success %v) behind manual backups, %v (success %v) without them",
					pin, j.ID, j.Node, got.LastRun, got.LastRunSuccess, j.LastRun, *j.LastRunSuccess)
			}
		}
		if checked == 0 {
			t.Fatalf("pinned %v: no enabled job of the scenario has a last run", pin)
		}
		// And the manual backups are the guests' last attempts.
		for _, g := range p.Guests {
			if a := guest(t, after, g.VMID).LastAttempt; a == nil || !a.Start.Equal(testNow.Add(-10*time.Minute)) {
				t.Errorf("%d: last attempt %+v, want the manual backup", g.VMID, a)
			}
		}
	}
}

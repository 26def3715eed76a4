package collector

import (
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// The failure modes below are those of pve-manager PVE/VZDump.pm (new,
// getlock, exec_backup, exec_backup_task) and PVE/API2/VZDump.pm, ended
// by pve-common PVE/RESTEnvironment.pm fork_worker; the simulator renders
// their logs.

func pveJob(t *testing.T, r *Result, id string) *PVEJob {
	t.Helper()
	for i := range r.PVE.Jobs {
		if r.PVE.Jobs[i].ID == id {
			return &r.PVE.Jobs[i]
		}
	}
	t.Fatalf("job %s not in the result", id)
	return nil
}

func warned(r *Result, parts ...string) bool {
	for _, w := range r.Warnings {
		all := true
		for _, p := range parts {
			all = all && strings.Contains(w, p)
		}
		if all {
			return true
		}
	}
	return false
}

// onlineScenario is the test scenario with every node online, and the
// scheduled runs of its pool job on pve1 today (index 0) and of its all job
// on pve1 (index 1) moved a day back, so that the test can put today's run.
func onlineScenario() *simulator.PVE {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	for _, i := range []int{0, 1} {
		tk := &p.Tasks[i]
		tk.Start, tk.End = tk.Start.AddDate(0, 0, -1), tk.End.AddDate(0, 0, -1)
		for g := range tk.Guests {
			tk.Guests[g].Start = tk.Guests[g].Start.AddDate(0, 0, -1)
		}
	}
	return p
}

// PVE::VZDump::new dies (here: the storage cannot be activated) before the
// job logs anything: the log is one "TASK ERROR: <reason>" line. The task
// fails every guest of the job scheduled at its start on that node.
func TestPVEEarlyJobFailure(t *testing.T) {
	p := onlineScenario()
	run := p.Tasks[0].Start.AddDate(0, 0, 1) // today's 02:00 in Vienna
	reason := "could not activate storage 'pbs': pbs: error fetching datastores - 500 Can't connect to 10.0.0.5:8007 (No route to host)"
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: run.Add(40 * time.Second), End: run.Add(43 * time.Second), InitError: reason})
	r := probePVE(t, p)
	for _, vmid := range []int{100, 101} {
		a := guest(t, r, vmid).LastAttempt
		if a == nil || a.Success || a.Error != reason || !a.Start.Equal(run.Add(40*time.Second)) || a.Duration != 3*time.Second {
			t.Errorf("%d: attempt %+v, want the early failure", vmid, a)
		}
	}
	// 106 and 9000 are not in the pool job: their attempts are the all job's.
	if a := guest(t, r, 9000).LastAttempt; a == nil || !a.Success {
		t.Errorf("9000: %+v", a)
	}
	j := pveJob(t, r, "backup-pool-prod")
	if j.LastRunSuccess == nil || *j.LastRunSuccess || !j.LastRun.Equal(run.Add(43*time.Second)) {
		t.Errorf("pool job: last run %v success %v", j.LastRun, j.LastRunSuccess)
	}
	if len(r.Warnings) != 0 {
		t.Errorf("warnings: %q", r.Warnings)
	}

	// Three minutes late it is not the scheduled run: no job, no guests,
	// and a warning says so.
	p = onlineScenario()
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: run.Add(4 * time.Minute), End: run.Add(5 * time.Minute), InitError: reason})
	r = probePVE(t, p)
	if a := guest(t, r, 100).LastAttempt; a == nil || !a.Success {
		t.Errorf("100 failed by an untied task: %+v", a)
	}
	if !warned(r, "failed before any guest", "pve1", "could not activate storage") {
		t.Errorf("warnings: %q", r.Warnings)
	}

	// Two enabled jobs due at that minute on that node: the start cannot
	// tell them apart.
	p = onlineScenario()
	p.Jobs = append(p.Jobs, simulator.PVEBackupJob{ID: "backup-pool-copy", Schedule: "02:00", Storage: "local", Pool: "prod"})
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: run.Add(40 * time.Second), End: run.Add(43 * time.Second), InitError: reason})
	r = probePVE(t, p)
	if a := guest(t, r, 100).LastAttempt; a == nil || !a.Success {
		t.Errorf("100 failed by an ambiguous task: %+v", a)
	}
	if j := pveJob(t, r, "backup-pool-prod"); !j.LastRun.Equal(p.Tasks[0].End) {
		t.Errorf("pool job took the ambiguous failure: last run %v", j.LastRun)
	}
}

// PVE::VZDump::getlock gives up and the worker exits without a TASK line
// ("unexpected status"): the reason is the log's ERROR line.
func TestPVELockTimeout(t *testing.T) {
	p := onlineScenario()
	run := p.Tasks[1].Start.AddDate(0, 0, 1) // the all job's 21:00 in Vienna
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: run.Add(5 * time.Second), End: run.Add(3*time.Hour + 5*time.Second), LockTimeout: true})
	r := probePVE(t, p)
	for _, vmid := range []int{106, 9000} {
		a := guest(t, r, vmid).LastAttempt
		if a == nil || a.Success || a.Error != "can't acquire lock '/var/run/vzdump.lock' - got timeout" {
			t.Errorf("%d: %+v", vmid, a)
		}
	}
	if a := guest(t, r, 100).LastAttempt; a == nil || !a.Success {
		t.Errorf("100 is not in the all job: %+v", a)
	}
	if j := pveJob(t, r, "backup-all"); j.LastRunSuccess == nil || *j.LastRunSuccess {
		t.Errorf("all job: %v", j.LastRunSuccess)
	}
}

// exec_backup_task refuses a guest before "Starting Backup of VM N": the
// log has only its ERROR line, which is the guest's failed attempt.
func TestPVERefusedGuest(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	reason := "unable to create temporary directory '/var/tmp/vzdumptmp4711_106'"
	for g := range p.Tasks[1].Guests {
		if tg := &p.Tasks[1].Guests[g]; tg.VMID == 106 {
			tg.Refused, tg.Error = true, reason
		}
	}
	r := probePVE(t, p)
	a := guest(t, r, 106).LastAttempt
	if a == nil || a.Success || a.Error != reason || a.Start.Before(p.Tasks[1].Start) {
		t.Errorf("106: %+v", a)
	}
	if a := guest(t, r, 9000).LastAttempt; a == nil || !a.Success {
		t.Errorf("9000: %+v", a)
	}
}

// A scheduled run of a job that has one guest on the node is a task whose
// id is that vmid (PVE/API2/VZDump.pm vzdump); its status says only "job
// errors" (exec_backup), its log the reason. It is the job's run.
func TestPVEOneGuestScheduledRun(t *testing.T) {
	vienna, _ := time.LoadLocation("Europe/Vienna")
	run := time.Date(2026, 11, 20, 4, 30, 0, 0, vienna)
	build := func(fail string) *simulator.PVE {
		p := simulator.PVETestScenario(testNow)
		p.Nodes[2].Offline = false
		p.Jobs = append(p.Jobs, simulator.PVEBackupJob{ID: "backup-legacy", Schedule: "04:30", Storage: "local", VMID: "106"})
		p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: run.Add(20 * time.Second), End: run.Add(2 * time.Minute), VMID: "106", Job: "backup-legacy",
			Guests: []simulator.PVETaskGuest{{VMID: 106, Type: "qemu", Start: run.Add(21 * time.Second), Duration: 90 * time.Second, Error: fail}}})
		return p
	}
	reason := "VM 106 qmp command 'backup' failed - got timeout"
	r := probePVE(t, build(reason))
	if a := guest(t, r, 106).LastAttempt; a == nil || a.Success || a.Error != reason {
		t.Errorf("106: %+v, want the log's reason, not the status", a)
	}
	j := pveJob(t, r, "backup-legacy")
	if j.LastRunSuccess == nil || *j.LastRunSuccess || !j.LastRun.Equal(run.Add(2*time.Minute)) {
		t.Errorf("one-guest job: last run %v success %v", j.LastRun, j.LastRunSuccess)
	}
	p := build("")
	// A newer manual backup of 100 by root@pam, with its own options.
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: run.Add(time.Hour), End: run.Add(time.Hour + time.Minute), VMID: "100",
		Guests: []simulator.PVETaskGuest{{VMID: 100, Type: "qemu", Start: run.Add(time.Hour), Duration: time.Minute}}})
	r = probePVE(t, p)
	if j := pveJob(t, r, "backup-legacy"); j.LastRunSuccess == nil || !*j.LastRunSuccess {
		t.Errorf("one-guest job, success: %v", j.LastRunSuccess)
	}
	// The manual backup is no job's run, although 100 is in the pool job.
	if j := pveJob(t, r, "backup-pool-prod"); !j.LastRun.Equal(p.Tasks[0].End) {
		t.Errorf("pool job: last run %v", j.LastRun)
	}
}

// A node whose time zone is unknown borrows the one every reachable node
// reports, or gets no due time; never UTC.
func TestPVEUnknownZone(t *testing.T) {
	// pve3 is offline; pve1 (Vienna) and pve2 (New York) disagree.
	r := probePVE(t, simulator.PVETestScenario(testNow))
	if g := guest(t, r, 105); !g.Covered || !g.Due.IsZero() {
		t.Errorf("105 on pve3: covered %v, due %v; want no due time", g.Covered, g.Due)
	}
	if !warned(r, "node pve3", "node offline", "disagree", "no due time") {
		t.Errorf("warnings: %q", r.Warnings)
	}
	if ok, err := collectorOK(r, "jobs"); !ok {
		t.Errorf("jobs collector: %v", err)
	}

	// pve2 refuses /time: it and pve3 borrow Vienna, and the jobs
	// collector reports the refused call.
	p := simulator.PVETestScenario(testNow)
	p.Nodes[1].TimeRefused = true
	r = probePVE(t, p)
	vienna, _ := time.LoadLocation("Europe/Vienna")
	allDue := time.Date(2026, 11, 19, 21, 0, 0, 0, vienna)
	for _, vmid := range []int{102, 105} {
		if g := guest(t, r, vmid); !g.Due.Equal(allDue) {
			t.Errorf("%d: due %v, want %v", vmid, g.Due, allDue)
		}
	}
	if ok, err := collectorOK(r, "jobs"); ok || err == nil || !strings.Contains(err.Error(), "pve2") {
		t.Errorf("jobs collector: ok %v err %v", ok, err)
	}
	if !warned(r, "node pve2", "Europe/Vienna") || !warned(r, "node pve3", "Europe/Vienna") {
		t.Errorf("warnings: %q", r.Warnings)
	}
	// pve2's logs are not read in a borrowed zone: 102's attempt starts
	// with its task (the log would say a minute later, in New York time).
	if a := guest(t, r, 102).LastAttempt; a == nil || !a.Success || !a.Start.Equal(testNow.Add(-20*time.Minute)) {
		t.Errorf("102: %+v", a)
	}
}

// A schedule the exporter cannot read is reported, never dropped.
func TestPVEInvalidSchedule(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	// Not "sat 25:00": proxmox-time (calendar_event.rs parse_time_spec)
	// reads it as minute 25, second 0 of every hour. A minute of 99 it
	// rejects.
	p.Jobs[1].Schedule = "mon 99:99"
	r := probePVE(t, p)
	j := pveJob(t, r, "backup-vmids-weekly")
	if j.ScheduleValid || j.ScheduleErr == "" {
		t.Errorf("job: valid %v err %q", j.ScheduleValid, j.ScheduleErr)
	}
	if !pveJob(t, r, "backup-all").ScheduleValid {
		t.Error("a good schedule reads as invalid")
	}
	if !warned(r, "backup-vmids-weekly", "mon 99:99") {
		t.Errorf("warnings: %q", r.Warnings)
	}
	// 102 and 103 are still due by the all job (21:00 in New York).
	if g := guest(t, r, 102); !g.Covered || g.Due.IsZero() {
		t.Errorf("102: %+v", g)
	}
}

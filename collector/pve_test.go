package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/simulator"
)

var testNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func probeSim(t testing.TB, typ, url, id, secret, extra string) *Result {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf("targets:\n  sim:\n    type: %s\n    url: %s\n    token_id: %q\n    token_secret: %q\n%s", typ, url, id, secret, extra)))
	if err != nil {
		t.Fatal(err)
	}
	tg := cfg.Targets["sim"]
	c, err := proxmox.New(tg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	// A cache of its own: tests reuse UPIDs with other logs.
	return Probe(ctx, tg, c.Session(secret), Options{Now: func() time.Time { return testNow }, TaskLogs: NewTaskLogCache(100, 1<<20)})
}

func probePVE(t *testing.T, p *simulator.PVE) *Result {
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "")
}

func guest(t *testing.T, r *Result, vmid int) *Guest {
	t.Helper()
	for i := range r.PVE.Guests {
		if r.PVE.Guests[i].VMID == vmid {
			return &r.PVE.Guests[i]
		}
	}
	t.Fatalf("guest %d not in the result", vmid)
	return nil
}

func collectorOK(r *Result, name string) (bool, error) {
	for _, c := range r.Collectors {
		if c.Name == name {
			return c.Success, c.Err
		}
	}
	return false, fmt.Errorf("collector %q did not report", name)
}

func TestPVEHealthyCluster(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	r := probePVE(t, p)
	if !r.Up || r.Info.Version != "8.4.14" {
		t.Fatalf("up %v info %+v", r.Up, r.Info)
	}
	for _, c := range []string{"version", "guests", "storage", "backups", "jobs", "tasks"} {
		if ok, err := collectorOK(r, c); !ok {
			t.Errorf("collector %s failed: %v", c, err)
		}
	}
	vienna, _ := time.LoadLocation("Europe/Vienna")
	newYork, _ := time.LoadLocation("America/New_York")
	// 02:00 in Vienna on 2026-11-20 is 01:00 UTC.
	poolDue := time.Date(2026, 11, 20, 2, 0, 0, 0, vienna)
	// 21:00 yesterday in New York (UTC-5).
	allDueNY := time.Date(2026, 11, 19, 21, 0, 0, 0, newYork)
	allDueVienna := time.Date(2026, 11, 19, 21, 0, 0, 0, vienna)

	for _, tc := range []struct {
		vmid    int
		covered bool
		due     time.Time
		backups int
	}{
		{100, true, poolDue, 4},  // 2 PBS + 2 local (one without a size)
		{101, true, poolDue, 2},  // 1 finished + 1 unfinished
		{102, true, allDueNY, 2}, // the all job is newer than the weekly one (TestPVEGuestInTwoJobs)
		{103, true, allDueNY, 2},
		{104, false, time.Time{}, 0}, // only in a disabled job
		{105, true, allDueVienna.In(time.UTC).Add(time.Hour), 1},
		{106, true, allDueVienna, 0},
		{9000, true, allDueVienna, 2},
	} {
		g := guest(t, r, tc.vmid)
		if g.Covered != tc.covered {
			t.Errorf("%d: covered %v, want %v", tc.vmid, g.Covered, tc.covered)
		}
		if tc.vmid != 105 && !g.Due.Equal(tc.due) {
			t.Errorf("%d: due %v, want %v", tc.vmid, g.Due, tc.due)
		}
		if g.Backups != tc.backups {
			t.Errorf("%d: %d backups, want %d", tc.vmid, g.Backups, tc.backups)
		}
	}
	// 105 lives on pve3, whose time zone is UTC: 21:00 UTC.
	if g := guest(t, r, 105); !g.Due.Equal(time.Date(2026, 11, 19, 21, 0, 0, 0, time.UTC)) {
		t.Errorf("105: due %v, want 21:00 UTC", g.Due)
	}

	// 100: the newest PBS snapshot failed verification.
	g100 := guest(t, r, 100)
	if g100.Last == nil || g100.Last.Verify != VerifyFailed || g100.Last.Storage != "pbs" || g100.Last.Size != 34359739904 {
		t.Errorf("100 last = %+v", g100.Last)
	}
	if len(g100.PerStorage) != 2 || g100.PerStorage[0].Storage != "local" || g100.PerStorage[1].Storage != "pbs" {
		t.Errorf("100 per storage = %+v", g100.PerStorage)
	}
	if a := g100.LastAttempt; a == nil || !a.Success || a.Duration != 4*time.Minute+12*time.Second {
		t.Errorf("100 attempt = %+v", a)
	}
	// 101: the unfinished snapshot is not the last backup, the attempt failed.
	g101 := guest(t, r, 101)
	if g101.Last == nil || g101.Last.Size != 2147483648 {
		t.Errorf("101 last = %+v, want the finished one", g101.Last)
	}
	if a := g101.LastAttempt; a == nil || a.Success || !strings.Contains(a.Error, "lxc-freeze") {
		t.Errorf("101 attempt = %+v", a)
	}
	// 103: running now; its last finished attempt is yesterday's.
	g103 := guest(t, r, 103)
	if !g103.Running || g103.LastAttempt == nil || !g103.LastAttempt.Success || g103.LastAttempt.Start.After(testNow.Add(-12*time.Hour)) {
		t.Errorf("103 running %v attempt %+v", g103.Running, g103.LastAttempt)
	}
	// 102 finished in the running task: that attempt counts.
	if a := guest(t, r, 102).LastAttempt; a == nil || !a.Success || a.Start.Before(testNow.Add(-time.Hour)) {
		t.Errorf("102 attempt = %+v", a)
	}
	// 105: encrypted and protected.
	if l := guest(t, r, 105).Last; l == nil || !l.Encrypted || !l.Protected {
		t.Errorf("105 last = %+v", l)
	}
	if g := guest(t, r, 106); g.Last != nil || g.LastAttempt == nil || g.LastAttempt.Success {
		t.Errorf("106: last %+v attempt %+v", g.Last, g.LastAttempt)
	}
	if g := guest(t, r, 9000); !g.Template {
		t.Error("9000 must be flagged as a template")
	}

	jobs := map[string]PVEJob{}
	for _, j := range r.PVE.Jobs {
		jobs[j.ID] = j
	}
	if j := jobs["backup-pool-prod"]; j.Guests != 2 || j.Selection != "pool=prod" || j.LastRunSuccess == nil || *j.LastRunSuccess {
		t.Errorf("pool job = %+v", j)
	}
	if j := jobs["backup-all"]; j.Guests != 5 || j.Selection != "all exclude=100,101,104" {
		t.Errorf("all job = %+v", j)
	}
	if j := jobs["backup-vmids-weekly"]; j.Guests != 2 || j.Mode != "stop" || j.LastRunSuccess == nil || !*j.LastRunSuccess {
		t.Errorf("weekly job = %+v", j)
	}
	if j := jobs["backup-old-scratch"]; j.Enabled || j.Guests != 1 {
		t.Errorf("disabled job = %+v", j)
	}

	storages := map[string]Storage{}
	for _, s := range r.PVE.Storages {
		storages[s.Name+"@"+s.Node] = s
	}
	if s, ok := storages["pbs@"]; !ok || s.Backups != 9 || s.Total != 4<<40 || !s.Listed {
		t.Errorf("shared pbs storage = %+v (want it once, without a node)", s)
	}
	if s := storages["local@pve1"]; s.Backups != 3 {
		t.Errorf("local@pve1 = %+v", s)
	}
	if s := storages["local@pve2"]; s.Backups != 2 {
		t.Errorf("local@pve2 = %+v", s)
	}
	if _, ok := storages["nfs-old@"]; ok {
		t.Error("a disabled storage must not be exported")
	}
}

func TestPVEOfflineNode(t *testing.T) {
	r := probePVE(t, simulator.PVETestScenario(testNow))
	for _, c := range []string{"storage", "backups", "tasks"} {
		ok, err := collectorOK(r, c)
		if ok || err == nil || !strings.Contains(err.Error(), "pve3") {
			t.Errorf("collector %s: ok %v, err %v; want a failure naming pve3", c, ok, err)
		}
	}
	// The other nodes' guests are still there, with their backups.
	if g := guest(t, r, 100); g.Last == nil || g.LastAttempt == nil {
		t.Errorf("100 lost its data to an offline node: %+v", g)
	}
	if !r.PVE.BackupsKnown {
		t.Error("backups of reachable storages must still be exported")
	}
}

// A token without Datastore.AllocateSpace and VM.Backup sees empty backup
// listings, and one without Sys.Audit no scheduled task: both are warned of.
func TestPVESilentOmissions(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	for i := range p.Storages {
		p.Storages[i].Volumes = nil
	}
	r := probePVE(t, p)
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "storage pbs lists no backups") || !strings.Contains(r.Warnings[0], "VM.Backup") {
		t.Errorf("warnings = %q", r.Warnings)
	}

	p = simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	p.Tasks = nil
	r = probePVE(t, p)
	if len(r.Warnings) != 1 || !strings.Contains(r.Warnings[0], "Sys.Audit") {
		t.Errorf("warnings = %q", r.Warnings)
	}

	r = probePVE(t, func() *simulator.PVE { p := simulator.PVETestScenario(testNow); p.Nodes[2].Offline = false; return p }())
	if len(r.Warnings) != 0 {
		t.Errorf("a healthy cluster: warnings = %q", r.Warnings)
	}
}

// A guest whose last attempt lies behind more than 50 newer tasks (the
// API's default page) still gets it, within the lookback.
func TestPVEAttemptBehindManyTasks(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	old := testNow.Add(-3 * 24 * time.Hour)
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: old, End: old.Add(time.Minute), VMID: "106",
		Guests: []simulator.PVETaskGuest{{VMID: 106, Type: "qemu", Start: old, Duration: time.Minute}}})
	// 60 newer manual backups of 100 push it past the first 50 tasks; the
	// pool job's task is the newest attempt of 100 anyway.
	for i := 0; i < 60; i++ {
		start := testNow.Add(-48*time.Hour + time.Duration(i)*time.Minute)
		p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: start, End: start.Add(30 * time.Second), VMID: "9000",
			Guests: []simulator.PVETaskGuest{{VMID: 9000, Type: "qemu", Start: start, Duration: 30 * time.Second}}})
	}
	// Remove 106 from the all job's log so that only the old task has it.
	for i := range p.Tasks {
		var keep []simulator.PVETaskGuest
		for _, g := range p.Tasks[i].Guests {
			if g.VMID != 106 || p.Tasks[i].VMID == "106" {
				keep = append(keep, g)
			}
		}
		p.Tasks[i].Guests = keep
	}
	r := probePVE(t, p)
	a := guest(t, r, 106).LastAttempt
	if a == nil || !a.Success || !a.Start.Equal(old) {
		t.Fatalf("106's attempt behind 60 newer tasks: %+v", a)
	}
	// Outside the lookback it is not searched for.
	r = probeSim(t, "pve", httptestURL(t, p), simulator.TestPVETokenID, simulator.TestPVETokenSecret, "    task_lookback: 1d\n")
	if a := guest(t, r, 106).LastAttempt; a != nil {
		t.Errorf("an attempt older than the lookback: %+v", a)
	}
}

func httptestURL(t *testing.T, p *simulator.PVE) string {
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return srv.URL
}

// A task that the list shows as ended but whose log stops mid-guest (the
// worker died: "unexpected status") is a failure, not a running backup.
func TestPVEDeadWorker(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	start := testNow.Add(-30 * time.Minute)
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: start, End: start.Add(5 * time.Minute), Status: "unexpected status",
		Args:   "--all 1 --exclude 100,101,104 --storage pbs --node pve1",
		Guests: []simulator.PVETaskGuest{{VMID: 9000, Type: "qemu", Start: start.Add(time.Minute), Running: true}}})
	r := probePVE(t, p)
	g := guest(t, r, 9000)
	if g.Running || g.LastAttempt == nil || g.LastAttempt.Success || !strings.Contains(g.LastAttempt.Error, "unexpected status") {
		t.Errorf("9000: running %v, attempt %+v", g.Running, g.LastAttempt)
	}
	// The command line selects 106 on pve1 and the log never names it: the
	// task that died never backed it up, a failed attempt too.
	if a := guest(t, r, 106).LastAttempt; a == nil || a.Success || !a.Start.Equal(start) || !strings.Contains(a.Error, "unexpected status") {
		t.Errorf("106: %+v", a)
	}
}

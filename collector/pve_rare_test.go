package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/proxmox/calendar"
	"proxmox_backup_exporter/simulator"
)

// Rare but real PVE situations, each on the healthy scenario (every node
// online) with one change.

// A guest selected by two enabled jobs is due by whichever job's most
// recent scheduled start is later (pve-manager PVE/Jobs/VZDump.pm: each job
// runs on its own schedule, and a guest is backed up by every job that
// selects it).
func TestPVEGuestInTwoJobs(t *testing.T) {
	newYork, _ := time.LoadLocation("America/New_York")
	allDue := time.Date(2026, 11, 19, 21, 0, 0, 0, newYork)
	// The Saturday before 2026-11-20 (a Friday) is 2026-11-14.
	weeklyDue := time.Date(2026, 11, 14, 3, 0, 0, 0, newYork)
	// 04:00 in New York on Friday 2026-11-20 is 09:00 UTC, before testNow.
	fridayDue := time.Date(2026, 11, 20, 4, 0, 0, 0, newYork)
	for _, tc := range []struct {
		name string
		set  func(p *simulator.PVE)
		want time.Time
	}{
		{"the daily job ran last", func(*simulator.PVE) {}, allDue},
		{"only the weekly job", func(p *simulator.PVE) { p.Jobs[2].Exclude = "100,101,102,104" }, weeklyDue},
		{"the weekly job ran last", func(p *simulator.PVE) { p.Jobs[1].Schedule = "fri 04:00" }, fridayDue},
		{"the later job is disabled", func(p *simulator.PVE) { p.Jobs[2].Disabled = true }, weeklyDue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := simulator.PVEHealthyScenario(testNow)
			tc.set(p)
			g := guest(t, probePVE(t, p), 102)
			if !g.Covered || !g.Due.Equal(tc.want) {
				t.Errorf("102: covered %v, due %v; want %v", g.Covered, g.Due, tc.want)
			}
		})
	}
}

func manual(node string, vmid int, start time.Time, err string) simulator.PVETask {
	return simulator.PVETask{Node: node, Start: start, End: start.Add(2 * time.Minute), VMID: fmt.Sprint(vmid), User: "admin@pam",
		Guests: []simulator.PVETaskGuest{{VMID: vmid, Type: "qemu", Start: start, Duration: time.Minute, Error: err}}}
}

// Two manual backups of one guest: the newer decides, whichever order the
// task list has them in and whichever of them failed.
func TestPVETwoManualBackups(t *testing.T) {
	early, late := testNow.Add(-3*time.Hour), testNow.Add(-time.Hour)
	for _, failLate := range []bool{false, true} {
		p := simulator.PVEHealthyScenario(testNow)
		lateErr, earlyErr := "", "disk full"
		if failLate {
			lateErr, earlyErr = "disk full", ""
		}
		p.Tasks = append(p.Tasks, manual("pve1", 106, late, lateErr), manual("pve1", 106, early, earlyErr))
		a := guest(t, probePVE(t, p), 106).LastAttempt
		if a == nil || !a.Start.Equal(late) || a.Success == failLate {
			t.Errorf("late backup failed %v: attempt %+v", failLate, a)
		}
		if failLate && (a == nil || !strings.Contains(a.Error, "disk full")) {
			t.Errorf("the error is lost: %+v", a)
		}
	}
}

// vzdump skips the listed guests that live on other nodes and logs
// "skip external VMs: <ids>" (pve-manager PVE/VZDump.pm exec_backup). A
// skip is not an attempt: the guest's own node's backup stands.
func TestPVESkipExternalVMs(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	start := testNow.Add(-10 * time.Minute)
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: start, End: start.Add(3 * time.Minute), User: "admin@pam",
		Args: "100 102 --storage pbs --mode snapshot",
		Guests: []simulator.PVETaskGuest{
			{VMID: 100, Type: "qemu", Start: start.Add(10 * time.Second), Duration: time.Minute},
			{VMID: 102, Skipped: "external"},
		}})
	r := probePVE(t, p)
	if a := guest(t, r, 100).LastAttempt; a == nil || !a.Success || !a.Start.Equal(start.Add(10*time.Second)) {
		t.Errorf("100: %+v", a)
	}
	// 102's attempt is the one in pve2's running all job.
	if a := guest(t, r, 102).LastAttempt; a == nil || !a.Success || !a.Start.Equal(testNow.Add(-19*time.Minute)) {
		t.Errorf("102: %+v, want its own node's attempt", a)
	}
}

// Two jobs that differ only by their node pin are two jobs: each run is
// tied to the job of its node (the logged command line carries --node).
func TestPVEJobsDifferOnlyByNode(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	all := p.Jobs[2]
	pve1, pve2 := all, all
	pve1.ID, pve1.Node = "backup-all-pve1", "pve1"
	pve2.ID, pve2.Node = "backup-all-pve2", "pve2"
	p.Jobs = append(p.Jobs[:2], pve1, pve2, p.Jobs[3])
	for i := range p.Tasks {
		if p.Tasks[i].Job == "backup-all" {
			p.Tasks[i].Job = "backup-all-" + p.Tasks[i].Node
		}
	}
	r := probePVE(t, p)
	if ok, err := collectorOK(r, "tasks"); !ok {
		t.Fatal(err)
	}
	j1, j2 := pveJob(t, r, "backup-all-pve1"), pveJob(t, r, "backup-all-pve2")
	// pve1's run failed for 106; pve2's newest finished run succeeded.
	if j1.LastRunSuccess == nil || *j1.LastRunSuccess {
		t.Errorf("pve1 job: %+v", j1)
	}
	if j2.LastRunSuccess == nil || !*j2.LastRunSuccess {
		t.Errorf("pve2 job: %+v", j2)
	}
	if j1.Guests != 2 || j2.Guests != 2 {
		t.Errorf("guests: pve1 job %d (106, 9000), pve2 job %d (102, 103)", j1.Guests, j2.Guests)
	}
	if !strings.Contains(j1.Selection, "node=pve1") || !strings.Contains(j2.Selection, "node=pve2") {
		t.Errorf("selections %q, %q", j1.Selection, j2.Selection)
	}
	// 105 lives on pve3, which neither job covers.
	if g := guest(t, r, 105); g.Covered {
		t.Error("105 covered by jobs pinned to other nodes")
	}
}

// jobs.cfg may spell out "enabled 1" (pve-manager PVE/API2/Backup.pm
// accepts it; the default is 1 and PVE usually leaves it out): the job is
// enabled either way.
func TestPVEExplicitlyEnabledJob(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	base := probePVE(t, p)
	srv := rewriteData(t, p.Handler(), "/cluster/backup", func(rows []map[string]any) {
		for _, j := range rows {
			if _, ok := j["enabled"]; !ok {
				j["enabled"] = 1
			}
		}
	})
	r := probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "")
	for _, id := range []string{"backup-pool-prod", "backup-vmids-weekly", "backup-all"} {
		if j := pveJob(t, r, id); !j.Enabled {
			t.Errorf("%s with enabled 1 reads as disabled", id)
		}
	}
	if pveJob(t, r, "backup-old-scratch").Enabled {
		t.Error("the disabled job (enabled 0) reads as enabled")
	}
	for _, vmid := range []int{100, 102, 104, 106} {
		a, b := guest(t, base, vmid), guest(t, r, vmid)
		if a.Covered != b.Covered || !a.Due.Equal(b.Due) {
			t.Errorf("%d: covered %v due %v; without enabled: covered %v due %v", vmid, b.Covered, b.Due, a.Covered, a.Due)
		}
	}
}

// A shared storage is read once, from a node where it is active: inactive
// on one node and active on others is no failure; inactive everywhere is.
func TestPVESharedStorageInactiveOnOneNode(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	p.Storages[0].InactiveOn = []string{"pve1"}
	r := probePVE(t, p)
	for _, c := range []string{"storage", "backups"} {
		if ok, err := collectorOK(r, c); !ok {
			t.Errorf("collector %s: %v", c, err)
		}
	}
	n := 0
	for _, s := range r.PVE.Storages {
		if s.Name == "pbs" {
			n++
			if s.Node != "" || !s.Active || !s.HasUsage || s.Backups != 9 {
				t.Errorf("pbs storage: %+v", s)
			}
		}
	}
	if n != 1 {
		t.Errorf("pbs storage exported %d times", n)
	}
	if g := guest(t, r, 100); g.Last == nil || g.Last.Storage != "pbs" {
		t.Errorf("100 lost its PBS backups: %+v", g.Last)
	}

	p.Storages[0].InactiveOn = []string{"pve1", "pve2", "pve3"}
	r = probePVE(t, p)
	if ok, err := collectorOK(r, "backups"); ok || err == nil || !strings.Contains(err.Error(), "pbs") {
		t.Errorf("inactive everywhere: ok %v err %v", ok, err)
	}
}

// A task log longer than one page (the API's default limit is 50 lines,
// pve-manager PVE/API2/Tasks.pm read_task_log; the exporter asks for
// taskPageSize lines at a time) is read to its end: the guests at its end
// have their attempts. 400 guests write about 6,000 lines.
func TestPVELongTaskLog(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	start := testNow.Add(-2 * time.Hour)
	task := simulator.PVETask{Node: "pve1", Start: start, End: start.Add(time.Hour), User: "admin@pam"}
	var ids []string
	const n = 400
	for i := 0; i < n; i++ {
		vmid := 200 + i
		p.Guests = append(p.Guests, simulator.PVEGuest{VMID: vmid, Name: fmt.Sprint("g", vmid), Type: "qemu", Node: "pve1"})
		g := simulator.PVETaskGuest{VMID: vmid, Type: "qemu", Start: start.Add(time.Duration(i) * 10 * time.Second), Duration: 5 * time.Second}
		if i == n-1 {
			g.Error = "the last guest failed"
		}
		task.Guests = append(task.Guests, g)
		ids = append(ids, fmt.Sprint(vmid))
	}
	task.Args = strings.Join(ids, " ") + " --storage pbs --mode snapshot"
	p.Tasks = append(p.Tasks, task)
	r := probePVE(t, p)
	if ok, err := collectorOK(r, "tasks"); !ok {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		a := guest(t, r, 200+i).LastAttempt
		if a == nil || !a.Start.Equal(start.Add(time.Duration(i)*10*time.Second)) || a.Success != (i != n-1) {
			t.Errorf("%d: %+v", 200+i, a)
		}
	}
}

// A node whose reported time zone this host does not know (an old tzdata,
// or a name that is no zone) is like a node whose zone cannot be read: it
// borrows the zone the other nodes agree on, or has no due time, and the
// probe says so.
func TestPVEUnknownZoneName(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	p.Nodes[2].Timezone = "Europe/Atlantis"
	r := probePVE(t, p)
	// pve1 and pve2 disagree: 105 on pve3 has no due time.
	if g := guest(t, r, 105); !g.Covered || !g.Due.IsZero() {
		t.Errorf("105: covered %v, due %v; want no due time", g.Covered, g.Due)
	}
	if !warned(r, "pve3", "no due time") {
		t.Errorf("warnings: %q", r.Warnings)
	}
	// When the others agree, pve3 borrows their zone.
	p.Nodes[1].Timezone = "Europe/Vienna"
	r = probePVE(t, p)
	vienna, _ := time.LoadLocation("Europe/Vienna")
	if g := guest(t, r, 105); !g.Due.Equal(time.Date(2026, 11, 19, 21, 0, 0, 0, vienna)) {
		t.Errorf("105: due %v, want 21:00 Vienna", g.Due)
	}
	if !warned(r, "pve3", "Europe/Vienna") {
		t.Errorf("warnings: %q", r.Warnings)
	}
}

// A backup volume is attributed to a guest only for a valid guest id
// (pve-guest-common: vmids run from 100 to 999999999; 0 is none); the
// others still count for the storage.
func TestContentGuestIDs(t *testing.T) {
	c := &contentAgg{storage: "s", aggs: map[int]*guestBackups{}, cnt: &storageCount{}}
	body := `{"data":[` +
		`{"volid":"s:backup/a","vmid":0,"ctime":1790000000,"size":10,"content":"backup"},` +
		`{"volid":"s:backup/b","vmid":1000000000,"ctime":1790000000,"size":20,"content":"backup"},` +
		`{"volid":"s:backup/c","vmid":-1,"ctime":1790000000,"size":40,"content":"backup"},` +
		`{"volid":"s:backup/d","ctime":1790000000,"size":80,"content":"backup"},` +
		`{"volid":"s:backup/e","vmid":999999999,"ctime":1790000000,"size":100,"content":"backup"},` +
		`{"volid":"s:iso/x.iso","ctime":1790000000,"size":1000,"content":"iso"}]}`
	if err := proxmox.DecodeEach(strings.NewReader(body), c.add); err != nil {
		t.Fatal(err)
	}
	if len(c.aggs) != 1 || c.aggs[999999999] == nil || c.aggs[999999999].count != 1 {
		t.Errorf("attributed: %v", c.aggs)
	}
	if c.cnt.backups != 5 || c.cnt.bytes != 250 {
		t.Errorf("storage count %+v, want 5 backups of 250 bytes", *c.cnt)
	}
}

// Two jobs with the same options due within the scheduling slack of one
// task: the task belongs to the job whose occurrence came last before it
// (the scheduler starts a job when it is due, so the later occurrence is
// the one that started this run), whichever job is listed first.
func TestJobOfTaskNearestOccurrence(t *testing.T) {
	vienna, _ := time.LoadLocation("Europe/Vienna")
	guests := []Guest{{VMID: 100, Node: "pve1", Pool: "prod"}}
	for _, order := range [][2]string{{"20:58", "21:00"}, {"21:00", "20:58"}} {
		jobs := []PVEJob{
			mustJob(t, `{"id":"first","type":"vzdump","schedule":"`+order[0]+`","storage":"pbs","pool":"prod"}`),
			mustJob(t, `{"id":"second","type":"vzdump","schedule":"`+order[1]+`","storage":"pbs","pool":"prod"}`),
		}
		events := make([]*calendar.Event, len(jobs))
		for i := range jobs {
			events[i], _ = calendar.Parse(jobs[i].Schedule)
		}
		tier := newJobTier(jobs, events, map[string]*time.Location{"pve1": vienna}, guests)
		prod, _ := parseVzdumpArgs(vzdumpJobPrefix + " --pool prod --storage pbs --quiet 1")
		i := tier.jobOf(&tiedTask{node: "pve1", user: "root@pam", args: &prod, start: time.Date(2026, 11, 20, 21, 0, 30, 0, vienna)})
		if i < 0 || jobs[i].Schedule != "21:00" {
			t.Errorf("schedules %v: tied to %d, want the 21:00 job", order, i)
		}
	}
}

// rewriteData serves h, with the data rows of the answers whose path ends
// in suffix changed by edit.
func rewriteData(t *testing.T, h http.Handler, suffix string, edit func([]map[string]any)) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasSuffix(r.URL.Path, suffix) {
			h.ServeHTTP(w, r)
			return
		}
		plain := r.Clone(r.Context())
		plain.Header.Del("Accept-Encoding")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, plain)
		var body struct {
			Data []map[string]any `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Errorf("simulator answer: %v", err)
		}
		edit(body.Data)
		var b bytes.Buffer
		_ = json.NewEncoder(&b).Encode(body)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b.Bytes())
	}))
	t.Cleanup(srv.Close)
	return srv
}

// A storage status without one of total, used and avail has no usage: no
// size metrics from half an answer (pve-storage PVE/API2/Storage/Status.pm
// index leaves them out when the storage cannot report them).
func TestPVEStorageWithoutUsage(t *testing.T) {
	for _, field := range []string{"total", "used", "avail"} {
		p := simulator.PVEHealthyScenario(testNow)
		srv := rewriteData(t, p.Handler(), "/nodes/pve1/storage", func(rows []map[string]any) {
			for _, s := range rows {
				if s["storage"] == "local" {
					delete(s, field)
				}
			}
		})
		r := probeSim(t, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "")
		for _, s := range r.PVE.Storages {
			if s.Name != "local" {
				continue
			}
			if want := s.Node != "pve1"; s.HasUsage != want {
				t.Errorf("without %s: local@%s has usage %v, want %v", field, s.Node, s.HasUsage, want)
			}
		}
	}
}

// A manual backup of one guest whose guest part finished but whose job then
// failed (a job-end hook: pve-manager PVE/VZDump.pm exec_backup dies with
// "Backup job failed - ..." after the guests) failed, and says why.
func TestPVEOneGuestJobFailsAfterGuest(t *testing.T) {
	p := simulator.PVEHealthyScenario(testNow)
	start := testNow.Add(-time.Hour)
	tk := manual("pve1", 106, start, "")
	tk.JobError = "job-end hook script failed: exit code 1"
	p.Tasks = append(p.Tasks, tk)
	a := guest(t, probePVE(t, p), 106).LastAttempt
	if a == nil || a.Success || !a.Start.Equal(start) || !strings.Contains(a.Error, "job-end hook") {
		t.Errorf("106: %+v", a)
	}
}

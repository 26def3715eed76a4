package collector

import (
	"context"
	"fmt"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/proxmox/tasklog"
	"proxmox_backup_exporter/simulator"
)

// countedSim serves a simulated cluster and counts what it answers.
type countedSim struct {
	url string
	c   *simulator.Counter
}

func newCountedSim(t *testing.T, p *simulator.PVE) *countedSim {
	t.Helper()
	c := &simulator.Counter{}
	srv := httptest.NewServer(c.Wrap(p.Handler()))
	t.Cleanup(srv.Close)
	return &countedSim{url: srv.URL, c: c}
}

// probeWith probes the simulator through a task log cache and returns the
// result with what the probe cost.
func (s *countedSim) probeWith(t *testing.T, cache *TaskLogCache) (*Result, simulator.Counts) {
	t.Helper()
	cfg, err := config.Parse([]byte(fmt.Sprintf("targets:\n  sim:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n", s.url, simulator.TestPVETokenID, simulator.TestPVETokenSecret)))
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
	r := Probe(ctx, tg, c.Session(simulator.TestPVETokenSecret), Options{Now: func() time.Time { return testNow }, TaskLogs: cache, Permissions: NewPermissionCache(10)})
	return r, s.c.Take()
}

// stateText is the probe's metrics without the collectors' durations.
func stateText(t *testing.T, r *Result) string {
	var keep []string
	for _, l := range strings.Split(metricsText(t, r), "\n") {
		if !strings.Contains(l, "duration") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func logPaths(c simulator.Counts) []string {
	var out []string
	for p := range c.TaskLogs {
		out = append(out, p)
	}
	sort.Strings(out)
	return out
}

// A finished task's log is read once; the running task's log is read on
// every probe until the task has ended, then once more.
func TestPVETaskLogsReadOnce(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	running := -1
	for i := range p.Tasks {
		if p.Tasks[i].End.IsZero() && p.Tasks[i].Restore == nil {
			running = i
		}
	}
	runningHex := fmt.Sprintf(":%08X:", p.Tasks[running].Start.Unix())
	s := newCountedSim(t, p)
	cache := NewTaskLogCache(100, 1<<20)

	r1, c1 := s.probeWith(t, cache)
	if c1.TaskLogCalls == 0 {
		t.Fatal("the first probe read no task log")
	}
	// The three finished restores' logs are read, the running one's not.
	restoreLogs := 0
	for path := range c1.TaskLogs {
		if strings.Contains(path, "restore:") {
			restoreLogs++
			if strings.Contains(path, ":9102:") {
				t.Errorf("the running restore's log was read: %s", path)
			}
		}
	}
	if restoreLogs != 3 {
		t.Errorf("first probe read %d restore logs, want 3: %v", restoreLogs, logPaths(c1))
	}
	for path, n := range c1.TaskLogs {
		if n != 1 {
			t.Errorf("first probe: %s read %d times", path, n)
		}
	}
	// The manual backup of 100 succeeded: its status says all.
	for path := range c1.TaskLogs {
		if strings.Contains(path, ":vzdump:100:") {
			t.Errorf("a successful manual backup's log was read: %s", path)
		}
	}

	r2, c2 := s.probeWith(t, cache)
	if got := logPaths(c2); len(got) != 1 || !strings.Contains(got[0], runningHex) || c2.TaskLogCalls != 1 {
		t.Errorf("second probe read %v (%d calls), want only the running task's log", got, c2.TaskLogCalls)
	}
	// The same calls but the cached logs: the running task's log is read
	// again, and the storage configuration that places the restored VM
	// archives is the one read the storage collector makes anyway.
	if c2.Calls != c1.Calls-c1.TaskLogCalls+1 {
		t.Errorf("second probe: %d calls, first %d with %d task logs", c2.Calls, c1.Calls, c1.TaskLogCalls)
	}
	if c2.Bytes >= c1.Bytes {
		t.Errorf("second probe: %d bytes, not fewer than the first's %d", c2.Bytes, c1.Bytes)
	}
	if a, b := stateText(t, r1), stateText(t, r2); a != b {
		t.Errorf("the cached probe differs:\n%s\n---\n%s", a, b)
	}
	if g := guest(t, r2, 103); !g.Running {
		t.Error("103 must still be running")
	}

	// The task ends: its log is read once more, then never again.
	tk := &p.Tasks[running]
	tk.End = testNow.Add(-time.Minute)
	tk.Guests[1].Running, tk.Guests[1].Duration = false, 5*time.Minute
	r3, c3 := s.probeWith(t, cache)
	if got := logPaths(c3); len(got) != 1 || !strings.Contains(got[0], runningHex) || c3.TaskLogCalls != 1 {
		t.Errorf("third probe read %v, want the newly finished task's log once", got)
	}
	g := guest(t, r3, 103)
	if g.Running || g.LastAttempt == nil || !g.LastAttempt.Success || !g.LastAttempt.Start.Equal(tk.Guests[1].Start) {
		t.Errorf("103 after its task ended: running %v attempt %+v", g.Running, g.LastAttempt)
	}
	r4, c4 := s.probeWith(t, cache)
	if c4.TaskLogCalls != 0 {
		t.Errorf("fourth probe read %v", logPaths(c4))
	}
	if a, b := stateText(t, r3), stateText(t, r4); a != b {
		t.Errorf("the cached probe differs:\n%s\n---\n%s", a, b)
	}
	// Without the cache the same state comes out.
	r5, c5 := s.probeWith(t, NewTaskLogCache(100, 1<<20))
	if a, b := stateText(t, r4), stateText(t, r5); a != b {
		t.Errorf("cached and uncached probes differ:\n%s\n---\n%s", a, b)
	}
	if c5.TaskLogCalls == 0 {
		t.Error("a fresh cache read no log")
	}
}

// A guest that no enabled job covers makes no job log be read: only the
// newest run of the one job is, and the failed manual backup of the guest
// (found by its task id, its reason in its log).
func TestPVEGuestInNoJobReadsNoLogs(t *testing.T) {
	day := 24 * time.Hour
	run := time.Date(2026, 11, 20, 1, 0, 0, 0, time.UTC)
	p := &simulator.PVE{
		TokenID: simulator.TestPVETokenID, TokenSecret: simulator.TestPVETokenSecret,
		Version: "8.4.14", Release: "8.4", RepoID: "b502d23c55afcba1",
		Now:   func() time.Time { return testNow },
		Nodes: []simulator.PVENode{{Name: "pve1", Timezone: "UTC"}},
		Guests: []simulator.PVEGuest{
			{VMID: 100, Name: "a", Type: "qemu", Node: "pve1"},
			{VMID: 101, Name: "b", Type: "qemu", Node: "pve1"},
			{VMID: 200, Name: "disabled-only", Type: "qemu", Node: "pve1"},
			{VMID: 300, Name: "no-job", Type: "qemu", Node: "pve1"},
		},
		Storages: []simulator.PVEStorage{{Name: "pbs", Type: "pbs", Shared: true, Server: "pbs.example.com", Datastore: "main", Total: 1 << 40, Used: 1 << 30}},
		Jobs: []simulator.PVEBackupJob{
			{ID: "backup-daily", Schedule: "01:00", Storage: "pbs", VMID: "100,101"},
			{ID: "backup-off", Schedule: "02:00", Storage: "pbs", VMID: "200", Disabled: true},
		},
	}
	for d := 0; d < 6; d++ {
		start := run.Add(-time.Duration(d) * day)
		p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: start, End: start.Add(2 * time.Minute), Job: "backup-daily",
			Guests: []simulator.PVETaskGuest{{VMID: 100, Start: start, Duration: time.Minute}, {VMID: 101, Start: start.Add(time.Minute), Duration: time.Minute}}})
	}
	manual := run.Add(-3*day + 5*time.Hour)
	p.Tasks = append(p.Tasks, simulator.PVETask{Node: "pve1", Start: manual, End: manual.Add(time.Minute), VMID: "300", User: "admin@pam",
		Guests: []simulator.PVETaskGuest{{VMID: 300, Start: manual, Duration: time.Minute, Error: "guest agent not running"}}})
	s := newCountedSim(t, p)

	r, c := s.probeWith(t, NewTaskLogCache(100, 1<<20))
	newest := fmt.Sprintf(":%08X:vzdump::", run.Unix())
	got := logPaths(c)
	if len(got) != 2 || !strings.Contains(got[0]+got[1], newest) || !strings.Contains(got[0]+got[1], ":vzdump:300:") {
		t.Errorf("logs read: %v, want the newest job run's and 300's failed manual backup", got)
	}
	if a := guest(t, r, 300).LastAttempt; a == nil || a.Success || a.Error != "guest agent not running" {
		t.Errorf("300: %+v", a)
	}
	if a := guest(t, r, 200).LastAttempt; a != nil {
		t.Errorf("200: %+v", a)
	}
	for _, vmid := range []int{100, 101} {
		if a := guest(t, r, vmid).LastAttempt; a == nil || !a.Success || a.Start.Before(run) {
			t.Errorf("%d: %+v", vmid, a)
		}
	}
	if j := pveJob(t, r, "backup-daily"); j.LastRunSuccess == nil || !*j.LastRunSuccess || !j.LastRun.Equal(run.Add(2*time.Minute)) {
		t.Errorf("job: last run %v success %v", j.LastRun, j.LastRunSuccess)
	}
}

// The generated cluster of the scale benchmark in small: a week of daily
// runs and a guest per node excluded from the job. The first probe reads
// one log per node, the next ones none.
func TestPVESteadyStateReadsNoLogs(t *testing.T) {
	const nodes = 4
	p := simulator.GeneratePVE(simulator.PVEGenOptions{Nodes: nodes, Guests: 40, BackupsPerGuest: 2, TaskDays: 7, Unscheduled: nodes, Now: testNow})
	s := newCountedSim(t, p)
	cache := NewTaskLogCache(100, 1<<20)
	r1, c1 := s.probeWith(t, cache)
	if c1.TaskLogCalls != nodes {
		t.Errorf("first probe read %d task logs, want %d: %v", c1.TaskLogCalls, nodes, logPaths(c1))
	}
	r2, c2 := s.probeWith(t, cache)
	if c2.TaskLogCalls != 0 || c2.Calls != c1.Calls-nodes {
		t.Errorf("steady state: %d calls, %d task logs (first probe: %d calls)", c2.Calls, c2.TaskLogCalls, c1.Calls)
	}
	if a, b := stateText(t, r1), stateText(t, r2); a != b {
		t.Errorf("the cached probe differs:\n%s\n---\n%s", a, b)
	}
	if st := cache.Stats(); st.Entries != nodes || st.Hits != nodes {
		t.Errorf("cache: %+v", st)
	}
}

// The node's time zone is part of the key: after a change, the logs are
// read again and agree with an uncached read.
func TestPVETaskLogCacheZone(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	s := newCountedSim(t, p)
	cache := NewTaskLogCache(100, 1<<20)
	s.probeWith(t, cache)
	p.Nodes[0].Timezone = "Asia/Tokyo"
	r, c := s.probeWith(t, cache)
	n := 0
	for path := range c.TaskLogs {
		if strings.Contains(path, "/nodes/pve1/") {
			n++
		}
	}
	if n == 0 {
		t.Error("pve1's logs were not read again in its new zone")
	}
	fresh, _ := s.probeWith(t, NewTaskLogCache(100, 1<<20))
	if a, b := stateText(t, r), stateText(t, fresh); a != b {
		t.Errorf("cached and uncached probes differ:\n%s\n---\n%s", a, b)
	}
}

func TestTaskLogCacheBound(t *testing.T) {
	key := func(i int) taskLogKey { return taskLogKey{target: "t", node: "n", upid: fmt.Sprint("UPID:", i)} }
	facts := func(guests int) logFacts {
		var res tasklog.Log
		for g := 0; g < guests; g++ {
			res.Attempts = append(res.Attempts, tasklog.Attempt{VMID: 100 + g, Success: true, Start: testNow, Duration: time.Minute})
		}
		return newLogFacts(res, "INFO: starting new backup job: vzdump --all 1", true)
	}
	far := testNow.Add(24 * time.Hour)

	// By entries, least recently used first.
	c := NewTaskLogCache(3, 1<<30)
	for i := 1; i <= 3; i++ {
		c.put(key(i), facts(1), far, testNow)
	}
	if _, ok := c.get(key(1), false); !ok {
		t.Fatal("entry 1 missing")
	}
	c.put(key(4), facts(1), far, testNow)
	if _, ok := c.get(key(2), false); ok {
		t.Error("entry 2, the least recently used, was kept")
	}
	for _, i := range []int{1, 3, 4} {
		if _, ok := c.get(key(i), false); !ok {
			t.Errorf("entry %d was evicted", i)
		}
	}
	if st := c.Stats(); st.Entries != 3 || st.Evictions != 1 {
		t.Errorf("stats %+v", st)
	}

	// By bytes.
	one := &taskLogEntry{key: key(1), facts: facts(100)}
	limit := 2*one.estimate() + one.estimate()/2
	c = NewTaskLogCache(1000, limit)
	for i := 1; i <= 10; i++ {
		c.put(key(i), facts(100), far, testNow)
		if st := c.Stats(); st.Bytes > limit || st.Entries > 2 {
			t.Fatalf("after %d entries: %+v, limit %d bytes", i, st, limit)
		}
	}
	if _, ok := c.get(key(10), false); !ok {
		t.Error("the newest entry was evicted")
	}
	// An entry larger than the bound is not kept.
	c.put(key(99), facts(1000), far, testNow)
	if st := c.Stats(); st.Bytes > limit {
		t.Errorf("an oversized entry is kept: %+v", st)
	}

	// A first line does not answer a full read, nor replace one.
	c = NewTaskLogCache(10, 1<<20)
	first := newLogFacts(tasklog.Log{}, "INFO: starting new backup job: vzdump 100", false)
	c.put(key(1), first, far, testNow)
	if _, ok := c.get(key(1), false); ok {
		t.Error("a first-line entry answered a full read")
	}
	if f, ok := c.get(key(1), true); !ok || f.cmdline != first.cmdline {
		t.Error("a first-line entry did not answer a first-line read")
	}
	c.put(key(1), facts(2), far, testNow)
	c.put(key(1), first, far, testNow)
	if f, ok := c.get(key(1), false); !ok || len(f.attempts) != 2 {
		t.Errorf("the full entry was replaced: %+v", f)
	}

	// Tasks that left the lookback go, least recently used first.
	c = NewTaskLogCache(10, 1<<20)
	c.put(key(1), facts(1), testNow.Add(time.Hour), testNow)
	c.put(key(2), facts(1), far, testNow)
	c.put(key(3), facts(1), far, testNow.Add(2*time.Hour))
	if _, ok := c.get(key(1), false); ok {
		t.Error("an entry past its lookback was kept")
	}
	if st := c.Stats(); st.Entries != 2 {
		t.Errorf("stats %+v", st)
	}
}

// A cache of one entry cannot hold a probe's logs: every probe reads them.
func TestPVETaskLogCacheTooSmall(t *testing.T) {
	p := simulator.GeneratePVE(simulator.PVEGenOptions{Nodes: 3, Guests: 9, BackupsPerGuest: 1, Now: testNow})
	s := newCountedSim(t, p)
	cache := NewTaskLogCache(1, 1<<20)
	s.probeWith(t, cache)
	_, c := s.probeWith(t, cache)
	if c.TaskLogCalls < 2 {
		t.Errorf("second probe read %d logs through a one-entry cache", c.TaskLogCalls)
	}
	if st := cache.Stats(); st.Entries != 1 || st.Evictions == 0 {
		t.Errorf("stats %+v", st)
	}
}

// Probes of one target at once share the cache and agree.
func TestPVETaskLogCacheConcurrentProbes(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	s := newCountedSim(t, p)
	want, _ := s.probeWith(t, NewTaskLogCache(100, 1<<20))
	wantText := stateText(t, want)
	cache := NewTaskLogCache(100, 1<<20)
	var wg sync.WaitGroup
	texts := make([]string, 8)
	for i := range texts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, _ := s.probeWith(t, cache)
			texts[i] = stateText(t, r)
		}()
	}
	wg.Wait()
	for i, got := range texts {
		if got != wantText {
			t.Errorf("probe %d differs:\n%s\n---\n%s", i, got, wantText)
		}
	}
	s.c.Take()
	_, c := s.probeWith(t, cache)
	if c.TaskLogCalls != 1 {
		t.Errorf("after the concurrent probes: %v read", logPaths(c))
	}
}

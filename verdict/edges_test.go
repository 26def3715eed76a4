package verdict

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/collector"
)

// pbsServer is a PBS result with every collector delivered.
func pbsServer(d collector.PBSData) *collector.Result {
	return &collector.Result{Target: "b", Product: "pbs", Now: now, Up: true,
		Collectors: []collector.CollectorStatus{{Name: "version", Success: true}}, PBS: &d}
}

// TestThresholdEdges puts every rule with a threshold one second, byte or
// snapshot either side of it. The alerts compare with ">" (mixin/alerts),
// so the threshold itself is still fine.
func TestThresholdEdges(t *testing.T) {
	const s = time.Second
	h, day := time.Hour, 24*time.Hour
	th := Defaults()
	guest := func(lastAge time.Duration) collector.Guest {
		return collector.Guest{VMID: 7, Backups: 1, Covered: true,
			Last: &collector.GuestBackup{Time: now.Add(-lastAge), HasSize: true, Size: 1, Verify: collector.VerifyOK, Encrypted: true}}
	}
	due := func(g collector.Guest, ago time.Duration) collector.Guest { g.Due = now.Add(-ago); return g }
	group := func(snap collector.Snapshot) collector.PBSData {
		return collector.PBSData{Groups: []collector.Group{{Datastore: "d", BackupType: "vm", BackupID: "7", Snapshots: 1, Last: &snap}}}
	}
	snap := func(age time.Duration) collector.Snapshot {
		return collector.Snapshot{Time: now.Add(-age), Size: 1, Encrypted: true, Verify: collector.VerifyOK, VerifyTime: now.Add(-age)}
	}
	store := func(total, used uint64, full time.Time) collector.PBSData {
		return collector.PBSData{Datastores: []collector.Datastore{{Name: "d", HasUsage: true, Total: total, Used: used, FullEstim: full}}}
	}
	pveStore := func(total, used uint64) *collector.Result {
		r := cluster()
		r.PVE.Storages = []collector.Storage{{Name: "nfs", HasUsage: true, Total: total, Used: used}}
		return r
	}
	gc := func(last, next time.Time) collector.PBSData {
		return collector.PBSData{GC: []collector.GCStatus{{Datastore: "d", LastRunEnd: last, LastRunState: "OK", NextRun: next}}}
	}
	pbsJob := func(lastEnd, next time.Time) collector.PBSData {
		return collector.PBSData{Jobs: []collector.Job{{Type: "verify", ID: "v", Datastore: "d", LastRunEnd: lastEnd, LastRunState: "OK", NextRun: next}}}
	}
	pveJob := func(next time.Time) *collector.Result {
		r := cluster()
		ok := true
		r.PVE.Jobs = []collector.PVEJob{{ID: "backup-1", Enabled: true, NextRun: next, LastRun: now.Add(-day), LastRunSuccess: &ok}}
		return r
	}
	for _, tc := range []struct {
		name string
		r    *collector.Result
		want string // problem/severity/object, comma-separated; "" none
	}{
		// ProxmoxBackupTooOld: tooOldWarning 36h, tooOldCritical 48h.
		{"guest at the warning age", cluster(guest(th.TooOldWarning)), ""},
		{"guest a second past the warning age", cluster(guest(th.TooOldWarning + s)), "too_old/warning/7"},
		{"guest at the critical age", cluster(guest(th.TooOldCritical)), "too_old/warning/7"},
		{"guest a second past the critical age", cluster(guest(th.TooOldCritical + s)), "too_old/critical/7"},
		{"group at the warning age", pbsServer(group(snap(th.TooOldWarning))), ""},
		{"group a second past the warning age", pbsServer(group(snap(th.TooOldWarning + s))), "too_old/warning/d:vm/7"},
		{"group at the critical age", pbsServer(group(snap(th.TooOldCritical))), "too_old/warning/d:vm/7"},
		{"group a second past the critical age", pbsServer(group(snap(th.TooOldCritical + s))), "too_old/critical/d:vm/7"},
		// ProxmoxBackupMissed: missedGracePeriod 6h after the due run.
		{"due run at the grace", cluster(due(guest(day), th.MissedGracePeriod)), ""},
		{"due run a second past the grace", cluster(due(guest(day), th.MissedGracePeriod+s)), "missed/critical/7"},
		{"backup a second after the due run", cluster(due(guest(th.MissedGracePeriod), th.MissedGracePeriod+s)), ""},
		// ProxmoxBackupNotVerified: notVerifiedWindow 7d.
		{"unverified guest backup at the window", cluster(func() collector.Guest {
			g := guest(th.NotVerifiedWindow)
			g.Last.Verify = collector.VerifyNone
			g.Due = now.Add(-h) // the age is left to "missed"
			return g
		}()), ""},
		{"unverified guest backup a second past the window", cluster(func() collector.Guest {
			g := guest(th.NotVerifiedWindow + s)
			g.Last.Verify = collector.VerifyNone
			g.Due = now.Add(-h)
			return g
		}()), "not_verified/info/7"},
		{"group verified at the window", pbsServer(func() collector.PBSData {
			sn := snap(h)
			sn.VerifyTime = now.Add(-th.NotVerifiedWindow)
			return group(sn)
		}()), ""},
		{"group verified a second before the window", pbsServer(func() collector.PBSData {
			sn := snap(h)
			sn.VerifyTime = now.Add(-th.NotVerifiedWindow - s)
			return group(sn)
		}()), "not_verified/info/d:vm/7"},
		// ProxmoxBackupDatastoreAlmostFull: almostFullRatio 0.9, one byte
		// either side.
		{"datastore at the ratio", pbsServer(store(1000, 900, time.Time{})), ""},
		{"datastore a byte past the ratio", pbsServer(store(1000, 901, time.Time{})), "almost_full/critical/d"},
		{"storage at the ratio", pveStore(1000, 900), ""},
		{"storage a byte past the ratio", pveStore(1000, 901), "almost_full/critical/nfs"},
		// ProxmoxBackupDatastoreFillingUp: PBS's estimate within
		// fillPredictionWindow (7d), or more used than the size.
		{"estimated full at the window", pbsServer(store(1000, 10, now.Add(th.FillPredictionWindow))), ""},
		{"estimated full a second within the window", pbsServer(store(1000, 10, now.Add(th.FillPredictionWindow-s))), "filling_up/warning/d"},
		{"datastore used to its size", pbsServer(store(1000, 1000, time.Time{})), "almost_full/critical/d"},
		{"datastore a byte over its size", pbsServer(store(1000, 1001, time.Time{})), "almost_full/critical/d,filling_up/warning/d"},
		{"storage a byte over its size", pveStore(1000, 1001), "almost_full/critical/nfs,filling_up/warning/nfs"},
		// ProxmoxBackupGCNotRunning: scheduleGracePeriod (3h) past its next
		// run, or gcMaxAge (3d) since the last run without a schedule.
		{"GC next run at the grace", pbsServer(gc(now.Add(-day), now.Add(-th.ScheduleGracePeriod))), ""},
		{"GC next run a second past the grace", pbsServer(gc(now.Add(-day), now.Add(-th.ScheduleGracePeriod-s))), "gc_not_running/warning/d"},
		{"GC ran at its next run", pbsServer(gc(now.Add(-day), now.Add(-day))), ""},
		{"unscheduled GC at the limit", pbsServer(gc(now.Add(-th.GCMaxAge), time.Time{})), ""},
		{"unscheduled GC a second past the limit", pbsServer(gc(now.Add(-th.GCMaxAge-s), time.Time{})), "gc_not_running/warning/d"},
		// ProxmoxBackupJobOverdue: scheduleGracePeriod past the next run.
		{"PBS job at the grace", pbsServer(pbsJob(now.Add(-day), now.Add(-th.ScheduleGracePeriod))), ""},
		{"PBS job a second past the grace", pbsServer(pbsJob(now.Add(-day), now.Add(-th.ScheduleGracePeriod-s))), "job_overdue/warning/verify/v"},
		{"PBS job that ran at its next run", pbsServer(pbsJob(now.Add(-day), now.Add(-day))), ""},
		{"PVE job at the grace", pveJob(now.Add(-th.ScheduleGracePeriod)), ""},
		{"PVE job a second past the grace", pveJob(now.Add(-th.ScheduleGracePeriod - s)), "job_overdue/warning/backup/backup-1"},
		// ProxmoxBackupDatedInFuture: any backup beyond the allowance.
		{"no guest backup in the future", cluster(guest(h)), ""},
		{"one guest backup in the future", cluster(func() collector.Guest { g := guest(h); g.FutureBackups = 1; return g }()), "dated_in_future/warning/7"},
		{"one snapshot in the future", pbsServer(func() collector.PBSData {
			d := group(snap(h))
			d.Groups[0].FutureSnapshots = 1
			return d
		}()), "dated_in_future/warning/d:vm/7"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := found(tc.r)
			var want []string
			if tc.want != "" {
				want = strings.Split(tc.want, ",")
			}
			slices.Sort(got)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestGuestFilters checks that templates, opted-out guests and running
// backups keep a guest out of the rules that the mixin's alerts filter the
// same way, whatever else is wrong with it.
func TestGuestFilters(t *testing.T) {
	h := time.Hour
	overdue := func() collector.Guest {
		// Its run was due 7h ago, its last backup is from two days ago and
		// its last attempt failed.
		return collector.Guest{VMID: 3, Backups: 1, Covered: true, Due: now.Add(-7 * h),
			Last:        &collector.GuestBackup{Time: now.Add(-49 * h), HasSize: true, Verify: collector.VerifyOK, Encrypted: true},
			LastAttempt: &collector.Attempt{Start: now.Add(-7 * h), Error: "no space"}}
	}
	for _, tc := range []struct {
		name   string
		change func(g *collector.Guest)
		want   string
	}{
		{"judged", func(*collector.Guest) {}, "last_attempt_failed/critical/3,missed/critical/3"},
		{"template", func(g *collector.Guest) { g.Template = true }, ""},
		{"opted out", func(g *collector.Guest) { g.Tags = "db;nobackup" }, ""},
		{"running", func(g *collector.Guest) { g.Running = true }, ""},
		// Without a due run, its age is judged instead.
		{"no due run", func(g *collector.Guest) { g.Due = time.Time{} }, "last_attempt_failed/critical/3,too_old/critical/3"},
		{"no due run, template", func(g *collector.Guest) { g.Due, g.Template = time.Time{}, true }, ""},
		{"no due run, running", func(g *collector.Guest) { g.Due, g.Running = time.Time{}, true }, ""},
		// A guest never backed up whose run is due is "never backed up",
		// not "missed" (no last backup to compare).
		{"never backed up, due", func(g *collector.Guest) { g.Backups, g.Last, g.LastAttempt = 0, nil, nil }, "never_backed_up/critical/3"},
		{"never backed up, opted out", func(g *collector.Guest) { g.Backups, g.Last, g.Tags = 0, nil, "nobackup" }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := overdue()
			tc.change(&g)
			got := found(cluster(g))
			var want []string
			if tc.want != "" {
				want = strings.Split(tc.want, ",")
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("got %q, want %q", got, want)
			}
		})
	}
}

// TestUnknownIsNoEvidence checks that what a collector did not deliver
// never reads as a problem: unknown backup counts are not "never backed
// up", unknown coverage is neither "not covered" nor "missed".
func TestUnknownIsNoEvidence(t *testing.T) {
	g := collector.Guest{VMID: 5, Due: now.Add(-24 * time.Hour)}
	r := cluster(g)
	r.PVE.BackupsKnown, r.PVE.CoverageKnown = false, false
	if got := found(r); len(got) != 0 {
		t.Errorf("got %q, want nothing", got)
	}
	r.PVE.BackupsKnown = true
	if got := found(r); !slices.Equal(got, []string{"never_backed_up/critical/5"}) {
		t.Errorf("with the backups known: got %q", got)
	}
}

// TestDownTargetHidesItsData checks that a down target has one problem,
// target down, whatever its data says: every rule needs the target up.
func TestDownTargetHidesItsData(t *testing.T) {
	old := now.Add(-30 * 24 * time.Hour)
	bad := &collector.GuestBackup{Time: old, HasSize: true, Verify: collector.VerifyFailed}
	r := cluster(
		collector.Guest{VMID: 1, Covered: true, Due: old},
		collector.Guest{VMID: 2, Backups: 1, FutureBackups: 1, Last: bad, LastAttempt: &collector.Attempt{Start: old, Error: "x"}},
		collector.Guest{VMID: 3, Backups: 1, Covered: true, Last: &collector.GuestBackup{Time: old, HasSize: true, Verify: collector.VerifyNone}},
	)
	r.PVE.Storages = []collector.Storage{{Name: "s", HasUsage: true, Total: 1, Used: 2}}
	r.PVE.Jobs = []collector.PVEJob{{ID: "j", Enabled: true, NextRun: old}}
	r.PBS = &collector.PBSData{
		Datastores: []collector.Datastore{{Name: "d", HasUsage: true, Total: 1, Used: 2, FullEstim: now.Add(time.Hour)}},
		GC:         []collector.GCStatus{{Datastore: "d", LastRunEnd: old, LastRunState: "TASK ERROR: x", NextRun: old}},
		Groups: []collector.Group{{Datastore: "d", BackupType: "vm", BackupID: "1", FutureSnapshots: 1,
			Last: &collector.Snapshot{Time: old, Verify: collector.VerifyFailed}}},
		Jobs: []collector.Job{{Type: "sync", ID: "s", LastRunEnd: old, LastRunState: "error", NextRun: old}},
	}
	r.Missing = []collector.MissingPrivilege{{Path: "/", Privilege: "Sys.Audit"}}
	// The backups collector delivered: "never backed up" is judged.
	r.Collectors = []collector.CollectorStatus{{Name: "version", Err: errors.New("refused")}, {Name: "backups", Success: true}}
	up := found(r)
	if len(up) < 10 {
		t.Fatalf("the data of the down target should hold many problems were it up; it shows %q", up)
	}
	r.Up = false
	if got := found(r); !slices.Equal(got, []string{"target_down/critical/"}) {
		t.Errorf("down: got %q, want only target_down", got)
	}
}

// TestProblemTexts checks the figures the texts show on /status.
func TestProblemTexts(t *testing.T) {
	r := pbsServer(collector.PBSData{
		Datastores: []collector.Datastore{{Name: "d", HasUsage: true, Total: 1000, Used: 955}},
		Groups: []collector.Group{{Datastore: "d", BackupType: "ct", BackupID: "9",
			Last: &collector.Snapshot{Time: now.Add(-(3*24 + 4) * time.Hour), Verify: collector.VerifyOK, Encrypted: true}}},
	})
	r.PVE = &collector.PVEData{Storages: []collector.Storage{{Name: "s", Node: "n1", HasUsage: true, Total: 8, Used: 8}}}
	texts := map[string]string{}
	for _, p := range Evaluate(r, Defaults()) {
		texts[p.Problem+"/"+p.Object.ID] = p.Text
	}
	for k, want := range map[string]string{
		"almost_full/d":       "95.5% full",
		"almost_full/s@n1":    "100.0% full",
		"too_old/d:ct/9":      "last backup 2026-11-17 06:00 UTC, 3d 4h old",
		"not_verified/d:ct/9": "", // verified: absent
	} {
		if got := texts[k]; got != want {
			t.Errorf("%s: %q, want %q", k, got, want)
		}
	}
}

func TestDuration(t *testing.T) {
	for secs, want := range map[float64]string{
		0:                  "0m",
		59:                 "0m",
		60:                 "1m",
		3599:               "59m",
		3600:               "1h 0m",
		47*3600 + 59*60:    "47h 59m",
		48 * 3600:          "2d 0h",
		(24*9 + 23) * 3600: "9d 23h",
		-90 * 60:           "-1h 30m",
	} {
		if got := Duration(secs); got != want {
			t.Errorf("Duration(%v) = %q, want %q", secs, got, want)
		}
	}
}

// TestSeverityOrder checks that problems and the worst severity follow
// critical, warning, info, whatever the order they are found in.
func TestSeverityOrder(t *testing.T) {
	ps := []Problem{
		{Target: "a", Severity: Info, Problem: "x"},
		{Target: "b", Severity: Warning, Problem: "x"},
		{Target: "c", Severity: Critical, Problem: "x"},
		{Target: "a", Severity: Warning, Problem: "y"},
	}
	if w := Worst(ps[:1]); w != Info {
		t.Errorf("worst of an info: %q", w)
	}
	if w := Worst(ps[:2]); w != Warning {
		t.Errorf("worst of info and warning: %q", w)
	}
	if w := Worst(ps); w != Critical {
		t.Errorf("worst of all: %q", w)
	}
	if w := Worst(nil); w != "" {
		t.Errorf("worst of none: %q", w)
	}
	Sort(ps)
	var got []string
	for _, p := range ps {
		got = append(got, string(p.Severity)+"/"+p.Target)
	}
	if want := []string{"critical/c", "warning/a", "warning/b", "info/a"}; !slices.Equal(got, want) {
		t.Errorf("sorted %q, want %q", got, want)
	}
}

// TestUnknownSeverity checks the documented place of a severity the
// verdict does not know (a rule's alert relabelled, say): it sorts after
// info, and it still counts as a problem.
func TestUnknownSeverity(t *testing.T) {
	page := Severity("page")
	if w := Worst([]Problem{{Severity: page}}); w != page {
		t.Errorf("worst of one problem of an unknown severity: %q, want %q", w, page)
	}
	if w := Worst([]Problem{{Severity: page}, {Severity: Info}}); w != Info {
		t.Errorf("worst of an unknown severity and info: %q, want info", w)
	}
	ps := []Problem{{Target: "a", Severity: page}, {Target: "b", Severity: Info}}
	Sort(ps)
	if ps[0].Severity != Info {
		t.Errorf("sorted %v: info must come before an unknown severity", ps)
	}
}

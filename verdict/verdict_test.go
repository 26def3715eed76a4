package verdict

import (
	"errors"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/collector"
)

var now = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// cluster is a PVE result with every collector delivered.
func cluster(guests ...collector.Guest) *collector.Result {
	return &collector.Result{Target: "c", Product: "pve", Now: now, Up: true,
		Collectors: []collector.CollectorStatus{{Name: "version", Success: true}, {Name: "backups", Success: true}},
		PVE:        &collector.PVEData{GuestsKnown: true, BackupsKnown: true, CoverageKnown: true, AttemptsKnown: true, Guests: guests}}
}

func found(r *collector.Result) []string {
	var out []string
	for _, p := range Evaluate(r, Defaults()) {
		out = append(out, p.Problem+"/"+string(p.Severity)+"/"+p.Object.ID)
	}
	return out
}

func TestGuestRules(t *testing.T) {
	h := time.Hour
	backup := func(age time.Duration) *collector.GuestBackup {
		return &collector.GuestBackup{Time: now.Add(-age), HasSize: true, Size: 1, Verify: collector.VerifyOK, Encrypted: true}
	}
	for _, tc := range []struct {
		name string
		g    collector.Guest
		want string
	}{
		{"healthy", collector.Guest{VMID: 1, Backups: 1, Covered: true, Last: backup(h), Due: now.Add(-2 * h)}, ""},
		{"never", collector.Guest{VMID: 1, Covered: true}, "never_backed_up/critical/1"},
		{"never but running", collector.Guest{VMID: 1, Covered: true, Running: true}, ""},
		{"not covered", collector.Guest{VMID: 1, Backups: 1, Last: backup(h)}, "not_covered/warning/1"},
		// The whole tag only, as the alert's regular expression.
		{"opted out", collector.Guest{VMID: 1, Tags: "lab;nobackup"}, ""},
		{"not opted out by a longer tag", collector.Guest{VMID: 1, Tags: "nobackups", Backups: 1, Covered: true, Last: backup(h)}, ""},
		{"template never judged for coverage", collector.Guest{VMID: 1, Template: true}, ""},
		{"template's failed verification", collector.Guest{VMID: 1, Template: true, Backups: 1,
			Last: &collector.GuestBackup{Time: now.Add(-h), Verify: collector.VerifyFailed, Encrypted: true}}, "verify_failed/critical/1"},
		{"too old without a schedule", collector.Guest{VMID: 1, Backups: 1, Covered: true, Last: backup(37 * h)}, "too_old/warning/1"},
		{"too old, critical", collector.Guest{VMID: 1, Backups: 1, Covered: true, Last: backup(49 * h)}, "too_old/critical/1"},
		// With a due run, age is left to "missed".
		{"missed", collector.Guest{VMID: 1, Backups: 1, Covered: true, Last: backup(49 * h), Due: now.Add(-7 * h)}, "missed/critical/1"},
		{"within the grace", collector.Guest{VMID: 1, Backups: 1, Covered: true, Last: backup(49 * h), Due: now.Add(-5 * h)}, ""},
		// Whole seconds, as the metrics: a backup in the same second as the
		// due time is not older than it.
		{"same second", collector.Guest{VMID: 1, Backups: 1, Covered: true,
			Last: &collector.GuestBackup{Time: now.Add(-7*h - 400*time.Millisecond), HasSize: true, Verify: collector.VerifyOK, Encrypted: true},
			Due:  now.Add(-7*h - 100*time.Millisecond).Truncate(time.Second)}, ""},
		{"failed attempt", collector.Guest{VMID: 1, Backups: 1, Covered: true, Last: backup(h),
			LastAttempt: &collector.Attempt{Start: now.Add(-h), Error: "boom"}}, "last_attempt_failed/critical/1"},
		{"unencrypted with a size", collector.Guest{VMID: 1, Backups: 1, Covered: true,
			Last: &collector.GuestBackup{Time: now.Add(-h), HasSize: true, Verify: collector.VerifyOK}}, "unencrypted/info/1"},
		{"unencrypted without a size is not reported", collector.Guest{VMID: 1, Backups: 1, Covered: true,
			Last: &collector.GuestBackup{Time: now.Add(-h), Verify: collector.VerifyOK}}, ""},
		{"not verified for the window", collector.Guest{VMID: 1, Backups: 1, Covered: true,
			Last: &collector.GuestBackup{Time: now.Add(-8 * 24 * h), Verify: collector.VerifyNone, Encrypted: true}}, "not_verified/info/1,too_old/critical/1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := found(cluster(tc.g))
			// Order-independent.
			want := strings.Split(tc.want, ",")
			if tc.want == "" {
				want = nil
			}
			if len(got) != len(want) {
				t.Fatalf("got %q, want %q", got, want)
			}
			for _, w := range want {
				if !strings.Contains(strings.Join(got, " "), w) {
					t.Errorf("got %q, want %q", got, want)
				}
			}
		})
	}
}

func TestDownTargetHasOneProblem(t *testing.T) {
	r := cluster(collector.Guest{VMID: 1, Covered: false})
	r.Up = false
	r.Collectors = []collector.CollectorStatus{{Name: "version", Err: errors.New("connection refused /etc/secret")}}
	ps := Evaluate(r, Defaults())
	if len(ps) != 1 || ps[0].Problem != "target_down" || ps[0].Severity != Critical {
		t.Fatalf("got %+v, want only target_down", ps)
	}
	if strings.Contains(ps[0].Text, "/etc/secret") {
		t.Error("the problem text repeats the error, which may name a secret file")
	}
}

func TestCollectorFailingSilencesNeverBackedUp(t *testing.T) {
	r := cluster(collector.Guest{VMID: 1, Covered: true})
	r.Collectors[1] = collector.CollectorStatus{Name: "backups", Err: errors.New("403")}
	if got := found(r); len(got) != 1 || got[0] != "collector_failing/warning/backups" {
		t.Errorf("got %q, want only the failing collector", got)
	}
}

func TestStoresAndJobs(t *testing.T) {
	d := 24 * time.Hour
	r := &collector.Result{Target: "b", Product: "pbs", Now: now, Up: true, PBS: &collector.PBSData{
		Datastores: []collector.Datastore{
			{Name: "full", HasUsage: true, Total: 100, Used: 91},
			{Name: "ok", HasUsage: true, Total: 100, Used: 90},
			{Name: "soon", HasUsage: true, Total: 100, Used: 10, FullEstim: now.Add(6 * d)},
			{Name: "later", HasUsage: true, Total: 100, Used: 10, FullEstim: now.Add(8 * d)},
		},
		GC: []collector.GCStatus{
			{Datastore: "ok", LastRunEnd: now.Add(-d), LastRunState: "OK"},
			{Datastore: "full", LastRunEnd: now.Add(-4 * d), LastRunState: "OK"},
			{Datastore: "soon", LastRunEnd: now.Add(-d), LastRunState: "TASK ERROR: no space"},
			{Datastore: "later"}, // never ran: only Prometheus knows for how long
		},
		Jobs: []collector.Job{
			{Type: "verify", ID: "v", Datastore: "ok", LastRunEnd: now.Add(-d), LastRunState: "verification failed"},
			{Type: "sync", ID: "s", Datastore: "ok", LastRunEnd: now.Add(-d), LastRunState: "error", Running: true},
			{Type: "tape", ID: "t", Datastore: "ok", LastRunEnd: now.Add(-d), LastRunState: "WARNINGS: 3"},
		},
	}}
	// Sorted worst first, then by object.
	want := []string{"almost_full/critical/full", "gc_not_running/warning/full", "filling_up/warning/soon",
		"gc_not_running/warning/soon", "job_failed/warning/verify/v"}
	if got := found(r); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

// The restore-test rule mirrors ProxmoxBackupRestoreTestOverdue: an
// opted-in guest whose newest restore failed, is as old as the interval or
// older (whole seconds, as time() minus the timestamp metric), or is
// missing; nothing while the restores are unknown.
func TestRestoreTestRule(t *testing.T) {
	day := 24 * time.Hour
	ok := func(age time.Duration) *collector.GuestRestore {
		return &collector.GuestRestore{VMID: 1, TargetVMID: 9001, Node: "n1", End: now.Add(-age), Success: true, Status: "OK"}
	}
	healthy := func(g collector.Guest) collector.Guest {
		g.Backups, g.Covered = 1, true
		g.Last = &collector.GuestBackup{Time: now.Add(-time.Hour), HasSize: true, Size: 1, Verify: collector.VerifyOK, Encrypted: true}
		return g
	}
	for _, tc := range []struct {
		name  string
		g     collector.Guest
		known bool
		want  string
	}{
		{"recent success", collector.Guest{VMID: 1, RestoreTestRequired: true, LastRestore: ok(89 * day)}, true, ""},
		{"a second short of the interval", collector.Guest{VMID: 1, RestoreTestRequired: true, LastRestore: ok(90*day - time.Second)}, true, ""},
		{"at the interval", collector.Guest{VMID: 1, RestoreTestRequired: true, LastRestore: ok(90 * day)}, true, "restore_test_overdue/warning/1"},
		{"failed yesterday", collector.Guest{VMID: 1, RestoreTestRequired: true,
			LastRestore: &collector.GuestRestore{End: now.Add(-day), Status: "interrupted by signal"}}, true, "restore_test_overdue/warning/1"},
		{"never", collector.Guest{VMID: 1, RestoreTestRequired: true}, true, "restore_test_overdue/warning/1"},
		{"not required", collector.Guest{VMID: 1, LastRestore: ok(400 * day)}, true, ""},
		{"restores unknown", collector.Guest{VMID: 1, RestoreTestRequired: true}, false, ""},
		{"template", collector.Guest{VMID: 1, Template: true, RestoreTestRequired: true}, true, ""},
		{"opted out", collector.Guest{VMID: 1, Tags: "restore-test;nobackup", RestoreTestRequired: true}, true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := cluster(healthy(tc.g))
			r.PVE.RestoresKnown = tc.known
			got := strings.Join(found(r), ",")
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

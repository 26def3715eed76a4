package verdict

import (
	"fmt"
	"strconv"
	"time"

	"proxmox_backup_exporter/collector"
)

// Rule is one kind of problem and how to find it in a probe.
type Rule struct {
	// ID names the problem in /status.json and the check command's output.
	ID string
	// Alert is the mixin's alert that reports the same problem.
	Alert string
	// Severity is the alert's severity; a rule with more than one (too
	// old) sets it per problem.
	Severity Severity
	// Title says in a few words what is wrong.
	Title string
	// HistoryOnly names the parts of the alert's expression that need
	// Prometheus' history and that one probe therefore cannot see.
	HistoryOnly string
	// OptIn is true for alerts that fire only for targets whose scrape
	// config opts in (label backup_verify or backup_encryption). The
	// exporter cannot see those labels: it reports these problems for every
	// target, at their info severity, which never turns a check critical.
	OptIn bool

	find func(in *input)
}

// input is what a rule's find sees.
type input struct {
	r   *collector.Result
	th  Thresholds
	now time.Time
	// all are the results of every target evaluated together, by name.
	all  map[string]*collector.Result
	rule *Rule
	out  []Problem
}

func (in *input) add(sev Severity, obj Object, format string, args ...any) {
	if sev == "" {
		sev = in.rule.Severity
	}
	in.out = append(in.out, Problem{
		Target: in.r.Target, Problem: in.rule.ID, Alert: in.rule.Alert, Severity: sev,
		Object: obj, Text: fmt.Sprintf(format, args...),
	})
}

// nowSeconds is Prometheus' time() at the probe.
func (in *input) nowSeconds() float64 { return float64(in.now.UnixNano()) / 1e9 }

// age is a *_age_seconds metric: the probe's time minus a timestamp.
func (in *input) age(t time.Time) float64 { return in.now.Sub(t).Seconds() }

// since is time() minus a *_timestamp_seconds metric (whole seconds).
func (in *input) since(t time.Time) float64 { return in.nowSeconds() - float64(t.Unix()) }

// Rules are every problem the verdict knows, in the order of the mixin's
// alerts. Each find mirrors its alert's expression on the probe's data:
// a metric that the exporter leaves out is a condition that is false.
var Rules = []Rule{
	{ID: "target_down", Alert: "ProxmoxBackupTargetDown", Severity: Critical, Title: "target down",
		find: func(in *input) {
			if !in.r.Up {
				// The reason stays out: it may name the secret file.
				in.add("", targetObject(), "the API does not answer, rejects the token, or the token secret cannot be read")
			}
		}},
	{ID: "collector_failing", Alert: "ProxmoxBackupCollectorFailing", Severity: Warning, Title: "collector failing",
		find: func(in *input) {
			if !in.r.Up {
				return
			}
			for _, c := range in.r.Collectors {
				if !c.Success {
					in.add("", Object{Kind: KindCollector, ID: c.Name, Labels: map[string]string{"collector": c.Name}},
						"collector %s fails: %s", c.Name, errText(c.Err))
				}
			}
		}},
	{ID: "token_missing_privilege", Alert: "ProxmoxBackupTokenMissingPrivilege", Severity: Warning, Title: "token lacks a privilege",
		find: func(in *input) {
			if !in.r.Up {
				return
			}
			for _, m := range in.r.Missing {
				in.add("", Object{Kind: KindPrivilege, ID: m.Privilege + "@" + m.Path, Labels: labels("path", m.Path, "privilege", m.Privilege)},
					"%s", m.String())
			}
		}},
	{ID: "missed", Alert: "ProxmoxBackupMissed", Severity: Critical, Title: "scheduled backup missed",
		find: func(in *input) {
			in.eachGuest(false, coverageKnown, func(g *collector.Guest) {
				if g.Last == nil || g.Due.IsZero() || in.running(g) {
					return
				}
				if g.Last.Time.Unix() < g.Due.Unix() && in.since(g.Due) > in.th.MissedGracePeriod.Seconds() {
					in.add("", guestObject(g), "no backup since the run due %s (last backup %s)", stamp(g.Due), stamp(g.Last.Time))
				}
			})
		}},
	{ID: "too_old", Alert: "ProxmoxBackupTooOld", Title: "last backup too old",
		find: func(in *input) {
			sev := func(age float64) Severity {
				switch {
				case age > in.th.TooOldCritical.Seconds():
					return Critical
				case age > in.th.TooOldWarning.Seconds():
					return Warning
				}
				return ""
			}
			in.eachGuest(false, nil, func(g *collector.Guest) {
				// A guest with a due run is left to "missed".
				if g.Last == nil || in.running(g) || (in.r.PVE.CoverageKnown && !g.Due.IsZero()) {
					return
				}
				if s := sev(in.age(g.Last.Time)); s != "" {
					in.add(s, guestObject(g), "last backup %s, %s old", stamp(g.Last.Time), Duration(in.age(g.Last.Time)))
				}
			})
			in.eachGroup(func(g *collector.Group) {
				if g.Last == nil {
					return
				}
				if s := sev(in.age(g.Last.Time)); s != "" {
					in.add(s, groupObject(g), "last backup %s, %s old", stamp(g.Last.Time), Duration(in.age(g.Last.Time)))
				}
			})
		}},
	{ID: "never_backed_up", Alert: "ProxmoxBackupNeverBackedUp", Severity: Critical, Title: "never backed up",
		find: func(in *input) {
			if collectorFailed(in.r, "backups") {
				return
			}
			in.eachGuest(false, backupsKnown, func(g *collector.Guest) {
				if g.Backups == 0 && !in.running(g) {
					in.add("", guestObject(g), "no backup on any backup storage")
				}
			})
		}},
	{ID: "not_covered", Alert: "ProxmoxBackupNotCovered", Severity: Warning, Title: "in no backup job",
		find: func(in *input) {
			in.eachGuest(false, coverageKnown, func(g *collector.Guest) {
				if !g.Covered {
					in.add("", guestObject(g), "no enabled backup job selects it")
				}
			})
		}},
	{ID: "last_attempt_failed", Alert: "ProxmoxBackupFailed", Severity: Critical, Title: "last attempt failed",
		find: func(in *input) {
			in.eachGuest(false, attemptsKnown, func(g *collector.Guest) {
				if a := g.LastAttempt; a != nil && !a.Success && !in.running(g) {
					in.add("", guestObject(g), "the attempt of %s failed: %s", stamp(a.Start), a.Error)
				}
			})
		}},
	{ID: "verify_failed", Alert: "ProxmoxBackupVerifyFailed", Severity: Critical, Title: "verification failed",
		find: func(in *input) {
			in.eachGuest(true, nil, func(g *collector.Guest) {
				if g.Last != nil && g.Last.Verify == collector.VerifyFailed {
					in.add("", guestObject(g), "the backup of %s failed verification", stamp(g.Last.Time))
				}
			})
			in.eachGroup(func(g *collector.Group) {
				if g.Last != nil && g.Last.Verify == collector.VerifyFailed {
					in.add("", groupObject(g), "the snapshot of %s failed verification", stamp(g.Last.Time))
				}
			})
		}},
	{ID: "not_verified", Alert: "ProxmoxBackupNotVerified", Severity: Info, Title: "not verified", OptIn: true,
		HistoryOnly: "no last backup seen in the window was verified (max_over_time ... offset)",
		find: func(in *input) {
			window := in.th.NotVerifiedWindow.Seconds()
			in.eachGuest(true, nil, func(g *collector.Guest) {
				if g.Last != nil && g.Last.Verify == collector.VerifyNone && in.age(g.Last.Time) > window {
					in.add("", guestObject(g), "the backup of %s was never verified", stamp(g.Last.Time))
				}
			})
			in.eachGroup(func(g *collector.Group) {
				s := g.Last
				switch {
				case s == nil:
				case !s.VerifyTime.IsZero() && in.since(s.VerifyTime) > window:
					in.add("", groupObject(g), "the snapshot of %s was last verified %s", stamp(s.Time), stamp(s.VerifyTime))
				case s.Verify == collector.VerifyNone && in.age(s.Time) > window:
					in.add("", groupObject(g), "the snapshot of %s was never verified", stamp(s.Time))
				}
			})
		}},
	{ID: "unencrypted", Alert: "ProxmoxBackupUnencrypted", Severity: Info, Title: "not encrypted", OptIn: true,
		find: func(in *input) {
			in.eachGuest(true, nil, func(g *collector.Guest) {
				if g.Last != nil && g.Last.HasSize && !g.Last.Encrypted {
					in.add("", guestObject(g), "the backup of %s is not encrypted", stamp(g.Last.Time))
				}
			})
			in.eachGroup(func(g *collector.Group) {
				if g.Last != nil && !g.Last.Encrypted {
					in.add("", groupObject(g), "the snapshot of %s is not encrypted", stamp(g.Last.Time))
				}
			})
		}},
	{ID: "size_anomaly", Alert: "ProxmoxBackupSizeAnomaly", Severity: Warning, Title: "unusual backup size",
		HistoryOnly: "all of it: the average size over the window (avg_over_time)",
		find:        func(*input) {}},
	{ID: "dated_in_future", Alert: "ProxmoxBackupDatedInFuture", Severity: Warning, Title: "backup dated in the future",
		find: func(in *input) {
			in.eachGuest(true, backupsKnown, func(g *collector.Guest) {
				if g.FutureBackups > 0 {
					in.add("", guestObject(g), "%s", futureText(g.FutureBackups, "backup"))
				}
			})
			in.eachGroup(func(g *collector.Group) {
				if g.FutureSnapshots > 0 {
					in.add("", groupObject(g), "%s", futureText(g.FutureSnapshots, "snapshot"))
				}
			})
		}},
	{ID: "filling_up", Alert: "ProxmoxBackupDatastoreFillingUp", Severity: Warning, Title: "filling up",
		HistoryOnly: "the trend of the usage (deriv, predict_linear); PBS's own estimate is used",
		find: func(in *input) {
			if !in.r.Up {
				return
			}
			window := in.th.FillPredictionWindow.Seconds()
			if d := in.r.PBS; d != nil {
				for i := range d.Datastores {
					ds := &d.Datastores[i]
					estimate := !ds.FullEstim.IsZero() && float64(ds.FullEstim.Unix())-in.nowSeconds() < window
					// A steady usage above the size: predict_linear of a
					// flat line stays above it.
					over := ds.HasUsage && ds.Used > ds.Total
					switch {
					case estimate:
						in.add("", datastoreObject(ds.Name), "PBS estimates it full at %s", stamp(ds.FullEstim))
					case over:
						in.add("", datastoreObject(ds.Name), "more used than its size")
					}
				}
			}
			if d := in.r.PVE; d != nil {
				for i := range d.Storages {
					s := &d.Storages[i]
					if s.HasUsage && s.Used > s.Total {
						in.add("", storageObject(s), "more used than its size")
					}
				}
			}
		}},
	{ID: "almost_full", Alert: "ProxmoxBackupDatastoreAlmostFull", Severity: Critical, Title: "almost full",
		find: func(in *input) {
			if !in.r.Up {
				return
			}
			full := func(used, total uint64) (float64, bool) {
				ratio := float64(used) / float64(total)
				return ratio, ratio > in.th.AlmostFullRatio
			}
			if d := in.r.PBS; d != nil {
				for i := range d.Datastores {
					ds := &d.Datastores[i]
					if ratio, ok := full(ds.Used, ds.Total); ds.HasUsage && ok {
						in.add("", datastoreObject(ds.Name), "%.1f%% full", ratio*100)
					}
				}
			}
			if d := in.r.PVE; d != nil {
				for i := range d.Storages {
					s := &d.Storages[i]
					if ratio, ok := full(s.Used, s.Total); s.HasUsage && ok {
						in.add("", storageObject(s), "%.1f%% full", ratio*100)
					}
				}
			}
		}},
	{ID: "job_failed", Alert: "ProxmoxBackupJobFailed", Severity: Warning, Title: "job failed",
		find: func(in *input) {
			d := in.r.PBS
			if d == nil || !in.r.Up {
				return
			}
			for i := range d.Jobs {
				j := &d.Jobs[i]
				if !j.LastRunEnd.IsZero() && j.LastRunState != "" && !collector.JobSucceeded(j.LastRunState) && !j.Running {
					in.add("", jobObject(j), "the run that ended %s failed: %s", stamp(j.LastRunEnd), j.LastRunState)
				}
			}
		}},
	{ID: "gc_not_running", Alert: "ProxmoxBackupGCNotRunning", Severity: Warning, Title: "garbage collection overdue",
		HistoryOnly: "every run in the window failed (max_over_time), and a datastore monitored for longer than the limit whose GC never ran",
		find: func(in *input) {
			d := in.r.PBS
			if d == nil || !in.r.Up {
				return
			}
			for i := range d.GC {
				gc := &d.GC[i]
				ran := !gc.LastRunEnd.IsZero()
				switch {
				case !gc.NextRun.IsZero() && in.overdue(gc.NextRun, gc.LastRunEnd):
					in.add("", datastoreObject(gc.Datastore), "the run scheduled for %s has not happened (last run %s)", stamp(gc.NextRun), stampOrNever(gc.LastRunEnd))
				case ran && gc.LastRunState != "" && !collector.JobSucceeded(gc.LastRunState):
					in.add("", datastoreObject(gc.Datastore), "the garbage collection that ended %s failed: %s", stamp(gc.LastRunEnd), gc.LastRunState)
				case ran && gc.NextRun.IsZero() && in.since(gc.LastRunEnd) > in.th.GCMaxAge.Seconds():
					in.add("", datastoreObject(gc.Datastore), "no schedule, and the last garbage collection ended %s", stamp(gc.LastRunEnd))
				}
			}
		}},
	{ID: "job_overdue", Alert: "ProxmoxBackupJobOverdue", Severity: Warning, Title: "job overdue",
		find: func(in *input) {
			if !in.r.Up {
				return
			}
			if d := in.r.PBS; d != nil {
				for i := range d.Jobs {
					j := &d.Jobs[i]
					if !j.NextRun.IsZero() && in.overdue(j.NextRun, j.LastRunEnd) && !(j.Running && !j.RunningUnknown) {
						in.add("", jobObject(j), "the run scheduled for %s has not happened (last run %s)", stamp(j.NextRun), stampOrNever(j.LastRunEnd))
					}
				}
			}
			if d := in.r.PVE; d != nil {
				for i := range d.Jobs {
					j := &d.Jobs[i]
					var last time.Time
					if j.LastRunSuccess != nil {
						last = j.LastRun
					}
					if j.Enabled && !j.NextRun.IsZero() && in.overdue(j.NextRun, last) {
						in.add("", Object{Kind: KindJob, ID: "backup/" + j.ID, Name: j.Comment, Labels: labels("job_id", j.ID)},
							"the run scheduled for %s has not happened (last run %s)", stamp(j.NextRun), stampOrNever(last))
					}
				}
			}
		}},
	{ID: "single_copy", Alert: "ProxmoxBackupSingleCopy", Severity: Warning, Title: "one recent copy only",
		find: func(in *input) {
			in.eachGuest(false, backupsKnown, func(g *collector.Guest) {
				if in.th.WantsTwoCopies(g) && g.RecentStorages < 2 {
					in.add("", guestObject(g), "a recent backup on %d storage(s), and its tag %s asks for two", g.RecentStorages, in.th.SingleCopyTag)
				}
			})
		}},
	{ID: "offsite_lagging", Alert: "ProxmoxBackupOffsiteCopyLagging", Severity: Warning, Title: "offsite copy lagging",
		find: func(in *input) {
			o := in.all[in.r.Offsite]
			if in.r.Offsite == "" || o == nil || o.PBS == nil {
				return
			}
			// The newest copy of each type and id anywhere on the offsite
			// target; a down target exports no groups.
			newest := map[string]time.Time{}
			for i := range o.PBS.Groups {
				g := &o.PBS.Groups[i]
				if !o.Up || g.Last == nil {
					continue
				}
				k := g.BackupType + "/" + g.BackupID
				if t, ok := newest[k]; !ok || g.Last.Time.Unix() > t.Unix() {
					newest[k] = g.Last.Time
				}
			}
			in.eachGroup(func(g *collector.Group) {
				c, ok := newest[g.BackupType+"/"+g.BackupID]
				if g.Last == nil || !ok {
					return
				}
				if lag := g.Last.Time.Unix() - c.Unix(); float64(lag) > in.th.OffsiteMaxLag.Seconds() {
					obj := groupObject(g)
					obj.Labels["offsite_target"] = in.r.Offsite
					in.add("", obj, "the newest copy on %s, of %s, is %s behind the newest snapshot (%s)",
						in.r.Offsite, stamp(c), Duration(float64(lag)), stamp(g.Last.Time))
				}
			})
		}},
	{ID: "restore_test_overdue", Alert: "ProxmoxBackupRestoreTestOverdue", Severity: Warning, Title: "restore test overdue",
		find: func(in *input) {
			interval := in.th.RestoreTestInterval.Seconds()
			in.eachGuest(false, restoresKnown, func(g *collector.Guest) {
				if !g.RestoreTestRequired {
					return
				}
				switch r := g.LastRestore; {
				case r == nil:
					in.add("", guestObject(g), "no restore of its backups within the restore lookback; it must pass one every %s", Duration(interval))
				case !r.Success:
					in.add("", guestObject(g), "the last restore, of the backup of %s into %d on %s, failed %s: %s", stampOrUnknown(r.BackupTime), r.TargetVMID, r.Node, stamp(r.End), r.Status)
				case in.since(r.End) >= interval:
					in.add("", guestObject(g), "the last successful restore, into %d on %s, ended %s, %s ago; one is due every %s", r.TargetVMID, r.Node, stamp(r.End), Duration(in.since(r.End)), Duration(interval))
				}
			})
		}},
}

func stampOrUnknown(t time.Time) string {
	if t.IsZero() {
		return "unknown date"
	}
	return stamp(t)
}

// overdue mirrors "time() - next_run > grace unless last_run >= next_run":
// the scheduled run is past by the grace period and no run ended since.
func (in *input) overdue(next, last time.Time) bool {
	if in.since(next) <= in.th.ScheduleGracePeriod.Seconds() {
		return false
	}
	return last.IsZero() || last.Unix() < next.Unix()
}

func stampOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return stamp(t)
}

// Rule returns the rule with the ID, nil if there is none.
func RuleByID(id string) *Rule {
	for i := range Rules {
		if Rules[i].ID == id {
			return &Rules[i]
		}
	}
	return nil
}

// judgeGuest applies the filters of the mixin's guest(): templates only
// where the alert includes them, never an opted-out guest.
func (in *input) judgeGuest(g *collector.Guest, templates bool) bool {
	return (templates || !g.Template) && !in.th.OptedOut(g)
}

// running mirrors "unless guest_backup_running == 1".
func (in *input) running(g *collector.Guest) bool {
	return in.r.PVE.AttemptsKnown && g.Running
}

// eachGuest calls f for every PVE guest the alert judges (templates only
// where it includes them, never an opted-out guest) on an up target, when
// known (nil: always) says the data the rule reads was collected.
func (in *input) eachGuest(templates bool, known func(*collector.PVEData) bool, f func(g *collector.Guest)) {
	d := in.r.PVE
	if d == nil || !in.r.Up || (known != nil && !known(d)) {
		return
	}
	for i := range d.Guests {
		if g := &d.Guests[i]; in.judgeGuest(g, templates) {
			f(g)
		}
	}
}

// What each guest rule needs to have been collected.
func coverageKnown(d *collector.PVEData) bool { return d.CoverageKnown }
func backupsKnown(d *collector.PVEData) bool  { return d.BackupsKnown }
func attemptsKnown(d *collector.PVEData) bool { return d.AttemptsKnown }
func restoresKnown(d *collector.PVEData) bool { return d.RestoresKnown }

// eachGroup calls f for every PBS group not opted out, on an up target.
func (in *input) eachGroup(f func(g *collector.Group)) {
	d := in.r.PBS
	if d == nil || !in.r.Up {
		return
	}
	for i := range d.Groups {
		if g := &d.Groups[i]; !in.th.GroupOptedOut(g) {
			f(g)
		}
	}
}

func collectorFailed(r *collector.Result, name string) bool {
	for _, c := range r.Collectors {
		if c.Name == name && !c.Success {
			return true
		}
	}
	return false
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

func targetObject() Object { return Object{Kind: KindTarget} }

func guestObject(g *collector.Guest) Object {
	id := strconv.Itoa(g.VMID)
	return Object{Kind: KindGuest, ID: id, Name: g.Name, Labels: labels("vmid", id, "node", g.Node)}
}

// GroupID is a group's identity within its target.
func GroupID(g *collector.Group) string {
	where := g.Datastore
	if g.Namespace != "" {
		where += "/" + g.Namespace
	}
	return where + ":" + g.BackupType + "/" + g.BackupID
}

func groupObject(g *collector.Group) Object {
	return Object{Kind: KindGroup, ID: GroupID(g), Name: g.DisplayName(),
		Labels: labels("datastore", g.Datastore, "namespace", g.Namespace, "backup_type", g.BackupType, "backup_id", g.BackupID)}
}

func datastoreObject(name string) Object {
	return Object{Kind: KindDatastore, ID: name, Labels: labels("datastore", name)}
}

// StorageID is a PVE storage's identity: name@node, or the name alone for
// a shared storage.
func StorageID(s *collector.Storage) string {
	if s.Node == "" {
		return s.Name
	}
	return s.Name + "@" + s.Node
}

func storageObject(s *collector.Storage) Object {
	return Object{Kind: KindStorage, ID: StorageID(s), Labels: labels("storage", s.Name, "node", s.Node)}
}

func jobObject(j *collector.Job) Object {
	return Object{Kind: KindJob, ID: j.Type + "/" + j.ID, Name: j.Comment,
		Labels: labels("job_type", j.Type, "job_id", j.ID, "datastore", j.Datastore)}
}

// labels builds a label map from pairs, leaving out empty values as
// Prometheus does.
func labels(kv ...string) map[string]string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

// stamp is an absolute time for problem texts.
func stamp(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// Duration renders seconds as a short duration: 3d 4h, 5h 10m, 12m.
func Duration(secs float64) string {
	neg := secs < 0
	if neg {
		secs = -secs
	}
	d := time.Duration(secs * float64(time.Second))
	var s string
	switch {
	case d >= 48*time.Hour:
		s = fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		s = fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		s = fmt.Sprintf("%dm", int(d.Minutes()))
	}
	if neg {
		return "-" + s
	}
	return s
}

// futureText says how many backups are dated in the future: a node's clock
// was wrong when they were made. They are not taken as the last backup.
func futureText(n int, what string) string {
	if n != 1 {
		what += "s"
	}
	return fmt.Sprintf("%d %s dated more than %s in the future (a wrong clock?): not taken as the last backup",
		n, what, Duration(collector.ClockSkewAllowance.Seconds()))
}

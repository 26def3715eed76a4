package collector

import (
	"fmt"
	"sort"
	"time"

	"proxmox_backup_exporter/proxmox/calendar"
)

// assemble joins what the PVE collectors delivered into per-guest, per-job
// and per-storage state. It uses only the merged parts, never the shared
// listings, so it cannot wait on a collector that missed the deadline. It
// returns what the probe should warn of.
func (v *pveView) assemble(d *PVEData) []string {
	warnings := append([]string(nil), d.zoneNotes...)
	d.GuestsKnown = d.guestsRead
	d.BackupsKnown = d.backups != nil
	d.CoverageKnown = d.jobsRead
	d.AttemptsKnown = d.attempts != nil
	d.RestoresKnown = d.restores != nil

	jobs := d.jobList
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	events := make([]*calendar.Event, len(jobs))
	for i := range jobs {
		j := &jobs[i]
		if j.Schedule == "" {
			j.ScheduleErr = "the job has no schedule"
		} else if ev, err := calendar.Parse(j.Schedule); err != nil {
			j.ScheduleErr = err.Error()
		} else {
			events[i], j.ScheduleValid = ev, true
			continue
		}
		warnings = append(warnings, fmt.Sprintf("backup job %s: schedule %q cannot be read (%s): it gives its guests no due time and its failed starts cannot be told from other jobs'", j.ID, j.Schedule, j.ScheduleErr))
	}
	// A job's previous start, per node time zone.
	type prevKey struct {
		job  int
		node string
	}
	prevs := map[prevKey]time.Time{}
	prevStart := func(job int, node string) time.Time {
		k := prevKey{job, node}
		if t, ok := prevs[k]; ok {
			return t
		}
		var t time.Time
		if ev, loc := events[job], d.zones[node]; ev != nil && loc != nil {
			if p, ok := ev.Prev(v.p.now.In(loc)); ok {
				t = p
			}
		}
		prevs[k] = t
		return t
	}

	guests := d.guestList
	for gi := range guests {
		g := &guests[gi]
		if a := d.backups[g.VMID]; a != nil {
			g.Backups = a.count
			g.FutureBackups = a.future
			g.Last = a.last
			for st, t := range a.perStorage {
				g.PerStorage = append(g.PerStorage, StorageBackup{Storage: st, Time: t})
			}
			sort.Slice(g.PerStorage, func(i, j int) bool { return g.PerStorage[i].Storage < g.PerStorage[j].Storage })
			for _, sb := range g.PerStorage {
				if v.p.now.Sub(sb.Time) < time.Duration(v.p.target.RecentBackupWindow) {
					g.RecentStorages++
				}
			}
		}
		for ji := range jobs {
			j := &jobs[ji]
			if !j.sel.selects(g) {
				continue
			}
			j.Guests++
			if !j.Enabled {
				continue
			}
			g.Covered = true
			g.Jobs = append(g.Jobs, j.ID)
			if t := prevStart(ji, g.Node); t.After(g.Due) {
				g.Due = t
			}
		}
		if a := d.attempts[g.VMID]; a != nil {
			g.LastAttempt = a.last
			g.Running = a.running
		}
		g.RestoreTestRequired = v.p.target.RestoreTestAll || hasTag(g.Tags, v.p.target.RestoreTestTag)
		g.LastRestore = d.restores[g.VMID]
	}
	d.Restores = sortedRestores(d.restores)
	tier := newJobTier(jobs, events, d.zones, guests)
	runs, tiedTo := tier.tieJobRuns(d.taskRuns)
	if d.attempts != nil {
		warnings = append(warnings, failUnattempted(d, guests, tier, tiedTo)...)
		for gi := range guests {
			if a := d.attempts[guests[gi].VMID]; a != nil {
				guests[gi].LastAttempt = a.last
			}
		}
	}
	for ji := range jobs {
		if run, ok := runs[jobs[ji].ID]; ok {
			jobs[ji].LastRun = run.end
			ok := run.success
			jobs[ji].LastRunSuccess = &ok
		}
	}
	for si := range d.Storages {
		s := &d.Storages[si]
		if c := d.storeCount[storageKey{name: s.Name, node: s.Node}]; c != nil {
			s.Listed = true
			s.Backups, s.BackupBytes = c.backups, c.bytes
		}
	}
	sort.Slice(d.Storages, func(i, j int) bool {
		if d.Storages[i].Name != d.Storages[j].Name {
			return d.Storages[i].Name < d.Storages[j].Name
		}
		return d.Storages[i].Node < d.Storages[j].Node
	})
	d.Guests, d.Jobs = guests, jobs
	return warnings
}

// failUnattempted records a failed attempt for every guest that a task
// ended by a job-level error never got to: the guests of the node that the
// logged command line selects, or without one (PVE::VZDump::new died and
// the log is "TASK ERROR: <reason>") those of the job the task was tied to.
// Such an attempt replaces an older one.
func failUnattempted(d *PVEData, guests []Guest, tier *jobTier, tiedTo []int) []string {
	var warnings []string
	for i := range d.taskRuns {
		t := &d.taskRuns[i]
		if !t.aborted {
			continue
		}
		var sel jobSelection
		switch {
		case t.args != nil:
			sel = t.args.selection()
		case tiedTo[i] >= 0:
			sel = tier.jobs[tiedTo[i]].sel
		case t.id != 0:
			continue // the one guest already has its attempt
		default:
			warnings = append(warnings, fmt.Sprintf("vzdump task %s on node %s failed before any guest (%s) and matches no enabled job's schedule: the guests it failed for are unknown", t.upid, t.node, t.reason))
			continue
		}
		for gi := range guests {
			g := &guests[gi]
			if g.Node != t.node || t.attempted[g.VMID] || !sel.selects(g) {
				continue
			}
			a := d.attempts[g.VMID]
			if a == nil {
				a = &guestAttempts{}
				d.attempts[g.VMID] = a
			}
			if a.last != nil && !t.start.After(a.last.Start) {
				continue
			}
			a.last = &Attempt{Start: t.start, Duration: t.end.Sub(t.start), Error: t.reason, Node: t.node, UPID: t.upid}
		}
	}
	return warnings
}

package collector

import (
	"sort"
	"time"

	"proxmox_backup_exporter/proxmox/calendar"
)

// assemble joins what the PVE collectors delivered into per-guest, per-job
// and per-storage state. It uses only the merged parts, never the shared
// listings, so it cannot wait on a collector that missed the deadline.
func (v *pveView) assemble(d *PVEData) {
	d.GuestsKnown = d.guestsRead
	d.BackupsKnown = d.backups != nil
	d.CoverageKnown = d.jobsRead
	d.AttemptsKnown = d.attempts != nil

	jobs := d.jobList
	sort.Slice(jobs, func(i, j int) bool { return jobs[i].ID < jobs[j].ID })
	events := make([]*calendar.Event, len(jobs))
	for i := range jobs {
		if jobs[i].Schedule == "" {
			continue
		}
		ev, err := calendar.Parse(jobs[i].Schedule)
		if err != nil {
			v.p.logger.Warn("Cannot read a backup job's schedule; its guests get no due time", "job", jobs[i].ID, "err", err)
			continue
		}
		events[i] = ev
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
		if ev := events[job]; ev != nil {
			if p, ok := ev.Prev(v.p.now.In(zone(d.zones, node))); ok {
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
	}
	runs := tieJobRuns(jobs, d.taskRuns)
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
}

package collector

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"sync"
	"time"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/proxmox/tasklog"
)

// probePBS collects a Proxmox Backup Server.
func (p *prober) probePBS(ctx context.Context, r *Result) {
	if !p.version(ctx, r) {
		return
	}
	stores := &storeList{p: p}
	p.runTasks(ctx, r, mergePBS,
		task{"datastore", func(ctx context.Context, part *Result) error { return p.pbsDatastores(ctx, stores, part.PBS) }},
		task{"gc", func(ctx context.Context, part *Result) error { return p.pbsGC(ctx, stores, part.PBS) }},
		task{"groups", func(ctx context.Context, part *Result) error { return p.pbsGroups(ctx, stores, part.PBS) }},
		task{"verify_jobs", func(ctx context.Context, part *Result) error {
			return p.pbsJobs(ctx, "verify", "/admin/verify", nil, part.PBS)
		}},
		task{"prune_jobs", func(ctx context.Context, part *Result) error {
			return p.pbsJobs(ctx, "prune", "/admin/prune", nil, part.PBS)
		}},
		task{"sync_jobs", func(ctx context.Context, part *Result) error { return p.pbsSyncJobs(ctx, part.PBS) }},
		task{"tape_jobs", func(ctx context.Context, part *Result) error {
			return p.pbsJobs(ctx, "tape", "/tape/backup", nil, part.PBS)
		}},
		task{"reads", func(ctx context.Context, part *Result) error { return p.pbsReads(ctx, part.PBS) }},
		task{"permissions", func(ctx context.Context, part *Result) error { return p.permissions(ctx, p.perms, part) }},
	)
	d := r.PBS
	r.Warnings = append(r.Warnings, joinReads(d)...)
	sort.Slice(d.Datastores, func(i, j int) bool { return d.Datastores[i].Name < d.Datastores[j].Name })
	sort.Slice(d.GC, func(i, j int) bool { return d.GC[i].Datastore < d.GC[j].Datastore })
	sort.Slice(d.Groups, func(i, j int) bool { return groupLess(&d.Groups[i], &d.Groups[j]) })
	sort.Slice(d.Jobs, func(i, j int) bool {
		a, b := &d.Jobs[i], &d.Jobs[j]
		if a.Type != b.Type {
			return a.Type < b.Type
		}
		return a.ID < b.ID
	})
}

func mergePBS(dst, src *Result) {
	dst.Missing = append(dst.Missing, src.Missing...)
	dst.PBS.Datastores = append(dst.PBS.Datastores, src.PBS.Datastores...)
	dst.PBS.GC = append(dst.PBS.GC, src.PBS.GC...)
	dst.PBS.Groups = append(dst.PBS.Groups, src.PBS.Groups...)
	dst.PBS.Jobs = append(dst.PBS.Jobs, src.PBS.Jobs...)
	if src.PBS.reads != nil {
		dst.PBS.reads = src.PBS.reads
	}
}

func groupLess(a, b *Group) bool {
	if a.Datastore != b.Datastore {
		return a.Datastore < b.Datastore
	}
	if a.Namespace != b.Namespace {
		return a.Namespace < b.Namespace
	}
	if a.BackupType != b.BackupType {
		return a.BackupType < b.BackupType
	}
	return a.BackupID < b.BackupID
}

// pbsDatastoreConfig is an item of GET /admin/datastore.
type pbsDatastoreConfig struct {
	Store       string `json:"store"`
	Comment     string `json:"comment"`
	MountStatus string `json:"mount-status"`
	BackendType string `json:"backend-type"`
}

// storeList fetches GET /admin/datastore once per probe for every collector
// that needs it, and applies the target's datastore filter.
type storeList struct {
	p      *prober
	once   sync.Once
	stores []pbsDatastoreConfig
	err    error
}

func (l *storeList) get(ctx context.Context) ([]pbsDatastoreConfig, error) {
	l.once.Do(func() {
		var all []pbsDatastoreConfig
		if l.err = l.p.session.Get(ctx, "/admin/datastore", nil, &all); l.err != nil {
			return
		}
		filter := l.p.target.Datastores
		if len(filter) == 0 {
			l.stores = all
			return
		}
		for _, name := range filter {
			i := slices.IndexFunc(all, func(d pbsDatastoreConfig) bool { return d.Store == name })
			if i < 0 {
				l.err = fmt.Errorf("target %q: configured datastore %q does not exist or the token cannot see it (needs Datastore.Audit on /datastore/%s)", l.p.target.Name, name, name)
				continue
			}
			l.stores = append(l.stores, all[i])
		}
	})
	return l.stores, l.err
}

// wanted reports whether a datastore passes the target's filter.
func (p *prober) wanted(store string) bool {
	return len(p.target.Datastores) == 0 || slices.Contains(p.target.Datastores, store)
}

// pbsUsage is an item of GET /status/datastore-usage.
type pbsUsage struct {
	Store         string        `json:"store"`
	Total         *proxmox.Int  `json:"total"`
	Used          *proxmox.Int  `json:"used"`
	Avail         *proxmox.Int  `json:"avail"`
	EstimatedFull *proxmox.Int  `json:"estimated-full-date"`
	Error         string        `json:"error"`
	History       skipJSONValue `json:"history"`
}

func (p *prober) pbsDatastores(ctx context.Context, stores *storeList, out *PBSData) error {
	var errs errList
	var usage []pbsUsage
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		errs.add(p.session.Get(ctx, "/status/datastore-usage", nil, &usage))
	}()
	list, err := stores.get(ctx)
	errs.add(err)
	wg.Wait()

	byName := make(map[string]*pbsUsage, len(usage))
	for i := range usage {
		byName[usage[i].Store] = &usage[i]
	}
	for _, s := range list {
		d := Datastore{Name: s.Store, Comment: s.Comment, MountStatus: s.MountStatus, BackendType: s.BackendType}
		if u := byName[s.Store]; u != nil {
			d.UsageErr = u.Error
			if u.Error == "" && u.Total != nil && u.Used != nil && u.Avail != nil {
				d.HasUsage = true
				d.Total, d.Used, d.Avail = nonNeg(*u.Total), nonNeg(*u.Used), nonNeg(*u.Avail)
			}
			// 0 means the usage is flat, a past date that it shrinks:
			// neither is a prediction of a fill.
			if u.EstimatedFull != nil && int64(*u.EstimatedFull) > p.now.Unix() {
				d.FullEstim = epoch(u.EstimatedFull)
			}
		}
		if d.UsageErr != "" {
			p.logger.Warn("Datastore reports no usage", "datastore", d.Name, "reason", d.UsageErr)
		}
		out.Datastores = append(out.Datastores, d)
	}
	return errs.err()
}

func nonNeg(v proxmox.Int) uint64 {
	if v < 0 {
		return 0
	}
	return uint64(v)
}

// pbsGCItem is an item of GET /admin/gc, or the body of
// GET /admin/datastore/{store}/gc on servers without /admin/gc.
type pbsGCItem struct {
	Store          string       `json:"store"`
	UPID           *string      `json:"upid"`
	RemovedBytes   proxmox.Int  `json:"removed-bytes"`
	PendingBytes   proxmox.Int  `json:"pending-bytes"`
	DiskBytes      proxmox.Int  `json:"disk-bytes"`
	Schedule       string       `json:"schedule"`
	NextRun        *proxmox.Int `json:"next-run"`
	LastRunEndtime *proxmox.Int `json:"last-run-endtime"`
	LastRunState   string       `json:"last-run-state"`
	Duration       *proxmox.Int `json:"duration"`
}

func (p *prober) pbsGC(ctx context.Context, stores *storeList, out *PBSData) error {
	var items []pbsGCItem
	var errs errList
	var running map[string]bool
	var runningErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		running, runningErr = p.pbsRunningGC(ctx)
		errs.add(runningErr)
	}()
	err := p.session.Get(ctx, "/admin/gc", nil, &items)
	if st := proxmox.StatusCode(err); st == 404 || st == 501 {
		// Servers before /admin/gc existed: ask each datastore.
		p.logger.Debug("No /admin/gc on this server, asking each datastore", "err", err)
		items, err = p.pbsGCPerStore(ctx, stores)
	}
	errs.add(err)
	wg.Wait()
	for _, it := range items {
		if !p.wanted(it.Store) {
			continue
		}
		gc := GCStatus{
			Datastore:    it.Store,
			Schedule:     it.Schedule,
			LastRunState: it.LastRunState,
			NextRun:      epoch(it.NextRun),
			LastRunEnd:   epoch(it.LastRunEndtime),
			Running:      running[it.Store],
		}
		// The counters are those of the last finished GC, whose task id
		// PBS keeps beside them; without one no GC ever finished and the
		// zeros mean nothing (proxmox-backup pbs-api-types
		// GarbageCollectionStatus::default, kept until a GC ends in
		// pbs-datastore/src/datastore.rs garbage_collection).
		if it.UPID != nil && *it.UPID != "" {
			gc.HasCounts = true
			gc.RemovedBytes, gc.PendingBytes, gc.DiskBytes = nonNeg(it.RemovedBytes), nonNeg(it.PendingBytes), nonNeg(it.DiskBytes)
		}
		if it.Duration != nil {
			gc.Duration = time.Duration(*it.Duration) * time.Second
		}
		out.GC = append(out.GC, gc)
		out.Jobs = append(out.Jobs, Job{
			Type: "gc", ID: it.Store, Datastore: it.Store, Schedule: it.Schedule,
			LastRunEnd: gc.LastRunEnd, LastRunState: gc.LastRunState, Running: gc.Running, NextRun: gc.NextRun,
			RunningUnknown: runningErr != nil,
		})
	}
	return errs.err()
}

// pbsRunningGC returns the datastores whose garbage collection task runs
// now. The GC status cannot tell: while a GC runs, and equally when its job
// state file is missing, PBS reports the last finished run's upid without a
// last-run state (proxmox-backup src/api2/admin/datastore.rs
// garbage_collection_status: last-run-* come from the job state file, the
// upid from the datastore's last GC status; src/server/jobstate.rs
// JobState::load turns a missing file into "created"). The running-task
// list can; it shows root@pam's scheduled GC tasks to a token with
// Sys.Audit on /system/tasks (src/api2/node/tasks.rs list_tasks).
func (p *prober) pbsRunningGC(ctx context.Context) (map[string]bool, error) {
	var tasks []struct {
		UPID       string       `json:"upid"`
		WorkerType string       `json:"worker_type"`
		WorkerID   string       `json:"worker_id"`
		EndTime    *proxmox.Int `json:"endtime"`
	}
	q := url.Values{"running": {"1"}, "typefilter": {"garbage_collection"}, "limit": {"0"}}
	if err := p.session.Get(ctx, "/nodes/localhost/tasks", q, &tasks); err != nil {
		return nil, err
	}
	running := map[string]bool{}
	for _, t := range tasks {
		if t.WorkerType != "garbage_collection" || t.EndTime != nil {
			continue
		}
		store := t.WorkerID
		if u, err := tasklog.ParsePBSUPID(t.UPID); err == nil && store == "" {
			store = u.ID
		}
		running[store] = true
	}
	return running, nil
}

func (p *prober) pbsGCPerStore(ctx context.Context, stores *storeList) ([]pbsGCItem, error) {
	list, err := stores.get(ctx)
	if err != nil {
		return nil, err
	}
	items := make([]pbsGCItem, len(list))
	var errs errList
	var wg sync.WaitGroup
	for i, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs.add(p.session.Get(ctx, "/admin/datastore/"+url.PathEscape(s.Store)+"/gc", nil, &items[i]))
			items[i].Store = s.Store
		}()
	}
	wg.Wait()
	return items, errs.err()
}

// epoch reads an optional time; one that is missing, not positive or past
// the year 9999 is unknown.
func epoch(v *proxmox.Int) time.Time {
	if v == nil || *v <= 0 {
		return time.Time{}
	}
	t, _ := proxmox.Timestamp(int64(*v))
	return t
}

// pbsJobItem is an item of GET /admin/verify, /admin/prune, /admin/sync and
// /tape/backup: the job's configuration plus its schedule state.
type pbsJobItem struct {
	ID             string       `json:"id"`
	Store          string       `json:"store"`
	Schedule       string       `json:"schedule"`
	Comment        string       `json:"comment"`
	Disable        proxmox.Bool `json:"disable"`
	NextRun        *proxmox.Int `json:"next-run"`
	LastRunState   string       `json:"last-run-state"`
	LastRunUPID    string       `json:"last-run-upid"`
	LastRunEndtime *proxmox.Int `json:"last-run-endtime"`
	SyncDirection  string       `json:"sync-direction"`
}

// pbsSyncJobs lists pull and push sync jobs. Since PBS 3.3 /admin/sync lists
// pull jobs only unless asked for sync-direction=all (proxmox-backup
// src/api2/admin/sync.rs list_config_sync_jobs, default pull); older
// servers know pull jobs only and reject the parameter with 400.
func (p *prober) pbsSyncJobs(ctx context.Context, out *PBSData) error {
	var jobs PBSData
	err := p.pbsJobs(ctx, "sync", "/admin/sync", url.Values{"sync-direction": {"all"}}, &jobs)
	if proxmox.StatusCode(err) == 400 {
		p.logger.Debug("The server lists sync jobs without a direction (before PBS 3.3)", "err", err)
		jobs = PBSData{}
		err = p.pbsJobs(ctx, "sync", "/admin/sync", nil, &jobs)
	}
	out.Jobs = append(out.Jobs, jobs.Jobs...)
	return err
}

func (p *prober) pbsJobs(ctx context.Context, jobType, path string, q url.Values, out *PBSData) error {
	kept := 0
	return p.session.Each(ctx, path, q, func(dec decoder) error {
		var it pbsJobItem
		if err := dec.Decode(&it); err != nil {
			return err
		}
		if !p.wanted(it.Store) {
			return nil
		}
		if err := tooMany(kept, "jobs"); err != nil {
			return err
		}
		kept++
		direction := ""
		if jobType == "sync" {
			direction = "pull"
			if it.SyncDirection != "" {
				direction = it.SyncDirection
			}
		}
		out.Jobs = append(out.Jobs, Job{
			Type:         jobType,
			Direction:    direction,
			ID:           it.ID,
			Datastore:    it.Store,
			Schedule:     it.Schedule,
			Comment:      it.Comment,
			Disabled:     bool(it.Disable),
			LastRunEnd:   epoch(it.LastRunEndtime),
			LastRunState: it.LastRunState,
			Running:      it.LastRunUPID != "" && it.LastRunState == "",
			NextRun:      epoch(it.NextRun),
		})
		return nil
	})
}

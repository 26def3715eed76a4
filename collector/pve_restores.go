package collector

import (
	"context"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/proxmox/tasklog"
)

// restoreTaskTypes are the workers of restores: qemu-server's
// PVE/API2/Qemu.pm create_vm forks "qmrestore" when given an archive,
// pve-container's PVE/API2/LXC.pm create_vm "vzrestore" with restore set.
// Both make the guest restored into the task's id; the CLI tools qmrestore
// and pct restore call the same API.
var restoreTaskTypes = [...]string{"qmrestore", "vzrestore"}

// collectRestores finds, per backed-up guest, the newest finished restore
// of one of its backups: each online node's restore tasks within the
// restore lookback, filtered by type (two task listings per node), and the
// first lines of each task's log, where the archive is named. A finished
// task's log is read once; later probes take it from the cache. Restores
// whose log names no archive (one piped in, or one that failed before it
// opened the archive) belong to no guest and are left out. The restores are
// known only when every node's were read.
func (v *pveView) collectRestores(ctx context.Context, out *PVEData) error {
	var errs errList
	nodes, err := v.onlineNodes(ctx)
	errs.add(err)
	// A zone the nodes do not report leaves vzdump file names without a
	// time; the tasks collector reports that failure.
	zi, _ := v.zones.get(ctx, v.fetchZones)
	lookback := time.Duration(v.p.target.RestoreLookback)

	var mu sync.Mutex
	found := map[int]*GuestRestore{}
	var wg sync.WaitGroup
	for _, n := range nodes {
		for _, typ := range restoreTaskTypes {
			wg.Add(1)
			go func() {
				defer wg.Done()
				tasks, err := v.listTasksOf(ctx, n.Name, typ, lookback)
				if err != nil {
					errs.add(err)
					return
				}
				for i := range tasks {
					t := &tasks[i]
					if t.running() || t.EndTime == nil {
						continue
					}
					start := time.Unix(int64(t.StartTime), 0)
					r, err := v.readRestoreLog(ctx, n.Name, t.UPID, start, zi.own[n.Name], lookback)
					if err != nil {
						errs.add(err)
						return
					}
					if !r.Known() || r.VMID == 0 {
						continue
					}
					target, _ := strconv.Atoi(string(t.ID))
					gr := &GuestRestore{
						VMID: r.VMID, TargetVMID: target, Node: n.Name, UPID: t.UPID,
						Start: start, End: time.Unix(int64(*t.EndTime), 0),
						Success: !tasklog.StatusIsError(t.Status), Status: t.Status,
						Archive: r.Archive, Storage: r.Storage, BackupTime: r.BackupTime, Live: r.Live,
					}
					mu.Lock()
					if cur := found[r.VMID]; cur == nil || newerRestore(gr, cur) {
						found[r.VMID] = gr
					}
					mu.Unlock()
				}
			}()
		}
	}
	wg.Wait()
	if err := errs.err(); err != nil {
		// A node's restores unread (offline, or its listing failed) would
		// make its tested guests look untested: all or nothing.
		return err
	}
	out.restores = found
	return nil
}

// newerRestore orders restores by end, then start, then UPID, so that the
// newest is the same whatever order the nodes answered in.
func newerRestore(a, b *GuestRestore) bool {
	if !a.End.Equal(b.End) {
		return a.End.After(b.End)
	}
	if !a.Start.Equal(b.Start) {
		return a.Start.After(b.Start)
	}
	return a.UPID > b.UPID
}

// readRestoreLog reads a finished restore task's log until it names the
// archive (its first lines), or to its end. The result is cached.
func (v *pveView) readRestoreLog(ctx context.Context, node, upid string, start time.Time, loc *time.Location, lookback time.Duration) (tasklog.Restore, error) {
	cache := v.p.taskLogs
	key := v.logKey(node, upid, loc)
	if cache != nil {
		if f, ok := cache.get(key, false); ok && f.restore != nil {
			return *f.restore, nil
		}
	}
	p := tasklog.NewRestoreParser(loc)
	more := func() bool { r := p.Result(); return !r.Known() }
	if err := v.eachLogLine(ctx, node, upid, taskPageSize, more, p.Line); err != nil {
		return tasklog.Restore{}, err
	}
	r := p.Result()
	resolved := true
	if r.Known() && r.Storage == "" {
		// qemu-server logs a file path or a PBS repository, not the
		// volume id: the storage configuration tells which storage it is.
		stores, err := v.storageConfigs.get(ctx, v.fetchStorageConfigs)
		if err != nil {
			// Left unknown, and read again by a later probe.
			resolved = false
		} else {
			r.Storage = archiveStorage(&r, stores)
		}
	}
	if cache != nil && resolved {
		cache.put(key, logFacts{full: true, restore: &r}, start.Add(lookback), v.p.now)
	}
	return r, nil
}

// archiveStorage finds the storage of an archive that the log names by path or
// by PBS repository: the one storage whose dump directory (PVE's
// <path>/dump) holds the file, or whose server, datastore and namespace
// are the repository's (PVE::PBSClient::get_repository writes
// user@server[:port]:datastore). Ambiguous or no match: "".
func archiveStorage(r *tasklog.Restore, stores []storageConfig) string {
	var names []string
	match := func(name string) {
		if !slices.Contains(names, name) {
			names = append(names, name)
		}
	}
	switch {
	case strings.HasPrefix(r.Archive, "/"):
		dir := r.Archive[:strings.LastIndex(r.Archive, "/")]
		for _, s := range stores {
			if s.Path != "" && strings.TrimRight(s.Path, "/")+"/dump" == dir {
				match(s.Storage)
			}
		}
	case r.Repository != "":
		at := strings.LastIndex(r.Repository, "@")
		colon := strings.LastIndex(r.Repository, ":")
		if colon <= at+1 {
			return ""
		}
		host, datastore := r.Repository[at+1:colon], r.Repository[colon+1:]
		if strings.HasPrefix(host, "[") {
			if end := strings.Index(host, "]"); end > 0 {
				host = host[1:end]
			}
		} else if h, _, ok := strings.Cut(host, ":"); ok {
			host = h
		}
		for _, s := range stores {
			if s.Type == "pbs" && strings.Trim(s.Server, "[]") == host && s.Datastore == datastore && s.Namespace == r.Namespace {
				match(s.Storage)
			}
		}
	}
	if len(names) != 1 {
		return ""
	}
	return names[0]
}

// sortedRestores lists the restores by source VMID.
func sortedRestores(m map[int]*GuestRestore) []GuestRestore {
	out := make([]GuestRestore, 0, len(m))
	for _, r := range m {
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].VMID < out[j].VMID })
	return out
}

// hasTag reports whether a guest's tags (";"-separated as PVE lists them;
// PVE also accepts "," and " " when they are written) hold tag as a whole.
func hasTag(tags, tag string) bool {
	if tag == "" {
		return false
	}
	for _, t := range strings.FieldsFunc(tags, func(r rune) bool { return r == ';' || r == ',' || r == ' ' }) {
		if t == tag {
			return true
		}
	}
	return false
}

package simulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Handler serves the simulated PBS API under /api2/json. It checks the
// PBSAPIToken header as proxmox-auth-api does and deflates large responses
// for clients that accept it.
func (p *PBS) Handler() http.Handler {
	mux := http.NewServeMux()
	h := func(pattern string, f apiFunc) { route(mux, pattern, f) }
	h("/version", p.version)
	h("/admin/datastore", p.datastores)
	h("/status/datastore-usage", p.usage)
	h("/admin/datastore/{store}/status", p.storeScoped(p.storeStatus))
	h("/admin/datastore/{store}/namespace", p.storeScoped(p.namespaces))
	h("/admin/datastore/{store}/groups", p.storeScoped(p.groups))
	h("/admin/datastore/{store}/snapshots", p.storeScoped(p.snapshots))
	h("/admin/datastore/{store}/gc", p.storeScoped(func(w http.ResponseWriter, r *http.Request, d *Datastore) (any, int, string) {
		return p.gcRow(d), 0, ""
	}))
	h("/admin/gc", p.gcAll)
	h("/admin/verify", p.jobs(func() []Job { return p.VerifyJobs }, "verificationjob"))
	h("/admin/prune", p.jobs(func() []Job { return p.PruneJobs }, "prunejob"))
	h("/admin/sync", p.syncJobs)
	h("/nodes/{node}/tasks", p.tasks)
	h("/tape/backup", p.jobs(func() []Job { return p.TapeJobs }, "tape-backup-job"))
	h("/access/permissions", p.permissions)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			pveError(w, http.StatusMethodNotAllowed, "Method not allowed")
			return
		}
		pveError(w, http.StatusNotFound, "Path '"+r.URL.Path+"' not found.")
	})
	return deflateOver1K(p.auth(mux))
}

// pbsTokenRE: "PBSAPIToken" followed by "=" or a space, then
// USER@REALM!TOKENID:SECRET.
var pbsTokenRE = regexp.MustCompile(`^PBSAPIToken[= ](.+)$`)

func (p *PBS) auth(next http.Handler) http.Handler {
	return tokenAuth(next, pbsTokenRE, ":", p.TokenID, p.TokenSecret, "authentication failed - invalid credentials")
}

func (p *PBS) storeScoped(f func(w http.ResponseWriter, r *http.Request, d *Datastore) (any, int, string)) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, int, string) {
		d := p.datastore(r.PathValue("store"))
		if d == nil {
			return nil, http.StatusBadRequest, fmt.Sprintf("no such datastore '%s'", r.PathValue("store"))
		}
		return f(w, r, d)
	}
}

func (p *PBS) version(http.ResponseWriter, *http.Request) (any, int, string) {
	return map[string]any{"version": p.Version, "release": p.Release, "repoid": p.RepoID}, 0, ""
}

func (d *Datastore) mountStatus() string {
	if d.MountStatus == "" {
		return "nonremovable"
	}
	return d.MountStatus
}

func (d *Datastore) backendType() string {
	if d.BackendType == "" {
		return "filesystem"
	}
	return d.BackendType
}

func (p *PBS) datastores(http.ResponseWriter, *http.Request) (any, int, string) {
	out := []map[string]any{}
	for i := range p.Datastores {
		d := &p.Datastores[i]
		row := map[string]any{"store": d.Name, "comment": nil, "mount-status": d.mountStatus(), "backend-type": d.backendType()}
		if d.Comment != "" {
			row["comment"] = d.Comment
		}
		out = append(out, row)
	}
	return out, 0, ""
}

func (p *PBS) usage(http.ResponseWriter, *http.Request) (any, int, string) {
	now := p.now()
	out := []map[string]any{}
	for i := range p.Datastores {
		d := &p.Datastores[i]
		row := map[string]any{"store": d.Name, "mount-status": d.mountStatus(), "backend-type": d.backendType()}
		if d.UsageError != "" {
			row["error"] = d.UsageError
			out = append(out, row)
			continue
		}
		row["total"], row["used"], row["avail"] = d.Total, d.Used, d.Total-d.Used
		// 30 days of usage fractions, every 30 minutes, growing to now.
		start := now.Add(-30 * 24 * time.Hour).Truncate(30 * time.Minute)
		history := make([]any, 1440)
		frac := float64(d.Used) / float64(max(d.Total, 1))
		for k := range history {
			history[k] = frac * (0.8 + 0.2*float64(k)/1439)
		}
		row["history"], row["history-start"], row["history-delta"] = history, start.Unix(), 1800
		if d.EstimatedFull != nil {
			row["estimated-full-date"] = d.EstimatedFull.Unix()
		}
		row["gc-status"] = p.gcCounts(d)
		out = append(out, row)
	}
	return out, 0, ""
}

func (p *PBS) storeStatus(_ http.ResponseWriter, r *http.Request, d *Datastore) (any, int, string) {
	row := map[string]any{"total": d.Total, "used": d.Used, "avail": d.Total - d.Used, "backend-type": d.backendType()}
	if v := r.URL.Query().Get("verbose"); v == "1" || v == "true" {
		counts := map[string]any{"vm": nil, "ct": nil, "host": nil, "other": nil}
		tally := map[string][2]int{}
		for _, ns := range d.Namespaces {
			for _, g := range ns.Groups {
				c := tally[g.BackupType]
				c[0]++
				c[1] += len(g.Snapshots)
				tally[g.BackupType] = c
			}
		}
		for typ, c := range tally {
			counts[typ] = map[string]int{"groups": c[0], "snapshots": c[1]}
		}
		row["counts"] = counts
		row["gc-status"] = p.gcCounts(d)
	}
	return row, 0, ""
}

func (p *PBS) namespaces(_ http.ResponseWriter, r *http.Request, d *Datastore) (any, int, string) {
	parent := r.URL.Query().Get("parent")
	maxDepth := 7
	if v := r.URL.Query().Get("max-depth"); v != "" {
		maxDepth, _ = strconv.Atoi(v)
	}
	if d.namespace(parent) == nil {
		return nil, http.StatusBadRequest, fmt.Sprintf("namespace '%s' does not exist", parent)
	}
	depth := func(ns string) int {
		if ns == "" {
			return 0
		}
		return strings.Count(ns, "/") + 1
	}
	var paths []string
	comments := map[string]string{}
	seenRoot := false
	for _, ns := range d.Namespaces {
		comments[ns.Path] = ns.Comment
		if ns.Path == "" {
			seenRoot = true
		}
		paths = append(paths, ns.Path)
	}
	if !seenRoot {
		paths = append(paths, "")
	}
	sort.Strings(paths) // the root ("") first
	out := []map[string]any{}
	for _, ns := range paths {
		if parent != "" && ns != parent && !strings.HasPrefix(ns, parent+"/") {
			continue
		}
		if depth(ns)-depth(parent) > maxDepth {
			continue
		}
		row := map[string]any{"ns": ns}
		if comments[ns] != "" {
			row["comment"] = comments[ns]
		}
		out = append(out, row)
	}
	return out, 0, ""
}

func (p *PBS) nsOf(r *http.Request, d *Datastore) (*Namespace, int, string) {
	ns := d.namespace(r.URL.Query().Get("ns"))
	if ns == nil {
		return nil, http.StatusBadRequest, fmt.Sprintf("namespace '%s' does not exist", r.URL.Query().Get("ns"))
	}
	return ns, 0, ""
}

func (p *PBS) groups(_ http.ResponseWriter, r *http.Request, d *Datastore) (any, int, string) {
	ns, status, msg := p.nsOf(r, d)
	if ns == nil {
		return nil, status, msg
	}
	out := []map[string]any{}
	for i := range ns.Groups {
		g := &ns.Groups[i]
		if len(g.Snapshots) == 0 {
			continue
		}
		last := g.Snapshots[0].Time
		for _, s := range g.Snapshots {
			if s.Time.After(last) {
				last = s.Time
			}
		}
		var files []string
		for _, f := range g.Snapshots[0].files(g.BackupType) {
			files = append(files, f["filename"].(string))
		}
		sort.Strings(files)
		row := map[string]any{
			"backup-type": g.BackupType, "backup-id": g.BackupID, "last-backup": last.Unix(),
			"backup-count": len(g.Snapshots), "owner": g.owner(), "files": files,
		}
		if g.Comment != "" {
			row["comment"] = g.Comment
		}
		out = append(out, row)
	}
	return out, 0, ""
}

func (g *Group) owner() string {
	if g.Owner == "" {
		return "pve@pbs!pve"
	}
	return g.Owner
}

// snapshots streams the listing item by item: the scale benchmark serves
// 100,000 snapshots, and PBS lists them without the namespace.
func (p *PBS) snapshots(w http.ResponseWriter, r *http.Request, d *Datastore) (any, int, string) {
	ns, status, msg := p.nsOf(r, d)
	if ns == nil {
		return nil, status, msg
	}
	q := r.URL.Query()
	wantType, wantID := q.Get("backup-type"), q.Get("backup-id")
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	fmt.Fprint(w, `{"data":[`)
	enc := json.NewEncoder(w)
	first := true
	for gi := range ns.Groups {
		g := &ns.Groups[gi]
		if (wantType != "" && g.BackupType != wantType) || (wantID != "" && g.BackupID != wantID) {
			continue
		}
		for si := range g.Snapshots {
			if !first {
				fmt.Fprint(w, ",")
			}
			first = false
			_ = enc.Encode(snapshotRow(d, g, &g.Snapshots[si]))
		}
	}
	fmt.Fprint(w, "]}")
	return skipBody, 0, ""
}

func snapshotRow(d *Datastore, g *Group, s *Snapshot) map[string]any {
	row := map[string]any{
		"backup-type": g.BackupType, "backup-id": g.BackupID, "backup-time": s.Time.Unix(),
		"protected": s.Protected, "owner": g.owner(), "files": s.files(g.BackupType),
	}
	if s.Size != nil {
		row["size"] = *s.Size
		if s.Comment != "" {
			row["comment"] = s.Comment
		}
		if s.Encrypted {
			row["fingerprint"] = "e3:9a:11:5c:00:7d:2b:41:88:90:aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99:aa:bb:cc:dd:ee:ff"
		}
		if s.Verify != "" {
			row["verification"] = map[string]string{"state": s.Verify, "upid": pbsUPID(0x7e, s.VerifyTime, "verificationjob", d.Name+":v-3f2a9c1d-77b0", "root@pam")}
		}
	}
	return row
}

func (p *PBS) gcCounts(d *Datastore) map[string]any {
	row := map[string]any{
		"upid": nil, "index-file-count": 0, "index-data-bytes": 0, "disk-bytes": d.GC.DiskBytes, "disk-chunks": d.GC.DiskBytes / (4 << 20),
		"removed-bytes": d.GC.RemovedBytes, "removed-chunks": d.GC.RemovedBytes / (4 << 20),
		"pending-bytes": d.GC.PendingBytes, "pending-chunks": d.GC.PendingBytes / (4 << 20),
		"removed-bad": 0, "still-bad": 0,
	}
	if !d.GC.LastStart.IsZero() {
		row["upid"] = pbsUPID(9, d.GC.LastStart, "garbage_collection", d.Name, "root@pam")
		row["index-file-count"] = 42
		row["index-data-bytes"] = d.Used * 12
	}
	return row
}

func (p *PBS) gcRow(d *Datastore) map[string]any {
	row := p.gcCounts(d)
	row["store"] = d.Name
	gc := &d.GC
	if gc.Schedule != "" {
		row["schedule"] = gc.Schedule
		if !gc.NextRun.IsZero() {
			row["next-run"] = gc.NextRun.Unix()
		}
		if !gc.LastStart.IsZero() && gc.State != "" && !gc.Running && !gc.StateFileMissing {
			row["last-run-endtime"] = gc.LastStart.Add(gc.Duration).Unix()
			row["last-run-state"] = gc.State
			row["duration"] = int64(gc.Duration.Seconds())
		}
	}
	return row
}

func (p *PBS) gcAll(http.ResponseWriter, *http.Request) (any, int, string) {
	out := []map[string]any{}
	for i := range p.Datastores {
		out = append(out, p.gcRow(&p.Datastores[i]))
	}
	return out, 0, ""
}

// syncJobs lists sync jobs. Since PBS 3.3 the listing holds pull jobs only
// unless asked for sync-direction=push or all, and each job names its
// direction (proxmox-backup src/api2/admin/sync.rs list_config_sync_jobs;
// the API schema: sync-direction enum all, push, pull, default pull). Older
// servers reject the unknown parameter (additionalProperties: false).
func (p *PBS) syncJobs(w http.ResponseWriter, r *http.Request) (any, int, string) {
	dir, asked := r.URL.Query()["sync-direction"]
	if p.NoSyncDirection {
		if asked {
			return nil, http.StatusBadRequest, "parameter verification failed - 'sync-direction': schema does not allow additional properties."
		}
		return p.jobs(func() []Job { return p.SyncJobs }, "syncjob")(w, r)
	}
	want := "pull"
	if asked {
		want = dir[0]
	}
	if want != "pull" && want != "push" && want != "all" {
		return nil, http.StatusBadRequest, "parameter verification failed - 'sync-direction': value '" + want + "' is not defined in the enumeration."
	}
	var list []Job
	for _, j := range p.SyncJobs {
		if want == "all" || j.direction() == want {
			list = append(list, j)
		}
	}
	return p.jobs(func() []Job { return list }, "syncjob")(w, r)
}

func (j *Job) direction() string {
	if j.Direction == "" {
		return "pull"
	}
	return j.Direction
}

// visible reports whether the token may list a job, as the listings check:
// Datastore.Audit on the datastore, and for sync jobs with a remote
// Remote.Audit on it (proxmox-backup src/api2/config/sync.rs
// check_sync_job_read_access); Tape.Audit on /tape/job/<id> for tape jobs
// (src/api2/tape/backup.rs list_tape_backup_jobs).
func (p *PBS) visible(j *Job, workerType string) bool {
	switch workerType {
	case "tape-backup-job":
		return p.ACLs.can("/tape/job/"+j.ID, "Tape.Audit")
	case "syncjob":
		if j.Remote != "" && !p.ACLs.can("/remote/"+j.Remote, "Remote.Audit") {
			return false
		}
	}
	return p.ACLs.can("/datastore/"+j.Store, "Datastore.Audit")
}

// jobs lists job configurations with their schedule state: a job that never
// ran has only next-run; a running one has its upid but no state or end.
func (p *PBS) jobs(list func() []Job, workerType string) apiFunc {
	return func(http.ResponseWriter, *http.Request) (any, int, string) {
		out := []map[string]any{}
		for i, j := range list() {
			if !p.visible(&j, workerType) {
				continue
			}
			row := map[string]any{"id": j.ID, "store": j.Store}
			if j.Schedule != "" {
				row["schedule"] = j.Schedule
			}
			if j.Comment != "" {
				row["comment"] = j.Comment
			}
			if j.NS != "" {
				row["ns"] = j.NS
			}
			switch workerType {
			case "syncjob":
				if j.Remote != "" {
					row["remote"] = j.Remote
				}
				row["remote-store"] = j.RemoteStore
				row["remove-vanished"] = false
				if !p.NoSyncDirection {
					row["sync-direction"] = j.direction()
				}
			case "prunejob":
				row["keep-daily"] = 7
				row["keep-weekly"] = 4
				if j.Disable {
					row["disable"] = true
				}
			case "tape-backup-job":
				row["pool"], row["drive"] = j.Pool, j.Drive
			}
			if !j.NextRun.IsZero() {
				row["next-run"] = j.NextRun.Unix()
			}
			if !j.LastStart.IsZero() {
				row["last-run-upid"] = pbsUPID(0x80+i, j.LastStart, workerType, j.Store+":"+j.ID, "root@pam")
				if !j.LastEnd.IsZero() {
					row["last-run-endtime"] = j.LastEnd.Unix()
					row["last-run-state"] = j.LastState
				}
			}
			out = append(out, row)
		}
		return out, 0, ""
	}
}

// tasks lists the server's tasks, newest first: running garbage
// collections and the last runs of GC and of the jobs. All of them are
// root@pam's, so a token sees them only with Sys.Audit on /system/tasks
// (proxmox-backup src/api2/node/tasks.rs list_tasks). It knows the
// parameters running, typefilter (a substring of the type), since, start
// and limit (0: no limit; default 50).
func (p *PBS) tasks(_ http.ResponseWriter, r *http.Request) (any, int, string) {
	q := r.URL.Query()
	type task struct {
		start      time.Time
		end        time.Time
		workerType string
		workerID   string
		status     string
		user       string
	}
	var all []task
	for i := range p.Datastores {
		d := &p.Datastores[i]
		if d.GC.Running {
			all = append(all, task{start: p.now().Add(-5 * time.Minute), workerType: "garbage_collection", workerID: d.Name})
		}
		if !d.GC.LastStart.IsZero() {
			st := d.GC.State
			if st == "" {
				st = "OK"
			}
			all = append(all, task{start: d.GC.LastStart, end: d.GC.LastStart.Add(d.GC.Duration), workerType: "garbage_collection", workerID: d.Name, status: st})
		}
	}
	for _, set := range []struct {
		jobs       []Job
		workerType string
	}{{p.VerifyJobs, "verificationjob"}, {p.PruneJobs, "prunejob"}, {p.SyncJobs, "syncjob"}, {p.TapeJobs, "tape-backup-job"}} {
		for _, j := range set.jobs {
			if j.LastStart.IsZero() {
				continue
			}
			all = append(all, task{start: j.LastStart, end: j.LastEnd, workerType: set.workerType, workerID: j.Store + ":" + j.ID, status: j.LastState})
		}
	}
	for _, rd := range p.Reads {
		st := rd.Status
		if st == "" {
			st = "OK"
		}
		if rd.End.IsZero() {
			st = ""
		}
		all = append(all, task{start: rd.Start, end: rd.End, workerType: "reader", status: st, user: rd.User,
			workerID: fmt.Sprintf("%s:%s/%s/%08X", rd.Store, rd.BackupType, rd.BackupID, rd.Snapshot.Unix())})
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].start.After(all[j].start) })
	running := q.Get("running") == "1" || q.Get("running") == "true"
	since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
	limit := 50
	if v := q.Get("limit"); v != "" {
		limit, _ = strconv.Atoi(v)
	}
	start, _ := strconv.Atoi(q.Get("start"))
	out := []map[string]any{}
	if !p.ACLs.can("/system/tasks", "Sys.Audit") {
		return out, 0, ""
	}
	for i, t := range all {
		if running && !t.end.IsZero() {
			continue
		}
		if since != 0 && t.start.Unix() < since {
			continue
		}
		if f := q.Get("typefilter"); f != "" && !strings.Contains(t.workerType, f) {
			continue
		}
		if start > 0 {
			start--
			continue
		}
		if limit > 0 && len(out) >= limit {
			break
		}
		user := t.user
		if user == "" {
			user = "root@pam"
		}
		upid := pbsUPID(0x200+i, t.start, t.workerType, t.workerID, user)
		row := map[string]any{
			"upid": upid, "node": "pbs", "pid": 202, "pstart": 4143, "starttime": t.start.Unix(),
			"worker_type": t.workerType, "worker_id": t.workerID, "user": user,
		}
		if !t.end.IsZero() {
			row["endtime"], row["status"] = t.end.Unix(), t.status
		}
		out = append(out, row)
	}
	return out, 0, ""
}

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

// Handler serves the simulated PVE API under /api2/json. It checks the
// PVEAPIToken header the way pve-http-server and pve-access-control do and
// gzips responses over 1 KiB for clients that accept it, as pveproxy does.
func (p *PVE) Handler() http.Handler {
	p.index()
	mux := http.NewServeMux()
	h := func(pattern string, f apiFunc) { route(mux, pattern, f) }
	h("/version", p.version)
	h("/nodes", p.nodes)
	h("/cluster/status", p.clusterStatus)
	h("/cluster/resources", p.resources)
	h("/cluster/backup", p.backupJobs)
	h("/cluster/backup-info/not-backed-up", p.notBackedUp)
	h("/cluster/tasks", p.clusterTasks)
	h("/storage", p.storageConfig)
	h("/nodes/{node}/time", p.nodeScoped(p.nodeTime))
	h("/nodes/{node}/storage", p.nodeScoped(p.nodeStorage))
	h("/nodes/{node}/storage/{storage}/content", p.nodeScoped(p.content))
	h("/nodes/{node}/tasks", p.nodeScoped(p.nodeTasks))
	h("/nodes/{node}/tasks/{upid}/log", p.nodeScoped(p.taskLog))
	h("/nodes/{node}/tasks/{upid}/status", p.nodeScoped(p.taskStatus))
	h("/access/permissions", p.permissions)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			pveError(w, http.StatusNotImplemented, fmt.Sprintf("Method '%s %s' not implemented", r.Method, r.URL.Path))
			return
		}
		pveError(w, http.StatusNotImplemented, fmt.Sprintf("Method 'GET %s' not implemented", strings.TrimPrefix(r.URL.Path, "/api2/json")))
	})
	return gzipOver1K(p.auth(mux))
}

// pveTokenRE is pve-http-server's extraction of the token: "PVEAPIToken"
// followed by "=" or a space.
var pveTokenRE = regexp.MustCompile(`(?:^|\s)PVEAPIToken(?:=| )([^;]*)`)

// auth checks the token: the secret follows the last "=" (pve-access-control
// verify_token).
func (p *PVE) auth(next http.Handler) http.Handler {
	return tokenAuth(next, pveTokenRE, "=", p.TokenID, p.TokenSecret, "authentication failure")
}

// nodeScoped answers for an unknown or offline node the way pveproxy does
// when it cannot reach the node.
func (p *PVE) nodeScoped(f func(w http.ResponseWriter, r *http.Request, n *PVENode) (any, int, string)) apiFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, int, string) {
		n := p.node(r.PathValue("node"))
		if n == nil {
			return nil, http.StatusInternalServerError, fmt.Sprintf("hostname lookup '%s' failed - failed to get address info for: %s: Name or service not known", r.PathValue("node"), r.PathValue("node"))
		}
		if n.Offline {
			return nil, 595, "Connection refused"
		}
		return f(w, r, n)
	}
}

func (p *PVE) version(http.ResponseWriter, *http.Request) (any, int, string) {
	return map[string]any{"version": p.Version, "release": p.Release, "repoid": p.RepoID}, 0, ""
}

func (p *PVE) nodes(http.ResponseWriter, *http.Request) (any, int, string) {
	var out []map[string]any
	for i, n := range p.Nodes {
		row := map[string]any{"node": n.Name, "id": "node/" + n.Name, "type": "node", "level": "", "ssl_fingerprint": fakeFingerprint(n.Name)}
		if n.Offline {
			row["status"] = "offline"
		} else {
			row["status"] = "online"
			row["uptime"] = 86400 * (i + 3)
			row["cpu"] = 0.042
			row["maxcpu"] = 16
			row["mem"] = uint64(12) << 30
			row["maxmem"] = uint64(64) << 30
		}
		out = append(out, row)
	}
	return out, 0, ""
}

func fakeFingerprint(seed string) string {
	parts := make([]string, 32)
	for i := range parts {
		parts[i] = fmt.Sprintf("%02X", (int(seed[i%len(seed)])*31+i*17)&0xff)
	}
	return strings.Join(parts, ":")
}

func (p *PVE) clusterStatus(http.ResponseWriter, *http.Request) (any, int, string) {
	var out []map[string]any
	if !p.Standalone {
		online := 0
		for _, n := range p.Nodes {
			if !n.Offline {
				online++
			}
		}
		out = append(out, map[string]any{"type": "cluster", "id": "cluster", "name": "sim", "nodes": len(p.Nodes), "quorate": b01(online*2 > len(p.Nodes)), "version": 7})
	}
	for i, n := range p.Nodes {
		nodeid := i + 1
		if p.Standalone {
			nodeid = 0
		}
		out = append(out, map[string]any{"type": "node", "id": "node/" + n.Name, "name": n.Name, "nodeid": nodeid, "online": b01(!n.Offline), "local": b01(i == 0), "ip": fmt.Sprintf("192.0.2.%d", 10+i), "level": ""})
	}
	return out, 0, ""
}

func b01(b bool) int {
	if b {
		return 1
	}
	return 0
}

func (p *PVE) resources(_ http.ResponseWriter, r *http.Request) (any, int, string) {
	typ := r.URL.Query().Get("type")
	var out []map[string]any
	if typ == "" || typ == "vm" {
		for _, g := range p.Guests {
			if !p.ACLs.can(fmt.Sprintf("/vms/%d", g.VMID), "VM.Audit") {
				continue // pve-manager PVE/API2/Cluster.pm resources
			}
			row := map[string]any{
				"id": fmt.Sprintf("%s/%d", g.Type, g.VMID), "type": g.Type, "vmid": g.VMID, "name": g.Name,
				"node": g.Node, "status": g.Status, "template": b01(g.Template),
				"maxcpu": 2, "maxmem": uint64(4) << 30, "maxdisk": uint64(32) << 30, "cpu": 0, "mem": 0, "disk": 0, "uptime": 0,
			}
			if g.Status == "" {
				row["status"] = "running"
			}
			if g.Pool != "" {
				row["pool"] = g.Pool
			}
			if g.Tags != "" {
				row["tags"] = g.Tags
			}
			out = append(out, row)
		}
	}
	if typ == "" || typ == "node" {
		for _, n := range p.Nodes {
			status := "online"
			if n.Offline {
				status = "offline"
			}
			out = append(out, map[string]any{"id": "node/" + n.Name, "type": "node", "node": n.Name, "status": status, "level": ""})
		}
	}
	if typ == "" || typ == "storage" {
		for _, n := range p.Nodes {
			for _, s := range p.Storages {
				if s.Disabled || !s.onNode(n.Name) {
					continue
				}
				out = append(out, map[string]any{
					"id": "storage/" + n.Name + "/" + s.Name, "type": "storage", "storage": s.Name, "node": n.Name,
					"plugintype": s.Type, "content": s.content(), "shared": b01(s.Shared), "status": "available",
					"disk": s.Used, "maxdisk": s.Total,
				})
			}
		}
	}
	if typ != "" && typ != "vm" && typ != "node" && typ != "storage" && typ != "sdn" {
		return nil, http.StatusBadRequest, "Parameter verification failed."
	}
	if out == nil {
		out = []map[string]any{}
	}
	return out, 0, ""
}

func (s *PVEStorage) content() string {
	if s.Content == "" {
		return "backup"
	}
	return s.Content
}

func (p *PVE) backupJobs(http.ResponseWriter, *http.Request) (any, int, string) {
	out := []map[string]any{}
	for i := range p.Jobs {
		out = append(out, p.Jobs[i].row())
	}
	return out, 0, ""
}

// row is the job as /cluster/backup lists it: its jobs.cfg entry, property
// strings decoded into objects.
func (j *PVEBackupJob) row() map[string]any {
	row := map[string]any{
		"id": j.ID, "type": "vzdump", "schedule": j.Schedule, "storage": j.Storage,
		"mode": j.Mode, "compress": "zstd", "notes-template": "{{guestname}}",
		"prune-backups": map[string]string{"keep-daily": "7", "keep-weekly": "4"},
		"fleecing":      map[string]any{"enabled": 0},
	}
	if j.Mode == "" {
		row["mode"] = "snapshot"
	}
	if j.NextRun != 0 {
		row["next-run"] = j.NextRun
	}
	// "enabled" is absent when it has its default, 1.
	if j.Disabled {
		row["enabled"] = 0
	}
	if j.All {
		row["all"] = 1
	}
	if j.VMID != "" {
		row["vmid"] = j.VMID
	}
	if j.Exclude != "" {
		row["exclude"] = j.Exclude
	}
	if j.Pool != "" {
		row["pool"] = j.Pool
	}
	if j.Node != "" {
		row["node"] = j.Node
	}
	if j.Comment != "" {
		row["comment"] = j.Comment
	}
	return row
}

// commandLine is what a scheduled run of the job logs after "vzdump "
// (pve-guest-common PVE/VZDump/Common.pm command_line, called from
// pve-manager PVE/API2/VZDump.pm with the options PVE/Jobs/VZDump.pm run
// passes): the vmid list first, then every vzdump option in Perl's hash
// order, never the job id, plus "--quiet 1".
func (j *PVEBackupJob) commandLine() string {
	row := j.row()
	for _, k := range []string{"id", "type", "schedule", "comment", "enabled", "next-run", "repeat-missed"} {
		delete(row, k)
	}
	row["quiet"] = 1
	var words []string
	if v, ok := row["vmid"].(string); ok {
		words = append(words, splitList(v)...)
		delete(row, "vmid")
	}
	keys := make([]string, 0, len(row))
	for k := range row {
		keys = append(keys, k)
	}
	// Perl's hash order is arbitrary: a fixed scramble stands in for it.
	sort.Slice(keys, func(a, b int) bool { return scramble(keys[a]) < scramble(keys[b]) })
	for _, k := range keys {
		var v string
		switch x := row[k].(type) {
		case map[string]string:
			v = propertyString(x)
		case map[string]any:
			m := map[string]string{}
			for pk, pv := range x {
				m[pk] = fmt.Sprint(pv)
			}
			v = propertyString(m)
		default:
			v = fmt.Sprint(x)
		}
		if v == "" {
			continue
		}
		words = append(words, "--"+k, shellQuote(v))
	}
	return strings.Join(words, " ")
}

func scramble(s string) uint32 {
	h := uint32(2166136261)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint32(s[i])) * 16777619
	}
	return h
}

func propertyString(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = k + "=" + m[k]
	}
	return strings.Join(parts, ",")
}

// shellQuote quotes like PVE::Tools::shellquote: words of safe characters
// stay bare, others are single-quoted.
func shellQuote(s string) string {
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-/.,:=@+", r)) {
			safe = false
			break
		}
	}
	if safe && s != "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

func (p *PVE) job(id string) *PVEBackupJob {
	for i := range p.Jobs {
		if p.Jobs[i].ID == id {
			return &p.Jobs[i]
		}
	}
	return nil
}

// notBackedUp mirrors PVE's cross-check: a guest in any job, even a
// disabled one, counts as covered.
func (p *PVE) notBackedUp(http.ResponseWriter, *http.Request) (any, int, string) {
	out := []map[string]any{}
	for i := range p.Guests {
		g := &p.Guests[i]
		covered := false
		for j := range p.Jobs {
			if p.Jobs[j].selects(g) {
				covered = true
				break
			}
		}
		if !covered {
			row := map[string]any{"vmid": g.VMID, "type": g.Type}
			if g.Name != "" {
				row["name"] = g.Name
			}
			out = append(out, row)
		}
	}
	return out, 0, ""
}

func (p *PVE) storageConfig(http.ResponseWriter, *http.Request) (any, int, string) {
	out := []map[string]any{}
	for _, s := range p.Storages {
		row := map[string]any{"storage": s.Name, "type": s.Type, "content": s.content(), "digest": "5f1e3a9c0b7d2468ace013579bdf2468ace01357"}
		switch s.Type {
		case "pbs":
			row["server"], row["datastore"], row["username"] = s.Server, s.Datastore, "pve@pbs!pve"
			row["fingerprint"] = strings.ToLower(fakeFingerprint(s.Server + "x"))
			row["prune-backups"] = "keep-all=1"
			if s.Namespace != "" {
				row["namespace"] = s.Namespace
			}
		default:
			row["path"] = "/mnt/pve/" + s.Name
			if s.Name == "local" {
				row["path"] = "/var/lib/vz"
			}
			row["prune-backups"] = "keep-all=1"
		}
		if s.Shared && s.Type != "pbs" {
			row["shared"] = 1
		}
		if s.Disabled {
			row["disable"] = 1
		}
		if len(s.Nodes) > 0 {
			row["nodes"] = strings.Join(s.Nodes, ",")
		}
		out = append(out, row)
	}
	return out, 0, ""
}

func (p *PVE) nodeTime(_ http.ResponseWriter, _ *http.Request, n *PVENode) (any, int, string) {
	now := p.now()
	tz := n.Timezone
	if tz == "" {
		tz = "UTC"
	}
	if n.TimeRefused {
		return nil, http.StatusForbidden, fmt.Sprintf("Permission check failed (/nodes/%s, Sys.Audit)", n.Name)
	}
	_, off := now.In(p.location(n.Name)).Zone()
	return map[string]any{"timezone": tz, "time": now.Unix(), "localtime": now.Unix() + int64(off)}, 0, ""
}

func (p *PVE) nodeStorage(_ http.ResponseWriter, r *http.Request, n *PVENode) (any, int, string) {
	want := r.URL.Query().Get("content")
	out := []map[string]any{}
	for _, s := range p.Storages {
		if !s.onNode(n.Name) {
			continue
		}
		if want != "" && !contains(strings.Split(s.content(), ","), want) {
			continue
		}
		active := !s.Disabled && !contains(s.InactiveOn, n.Name)
		row := map[string]any{
			"storage": s.Name, "type": s.Type, "content": s.content(),
			"active": b01(active), "enabled": b01(!s.Disabled), "shared": b01(s.Shared),
			"total": 0, "used": 0, "avail": 0,
		}
		if active && s.Total > 0 {
			row["total"], row["used"], row["avail"] = s.Total, s.Used, s.Total-s.Used
			row["used_fraction"] = float64(s.Used) / float64(s.Total)
		}
		out = append(out, row)
	}
	return out, 0, ""
}

func (p *PVE) storageByName(name string) *PVEStorage {
	for i := range p.Storages {
		if p.Storages[i].Name == name {
			return &p.Storages[i]
		}
	}
	return nil
}

func (p *PVE) content(w http.ResponseWriter, r *http.Request, n *PVENode) (any, int, string) {
	s := p.storageByName(r.PathValue("storage"))
	if s == nil || !s.onNode(n.Name) {
		return nil, http.StatusInternalServerError, fmt.Sprintf("storage '%s' does not exist", r.PathValue("storage"))
	}
	if s.Disabled || contains(s.InactiveOn, n.Name) {
		return nil, http.StatusInternalServerError, fmt.Sprintf("storage '%s' is not online", s.Name)
	}
	if c := r.URL.Query().Get("content"); c != "" && c != "backup" {
		return []any{}, 0, ""
	}
	// Stream the listing: the scale benchmark serves tens of thousands.
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	fmt.Fprint(w, `{"data":[`)
	enc := json.NewEncoder(w)
	first := true
	for i := range s.Volumes {
		v := &s.Volumes[i]
		if !s.Shared && v.Node != "" && v.Node != n.Name {
			continue
		}
		if !first {
			fmt.Fprint(w, ",")
		}
		first = false
		_ = enc.Encode(p.volumeRow(s, v, n.Name))
	}
	fmt.Fprint(w, "]}")
	return skipBody, 0, ""
}

// volumeRow is one backup as PVE lists it (pve-storage Plugin.pm and
// PBSPlugin.pm list_volumes).
func (p *PVE) volumeRow(s *PVEStorage, v *PVEVolume, node string) map[string]any {
	kind := v.Type
	if kind == "" {
		kind = "qemu"
	}
	row := map[string]any{"content": "backup", "ctime": v.Time.Unix(), "subtype": kind}
	if s.Type == "pbs" {
		short, format := "vm", "pbs-vm"
		if kind == "lxc" {
			short, format = "ct", "pbs-ct"
		}
		row["volid"] = fmt.Sprintf("%s:backup/%s/%d/%s", s.Name, short, v.VMID, v.Time.UTC().Format("2006-01-02T15:04:05Z"))
		row["format"] = format
		row["vmid"] = v.VMID
		// A snapshot without a size shows size 1 (PBSPlugin int()).
		row["size"] = uint64(1)
		if v.Size != nil {
			row["size"] = *v.Size
		}
		if v.Verify != "" {
			row["verification"] = map[string]string{"state": v.Verify, "upid": pbsVerifyUPID(s.Datastore, v.VerifyTime)}
		}
		if v.Encrypted != "" {
			row["encrypted"] = v.Encrypted
		}
	} else {
		ext, format := "vma.zst", "vma.zst"
		if kind == "lxc" {
			ext, format = "tar.zst", "tar.zst"
		}
		stamp := v.Time.In(p.location(node)).Format("2006_01_02-15_04_05")
		if v.OddName {
			row["volid"] = fmt.Sprintf("%s:backup/manual-copy-%s.%s", s.Name, stamp, ext)
		} else {
			row["volid"] = fmt.Sprintf("%s:backup/vzdump-%s-%d-%s.%s", s.Name, kind, v.VMID, stamp, ext)
			row["vmid"] = v.VMID
		}
		row["format"] = format
		if v.Size != nil {
			row["size"] = *v.Size
		}
	}
	if v.Notes != "" {
		row["notes"] = v.Notes
	}
	if v.Protected {
		row["protected"] = 1
	}
	return row
}

// pbsVerifyUPID is the UPID of the PBS verification task that PVE copies
// into its listing of a PBS storage.
func pbsVerifyUPID(store string, start time.Time) string {
	return pbsUPID(1, start, "verificationjob", store+":v-3f2a9c1d-77b0", "root@pam")
}

func (p *PVE) taskRow(i int) map[string]any {
	t := &p.Tasks[i]
	row := map[string]any{
		"upid": p.upids[i], "node": t.Node, "pid": 0x1000 + i, "pstart": 0x100000 + i*7,
		"starttime": t.Start.Unix(), "type": t.taskType(), "id": t.VMID, "user": t.user(),
	}
	if u, tok, ok := strings.Cut(t.user(), "!"); ok {
		row["user"], row["tokenid"] = u, tok
	}
	if !t.End.IsZero() {
		row["endtime"] = t.End.Unix()
	}
	row["status"] = t.status()
	return row
}

func (p *PVE) nodeTasks(_ http.ResponseWriter, r *http.Request, n *PVENode) (any, int, string) {
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start"))
	limit := 50
	if l := q.Get("limit"); l != "" {
		limit, _ = strconv.Atoi(l)
	}
	since, _ := strconv.ParseInt(q.Get("since"), 10, 64)
	source := q.Get("source")
	if source == "" {
		source = "archive"
	}
	typefilter := q.Get("typefilter")
	var idx []int
	for i := range p.Tasks {
		t := &p.Tasks[i]
		// PVE's typefilter compares the whole type (PVE/API2/Tasks.pm).
		if t.Node != n.Name || (typefilter != "" && typefilter != t.taskType()) {
			continue
		}
		if since != 0 && t.Start.Unix() < since {
			continue
		}
		running := t.End.IsZero()
		if (source == "archive" && running) || (source == "active" && !running) {
			continue
		}
		idx = append(idx, i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.Tasks[idx[a]].Start.After(p.Tasks[idx[b]].Start) })
	total := len(idx)
	if start > len(idx) {
		start = len(idx)
	}
	idx = idx[start:]
	if limit > 0 && limit < len(idx) {
		idx = idx[:limit]
	}
	rows := []map[string]any{}
	for _, i := range idx {
		rows = append(rows, p.taskRow(i))
	}
	return map[string]any{"data": rows, "total": total}, 0, "envelope"
}

func (p *PVE) task(r *http.Request, n *PVENode) (int, bool) {
	i, ok := p.taskIdx[r.PathValue("upid")]
	if !ok || p.Tasks[i].Node != n.Name {
		return 0, false
	}
	return i, true
}

// taskLog serves a log like read_task_log: rows {n, t} from start+1, 50
// lines unless a limit is given (0 reads to the end), and the line count in
// "total".
func (p *PVE) taskLog(_ http.ResponseWriter, r *http.Request, n *PVENode) (any, int, string) {
	i, ok := p.task(r, n)
	if !ok {
		return nil, http.StatusInternalServerError, "unable to open file - No such file or directory"
	}
	var lines []string
	if p.Tasks[i].Restore != nil {
		lines = p.restoreLog(&p.Tasks[i], p.location(n.Name))
	} else {
		lines = p.Tasks[i].log(p.location(n.Name), p.args(&p.Tasks[i]))
	}
	q := r.URL.Query()
	start, _ := strconv.Atoi(q.Get("start"))
	limit := 50
	if l := q.Get("limit"); l != "" {
		limit, _ = strconv.Atoi(l)
	}
	rows := []map[string]any{}
	for k := start; k < len(lines) && (limit == 0 || k < start+limit); k++ {
		rows = append(rows, map[string]any{"n": k + 1, "t": lines[k]})
	}
	if len(lines) == 0 {
		rows = append(rows, map[string]any{"n": 1, "t": "no content"})
	}
	return map[string]any{"data": rows, "total": len(lines)}, 0, "envelope"
}

func (p *PVE) taskStatus(_ http.ResponseWriter, r *http.Request, n *PVENode) (any, int, string) {
	i, ok := p.task(r, n)
	if !ok {
		return nil, http.StatusInternalServerError, "unable to open file - No such file or directory"
	}
	row := p.taskRow(i)
	delete(row, "endtime") // the status endpoint has no endtime
	t := &p.Tasks[i]
	if t.End.IsZero() {
		row["status"] = "running"
	} else {
		row["status"] = "stopped"
		row["exitstatus"] = t.status()
	}
	return row, 0, ""
}

// clusterTasks lists the recent tasks of all nodes, as /cluster/tasks does:
// running ones with pid, finished ones with endtime, status and saved.
func (p *PVE) clusterTasks(http.ResponseWriter, *http.Request) (any, int, string) {
	var idx []int
	for i := range p.Tasks {
		idx = append(idx, i)
	}
	sort.SliceStable(idx, func(a, b int) bool { return p.Tasks[idx[a]].Start.After(p.Tasks[idx[b]].Start) })
	perNode := map[string]int{}
	rows := []map[string]any{}
	for _, i := range idx {
		t := &p.Tasks[i]
		if perNode[t.Node] >= 25 {
			continue
		}
		perNode[t.Node]++
		row := p.taskRow(i)
		delete(row, "pstart")
		if t.End.IsZero() {
			delete(row, "status")
		} else {
			delete(row, "pid")
			row["saved"] = "1"
		}
		rows = append(rows, row)
	}
	return rows, 0, ""
}

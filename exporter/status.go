package exporter

import (
	"bytes"
	"cmp"
	"context"
	"embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/collector"
	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/verdict"
)

//go:embed web
var webFiles embed.FS

// Row states, in the order rows sort: the worst severity of the row's
// problems (the verdict's), ok, or ignored for templates and opted-out
// guests and groups that have no problem.
const (
	stateCritical = string(verdict.Critical)
	stateWarning  = string(verdict.Warning)
	stateInfo     = string(verdict.Info)
	stateOK       = "ok"
	stateIgnored  = "ignored"
)

var rowStates = []string{stateCritical, stateWarning, stateInfo, stateOK, stateIgnored}

func stateRank(s string) int { return slices.Index(rowStates, s) }

// statusTarget is one target's reachability.
type statusTarget struct {
	Name     string   `json:"name"`
	Product  string   `json:"product"`
	Up       bool     `json:"up"`
	Version  string   `json:"version,omitempty"`
	Failed   []string `json:"failed_collectors,omitempty"`
	Problems []string `json:"problems,omitempty"`
	// ProbedAt is when the probe shown ran (probes are shared and reused
	// for a few seconds).
	ProbedAt time.Time `json:"probed_at"`
}

// statusRow is one guest or backup group.
type statusRow struct {
	Target     string     `json:"target"`
	Kind       string     `json:"kind"` // guest or group
	Name       string     `json:"name"`
	ID         string     `json:"id"`
	Where      string     `json:"where"`
	State      string     `json:"state"`
	Reasons    []string   `json:"reasons,omitempty"`
	LastBackup *time.Time `json:"last_backup,omitempty"`
	AgeSeconds *float64   `json:"age_seconds,omitempty"`
	// AgeState is the state of the age alone, against the too-old
	// thresholds.
	AgeState    string  `json:"age_state"`
	SizeBytes   *uint64 `json:"size_bytes,omitempty"`
	Verify      string  `json:"verification"`
	Encrypted   *bool   `json:"encrypted,omitempty"`
	LastAttempt string  `json:"last_attempt"`
	// RestoreTest is the newest restore of one of the guest's backups:
	// ok, failed, none, unknown (the restores were not read), or n/a for
	// a PBS group; RestoreTestRequired whether the guest must pass one.
	RestoreTest         string         `json:"restore_test"`
	RestoreTestRequired bool           `json:"restore_test_required,omitempty"`
	LastRestore         *statusRestore `json:"last_restore,omitempty"`
	Coverage            string         `json:"coverage"`
	Due                 *time.Time     `json:"due,omitempty"`
	NextRun             *time.Time     `json:"next_run,omitempty"`

	sortID string
}

// statusRestore is a guest's newest restore test.
type statusRestore struct {
	Ended      *time.Time `json:"ended"`
	IntoVMID   int        `json:"restore_vmid"`
	Node       string     `json:"restore_node"`
	Storage    string     `json:"storage,omitempty"`
	Archive    string     `json:"archive"`
	BackupTime *time.Time `json:"backup_time,omitempty"`
	Status     string     `json:"status"`
}

// statusStore is a PBS datastore or a PVE backup storage.
type statusStore struct {
	Target     string     `json:"target"`
	Kind       string     `json:"kind"` // datastore or storage
	Name       string     `json:"name"`
	Node       string     `json:"node,omitempty"`
	State      string     `json:"state"`
	TotalBytes *uint64    `json:"total_bytes,omitempty"`
	UsedBytes  *uint64    `json:"used_bytes,omitempty"`
	UsedRatio  *float64   `json:"used_ratio,omitempty"`
	FullAt     *time.Time `json:"estimated_full,omitempty"`
	GCLastRun  *time.Time `json:"gc_last_run,omitempty"`
	GCResult   string     `json:"gc_result,omitempty"`
	GCNextRun  *time.Time `json:"gc_next_run,omitempty"`
}

// statusJob is a PBS job (verify, prune, sync, tape, gc) or a PVE backup
// job.
type statusJob struct {
	Target    string     `json:"target"`
	Type      string     `json:"type"`
	ID        string     `json:"id"`
	Datastore string     `json:"datastore,omitempty"`
	Schedule  string     `json:"schedule,omitempty"`
	Comment   string     `json:"comment,omitempty"`
	State     string     `json:"state"`
	Enabled   bool       `json:"enabled"`
	Running   bool       `json:"running"`
	LastRun   *time.Time `json:"last_run,omitempty"`
	Result    string     `json:"result"`
	NextRun   *time.Time `json:"next_run,omitempty"`
}

type statusPage struct {
	Generated time.Time      `json:"generated"`
	Targets   []statusTarget `json:"targets"`
	// TargetsDown counts the targets that are down.
	TargetsDown int `json:"targets_down"`
	// Problems is the verdict: what the alerts report, one entry per
	// target, object and problem.
	Problems      []verdict.Problem `json:"problems"`
	ProblemCounts map[string]int    `json:"problem_counts"`
	Stores        []statusStore     `json:"stores"`
	Jobs          []statusJob       `json:"jobs"`
	Rows          []statusRow       `json:"rows"`
	// Counts counts the rows by state.
	Counts map[string]int `json:"counts"`
	// Filters echoed back for the form.
	FilterTarget string   `json:"-"`
	FilterState  string   `json:"-"`
	TargetNames  []string `json:"-"`
}

func (e *Exporter) serveStatic() http.Handler {
	sub, _ := fs.Sub(webFiles, "web")
	return http.StripPrefix("/static/", http.FileServer(http.FS(noDirs{sub})))
}

var statusTemplate = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"age":    verdict.Duration,
	"bytes":  humanBytes,
	"deref":  func(p *float64) float64 { return *p },
	"derefU": func(p *uint64) uint64 { return *p },
	"derefB": func(p *bool) bool { return *p },
	"pct":    func(p *float64) string { return fmt.Sprintf("%.1f%%", *p*100) },
	"list":   func() []string { return rowStates },
	"title": func(id string) string {
		if r := verdict.RuleByID(id); r != nil {
			return r.Title
		}
		return id
	},
}).ParseFS(webFiles, "web/status.html"))

func (e *Exporter) serveStatus(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	asJSON := strings.HasSuffix(r.URL.Path, ".json")
	page, err := e.buildStatus(r.Context(), r.URL.Query().Get("target"), r.URL.Query().Get("state"))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// The page is encoded in full before anything is sent: a page that
	// cannot be encoded is a 500 with a logged reason, never a 200 with an
	// empty or cut body.
	var buf bytes.Buffer
	var err2 error
	contentType := "text/html; charset=utf-8"
	if asJSON {
		contentType = "application/json"
		enc := json.NewEncoder(&buf)
		enc.SetIndent("", "  ")
		err2 = enc.Encode(page)
	} else {
		err2 = statusTemplate.Execute(&buf, &htmlPage{statusPage: page})
	}
	if err2 != nil {
		e.logger.Error("Cannot render the status page", "path", r.URL.Path, "err", err2)
		http.Error(w, "cannot render the status page: see the exporter's log", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Content-Length", strconv.Itoa(buf.Len()))
	_, _ = w.Write(buf.Bytes())
}

// htmlPage adds what only the HTML page needs.
type htmlPage struct {
	*statusPage
}

// When renders an absolute time with its distance from the page's time.
func (p *htmlPage) When(t *time.Time) string {
	if t == nil {
		return ""
	}
	d := p.Generated.Sub(*t).Seconds()
	rel := verdict.Duration(d) + " ago"
	if d < 0 {
		rel = "in " + verdict.Duration(-d)
	}
	return t.UTC().Format("2006-01-02 15:04") + " UTC (" + rel + ")"
}

// Check evaluates the verdict for the configured targets (all of them when
// names is empty), probing each once. An unknown name is an error.
func (e *Exporter) Check(ctx context.Context, names []string) ([]*collector.Result, []verdict.Problem, error) {
	cfg, _ := e.current()
	if len(names) == 0 {
		names = cfg.TargetNames()
	}
	for _, n := range names {
		if _, ok := cfg.Targets[n]; !ok {
			return nil, nil, fmt.Errorf("unknown target %s", quoteParam(n))
		}
	}
	results, problems := e.probeAndJudge(ctx, cfg, names)
	var all []verdict.Problem
	for _, res := range results {
		all = append(all, problems[res.Target]...)
	}
	verdict.Sort(all)
	return results, all, nil
}

// probeAndJudge probes the named targets and returns their results, in
// order, and their problems by target. The offsite targets of the named
// ones are probed as well, so that an offsite copy is judged against its
// primary however the targets are picked; their own problems count only
// when they are named too.
func (e *Exporter) probeAndJudge(ctx context.Context, cfg *config.Config, names []string) ([]*collector.Result, map[string][]verdict.Problem) {
	probe := slices.Clone(names)
	for _, n := range names {
		if t := cfg.Targets[n]; t != nil && t.Offsite != "" && !slices.Contains(probe, t.Offsite) {
			probe = append(probe, t.Offsite)
		}
	}
	results := e.probeAll(ctx, probe)
	byTarget := map[string][]verdict.Problem{}
	for _, p := range verdict.EvaluateAll(results, e.opts.Thresholds) {
		byTarget[p.Target] = append(byTarget[p.Target], p)
	}
	return results[:len(names)], byTarget
}

func (e *Exporter) probeAll(ctx context.Context, names []string) []*collector.Result {
	results := make([]*collector.Result, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = e.sharedProbe(ctx, name)
		}()
	}
	wg.Wait()
	return results
}

// statusProbes shares probes between status views: concurrent views of a
// target wait for one probe, and its result is reused for StatusCacheTTL,
// so that a page reloaded by many people does not multiply the load on
// Proxmox.
type statusProbes struct {
	mu      sync.Mutex
	entries map[string]*probeEntry
}

type probeEntry struct {
	cfg  *config.Config // the configuration it was probed with
	done chan struct{}
	res  *collector.Result
	at   time.Time // when the probe finished
}

func (e *Exporter) sharedProbe(ctx context.Context, name string) *collector.Result {
	cfg, _ := e.current()
	sp := &e.statusProbes
	sp.mu.Lock()
	if sp.entries == nil {
		sp.entries = map[string]*probeEntry{}
	}
	ent := sp.entries[name]
	fresh := ent != nil && ent.cfg == cfg
	if fresh {
		select {
		case <-ent.done:
			fresh = time.Since(ent.at) < e.opts.StatusCacheTTL
		default: // in flight: wait for it
		}
	}
	if !fresh {
		ent = &probeEntry{cfg: cfg, done: make(chan struct{})}
		sp.entries[name] = ent
		go func() {
			// The probe outlives the view that started it: others wait for
			// it. The target's timeout bounds it.
			res, err := e.ProbeTarget(context.WithoutCancel(ctx), name, 0)
			if err != nil { // the target went away in a reload
				res = &collector.Result{Target: name, Now: e.opts.Now(),
					Collectors: []collector.CollectorStatus{{Name: "version", Err: err}}}
			}
			sp.mu.Lock()
			ent.res, ent.at = res, time.Now()
			sp.mu.Unlock()
			close(ent.done)
		}()
	}
	sp.mu.Unlock()
	select {
	case <-ent.done:
	case <-ctx.Done():
		return &collector.Result{Target: name, Now: e.opts.Now(),
			Collectors: []collector.CollectorStatus{{Name: "version", Err: context.Cause(ctx)}}}
	}
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return ent.res
}

// buildStatus probes the configured targets (or one of them) through the
// same collectors as /probe and turns the results and their verdict into
// the page.
func (e *Exporter) buildStatus(ctx context.Context, target, state string) (*statusPage, error) {
	cfg, _ := e.current()
	names := cfg.TargetNames()
	if target != "" && !slices.Contains(names, target) {
		return nil, fmt.Errorf("unknown target %s", quoteParam(target))
	}
	if state != "" && stateRank(state) < 0 {
		return nil, fmt.Errorf("unknown state %s: use %s", quoteParam(state), strings.Join(rowStates, ", "))
	}
	probe := names
	if target != "" {
		probe = []string{target}
	}
	results, judged := e.probeAndJudge(ctx, cfg, probe)

	page := &statusPage{Generated: e.opts.Now(), FilterTarget: target, FilterState: state, TargetNames: names,
		Counts: map[string]int{}, ProblemCounts: map[string]int{}, Problems: []verdict.Problem{}}
	for i, res := range results {
		problems := judged[res.Target]
		page.Problems = append(page.Problems, problems...)
		for _, p := range problems {
			page.ProblemCounts[string(p.Severity)]++
		}
		st := targetStatus(cfg.Targets[probe[i]], res)
		if !st.Up {
			page.TargetsDown++
		}
		page.Targets = append(page.Targets, st)
		byObject := map[string][]verdict.Problem{}
		for _, p := range problems {
			k := p.Object.Kind + "\x00" + p.Object.ID
			byObject[k] = append(byObject[k], p)
		}
		of := func(kind, id string) []verdict.Problem { return byObject[kind+"\x00"+id] }
		page.Stores = append(page.Stores, storesOf(res, of)...)
		page.Jobs = append(page.Jobs, jobsOf(res, of)...)
		for _, row := range rowsOf(res, e.opts.Thresholds, of) {
			page.Counts[row.State]++
			if state == "" || row.State == state {
				page.Rows = append(page.Rows, row)
			}
		}
	}
	verdict.Sort(page.Problems)
	slices.SortStableFunc(page.Rows, func(a, b statusRow) int {
		return cmp.Or(cmp.Compare(stateRank(a.State), stateRank(b.State)),
			cmp.Compare(a.Target, b.Target), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.sortID, b.sortID))
	})
	return page, nil
}

func targetStatus(t *config.Target, r *collector.Result) statusTarget {
	st := statusTarget{Name: r.Target, Product: r.Product, Up: r.Up, Failed: r.Failed(), ProbedAt: r.Now}
	if t != nil {
		st.Product = t.Type
	}
	if r.Info != nil {
		st.Version = r.Info.Version
	}
	for _, c := range r.Collectors {
		if c.Err != nil {
			st.Problems = append(st.Problems, c.Name+": "+publicError(t, c.Err))
		}
	}
	st.Problems = append(st.Problems, r.Warnings...)
	for _, m := range r.Missing {
		st.Problems = append(st.Problems, m.String())
	}
	return st
}

// publicError is an error as the status page may show it: never the path of
// a secret file.
func publicError(t *config.Target, err error) string {
	msg := err.Error()
	if t != nil && t.TokenSecretFile != "" && strings.Contains(msg, t.TokenSecretFile) {
		return "the token secret file cannot be read (see the exporter's log)"
	}
	return msg
}

// worst is the state of an object with these problems.
func worst(ps []verdict.Problem, otherwise string) string {
	if w := verdict.Worst(ps); w != "" {
		return string(w)
	}
	return otherwise
}

func reasons(ps []verdict.Problem) []string {
	var out []string
	for _, p := range ps {
		title := p.Problem
		if r := verdict.RuleByID(p.Problem); r != nil {
			title = r.Title
		}
		out = append(out, title+": "+p.Text)
	}
	return out
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func storesOf(r *collector.Result, of func(kind, id string) []verdict.Problem) []statusStore {
	var out []statusStore
	usage := func(s *statusStore, has bool, total, used uint64) {
		if !has {
			return
		}
		s.TotalBytes, s.UsedBytes = &total, &used
		if total > 0 {
			ratio := float64(used) / float64(total)
			s.UsedRatio = &ratio
		}
	}
	if d := r.PBS; d != nil {
		gcs := map[string]*collector.GCStatus{}
		for i := range d.GC {
			gcs[d.GC[i].Datastore] = &d.GC[i]
		}
		for i := range d.Datastores {
			ds := &d.Datastores[i]
			s := statusStore{Target: r.Target, Kind: verdict.KindDatastore, Name: ds.Name,
				State: worst(of(verdict.KindDatastore, ds.Name), stateOK), FullAt: timePtr(ds.FullEstim)}
			usage(&s, ds.HasUsage, ds.Total, ds.Used)
			if gc := gcs[ds.Name]; gc != nil {
				s.GCLastRun, s.GCNextRun, s.GCResult = timePtr(gc.LastRunEnd), timePtr(gc.NextRun), result(gc.LastRunState, gc.Running, !gc.LastRunEnd.IsZero())
			}
			out = append(out, s)
		}
	}
	if d := r.PVE; d != nil {
		for i := range d.Storages {
			st := &d.Storages[i]
			s := statusStore{Target: r.Target, Kind: verdict.KindStorage, Name: st.Name, Node: st.Node,
				State: worst(of(verdict.KindStorage, verdict.StorageID(st)), stateOK)}
			usage(&s, st.HasUsage, st.Total, st.Used)
			out = append(out, s)
		}
	}
	return out
}

// result describes a job's last run.
func result(state string, running, ran bool) string {
	switch {
	case running:
		return "running"
	case state == "" && !ran:
		return "never ran"
	case state == "":
		return "unknown"
	case collector.JobSucceeded(state):
		return "ok (" + state + ")"
	}
	return "failed: " + state
}

func jobsOf(r *collector.Result, of func(kind, id string) []verdict.Problem) []statusJob {
	var out []statusJob
	if d := r.PBS; d != nil {
		for i := range d.Jobs {
			j := &d.Jobs[i]
			out = append(out, statusJob{Target: r.Target, Type: j.Type, ID: j.ID, Datastore: j.Datastore, Schedule: j.Schedule, Comment: j.Comment,
				State: worst(of(verdict.KindJob, j.Type+"/"+j.ID), stateOK), Enabled: !j.Disabled, Running: j.Running,
				LastRun: timePtr(j.LastRunEnd), Result: result(j.LastRunState, j.Running, !j.LastRunEnd.IsZero()), NextRun: timePtr(j.NextRun)})
		}
	}
	if d := r.PVE; d != nil {
		for i := range d.Jobs {
			j := &d.Jobs[i]
			job := statusJob{Target: r.Target, Type: "backup", ID: j.ID, Datastore: j.Storage, Schedule: j.Schedule, Comment: j.Comment,
				State: worst(of(verdict.KindJob, "backup/"+j.ID), stateOK), Enabled: j.Enabled, LastRun: timePtr(j.LastRun), Result: "no task found", NextRun: timePtr(j.NextRun)}
			if !j.Enabled {
				job.State = stateIgnored
			}
			if s := j.LastRunSuccess; s != nil {
				job.Result = "ok"
				if !*s {
					job.Result = "failed for some guests"
				}
			}
			out = append(out, job)
		}
	}
	slices.SortStableFunc(out, func(a, b statusJob) int {
		return cmp.Or(cmp.Compare(a.Target, b.Target), cmp.Compare(a.Type, b.Type), cmp.Compare(a.ID, b.ID))
	})
	return out
}

func rowsOf(r *collector.Result, th verdict.Thresholds, of func(kind, id string) []verdict.Problem) []statusRow {
	var rows []statusRow
	if d := r.PVE; d != nil {
		next := map[string]time.Time{}
		for _, j := range d.Jobs {
			next[j.ID] = j.NextRun
		}
		for i := range d.Guests {
			g := &d.Guests[i]
			row := guestRow(r, d, g, th, of(verdict.KindGuest, strconv.Itoa(g.VMID)))
			for _, id := range g.Jobs {
				if n := next[id]; !n.IsZero() && (row.NextRun == nil || n.Before(*row.NextRun)) {
					row.NextRun = &n
				}
			}
			rows = append(rows, row)
		}
	}
	if d := r.PBS; d != nil {
		for i := range d.Groups {
			g := &d.Groups[i]
			rows = append(rows, groupRow(r, g, th, of(verdict.KindGroup, verdict.GroupID(g))))
		}
	}
	return rows
}

func ageState(th verdict.Thresholds, age time.Duration) string {
	switch {
	case age > th.TooOldCritical:
		return stateCritical
	case age > th.TooOldWarning:
		return stateWarning
	}
	return stateOK
}

func guestRow(r *collector.Result, d *collector.PVEData, g *collector.Guest, th verdict.Thresholds, ps []verdict.Problem) statusRow {
	row := statusRow{
		Target: r.Target, Kind: "guest", Name: g.Name, ID: strconv.Itoa(g.VMID), Where: g.Node,
		AgeState: stateCritical, Verify: collector.VerifyNone, LastAttempt: "none", Coverage: "unknown",
		sortID: fmt.Sprintf("%012d", g.VMID), Due: timePtr(g.Due),
	}
	if b := g.Last; b != nil {
		t := b.Time
		age := r.Now.Sub(t)
		secs := age.Seconds()
		row.LastBackup, row.AgeSeconds, row.AgeState = &t, &secs, ageState(th, age)
		if b.HasSize {
			size := b.Size
			row.SizeBytes = &size
		}
		enc := b.Encrypted
		row.Encrypted = &enc
		row.Verify = b.Verify
	}
	if a := g.LastAttempt; a != nil {
		row.LastAttempt = "ok"
		if !a.Success {
			row.LastAttempt = "failed"
		}
	}
	if g.Running {
		row.LastAttempt += " (running)"
	}
	row.RestoreTest = "unknown"
	if d.RestoresKnown {
		row.RestoreTest, row.RestoreTestRequired = "none", g.RestoreTestRequired
		if lr := g.LastRestore; lr != nil {
			row.RestoreTest = "ok"
			if !lr.Success {
				row.RestoreTest = "failed"
			}
			row.LastRestore = &statusRestore{Ended: timePtr(lr.End), IntoVMID: lr.TargetVMID, Node: lr.Node, Storage: lr.Storage,
				Archive: lr.Archive, BackupTime: timePtr(lr.BackupTime), Status: lr.Status}
		}
	}
	if d.CoverageKnown {
		row.Coverage = "not covered"
		if g.Covered {
			row.Coverage = strings.Join(g.Jobs, ", ")
		}
	}
	row.Reasons = reasons(ps)
	ignored := ""
	switch {
	case g.Template:
		ignored = "template"
	case th.OptedOut(g):
		ignored = "opted out by the " + th.OptOutTag + " tag"
	}
	row.State = worst(ps, stateOK)
	if ignored != "" {
		row.Reasons = append([]string{ignored}, row.Reasons...)
		if len(ps) == 0 {
			row.State = stateIgnored
		}
	}
	return row
}

func groupRow(r *collector.Result, g *collector.Group, th verdict.Thresholds, ps []verdict.Problem) statusRow {
	where := g.Datastore
	if g.Namespace != "" {
		where += "/" + g.Namespace
	}
	id := g.BackupType + "/" + g.BackupID
	row := statusRow{
		Target: r.Target, Kind: "group", Name: g.DisplayName(), ID: id, Where: where,
		AgeState: stateCritical, Verify: collector.VerifyNone, LastAttempt: "n/a", RestoreTest: "n/a", Coverage: "n/a",
		sortID: verdict.GroupID(g),
	}
	if s := g.Last; s != nil {
		t := s.Time
		age := r.Now.Sub(t)
		secs := age.Seconds()
		size := s.Size
		enc := s.Encrypted
		row.LastBackup, row.AgeSeconds, row.AgeState, row.SizeBytes, row.Encrypted, row.Verify = &t, &secs, ageState(th, age), &size, &enc, s.Verify
	}
	row.Reasons = reasons(ps)
	if g.Last == nil {
		// No alert covers a group without a finished snapshot: say so.
		row.Reasons = append(row.Reasons, "no finished snapshot")
	}
	row.State = worst(ps, stateOK)
	if th.GroupOptedOut(g) {
		row.Reasons = append([]string{"opted out by the " + th.OptOutComment + " comment"}, row.Reasons...)
		if len(ps) == 0 {
			row.State = stateIgnored
		}
	}
	return row
}

func humanBytes(b uint64) string {
	const unit = 1024
	if b < unit {
		return fmt.Sprintf("%d B", b)
	}
	div, exp := uint64(unit), 0
	for n := b / unit; n >= unit; n /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(b)/float64(div), "KMGTPE"[exp])
}

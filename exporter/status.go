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
)

//go:embed web
var webFiles embed.FS

// Row states, in the order problems sort.
const (
	stateCritical = "critical"
	stateWarning  = "warning"
	stateOK       = "ok"
	stateInfo     = "info" // templates and opted-out guests: shown, not judged
)

var stateRank = map[string]int{stateCritical: 0, stateWarning: 1, stateOK: 2, stateInfo: 3}

// Thresholds are the mixin's defaults, so that the page and the alerts
// agree on what is stale.
var (
	warnAge = 36 * time.Hour
	critAge = 48 * time.Hour
)

// The mixin's default opt-outs.
const (
	optOutTag     = "nobackup"
	optOutComment = "no-monitor"
)

// statusTarget is one target's reachability.
type statusTarget struct {
	Name     string   `json:"name"`
	Product  string   `json:"product"`
	Up       bool     `json:"up"`
	Version  string   `json:"version,omitempty"`
	Failed   []string `json:"failed_collectors,omitempty"`
	Problems []string `json:"problems,omitempty"`
}

// statusRow is one guest or backup group.
type statusRow struct {
	Target      string     `json:"target"`
	Kind        string     `json:"kind"` // guest or group
	Name        string     `json:"name"`
	ID          string     `json:"id"`
	Where       string     `json:"where"`
	State       string     `json:"state"`
	Reasons     []string   `json:"reasons,omitempty"`
	LastBackup  *time.Time `json:"last_backup,omitempty"`
	AgeSeconds  *float64   `json:"age_seconds,omitempty"`
	AgeState    string     `json:"age_state"`
	SizeBytes   *uint64    `json:"size_bytes,omitempty"`
	Verify      string     `json:"verification"`
	Encrypted   *bool      `json:"encrypted,omitempty"`
	LastAttempt string     `json:"last_attempt"`
	Coverage    string     `json:"coverage"`
}

type statusPage struct {
	Generated time.Time      `json:"generated"`
	Targets   []statusTarget `json:"targets"`
	Rows      []statusRow    `json:"rows"`
	// Filters echoed back for the form.
	FilterTarget string         `json:"-"`
	FilterState  string         `json:"-"`
	TargetNames  []string       `json:"-"`
	Counts       map[string]int `json:"counts"`
}

func (e *Exporter) serveStatic() http.Handler {
	sub, _ := fs.Sub(webFiles, "web")
	return http.StripPrefix("/static/", http.FileServer(http.FS(noDirs{sub})))
}

var statusTemplate = template.Must(template.New("status.html").Funcs(template.FuncMap{
	"age":    humanAge,
	"bytes":  humanBytes,
	"deref":  func(p *float64) float64 { return *p },
	"derefU": func(p *uint64) uint64 { return *p },
	"derefB": func(p *bool) bool { return *p },
	"list":   func() []string { return []string{stateCritical, stateWarning, stateOK, stateInfo} },
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
		err2 = statusTemplate.Execute(&buf, page)
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

// buildStatus probes the configured targets (or one of them) now, through
// the same collectors as /probe, and turns the results into rows.
func (e *Exporter) buildStatus(ctx context.Context, target, state string) (*statusPage, error) {
	cfg, _ := e.current()
	names := cfg.TargetNames()
	if target != "" && !slices.Contains(names, target) {
		return nil, fmt.Errorf("unknown target %s", quoteParam(target))
	}
	if state != "" && stateRank[state] == 0 && state != stateCritical {
		return nil, fmt.Errorf("unknown state %s: use critical, warning, ok or info", quoteParam(state))
	}
	probe := names
	if target != "" {
		probe = []string{target}
	}
	results := make([]*collector.Result, len(probe))
	var wg sync.WaitGroup
	for i, name := range probe {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], _ = e.ProbeTarget(ctx, name, 0)
		}()
	}
	wg.Wait()

	page := &statusPage{Generated: e.opts.Now(), FilterTarget: target, FilterState: state, TargetNames: names, Counts: map[string]int{}}
	for i, res := range results {
		if res == nil {
			continue
		}
		page.Targets = append(page.Targets, targetStatus(cfg.Targets[probe[i]], res))
		for _, row := range rowsOf(res) {
			page.Counts[row.State]++
			if state == "" || row.State == state {
				page.Rows = append(page.Rows, row)
			}
		}
	}
	slices.SortStableFunc(page.Rows, func(a, b statusRow) int {
		if c := cmp.Compare(stateRank[a.State], stateRank[b.State]); c != 0 {
			return c
		}
		return cmp.Compare(ageOf(b), ageOf(a)) // oldest first
	})
	return page, nil
}

func ageOf(r statusRow) float64 {
	if r.AgeSeconds == nil {
		return 1e18 // never backed up sorts as the oldest
	}
	return *r.AgeSeconds
}

func targetStatus(t *config.Target, r *collector.Result) statusTarget {
	st := statusTarget{Name: r.Target, Product: r.Product, Up: r.Up, Failed: r.Failed()}
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

func rowsOf(r *collector.Result) []statusRow {
	var rows []statusRow
	if d := r.PVE; d != nil {
		for i := range d.Guests {
			rows = append(rows, guestRow(r, d, &d.Guests[i]))
		}
	}
	if d := r.PBS; d != nil {
		for i := range d.Groups {
			rows = append(rows, groupRow(r, &d.Groups[i]))
		}
	}
	return rows
}

func ageState(age time.Duration) string {
	switch {
	case age > critAge:
		return stateCritical
	case age > warnAge:
		return stateWarning
	}
	return stateOK
}

func worse(a, b string) string {
	if stateRank[b] < stateRank[a] {
		return b
	}
	return a
}

func guestRow(r *collector.Result, d *collector.PVEData, g *collector.Guest) statusRow {
	row := statusRow{
		Target: r.Target, Kind: "guest", Name: g.Name, ID: strconv.Itoa(g.VMID), Where: g.Node,
		State: stateOK, AgeState: stateCritical, Verify: collector.VerifyNone,
		LastAttempt: "none", Coverage: "unknown",
	}
	add := func(state, reason string) {
		row.State = worse(row.State, state)
		row.Reasons = append(row.Reasons, reason)
	}
	if b := g.Last; b != nil {
		t := b.Time
		age := r.Now.Sub(t)
		secs := age.Seconds()
		row.LastBackup, row.AgeSeconds, row.AgeState = &t, &secs, ageState(age)
		if b.HasSize {
			size := b.Size
			row.SizeBytes = &size
		}
		enc := b.Encrypted
		row.Encrypted = &enc
		row.Verify = b.Verify
		if row.AgeState != stateOK {
			add(row.AgeState, "last backup "+humanAge(secs)+" ago")
		}
		if b.Verify == collector.VerifyFailed {
			add(stateCritical, "verification failed")
		}
	} else if d.BackupsKnown {
		add(stateCritical, "never backed up")
	}
	if n := g.FutureBackups; n > 0 {
		add(stateWarning, datedInFuture(n, "backup"))
	}
	if a := g.LastAttempt; a != nil {
		if a.Success {
			row.LastAttempt = "ok"
		} else {
			row.LastAttempt = "failed"
			add(stateCritical, "last attempt failed: "+a.Error)
		}
	}
	if g.Running {
		row.LastAttempt += " (running)"
	}
	if d.CoverageKnown {
		if g.Covered {
			row.Coverage = strings.Join(g.Jobs, ", ")
		} else {
			row.Coverage = "not covered"
			add(stateWarning, "in no enabled backup job")
		}
	}
	optedOut := slices.Contains(strings.Split(g.Tags, ";"), optOutTag)
	if g.Template || optedOut {
		row.State = stateInfo
		if g.Template {
			row.Reasons = append([]string{"template"}, row.Reasons...)
		} else {
			row.Reasons = append([]string{"opted out by the " + optOutTag + " tag"}, row.Reasons...)
		}
	}
	return row
}

func groupRow(r *collector.Result, g *collector.Group) statusRow {
	where := g.Datastore
	if g.Namespace != "" {
		where += "/" + g.Namespace
	}
	row := statusRow{
		Target: r.Target, Kind: "group", Name: g.Comment, ID: g.BackupType + "/" + g.BackupID, Where: where,
		State: stateOK, AgeState: stateCritical, Verify: collector.VerifyNone, LastAttempt: "n/a", Coverage: "n/a",
	}
	if s := g.Last; s != nil {
		t := s.Time
		age := r.Now.Sub(t)
		secs := age.Seconds()
		size := s.Size
		enc := s.Encrypted
		row.LastBackup, row.AgeSeconds, row.AgeState, row.SizeBytes, row.Encrypted, row.Verify = &t, &secs, ageState(age), &size, &enc, s.Verify
		if row.AgeState != stateOK {
			row.State = worse(row.State, row.AgeState)
			row.Reasons = append(row.Reasons, "last backup "+humanAge(secs)+" ago")
		}
		if s.Verify == collector.VerifyFailed {
			row.State = stateCritical
			row.Reasons = append(row.Reasons, "verification failed")
		}
	} else {
		row.State = stateCritical
		row.Reasons = append(row.Reasons, "no finished snapshot")
	}
	if n := g.FutureSnapshots; n > 0 {
		row.State = worse(row.State, stateWarning)
		row.Reasons = append(row.Reasons, datedInFuture(n, "snapshot"))
	}
	if strings.Contains(g.Comment, optOutComment) {
		row.State = stateInfo
		row.Reasons = append([]string{"opted out by the " + optOutComment + " comment"}, row.Reasons...)
	}
	return row
}

// datedInFuture is the reason of a row with backups dated in the future.
func datedInFuture(n int, what string) string {
	if n != 1 {
		what += "s"
	}
	return fmt.Sprintf("%d %s dated more than %s in the future (a wrong clock?): not taken as the last backup", n, what, humanAge(collector.ClockSkewAllowance.Seconds()))
}

func humanAge(secs float64) string {
	d := time.Duration(secs * float64(time.Second))
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%dd %dh", int(d.Hours())/24, int(d.Hours())%24)
	case d >= time.Hour:
		return fmt.Sprintf("%dh %dm", int(d.Hours()), int(d.Minutes())%60)
	default:
		return fmt.Sprintf("%dm", int(d.Minutes()))
	}
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

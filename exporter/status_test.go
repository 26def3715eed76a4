package exporter

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

func TestStatusPage(t *testing.T) {
	cfg, _, _ := simulators(t)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

	status, body := te.get("/status")
	if status != 200 {
		t.Fatalf("/status: %d", status)
	}
	for _, want := range []string{"<table id=\"targets\">", "db01", "never", "not covered", "verification failed", `href="static/status.css"`} {
		if !strings.Contains(body, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Error("the status page must work without scripts or inline styles (strict CSP)")
	}

	status, body = te.get("/status.json")
	if status != 200 {
		t.Fatalf("/status.json: %d", status)
	}
	var page struct {
		Targets []statusTarget `json:"targets"`
		Rows    []statusRow    `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Targets) != 2 || len(page.Rows) == 0 {
		t.Fatalf("targets %d rows %d", len(page.Targets), len(page.Rows))
	}
	// Problems sort first.
	seenOK := false
	for _, r := range page.Rows {
		if r.State == stateOK || r.State == stateIgnored {
			seenOK = true
		} else if seenOK {
			t.Errorf("row %s/%s (%s) sorts after a row without problems", r.Target, r.ID, r.State)
		}
	}
	byID := map[string]statusRow{}
	for _, r := range page.Rows {
		byID[r.Target+"/"+r.ID] = r
	}
	if r := byID["cluster/104"]; r.State != stateIgnored {
		t.Errorf("104 carries the nobackup tag: state %q, want ignored", r.State)
	}
	if r := byID["cluster/9000"]; r.State != stateIgnored && r.State != stateInfo {
		t.Errorf("the template: state %q, want ignored or info (templates are judged only by verification and encryption)", r.State)
	}
	if r := byID["cluster/106"]; r.State != stateCritical || r.AgeSeconds != nil {
		t.Errorf("106 was never backed up: %+v", r)
	}

	// Filters.
	_, body = te.get("/status.json?target=backup&state=critical")
	page.Rows = nil
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Rows {
		if r.Target != "backup" || r.State != stateCritical {
			t.Errorf("filtered row %+v", r)
		}
	}
	if status, body := te.get("/status?target=nope"); status != 400 || !strings.Contains(body, `unknown target "nope"`) {
		t.Errorf("unknown target filter: %d %q", status, body)
	}
	if status, _ := te.get("/status?state=bad"); status != 400 {
		t.Errorf("unknown state filter: %d", status)
	}
	if status, _ := te.get("/static/status.css"); status != 200 {
		t.Errorf("stylesheet: %d", status)
	}
}

func TestStatusPageContent(t *testing.T) {
	cfg, _, _ := simulators(t)
	cfg += pveTargetConfig("down", closedURL(t))
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	status, body := te.get("/status")
	if status != 200 {
		t.Fatalf("/status: %d", status)
	}
	for _, want := range []string{
		// Down targets counted in the header.
		`<span class="badge critical" id="targets-down">1 of 3 targets down</span>`,
		// The verdict, capacity with PBS's forecast, the jobs.
		`<table id="problems">`, `<table id="stores">`, `<table id="jobs">`,
		"ProxmoxBackupTargetDown",
		// Datastore main: 3 of 4 TiB, PBS predicts it full in 20 days.
		"<td>75.0%</td>", "2026-12-10 10:00 UTC (in 20d 0h)",
		// The failed verify job, with its absolute last run and next run.
		"v-3f2a9c1d-77b0", "failed: verification failed",
		// A PVE backup job with its next run.
		"backup-pool-prod",
		// A group by its comment, escaped.
		"erp &lt;primary&gt; &amp; &#34;billing&#34;",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/status lacks %q", want)
		}
	}
	// Absolute times beside ages, past and future.
	for _, re := range []string{`<td class="age ok">2026-11-\d\d \d\d:\d\d UTC \(\d+h \d+m ago\)</td>`, `next 2026-11-\d\d \d\d:\d\d UTC \(in \d+h \d+m\)`} {
		if !regexp.MustCompile(re).MatchString(body) {
			t.Errorf("/status has nothing like %s", re)
		}
	}
	if strings.Contains(body, "<script") || strings.Contains(body, "style=") {
		t.Error("the status page must work without scripts or inline styles (strict CSP)")
	}

	var page statusPage
	_, js := te.get("/status.json")
	if err := json.Unmarshal([]byte(js), &page); err != nil {
		t.Fatal(err)
	}
	if page.TargetsDown != 1 || len(page.Problems) == 0 || len(page.Stores) == 0 || len(page.Jobs) == 0 {
		t.Fatalf("targets down %d, problems %d, stores %d, jobs %d", page.TargetsDown, len(page.Problems), len(page.Stores), len(page.Jobs))
	}
	// Every row's state is the worst severity of its object's problems.
	worstOf := map[string]string{}
	for _, p := range page.Problems {
		k := p.Target + "/" + p.Object.Kind + "/" + p.Object.ID
		if w, ok := worstOf[k]; !ok || stateRank(string(p.Severity)) < stateRank(w) {
			worstOf[k] = string(p.Severity)
		}
	}
	for _, r := range page.Rows {
		id := r.ID
		if r.Kind == "group" {
			id = r.Where + ":" + r.ID
		}
		want, ok := worstOf[r.Target+"/"+r.Kind+"/"+id]
		if !ok && r.State != stateOK && r.State != stateIgnored {
			t.Errorf("row %s/%s is %s without a problem", r.Target, id, r.State)
		}
		if ok && r.State != want {
			t.Errorf("row %s/%s is %s, its worst problem %s", r.Target, id, r.State, want)
		}
	}
	// A stable order: the same page twice, rows by state, target, kind, ID.
	_, again := te.get("/status.json")
	if again != js {
		t.Error("two views of the same probe differ")
	}
	for i := 1; i < len(page.Rows); i++ {
		a, b := page.Rows[i-1], page.Rows[i]
		if stateRank(a.State) > stateRank(b.State) || stateRank(a.State) == stateRank(b.State) && a.Target > b.Target {
			t.Errorf("row %s/%s (%s) sorts before %s/%s (%s)", a.Target, a.ID, a.State, b.Target, b.ID, b.State)
		}
	}
}

// TestStatusSharesProbes checks that concurrent views of /status share
// one probe per target, and that a fresh probe is reused for the TTL.
func TestStatusSharesProbes(t *testing.T) {
	var versions atomic.Int64
	pve := simulator.PVETestScenario(goldenNow)
	h := pve.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/version") {
			versions.Add(1)
			time.Sleep(300 * time.Millisecond) // long enough for the views to overlap
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := fmt.Sprintf("targets:\n  cluster:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret: %q\n", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })

	views := func(n int) {
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if status, _ := te.get("/status.json"); status != 200 {
					t.Errorf("/status.json: %d", status)
				}
			}()
		}
		wg.Wait()
	}
	views(8)
	if n := versions.Load(); n != 1 {
		t.Errorf("8 concurrent views probed the target %d times, want once", n)
	}
	// Without a TTL, the next view probes again.
	views(1)
	if n := versions.Load(); n != 2 {
		t.Errorf("a later view without a TTL: %d probes in all, want 2", n)
	}
	// With one, later views reuse the last probe.
	te.exp.opts.StatusCacheTTL = time.Minute
	views(1)
	views(3)
	if n := versions.Load(); n != 2 {
		t.Errorf("views within the TTL: %d probes in all, want still 2", n)
	}
	// /probe never uses the status cache.
	te.get("/probe?target=cluster")
	if n := versions.Load(); n != 3 {
		t.Errorf("/probe: %d probes in all, want 3", n)
	}
}

// /status and /status.json show each guest's last restore test, and the
// restore-test problem, when every node's restores were read; with a node
// offline they say the restores are unknown.
func TestStatusRestoreTests(t *testing.T) {
	cfg := simulatorConfig(t, simulator.PVEHealthyScenario(goldenNow), simulator.PBSTestScenario(goldenNow))
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	_, body := te.get("/status.json?target=cluster")
	var page struct {
		Rows []statusRow `json:"rows"`
	}
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	byID := map[string]statusRow{}
	for _, r := range page.Rows {
		byID[r.ID] = r
	}
	if r := byID["100"]; r.RestoreTest != "ok" || r.RestoreTestRequired || r.LastRestore == nil ||
		r.LastRestore.IntoVMID != 9100 || r.LastRestore.Node != "pve1" || r.LastRestore.BackupTime == nil ||
		r.LastRestore.Ended == nil || !r.LastRestore.Ended.Equal(goldenNow.Add(-10*24*time.Hour+7*time.Minute)) {
		t.Errorf("100: %+v %+v", r, r.LastRestore)
	}
	if r := byID["101"]; r.RestoreTest != "none" || !r.RestoreTestRequired || r.LastRestore != nil || !strings.Contains(strings.Join(r.Reasons, ";"), "no restore of its backups") {
		t.Errorf("101: %+v", r)
	}
	if r := byID["103"]; r.RestoreTest != "failed" || !r.RestoreTestRequired || r.LastRestore == nil || r.LastRestore.Storage != "local" ||
		!strings.Contains(strings.Join(r.Reasons, ";"), "failed") {
		t.Errorf("103: %+v", r)
	}
	_, html := te.get("/status?target=cluster")
	for _, want := range []string{"<th>Restore test</th>", "none (required)", "into 9100 on pve1", "failed (required)"} {
		if !strings.Contains(html, want) {
			t.Errorf("/status lacks %q", want)
		}
	}

	cfg, _, _ = simulators(t) // pve3 offline
	te = newTestExporter(t, cfg, func() time.Time { return goldenNow })
	_, body = te.get("/status.json?target=cluster")
	page.Rows = nil
	if err := json.Unmarshal([]byte(body), &page); err != nil {
		t.Fatal(err)
	}
	for _, r := range page.Rows {
		if r.RestoreTest != "unknown" || r.LastRestore != nil {
			t.Errorf("%s with a node offline: restore test %q %+v", r.ID, r.RestoreTest, r.LastRestore)
		}
	}
}

package exporter

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
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

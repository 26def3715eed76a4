package exporter

import (
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// TestProbeCompression checks that /probe gzips its answer for a scraper
// that accepts gzip, and only then.
func TestProbeCompression(t *testing.T) {
	cfg := simulatorConfig(t, simulator.PVEHealthyScenario(goldenNow), simulator.PBSTestScenario(goldenNow))
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	// A transport that leaves Accept-Encoding and the body alone.
	client := &http.Client{Transport: &http.Transport{DisableCompression: true}}
	for _, accept := range []string{"", "gzip", "identity", "deflate, GZIP;q=0.5"} {
		req, err := http.NewRequest(http.MethodGet, te.srv.URL+"/probe?target=backup", nil)
		if err != nil {
			t.Fatal(err)
		}
		if accept != "" {
			req.Header.Set("Accept-Encoding", accept)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body := io.Reader(resp.Body)
		wantGzip := strings.Contains(strings.ToLower(accept), "gzip")
		if got := resp.Header.Get("Content-Encoding") == "gzip"; got != wantGzip {
			t.Errorf("Accept-Encoding %q: Content-Encoding %q", accept, resp.Header.Get("Content-Encoding"))
		}
		if wantGzip {
			zr, err := gzip.NewReader(resp.Body)
			if err != nil {
				t.Fatalf("Accept-Encoding %q: not gzip: %v", accept, err)
			}
			body = zr
		}
		b, err := io.ReadAll(body)
		resp.Body.Close()
		if err != nil || !strings.Contains(string(b), "proxmox_backup_up 1") {
			t.Errorf("Accept-Encoding %q: %v, body %.200q", accept, err, b)
		}
	}
}

// TestLongParameterQuoted checks that a request value repeated in an error
// is cut at 64 bytes, and only past them.
func TestLongParameterQuoted(t *testing.T) {
	te := newTestExporter(t, "targets:\n"+pveTargetConfig("down", closedURL(t)), nil)
	for _, n := range []int{63, 64, 65, 300} {
		name := strings.Repeat("x", n)
		_, body := te.get("/probe?target=" + name)
		want := `unknown target "` + name + `"` + "\n"
		if n > 64 {
			want = `unknown target "` + name[:64] + `"...` + "\n"
		}
		if !strings.HasSuffix(body, want) || strings.Contains(body, strings.Repeat("x", min(n, 64)+1)) {
			t.Errorf("a target name of %d bytes: %q", n, body)
		}
	}
}

// TestCheck checks the check command's evaluation: every target when none
// is named, only the named ones otherwise, and an error for an unknown
// name.
func TestCheck(t *testing.T) {
	cfg, _, _ := simulators(t)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	targetsOf := func(names ...string) ([]string, []string) {
		t.Helper()
		results, problems, err := te.exp.Check(context.Background(), names)
		if err != nil {
			t.Fatalf("Check(%q): %v", names, err)
		}
		var probed, judged []string
		for _, r := range results {
			probed = append(probed, r.Target)
		}
		for _, p := range problems {
			if !slices.Contains(judged, p.Target) {
				judged = append(judged, p.Target)
			}
		}
		slices.Sort(judged)
		return probed, judged
	}
	if probed, judged := targetsOf(); !slices.Equal(probed, []string{"backup", "cluster"}) || !slices.Equal(judged, []string{"backup", "cluster"}) {
		t.Errorf("no name: probed %q, problems of %q; want both targets", probed, judged)
	}
	if probed, judged := targetsOf("cluster"); !slices.Equal(probed, []string{"cluster"}) || !slices.Equal(judged, []string{"cluster"}) {
		t.Errorf("cluster: probed %q, problems of %q; want cluster only", probed, judged)
	}
	if _, _, err := te.exp.Check(context.Background(), []string{"cluster", "nope"}); err == nil || !strings.Contains(err.Error(), `unknown target "nope"`) {
		t.Errorf("an unknown name: %v", err)
	}
}

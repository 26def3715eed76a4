package simulator

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestCounterAndTaskHistory(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	p := GeneratePVE(PVEGenOptions{Nodes: 2, Guests: 10, TaskDays: 3, Unscheduled: 2, Now: now})
	if len(p.Tasks) != 6 {
		t.Fatalf("%d tasks, want 3 days on 2 nodes", len(p.Tasks))
	}
	for _, tk := range p.Tasks {
		if len(tk.Guests) != 4 {
			t.Errorf("task on %s at %v has %d guests, want 4 (5 per node, 1 excluded)", tk.Node, tk.Start, len(tk.Guests))
		}
	}
	if p.Jobs[0].Exclude != "108,109" {
		t.Errorf("exclude %q", p.Jobs[0].Exclude)
	}
	c := &Counter{}
	srv := httptest.NewServer(c.Wrap(p.Handler()))
	defer srv.Close()
	p.index()
	var want int64
	for _, path := range []string{"/api2/json/nodes", "/api2/json/nodes/pve1/tasks/" + p.upids[0] + "/log"} {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
		req.Header.Set("Authorization", "PVEAPIToken="+TestPVETokenID+"="+TestPVETokenSecret)
		// The bytes counted are those sent: compressed.
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		want += int64(len(b))
	}
	got := c.Take()
	if got.Calls != 2 || got.TaskLogCalls != 1 || got.Bytes != want || got.TaskLogBytes == 0 || got.TaskLogBytes >= want {
		t.Errorf("counts %+v, want 2 calls, %d bytes", got, want)
	}
	if again := c.Take(); again.Calls != 0 || again.TaskLogs != nil {
		t.Errorf("Take did not reset: %+v", again)
	}
}

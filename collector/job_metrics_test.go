package collector

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPBSJobMetrics checks which of a PBS job's metrics are exported: the
// last run's end and result only once it ran, the next run only when
// scheduled, running only when known. Absent, never 0: a 0 timestamp would
// read as a run in 1970.
func TestPBSJobMetrics(t *testing.T) {
	end, next := testNow.Add(-2*time.Hour), testNow.Add(22*time.Hour)
	r := &Result{Target: "b", Product: "pbs", Now: testNow, Up: true, PBS: &PBSData{Jobs: []Job{
		{Type: "verify", ID: "ran", Datastore: "d", LastRunEnd: end, LastRunState: "OK", NextRun: next},
		{Type: "sync", ID: "failed", Datastore: "d", LastRunEnd: end, LastRunState: "remote unreachable"},
		{Type: "prune", ID: "never", Datastore: "d", Running: true},
		{Type: "gc", ID: "d", Datastore: "d", RunningUnknown: true},
	}}}
	body := metricsText(t, r)
	series := func(name, typ, id string) string {
		return fmt.Sprintf("proxmox_backup_%s{datastore=\"d\",job_id=%q,job_type=%q}", name, id, typ)
	}
	for _, tc := range []struct {
		name, typ, id string
		want          string // the value; "" absent
	}{
		{"job_last_run_timestamp_seconds", "verify", "ran", fmt.Sprintf("%g", float64(end.Unix()))},
		{"job_last_run_success", "verify", "ran", "1"},
		{"job_next_run_timestamp_seconds", "verify", "ran", fmt.Sprintf("%g", float64(next.Unix()))},
		{"job_running", "verify", "ran", "0"},
		{"job_last_run_timestamp_seconds", "sync", "failed", fmt.Sprintf("%g", float64(end.Unix()))},
		{"job_last_run_success", "sync", "failed", "0"},
		{"job_next_run_timestamp_seconds", "sync", "failed", ""},
		{"job_last_run_timestamp_seconds", "prune", "never", ""},
		{"job_last_run_success", "prune", "never", ""},
		{"job_running", "prune", "never", "1"},
		{"job_running", "gc", "d", ""},
	} {
		s := series(tc.name, tc.typ, tc.id)
		var got string
		for _, line := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(line, s+" "); ok {
				got = v
			}
		}
		if got != tc.want {
			t.Errorf("%s = %q, want %q", s, got, tc.want)
		}
	}
}

package collector

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/simulator"
)

func job(r *Result, typ, id string) *Job {
	for i := range r.PBS.Jobs {
		if j := &r.PBS.Jobs[i]; j.Type == typ && j.ID == id {
			return j
		}
	}
	return nil
}

func gcOf(r *Result, store string) *GCStatus {
	for i := range r.PBS.GC {
		if r.PBS.GC[i].Datastore == store {
			return &r.PBS.GC[i]
		}
	}
	return nil
}

// Since PBS 3.3, /admin/sync lists pull jobs only unless asked for
// sync-direction=all (proxmox-backup src/api2/admin/sync.rs
// list_config_sync_jobs; API schema: enum all, push, pull, default pull).
func TestPBSSyncJobsBothDirections(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	srv := newSimServer(t, p.Handler())
	r := permProbe(t, config.TypePBS, srv.URL, NewPermissionCache(8), nil)
	if ok, err := collectorOK(r, "sync_jobs"); !ok {
		t.Fatal(err)
	}
	push := job(r, "sync", "s-push-offsite")
	if push == nil || push.Direction != "push" || push.LastRunState != "OK" {
		t.Fatalf("push job: %+v", push)
	}
	if pull := job(r, "sync", "s-local-copy"); pull == nil || pull.Direction != "pull" {
		t.Errorf("pull job: %+v", pull)
	}
	if got := srv.count("/admin/sync"); got != 1 {
		t.Errorf("%d sync listings, want 1", got)
	}
	body := metricsText(t, r)
	if !strings.Contains(body, `direction="push",job_id="s-push-offsite"`) {
		t.Errorf("no job_info with direction push:\n%s", body)
	}
	if !strings.Contains(body, `direction="",job_id="v-3f2a9c1d-77b0"`) {
		t.Error("a verify job has a direction")
	}
}

// Servers before 3.3 reject the parameter (additionalProperties: false) and
// know pull jobs only.
func TestPBSSyncJobsOldServer(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	p.NoSyncDirection = true
	p.SyncJobs = p.SyncJobs[:2] // pull jobs only before 3.3
	srv := newSimServer(t, p.Handler())
	r := permProbe(t, config.TypePBS, srv.URL, NewPermissionCache(8), nil)
	if ok, err := collectorOK(r, "sync_jobs"); !ok {
		t.Fatalf("the fallback failed: %v", err)
	}
	for _, id := range []string{"s-offsite", "s-local-copy"} {
		if j := job(r, "sync", id); j == nil || j.Direction != "pull" {
			t.Errorf("job %s: %+v", id, j)
		}
	}
	if got := srv.count("/admin/sync"); got != 2 {
		t.Errorf("%d sync listings, want 2 (rejected, then without the parameter)", got)
	}
}

// garbage_collection_status (proxmox-backup src/api2/admin/datastore.rs)
// takes last-run-state and -endtime from the job state file and the upid
// from the datastore's last GC status. A running GC (state "started") and
// a missing state file (JobState::load: "created") look the same there;
// only the running-task list tells them apart.
func TestPBSGCRunning(t *testing.T) {
	for _, tc := range []struct {
		name        string
		set         func(*simulator.GCStatus)
		noTaskAudit bool
		running     bool
	}{
		{"finished", func(*simulator.GCStatus) {}, false, false},
		{"running", func(g *simulator.GCStatus) { g.Running = true }, false, true},
		{"state file missing", func(g *simulator.GCStatus) { g.StateFileMissing = true }, false, false},
		// Without Sys.Audit on /system/tasks root@pam's task is hidden;
		// the permission check says so.
		{"running, hidden", func(g *simulator.GCStatus) { g.Running = true }, true, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := simulator.PBSTestScenario(testNow)
			tc.set(&p.Datastores[0].GC)
			if tc.noTaskAudit {
				p.ACLs = pbsScriptACLs[:3]
			}
			r := permProbe(t, config.TypePBS, newSimServer(t, p.Handler()).URL, NewPermissionCache(8), nil)
			if ok, err := collectorOK(r, "gc"); !ok {
				t.Fatal(err)
			}
			gc := gcOf(r, "main")
			if gc == nil || gc.Running != tc.running {
				t.Fatalf("gc %+v, want running %v", gc, tc.running)
			}
			if j := job(r, "gc", "main"); j == nil || j.Running != tc.running {
				t.Errorf("gc job %+v, want running %v", j, tc.running)
			}
			// The counters of the last finished run stay known.
			if !gc.HasCounts || gc.DiskBytes == 0 {
				t.Errorf("counters lost: %+v", gc)
			}
			if tc.noTaskAudit && !strings.Contains(strings.Join(missingOf(r), ","), "Sys.Audit /system/tasks") {
				t.Errorf("hidden tasks not reported: %v", missingOf(r))
			}
		})
	}
}

// A datastore whose GC never finished has no upid, and its counters are
// GarbageCollectionStatus's defaults (pbs-api-types), not measurements.
func TestPBSGCNeverRan(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	r := permProbe(t, config.TypePBS, newSimServer(t, p.Handler()).URL, NewPermissionCache(8), nil)
	gc := gcOf(r, "archive")
	if gc == nil || gc.HasCounts || !gc.LastRunEnd.IsZero() || gc.Running {
		t.Fatalf("archive gc: %+v", gc)
	}
	body := metricsText(t, r)
	for _, name := range []string{"gc_removed_bytes", "gc_pending_bytes", "gc_disk_bytes", "gc_last_run_success", "gc_last_run_timestamp_seconds", "gc_last_run_duration_seconds"} {
		if strings.Contains(body, "proxmox_backup_"+name+`{datastore="archive"}`) {
			t.Errorf("%s exported for a GC that never ran", name)
		}
		if !strings.Contains(body, "proxmox_backup_"+name+`{datastore="main"}`) {
			t.Errorf("%s missing for a GC that ran", name)
		}
	}
	if !strings.Contains(body, `proxmox_backup_gc_next_run_timestamp_seconds{datastore="archive"}`) {
		t.Error("the next run of a scheduled GC is known and must stay")
	}
}

// When the task list cannot be read, whether a GC runs is unknown: the gc
// collector fails and job_running is left out for GC jobs, while the GC
// status itself is still exported.
func TestPBSGCRunningUnknown(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	h := p.Handler()
	srv := newSimServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/nodes/localhost/tasks") {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"data":null,"message":"task list unavailable"}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	r := permProbe(t, config.TypePBS, srv.URL, NewPermissionCache(8), nil)
	if ok, _ := collectorOK(r, "gc"); ok {
		t.Error("the gc collector succeeded without the task list")
	}
	body := metricsText(t, r)
	if strings.Contains(body, `proxmox_backup_job_running{datastore="main",job_id="main",job_type="gc"}`) {
		t.Error("job_running exported for a GC whose state is unknown")
	}
	for _, want := range []string{
		`proxmox_backup_gc_last_run_success{datastore="main"} 1`,
		`proxmox_backup_job_running{datastore="main",job_id="v-3f2a9c1d-77b0",job_type="verify"} 0`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("lost %s", want)
		}
	}
}

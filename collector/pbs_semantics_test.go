package collector

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/simulator"
)

// The rules by which PBS answers become metrics, each pinned on its own so
// that a regenerated golden file cannot hide a change of meaning.

// snap is one item of GET /admin/datastore/{store}/snapshots, written the
// way proxmox-backup src/api2/admin/datastore.rs list_snapshots_blocking
// builds SnapshotListItem: size is the sum of the files' sizes, and absent
// when the snapshot's files cannot be listed (an unfinished backup has no
// manifest yet); verification is the manifest's verify_state.
type snap struct {
	id     string
	time   int64
	size   *int64
	verify string // "" for no verification object
	upid   string
	files  []string // filename:crypt-mode, or filename alone for no mode
}

func (s snap) json() string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"backup-type":"vm","backup-id":%q,"backup-time":%d`, s.id, s.time)
	if s.size != nil {
		fmt.Fprintf(&b, `,"size":%d`, *s.size)
	}
	if s.verify != "" {
		fmt.Fprintf(&b, `,"verification":{"state":%q,"upid":%q}`, s.verify, s.upid)
	}
	b.WriteString(`,"files":[`)
	for i, f := range s.files {
		if i > 0 {
			b.WriteByte(',')
		}
		name, mode, ok := strings.Cut(f, ":")
		if ok {
			fmt.Fprintf(&b, `{"filename":%q,"crypt-mode":%q}`, name, mode)
		} else {
			fmt.Fprintf(&b, `{"filename":%q}`, name)
		}
	}
	b.WriteString("]}")
	return b.String()
}

func aggregate(t *testing.T, snaps ...snap) map[string]Group {
	t.Helper()
	items := make([]string, len(snaps))
	for i, s := range snaps {
		items[i] = s.json()
	}
	agg := newSnapshotAgg("main", "")
	body := `{"data":[` + strings.Join(items, ",") + `]}`
	if err := proxmox.DecodeEach(strings.NewReader(body), agg.add); err != nil {
		t.Fatalf("%v in %s", err, body)
	}
	out := map[string]Group{}
	for _, g := range agg.result() {
		out[g.BackupID] = g
	}
	return out
}

func size(v int64) *int64 { return &v }

const pbsUPID = "UPID:pbs:000012AB:0001E240:00000002:%08X:verificationjob:main\\x3av\\x2dmain:root@pam:"

// The group's newest finished snapshot decides, whatever the listing's
// order; an unfinished snapshot (no size) is counted but is not the last
// backup, even when it is the newest.
func TestPBSNewestFinishedSnapshot(t *testing.T) {
	t0 := testNow.Add(-48 * time.Hour).Unix()
	g := aggregate(t,
		snap{id: "100", time: t0 + 7200, size: size(300), verify: "failed"},
		snap{id: "100", time: t0, size: size(100), verify: "ok"},
		snap{id: "100", time: t0 + 9000}, // in progress: no size
		snap{id: "100", time: t0 + 3600, size: size(200), verify: "ok"},
		snap{id: "101", time: t0 + 60}, // only an unfinished snapshot
		snap{id: "102", time: t0, size: size(0)},
	)
	a := g["100"]
	if a.Snapshots != 4 {
		t.Errorf("vm/100: %d snapshots, want 4 (the unfinished one counts)", a.Snapshots)
	}
	if a.Last == nil || a.Last.Time.Unix() != t0+7200 || a.Last.Size != 300 || a.Last.Verify != VerifyFailed {
		t.Errorf("vm/100 last: %+v, want the one at +2h, 300 bytes, failed", a.Last)
	}
	if b := g["101"]; b.Snapshots != 1 || b.Last != nil {
		t.Errorf("vm/101 with only an unfinished snapshot: %+v", b)
	}
	// An empty but finished snapshot is a backup of size 0.
	if c := g["102"]; c.Last == nil || c.Last.Size != 0 {
		t.Errorf("vm/102: %+v", c)
	}
	// Two snapshots of the same second: the first listed stays.
	d := aggregate(t, snap{id: "1", time: t0, size: size(1)}, snap{id: "1", time: t0, size: size(2)})["1"]
	if d.Last == nil || d.Last.Size != 1 || d.Snapshots != 2 {
		t.Errorf("same-second snapshots: %+v", d.Last)
	}
}

// Verification comes from the manifest's verify_state (pbs-api-types
// SnapshotVerifyState: state is VerifyState "ok" or "failed", upid the
// verify task). No object means never verified; an unknown state is not
// claimed as either. The verify time is the verify task's start.
func TestPBSVerifyStates(t *testing.T) {
	t0 := testNow.Add(-5 * time.Hour).Unix()
	start := t0 + 1800
	upid := fmt.Sprintf(pbsUPID, start)
	for _, tc := range []struct {
		verify, upid string
		want         string
		wantTime     int64
	}{
		{"ok", upid, VerifyOK, start},
		{"failed", upid, VerifyFailed, start},
		{"", "", VerifyNone, 0},
		{"running", upid, VerifyNone, start},
		{"ok", "not a upid", VerifyOK, 0},
	} {
		g := aggregate(t, snap{id: "1", time: t0, size: size(1), verify: tc.verify, upid: tc.upid})["1"]
		if g.Last == nil || g.Last.Verify != tc.want {
			t.Errorf("verification %q: %+v, want %s", tc.verify, g.Last, tc.want)
			continue
		}
		var got int64
		if !g.Last.VerifyTime.IsZero() {
			got = g.Last.VerifyTime.Unix()
		}
		if got != tc.wantTime {
			t.Errorf("verification %q upid %q: verify time %d, want %d", tc.verify, tc.upid, got, tc.wantTime)
		}
	}
	// A newer unverified snapshot hides an older verified one's state.
	g := aggregate(t,
		snap{id: "1", time: t0, size: size(1), verify: "ok", upid: upid},
		snap{id: "1", time: t0 + 60, size: size(1)},
	)["1"]
	if g.Last.Verify != VerifyNone || !g.Last.VerifyTime.IsZero() {
		t.Errorf("newest snapshot never verified: %+v", g.Last)
	}
}

// Encryption follows the PBS web interface: www/datastore/Content.js skips
// index.json.blob ("is never encrypted") and files whose crypt-mode is not
// one of www/Utils.js cryptmap; PBS.Utils.calculateCryptMode says
// "encrypt" only when every counted file is encrypted. Sign-only files
// beside encrypted ones make the snapshot "mixed", not encrypted.
func TestPBSEncryptionRule(t *testing.T) {
	for _, tc := range []struct {
		files []string
		want  bool
	}{
		{[]string{"index.json.blob:sign-only", "drive-scsi0.img.fidx:encrypt", "qemu-server.conf.blob:encrypt"}, true},
		{[]string{"index.json.blob:none", "drive-scsi0.img.fidx:encrypt", "client.log.blob"}, true},
		{[]string{"drive-scsi0.img.fidx:encrypt", "qemu-server.conf.blob:sign-only"}, false},
		{[]string{"drive-scsi0.img.fidx:encrypt", "drive-scsi1.img.fidx:none"}, false},
		{[]string{"drive-scsi0.img.fidx:encrypt", "drive-scsi1.img.fidx:mixed"}, false},
		{[]string{"drive-scsi0.img.fidx:sign-only"}, false},
		{[]string{"drive-scsi0.img.fidx:none"}, false},
		{[]string{"index.json.blob:encrypt"}, false}, // nothing counted
		{[]string{"client.log.blob"}, false},
		{nil, false},
		{[]string{"drive-scsi0.img.fidx:encrypt", "odd.blob:unknown-mode"}, true},
	} {
		g := aggregate(t, snap{id: "1", time: 1, size: size(1), files: tc.files})["1"]
		if g.Last == nil || g.Last.Encrypted != tc.want {
			t.Errorf("files %v: %+v, want encrypted %v", tc.files, g.Last, tc.want)
		}
	}
	// The reused file buffer never leaks a previous item's files.
	g := aggregate(t,
		snap{id: "1", time: 1, size: size(1), files: []string{"a.fidx:encrypt", "b.blob:encrypt", "c.blob:encrypt"}},
		snap{id: "1", time: 2, size: size(1), files: []string{"a.fidx:none"}},
	)["1"]
	if g.Last.Encrypted {
		t.Error("the newest snapshot took the previous one's files")
	}
}

// A task or job state is a success when it is "OK" or "WARNINGS: N":
// proxmox-backup pbs-client/src/task_log.rs display_task_log accepts
// status "OK" or one starting with "WARNINGS"; the GUI's
// www/dashboard/RunningTasks.js shows "WARNINGS:" as a warning, not an
// error.
func TestPBSJobStates(t *testing.T) {
	for state, want := range map[string]bool{
		"OK": true, "WARNINGS: 1": true, "WARNINGS: 42": true,
		"": false, "ok": false, "OK ": false, "WARNINGS:": false, "WARNING: 1": false,
		"verification failed - please check the log for details": false,
		"unexpected status": false, "job errors": false,
	} {
		if got := JobSucceeded(state); got != want {
			t.Errorf("JobSucceeded(%q) = %v, want %v", state, got, want)
		}
	}
	// Through the probe: the tape job ended with warnings, the verify job
	// failed, the prune job never ran (no success metric at all).
	p := simulator.PBSTestScenario(testNow)
	body := metricsText(t, probePBS(t, p, ""))
	for _, want := range []string{
		`proxmox_backup_job_last_run_success{datastore="main",job_id="weekly-tape",job_type="tape"} 1`,
		`proxmox_backup_job_last_run_success{datastore="main",job_id="v-3f2a9c1d-77b0",job_type="verify"} 0`,
		`proxmox_backup_job_last_run_success{datastore="archive",job_id="s-local-copy",job_type="sync"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
	if strings.Contains(body, `job_last_run_success{datastore="main",job_id="p-main-keep"`) {
		t.Error("a job that never ran has a success value")
	}
}

func probePBS(t *testing.T, p *simulator.PBS, extra string) *Result {
	t.Helper()
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return probeSim(t, "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, extra)
}

// estimated-full-date is a prediction only in the future: proxmox-backup
// src/api2/status.rs datastore_status sets it to 0 when the usage is flat
// ("infinite estimate, set to past for gui to detect"), and a regression
// with a falling usage gives a date in the past; with too little history
// it is absent.
func TestPBSEstimatedFull(t *testing.T) {
	for _, tc := range []struct {
		name string
		at   *time.Time
		want bool
	}{
		{"future", ptr(testNow.Add(30 * 24 * time.Hour)), true},
		{"zero: flat usage", ptr(time.Unix(0, 0)), false},
		{"past: shrinking", ptr(testNow.Add(-24 * time.Hour)), false},
		{"now", ptr(testNow), false},
		{"no history", nil, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := simulator.PBSTestScenario(testNow)
			p.Datastores[0].EstimatedFull = tc.at
			r := probePBS(t, p, "")
			var d *Datastore
			for i := range r.PBS.Datastores {
				if r.PBS.Datastores[i].Name == "main" {
					d = &r.PBS.Datastores[i]
				}
			}
			if d == nil || !d.HasUsage {
				t.Fatalf("main: %+v", d)
			}
			if got := !d.FullEstim.IsZero(); got != tc.want {
				t.Errorf("estimate %v kept: %v, want %v", tc.at, got, tc.want)
			}
			body := metricsText(t, r)
			if got := strings.Contains(body, `datastore_estimated_full_timestamp_seconds{datastore="main"}`); got != tc.want {
				t.Errorf("metric present %v, want %v", got, tc.want)
			}
			if tc.want && d.FullEstim.Unix() != tc.at.Unix() {
				t.Errorf("estimate %v, want %v", d.FullEstim, tc.at)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

// The target's datastores filter applies to everything that belongs to a
// datastore: usage, groups, GC and every job type.
func TestPBSDatastoreFilter(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	r := probePBS(t, p, "    datastores: [main]\n")
	for _, c := range r.Collectors {
		if !c.Success {
			t.Errorf("collector %s failed: %v", c.Name, c.Err)
		}
	}
	if len(r.PBS.Datastores) != 1 || r.PBS.Datastores[0].Name != "main" {
		t.Errorf("datastores %+v", r.PBS.Datastores)
	}
	if len(r.PBS.GC) != 1 || r.PBS.GC[0].Datastore != "main" {
		t.Errorf("gc %+v", r.PBS.GC)
	}
	for _, g := range r.PBS.Groups {
		if g.Datastore != "main" {
			t.Errorf("group of %s", g.Datastore)
		}
	}
	types := map[string]int{}
	for _, j := range r.PBS.Jobs {
		types[j.Type]++
		if j.Datastore != "main" {
			t.Errorf("%s job %s of datastore %s passed the filter", j.Type, j.ID, j.Datastore)
		}
	}
	// main keeps one job of each type: the filter is not dropping all.
	for _, typ := range []string{"gc", "verify", "prune", "sync", "tape"} {
		if types[typ] != 1 {
			t.Errorf("%d %s jobs for main, want 1", types[typ], typ)
		}
	}
	if body := metricsText(t, r); strings.Contains(body, `datastore="archive"`) {
		t.Error("metrics of the filtered-out datastore")
	}
	// Without the filter both datastores are there.
	all := probePBS(t, simulator.PBSTestScenario(testNow), "")
	if len(all.PBS.GC) != 2 || len(all.PBS.Datastores) != 2 || job(all, "sync", "s-offsite") == nil {
		t.Errorf("unfiltered: %d gc, %d datastores", len(all.PBS.GC), len(all.PBS.Datastores))
	}
	// A configured datastore the server does not have fails the
	// collectors that list datastores, naming it.
	bad := probePBS(t, simulator.PBSTestScenario(testNow), "    datastores: [main, gone]\n")
	if ok, err := collectorOK(bad, "datastore"); ok || err == nil || !strings.Contains(err.Error(), `"gone"`) {
		t.Errorf("unknown datastore: ok %v err %v", ok, err)
	}
	if len(bad.PBS.Datastores) != 1 {
		t.Errorf("the known datastore is lost: %+v", bad.PBS.Datastores)
	}
}

// target_info carries the version the server reported; a target that did
// not answer has none, and its metrics still encode.
func TestTargetInfo(t *testing.T) {
	body := metricsText(t, probePBS(t, simulator.PBSTestScenario(testNow), ""))
	if !strings.Contains(body, `proxmox_backup_target_info{product="pbs",release="14",version="4.0"} 1`) {
		t.Errorf("no target_info:\n%s", body)
	}
	down := metricsText(t, &Result{Target: "x", Product: "pbs", Collectors: []CollectorStatus{{Name: "version"}}})
	if strings.Contains(down, "target_info") || !strings.Contains(down, "proxmox_backup_up{} 0") {
		t.Errorf("down target:\n%s", down)
	}
}

// A privilege that the API checks on one path (not on objects below it)
// may be granted there without propagation: proxmox-backup
// src/api2/node/tasks.rs list_tasks looks up the privileges of
// /system/tasks itself.
func TestPermissionsExactPathGrant(t *testing.T) {
	acls := slices.Clone(pbsScriptACLs)
	for i := range acls {
		if acls[i].Path == "/system/tasks" {
			acls[i].NoPropagate = true
		}
	}
	p := simulator.PBSTestScenario(testNow)
	p.ACLs = acls
	r := permProbe(t, config.TypePBS, newSimServer(t, p.Handler()).URL, NewPermissionCache(8), nil)
	if got := missingOf(r); len(got) != 0 {
		t.Errorf("missing %q with Sys.Audit granted on /system/tasks alone", got)
	}
	// Datastore.Audit on /datastore without propagation reaches no
	// datastore: that one is missing.
	for i := range acls {
		acls[i].NoPropagate = acls[i].Path == "/datastore"
	}
	p.ACLs = acls
	r = permProbe(t, config.TypePBS, newSimServer(t, p.Handler()).URL, NewPermissionCache(8), nil)
	if got := missingOf(r); !slices.Equal(got, []string{"Datastore.Audit /datastore"}) {
		t.Errorf("missing %q, want Datastore.Audit /datastore", got)
	}
}

// job_info is 1 for every job, with its schedule, comment and direction.
func TestPBSJobInfo(t *testing.T) {
	body := metricsText(t, probePBS(t, simulator.PBSTestScenario(testNow), ""))
	for _, want := range []string{
		`proxmox_backup_job_info{comment="",datastore="main",direction="",job_id="v-3f2a9c1d-77b0",job_type="verify",schedule="daily"} 1`,
		`proxmox_backup_job_info{comment="keep 7 daily, 4 weekly",datastore="main",direction="",job_id="p-main-keep",job_type="prune",schedule="daily"} 1`,
		`proxmox_backup_job_info{comment="",datastore="main",direction="push",job_id="s-push-offsite",job_type="sync",schedule="daily"} 1`,
		`proxmox_backup_job_info{comment="",datastore="archive",direction="",job_id="archive",job_type="gc",schedule="sat 03:00"} 1`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("missing %s", want)
		}
	}
}

// When part of the privilege check fails (here the task list that tells
// whether tape backups ran), the privileges it did establish are still
// reported, and the permissions collector reports the failure.
func TestPermissionsPartialCheck(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	// Without Tape.Audit the check asks the task list whether tape
	// backups ran.
	p.ACLs = slices.DeleteFunc(slices.Clone(pbsScriptACLs), func(a simulator.ACL) bool { return a.Path == "/remote" || a.Path == "/tape" })
	h := p.Handler()
	srv := newSimServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/nodes/localhost/tasks") && r.URL.Query().Get("typefilter") == "tape-backup" {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"data":null,"message":"task list unavailable"}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	r := permProbe(t, config.TypePBS, srv.URL, NewPermissionCache(8), nil)
	if ok, err := collectorOK(r, "permissions"); ok || err == nil {
		t.Errorf("permissions collector: ok %v err %v", ok, err)
	}
	if got := missingOf(r); !slices.Equal(got, []string{"Remote.Audit /remote"}) {
		t.Errorf("missing %q, want Remote.Audit /remote", got)
	}
}

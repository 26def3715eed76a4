package simulator

import (
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

func pveServer(t *testing.T) (*httptest.Server, *PVE) {
	t.Helper()
	p := PVETestScenario(testNow)
	srv := httptest.NewServer(p.Handler())
	t.Cleanup(srv.Close)
	return srv, p
}

const pveAuth = "PVEAPIToken=" + TestPVETokenID + "=" + TestPVETokenSecret

// pveGet fetches a path with the test token and decodes the JSON envelope.
func pveGet(t *testing.T, srv *httptest.Server, path, auth string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/api2/json"+path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultTransport.RoundTrip(req) // no transparent gzip
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("GET %s: body is not JSON: %v", path, err)
	}
	return resp.StatusCode, env
}

func rows(t *testing.T, env map[string]any) []map[string]any {
	t.Helper()
	list, ok := env["data"].([]any)
	if !ok {
		t.Fatalf("data is %T, want an array", env["data"])
	}
	out := make([]map[string]any, len(list))
	for i, x := range list {
		out[i] = x.(map[string]any)
	}
	return out
}

func TestPVEAuth(t *testing.T) {
	srv, _ := pveServer(t)
	for _, tc := range []struct {
		auth string
		want int
	}{
		{pveAuth, 200},
		{"PVEAPIToken " + TestPVETokenID + "=" + TestPVETokenSecret, 200}, // a space instead of the first "="
		{"PVEAPIToken=" + TestPVETokenID + "=wrong", 401},
		{"PBSAPIToken=" + TestPVETokenID + ":" + TestPVETokenSecret, 401},
		{"", 401},
	} {
		status, env := pveGet(t, srv, "/version", tc.auth)
		if status != tc.want {
			t.Errorf("%q: %d, want %d", tc.auth, status, tc.want)
		}
		if status == 401 && (env["data"] != nil || !strings.Contains(env["message"].(string), "authentication failure")) {
			t.Errorf("401 body = %v", env)
		}
	}
}

func TestPVEShapes(t *testing.T) {
	srv, _ := pveServer(t)
	_, env := pveGet(t, srv, "/version", pveAuth)
	if v := env["data"].(map[string]any); v["version"] != "8.4.14" || v["release"] != "8.4" {
		t.Errorf("version = %v", v)
	}

	_, env = pveGet(t, srv, "/cluster/resources?type=vm", pveAuth)
	guests := rows(t, env)
	if len(guests) != 8 {
		t.Fatalf("%d guests", len(guests))
	}
	for _, g := range guests {
		if _, ok := g["vmid"].(float64); !ok {
			t.Errorf("vmid is %T, want a number", g["vmid"])
		}
		if tmpl := g["template"]; tmpl != float64(0) && tmpl != float64(1) {
			t.Errorf("template = %v, want 0/1", tmpl)
		}
		if g["type"] != "qemu" && g["type"] != "lxc" {
			t.Errorf("type = %v", g["type"])
		}
	}

	_, env = pveGet(t, srv, "/cluster/backup", pveAuth)
	for _, j := range rows(t, env) {
		if j["id"] == "backup-old-scratch" {
			if j["enabled"] != float64(0) {
				t.Errorf("disabled job: enabled = %v", j["enabled"])
			}
		} else if _, has := j["enabled"]; has {
			t.Errorf("job %v: enabled must be absent when 1", j["id"])
		}
		if j["id"] == "backup-vmids-weekly" && j["vmid"] != "103,102" {
			t.Errorf("vmid list = %v, want the comma-separated string", j["vmid"])
		}
		if _, ok := j["prune-backups"].(map[string]any); !ok {
			t.Errorf("prune-backups is %T, want an object", j["prune-backups"])
		}
	}

	_, env = pveGet(t, srv, "/nodes/pve1/time", pveAuth)
	tm := env["data"].(map[string]any)
	if tm["timezone"] != "Europe/Vienna" || tm["localtime"].(float64)-tm["time"].(float64) != 3600 {
		t.Errorf("time = %v", tm)
	}

	status, env := pveGet(t, srv, "/nodes/pve3/storage", pveAuth)
	if status != 595 || env["data"] != nil {
		t.Errorf("offline node: %d %v", status, env)
	}
}

func TestPVEStorageContent(t *testing.T) {
	srv, _ := pveServer(t)
	_, env := pveGet(t, srv, "/nodes/pve1/storage?content=backup", pveAuth)
	names := map[string]map[string]any{}
	for _, s := range rows(t, env) {
		names[s["storage"].(string)] = s
	}
	if _, ok := names["nfs-old"]; !ok {
		t.Error("the disabled storage must still be listed, with enabled 0")
	} else if names["nfs-old"]["enabled"] != float64(0) || names["nfs-old"]["active"] != float64(0) {
		t.Errorf("nfs-old = %v", names["nfs-old"])
	}
	if _, has := names["nfs-old"]["used_fraction"]; has {
		t.Error("used_fraction must be absent when total is 0")
	}

	_, env = pveGet(t, srv, "/nodes/pve1/storage/pbs/content?content=backup", pveAuth)
	var unfinished, failed int
	for _, v := range rows(t, env) {
		volid := v["volid"].(string)
		if !strings.HasPrefix(volid, "pbs:backup/vm/") && !strings.HasPrefix(volid, "pbs:backup/ct/") || !strings.HasSuffix(volid, "Z") {
			t.Errorf("PBS volid %q", volid)
		}
		if v["size"] == float64(1) {
			unfinished++
		}
		if vr, ok := v["verification"].(map[string]any); ok && vr["state"] == "failed" {
			failed++
			if !strings.HasPrefix(vr["upid"].(string), "UPID:pbs:") {
				t.Errorf("verification upid %v", vr["upid"])
			}
		}
	}
	if unfinished != 1 || failed != 1 {
		t.Errorf("unfinished %d, failed verifications %d; want 1 and 1", unfinished, failed)
	}

	_, env = pveGet(t, srv, "/nodes/pve1/storage/local/content?content=backup", pveAuth)
	var odd, noSize int
	for _, v := range rows(t, env) {
		volid := v["volid"].(string)
		if _, has := v["vmid"]; !has {
			odd++
			continue
		}
		if !strings.HasPrefix(volid, "local:backup/vzdump-qemu-100-") {
			t.Errorf("dir volid %q", volid)
		}
		if _, has := v["size"]; !has {
			noSize++
		}
	}
	if odd != 1 || noSize != 1 {
		t.Errorf("odd names %d, without size %d; want 1 and 1", odd, noSize)
	}
}

func TestPVETasksAndLogs(t *testing.T) {
	srv, p := pveServer(t)
	_, env := pveGet(t, srv, "/nodes/pve2/tasks?typefilter=vzdump", pveAuth)
	for _, r := range rows(t, env) {
		if r["status"] == "RUNNING" {
			t.Error("the default source=archive must not list running tasks")
		}
	}
	_, env = pveGet(t, srv, "/nodes/pve2/tasks?typefilter=vzdump&source=all", pveAuth)
	list := rows(t, env)
	if env["total"] != float64(len(list)) || len(list) != 3 {
		t.Fatalf("total %v, %d rows", env["total"], len(list))
	}
	if list[0]["status"] != "RUNNING" {
		t.Errorf("newest first: %v", list[0])
	}
	if _, has := list[0]["endtime"]; has {
		t.Error("a running task has no endtime")
	}

	upid := list[1]["upid"].(string)
	_, env = pveGet(t, srv, "/nodes/pve2/tasks/"+upid+"/log", pveAuth)
	short := rows(t, env)
	_, env = pveGet(t, srv, "/nodes/pve2/tasks/"+upid+"/log?limit=0", pveAuth)
	all := rows(t, env)
	if env["total"] != float64(len(all)) {
		t.Errorf("total %v, %d lines", env["total"], len(all))
	}
	if len(short) > 50 || len(all) < len(short) {
		t.Errorf("default limit: %d lines, all: %d", len(short), len(all))
	}
	if all[0]["n"] != float64(1) || !strings.HasPrefix(all[0]["t"].(string), "INFO: starting new backup job: vzdump ") {
		t.Errorf("first line %v", all[0])
	}
	if last := all[len(all)-1]["t"]; last != "TASK OK" {
		t.Errorf("last line %v", last)
	}
	_, env = pveGet(t, srv, "/nodes/pve2/tasks/"+upid+"/log?start=10&limit=5", pveAuth)
	page := rows(t, env)
	if len(page) != 5 || page[0]["n"] != float64(11) {
		t.Errorf("page: %v", page)
	}

	// Log lines print node-local time: pve1 is in Vienna (UTC+1 in November).
	log := strings.Join(p.Tasks[0].log(p.location("pve1"), p.args(&p.Tasks[0])), "\n")
	local := p.Tasks[0].Guests[0].Start.In(p.location("pve1")).Format("2006-01-02 15:04:05")
	if !strings.Contains(log, "INFO: Backup started at "+local) || p.Tasks[0].Guests[0].Start.UTC().Format("15:04") == local[11:16] {
		t.Errorf("log does not print Vienna time %s:\n%s", local, log)
	}
	if !strings.Contains(log, "ERROR: Backup of VM 101 failed - ") || !strings.HasSuffix(log, "TASK ERROR: job errors") {
		t.Errorf("failed guest not logged as vzdump does:\n%s", log)
	}
}

func TestPVEGzipOver1K(t *testing.T) {
	srv, _ := pveServer(t)
	get := func(path string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+"/api2/json"+path, nil)
		req.Header.Set("Authorization", pveAuth)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		return resp
	}
	small := get("/version")
	small.Body.Close()
	if small.Header.Get("Content-Encoding") != "" {
		t.Error("a small response must not be compressed")
	}
	big := get("/cluster/resources")
	defer big.Body.Close()
	if big.Header.Get("Content-Encoding") != "gzip" {
		t.Fatal("a response over 1 KiB must be gzipped")
	}
	zr, err := gzip.NewReader(big.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
}

// The failure shapes the exporter must read, as pve-manager writes them:
// PVE/VZDump.pm new dies before any log line, getlock exits without a TASK
// line, exec_backup_task refuses a guest before "Starting Backup", and
// pve-guest-common PVE/VZDump/Common.pm command_line never prints the job id.
func TestPVEFailureShapes(t *testing.T) {
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	p := PVETestScenario(now)
	start := now.Add(-time.Hour)
	early := PVETask{Node: "pve1", Start: start, End: start.Add(time.Second), InitError: "could not activate storage 'pbs': no route\ntmpdir '/x' does not exist"}
	if l := early.log(time.UTC, ""); len(l) != 1 || l[0] != "TASK ERROR: could not activate storage 'pbs': no route tmpdir '/x' does not exist" {
		t.Errorf("early failure log %q", l)
	}
	if s := early.status(); s != "could not activate storage 'pbs': no route tmpdir '/x' does not exist" {
		t.Errorf("early failure status %q", s)
	}
	lock := PVETask{Node: "pve1", Start: start, End: start.Add(time.Hour), LockTimeout: true}
	if l := lock.log(time.UTC, ""); len(l) != 2 || strings.HasPrefix(l[len(l)-1], "TASK") || lock.status() != "unexpected status" {
		t.Errorf("lock timeout: %q, status %q", l, lock.status())
	}
	refused := PVETask{Node: "pve1", Start: start, End: start.Add(time.Minute), VMID: "106", Job: "backup-all",
		Guests: []PVETaskGuest{{VMID: 106, Start: start, Refused: true, Error: "unable to find VM '106'"}}}
	l := refused.log(time.UTC, p.args(&refused))
	joined := strings.Join(l, "\n")
	if strings.Contains(joined, "Starting Backup") || !strings.Contains(joined, "ERROR: Backup of VM 106 failed - unable to find VM '106'\nINFO: Failed at ") || refused.status() != "job errors" {
		t.Errorf("refused guest: status %q\n%s", refused.status(), joined)
	}
	if !strings.HasPrefix(l[0], "INFO: starting new backup job: vzdump --") || strings.Contains(l[0], "job-id") || !strings.Contains(l[0], "--quiet 1") || !strings.Contains(l[0], "--exclude 100,101,104") || strings.Contains(l[0], "--node") {
		t.Errorf("scheduled run's command line: %s", l[0])
	}
	// The vmid list keeps its configured order (split_list).
	one := PVETask{Node: "pve1", Start: start, End: start.Add(time.Minute), Job: "backup-vmids-weekly"}
	if args := p.args(&one); !strings.HasPrefix(args, "103 102 --") || !strings.Contains(args, "--mode stop") {
		t.Errorf("vmid job's command line: %s", args)
	}
}

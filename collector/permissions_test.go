package collector

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/simulator"
)

// simServer serves a simulator and counts the calls of each path.
type simServer struct {
	*httptest.Server
	mu    sync.Mutex
	calls map[string]int
}

func newSimServer(t *testing.T, h http.Handler) *simServer {
	s := &simServer{calls: map[string]int{}}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[strings.TrimPrefix(r.URL.Path, "/api2/json")]++
		s.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *simServer) count(path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[path]
}

// syncBuffer is a log sink that the probe's goroutines may share.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// permProbe probes a simulator through the given cache and log.
func permProbe(t *testing.T, typ, url string, pc *PermissionCache, log *syncBuffer) *Result {
	t.Helper()
	id, secret := simulator.TestPVETokenID, simulator.TestPVETokenSecret
	if typ == config.TypePBS {
		id, secret = simulator.TestPBSTokenID, simulator.TestPBSTokenSecret
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf("targets:\n  sim:\n    type: %s\n    url: %s\n    token_id: %q\n    token_secret: %q\n", typ, url, id, secret)))
	if err != nil {
		t.Fatal(err)
	}
	tg := cfg.Targets["sim"]
	c, err := proxmox.New(tg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	logger := slog.New(slog.DiscardHandler)
	if log != nil {
		logger = slog.New(slog.NewTextHandler(log, nil))
	}
	return Probe(ctx, tg, c.Session(secret), Options{Now: func() time.Time { return testNow }, Permissions: pc, Logger: logger})
}

func missingOf(r *Result) []string {
	var out []string
	for _, m := range r.Missing {
		out = append(out, m.Privilege+" "+m.Path)
	}
	slices.Sort(out)
	return out
}

// pveScriptACLs are the grants of scripts/create-pve-token.sh: the roles
// BackupMonitor on / and BackupMonitorVolumes on /vms and on each backup
// storage.
func pveScriptACLs(p *simulator.PVE) []simulator.ACL {
	acls := []simulator.ACL{
		{Path: "/", Privs: []string{"Sys.Audit", "VM.Audit"}},
		{Path: "/vms", Privs: []string{"Datastore.AllocateSpace", "VM.Audit", "VM.Backup"}},
	}
	for _, s := range p.Storages {
		acls = append(acls, simulator.ACL{Path: "/storage/" + s.Name, Privs: []string{"Datastore.AllocateSpace", "VM.Audit", "VM.Backup"}})
	}
	return acls
}

// A grant on /vms replaces, for the same token, what / gave (pve-access-control
// PVE/AccessControl.pm roles: a deeper level with grants takes the place of
// the inherited roles).
// A volume role without VM.Audit on /vms therefore hides every guest from
// GET /cluster/resources (pve-manager PVE/API2/Cluster.pm resources), with
// HTTP 200: only the permission check can tell.
func TestPermissionsPVEMissingVMAudit(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	p.ACLs = pveScriptACLs(p)
	p.ACLs[1].Privs = []string{"Datastore.AllocateSpace", "VM.Backup"}
	srv := newSimServer(t, p.Handler())
	r := permProbe(t, config.TypePVE, srv.URL, NewPermissionCache(8), nil)

	if ok, err := collectorOK(r, "guests"); !ok {
		t.Fatalf("the guest listing answered 200 and must not fail: %v", err)
	}
	if len(r.PVE.Guests) != 0 {
		t.Errorf("%d guests seen without VM.Audit, want none", len(r.PVE.Guests))
	}
	if ok, err := collectorOK(r, "permissions"); !ok {
		t.Fatalf("permissions collector: %v", err)
	}
	if got, want := missingOf(r), []string{"VM.Audit /vms"}; !slices.Equal(got, want) {
		t.Errorf("missing %q, want %q", got, want)
	}
	body := metricsText(t, r)
	if !strings.Contains(body, `proxmox_backup_token_missing_privilege{path="/vms",privilege="VM.Audit"} 1`) {
		t.Errorf("no missing-privilege metric in\n%s", body)
	}
}

func TestPermissionsPVEScriptGrantsSuffice(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.Nodes[2].Offline = false
	want := len(p.Guests)
	p.ACLs = pveScriptACLs(p)
	r := permProbe(t, config.TypePVE, newSimServer(t, p.Handler()).URL, NewPermissionCache(8), nil)
	if got := missingOf(r); len(got) != 0 {
		t.Errorf("the script's grants are reported short of %q", got)
	}
	if len(r.PVE.Guests) != want {
		t.Errorf("%d guests, want %d", len(r.PVE.Guests), want)
	}
	if strings.Contains(metricsText(t, r), "token_missing_privilege") {
		t.Error("a missing-privilege metric for a sufficient token")
	}
}

func TestPermissionsPVEEachPrivilege(t *testing.T) {
	for _, tc := range []struct {
		name string
		acls []simulator.ACL
		want []string
	}{
		{"nothing", []simulator.ACL{}, []string{"Datastore.AllocateSpace /storage", "Sys.Audit /", "Sys.Audit /nodes", "VM.Audit /vms", "VM.Backup /vms"}},
		{"auditor only", []simulator.ACL{{Path: "/", Privs: []string{"Sys.Audit", "VM.Audit", "Datastore.Audit"}}}, []string{"Datastore.AllocateSpace /storage", "VM.Backup /vms"}},
		// Datastore.Allocate passes check_volume_access without VM.Backup.
		{"storage admin", []simulator.ACL{{Path: "/", Privs: []string{"Sys.Audit", "VM.Audit", "Datastore.Allocate"}}}, nil},
		// Grants on single guests and storages are a choice, not a fault.
		{"some guests", []simulator.ACL{
			{Path: "/", Privs: []string{"Sys.Audit"}},
			{Path: "/vms/100", Privs: []string{"VM.Audit", "VM.Backup"}},
			{Path: "/storage/pbs-main", Privs: []string{"Datastore.AllocateSpace"}},
		}, nil},
		// Not propagated from /vms: no guest below it gets the privilege.
		{"not propagated", []simulator.ACL{
			{Path: "/", Privs: []string{"Sys.Audit", "Datastore.AllocateSpace"}},
			{Path: "/vms", Privs: []string{"VM.Audit", "VM.Backup"}, NoPropagate: true},
		}, []string{"VM.Audit /vms", "VM.Backup /vms"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := simulator.PVETestScenario(testNow)
			p.ACLs = tc.acls
			r := permProbe(t, config.TypePVE, newSimServer(t, p.Handler()).URL, NewPermissionCache(8), nil)
			if got := missingOf(r); !slices.Equal(got, tc.want) {
				t.Errorf("missing %q, want %q", got, tc.want)
			}
		})
	}
}

// pbsScriptACLs are the grants of scripts/create-pbs-token.sh.
var pbsScriptACLs = []simulator.ACL{
	{Path: "/datastore", Privs: []string{"Datastore.Audit"}},
	{Path: "/remote", Privs: []string{"Remote.Audit"}},
	{Path: "/tape", Privs: []string{"Tape.Audit"}},
	{Path: "/system/tasks", Privs: []string{"Sys.Audit", "Datastore.Audit"}},
}

func TestPermissionsPBS(t *testing.T) {
	without := func(path string) []simulator.ACL {
		return slices.DeleteFunc(slices.Clone(pbsScriptACLs), func(a simulator.ACL) bool { return a.Path == path })
	}
	for _, tc := range []struct {
		name   string
		acls   []simulator.ACL
		noTape bool
		want   []string
	}{
		{"script grants", pbsScriptACLs, false, nil},
		{"no /system/tasks", without("/system/tasks"), false, []string{"Sys.Audit /system/tasks"}},
		// Tape.Audit is needed only where tape backups ran.
		{"no tape audit, tape in use", without("/tape"), false, []string{"Tape.Audit /tape"}},
		{"no tape audit, no tape", without("/tape"), true, nil},
		{"no remote audit", without("/remote"), false, []string{"Remote.Audit /remote"}},
		// The built-in Audit role on / holds Sys.Audit and Datastore.Audit.
		{"audit on root", []simulator.ACL{{Path: "/", Privs: []string{"Sys.Audit", "Datastore.Audit"}}}, true, []string{"Remote.Audit /remote"}},
		{"nothing", []simulator.ACL{}, false, []string{"Datastore.Audit /datastore", "Remote.Audit /remote", "Sys.Audit /system/tasks"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := simulator.PBSTestScenario(testNow)
			p.ACLs = tc.acls
			if tc.noTape {
				p.TapeJobs = nil
			}
			r := permProbe(t, config.TypePBS, newSimServer(t, p.Handler()).URL, NewPermissionCache(8), nil)
			if ok, err := collectorOK(r, "permissions"); !ok {
				t.Fatalf("permissions collector: %v", err)
			}
			if got := missingOf(r); !slices.Equal(got, tc.want) {
				t.Errorf("missing %q, want %q", got, tc.want)
			}
		})
	}
}

// The check runs at most once a minute per target, and a change is logged
// once, not at every probe.
func TestPermissionsCachedAndLoggedOnce(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	p.ACLs = pbsScriptACLs[:3] // no Sys.Audit on /system/tasks
	srv := newSimServer(t, p.Handler())
	pc := NewPermissionCache(8)
	var log syncBuffer
	for range 3 {
		r := permProbe(t, config.TypePBS, srv.URL, pc, &log)
		if got := missingOf(r); !slices.Equal(got, []string{"Sys.Audit /system/tasks"}) {
			t.Fatalf("missing %q", got)
		}
	}
	calls := srv.count("/access/permissions")
	if calls != 2 { // the whole tree, then /system/tasks alone
		t.Errorf("%d permission calls for three probes in a minute, want 2", calls)
	}
	if n := strings.Count(log.String(), "lacks privileges"); n != 1 {
		t.Errorf("logged %d times, want once:\n%s", n, log.String())
	}

	// Expired: asked again; unchanged: not logged again.
	pc.TTL = 0
	permProbe(t, config.TypePBS, srv.URL, pc, &log)
	if got := srv.count("/access/permissions"); got <= calls {
		t.Errorf("an expired entry was not checked again (%d calls)", got)
	}
	if n := strings.Count(log.String(), "lacks privileges"); n != 1 {
		t.Errorf("an unchanged result was logged again:\n%s", log.String())
	}
	// Fixed: logged once more, and the metric is gone.
	p.ACLs = pbsScriptACLs
	r := permProbe(t, config.TypePBS, srv.URL, pc, &log)
	if len(r.Missing) != 0 || !strings.Contains(log.String(), "holds every privilege") {
		t.Errorf("missing %v after the fix; log:\n%s", r.Missing, log.String())
	}
}

func TestPermissionCacheBounded(t *testing.T) {
	pc := NewPermissionCache(2)
	for range 3 {
		p := simulator.PBSTestScenario(testNow)
		permProbe(t, config.TypePBS, newSimServer(t, p.Handler()).URL, pc, nil)
	}
	if n := pc.Len(); n != 2 {
		t.Errorf("cache holds %d targets, want at most 2", n)
	}
}

// A failed check fails the permissions collector alone and exports no
// missing privilege.
func TestPermissionsCallFails(t *testing.T) {
	p := simulator.PBSTestScenario(testNow)
	h := p.Handler()
	var denied atomic.Bool
	denied.Store(true)
	srv := newSimServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if denied.Load() && strings.HasSuffix(r.URL.Path, "/access/permissions") {
			http.Error(w, `{"data":null,"message":"permission check failed"}`, http.StatusForbidden)
			return
		}
		h.ServeHTTP(w, r)
	}))
	r := permProbe(t, config.TypePBS, srv.URL, NewPermissionCache(8), nil)
	if ok, _ := collectorOK(r, "permissions"); ok {
		t.Error("the permissions collector succeeded on a 403")
	}
	if ok, err := collectorOK(r, "groups"); !ok {
		t.Errorf("the groups collector failed with it: %v", err)
	}
	if len(r.Missing) != 0 {
		t.Errorf("missing %v from a failed check", r.Missing)
	}
}

// metricsText writes a result's metrics in the text format.
func metricsText(t *testing.T, r *Result) string {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewMetrics(r))
	var b strings.Builder
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var labels []string
			for _, l := range m.GetLabel() {
				labels = append(labels, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			fmt.Fprintf(&b, "%s{%s} %g\n", mf.GetName(), strings.Join(labels, ","), m.GetGauge().GetValue())
		}
	}
	return b.String()
}

// Answers of the wrong shape fail the check without a panic and without
// a missing privilege that nobody established.
func TestPermissionsBadAnswers(t *testing.T) {
	for _, body := range []string{
		`{"data":[1,2]}`,
		`{"data":{"/":{"Sys.Audit":"maybe"}}}`,
		`{"data":{"/":[]}}`,
		`{"data":"x"}`,
		`{"data":{"/vms":{"VM.Audit":1}`,
	} {
		p := simulator.PVETestScenario(testNow)
		h := p.Handler()
		srv := newSimServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(r.URL.Path, "/access/permissions") {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, body)
				return
			}
			h.ServeHTTP(w, r)
		}))
		r := permProbe(t, config.TypePVE, srv.URL, NewPermissionCache(8), nil)
		if ok, _ := collectorOK(r, "permissions"); ok || len(r.Missing) != 0 {
			t.Errorf("%s: success %v, missing %v", body, ok, r.Missing)
		}
	}
	// null: no privilege anywhere, as PVE answers a token without ACLs.
	p := simulator.PVETestScenario(testNow)
	h := p.Handler()
	srv := newSimServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/access/permissions") {
			fmt.Fprint(w, `{"data":null}`)
			return
		}
		h.ServeHTTP(w, r)
	}))
	r := permProbe(t, config.TypePVE, srv.URL, NewPermissionCache(8), nil)
	if ok, err := collectorOK(r, "permissions"); !ok || len(r.Missing) != 5 {
		t.Errorf("null answer: success %v (%v), missing %v", ok, err, r.Missing)
	}
}

// Concurrent probes of one target share one check.
func TestPermissionsConcurrentProbesShareTheCheck(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	p.ACLs = []simulator.ACL{{Path: "/", Privs: []string{"Sys.Audit"}}}
	srv := newSimServer(t, p.Handler())
	pc := NewPermissionCache(8)
	var wg sync.WaitGroup
	results := make([]*Result, 8)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i] = permProbe(t, config.TypePVE, srv.URL, pc, nil)
		}()
	}
	wg.Wait()
	if n := srv.count("/access/permissions"); n != 1 {
		t.Errorf("%d permission calls for 8 concurrent probes, want 1", n)
	}
	for i, r := range results {
		if got := missingOf(r); len(got) != 3 {
			t.Errorf("probe %d: missing %q", i, got)
		}
	}
}

package simulator

import (
	"net/http/httptest"
	"reflect"
	"testing"
)

// A deeper grant replaces, for the same token, what the levels above gave;
// a grant that does not propagate holds on its own path only
// (pve-access-control PVE/AccessControl.pm roles; proxmox-backup
// pbs-config/src/acl.rs AclTree::roles).
func TestACLPrivs(t *testing.T) {
	a := acls{
		{Path: "/", Privs: []string{"Sys.Audit", "VM.Audit"}},
		{Path: "/vms", Privs: []string{"VM.Backup"}},
		{Path: "/storage/local", Privs: []string{"Datastore.Audit"}, NoPropagate: true},
	}
	for _, tc := range []struct {
		path string
		want map[string]bool
	}{
		{"/", map[string]bool{"Sys.Audit": true, "VM.Audit": true}},
		{"/nodes/pve1", map[string]bool{"Sys.Audit": true, "VM.Audit": true}},
		{"/vms/100", map[string]bool{"VM.Backup": true}},
		{"/storage/local", map[string]bool{"Datastore.Audit": false}},
		{"/storage/local/x", map[string]bool{"Sys.Audit": true, "VM.Audit": true}},
	} {
		if got := a.privs(tc.path); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: %v, want %v", tc.path, got, tc.want)
		}
	}
}

// GET /access/permissions: path -> privilege -> propagate, 1/0 on PVE
// (pve-access-control PVE/API2/AccessControl.pm permissions,
// PVE/RPCEnvironment.pm get_effective_permissions), booleans on PBS
// (proxmox-backup src/api2/access/mod.rs list_permissions); paths without a
// privilege are left out; ?path= asks for one path.
func TestPermissionsShapes(t *testing.T) {
	pve := PVETestScenario(testNow)
	pve.ACLs = []ACL{{Path: "/", Privs: []string{"Sys.Audit"}}, {Path: "/vms/100", Privs: []string{"VM.Audit"}, NoPropagate: true}, {Path: "/pool/x", Privs: []string{}}}
	srv := httptest.NewServer(pve.Handler())
	t.Cleanup(srv.Close)
	_, env := pveGet(t, srv, "/access/permissions", pveAuth)
	data := env["data"].(map[string]any)
	if got := data["/vms/100"]; !reflect.DeepEqual(got, map[string]any{"VM.Audit": float64(0)}) {
		t.Errorf("/vms/100: %v", got)
	}
	if got := data["/nodes"]; !reflect.DeepEqual(got, map[string]any{"Sys.Audit": float64(1)}) {
		t.Errorf("/nodes (a default path): %v", got)
	}
	if _, ok := data["/access/groups"]; !ok {
		t.Error("a default path with privileges is missing")
	}
	_, env = pveGet(t, srv, "/access/permissions?path=/vms/101", pveAuth)
	if got := env["data"]; !reflect.DeepEqual(got, map[string]any{"/vms/101": map[string]any{"Sys.Audit": float64(1)}}) {
		t.Errorf("?path=/vms/101: %v", got)
	}
	// The guest without VM.Audit is hidden, with 200.
	status, env := pveGet(t, srv, "/cluster/resources?type=vm", pveAuth)
	if got := rows(t, env); status != 200 || len(got) != 1 || got[0]["vmid"] != float64(100) {
		t.Errorf("resources %d %v", status, got)
	}

	pbs := PBSTestScenario(testNow)
	pbs.ACLs = []ACL{{Path: "/datastore", Privs: []string{"Datastore.Audit"}}}
	srv = httptest.NewServer(pbs.Handler())
	t.Cleanup(srv.Close)
	_, env = pveGet(t, srv, "/access/permissions", pbsAuth)
	if got := env["data"]; !reflect.DeepEqual(got, map[string]any{"/datastore": map[string]any{"Datastore.Audit": true}}) {
		t.Errorf("pbs: %v", got)
	}
	_, env = pveGet(t, srv, "/access/permissions?path=/system/tasks", pbsAuth)
	if got := env["data"]; !reflect.DeepEqual(got, map[string]any{}) {
		t.Errorf("pbs ?path=/system/tasks without privileges: %v", got)
	}
	if status, _ := pveGet(t, srv, "/access/permissions?auth-id=root@pam", pbsAuth); status != 400 {
		t.Errorf("another user's permissions: %d", status)
	}
	// Tasks of root@pam are hidden without Sys.Audit on /system/tasks;
	// tape and push-sync jobs without Tape.Audit and Remote.Audit.
	for _, path := range []string{"/nodes/localhost/tasks", "/tape/backup", "/admin/sync?sync-direction=push"} {
		if _, env := pveGet(t, srv, path, pbsAuth); len(rows(t, env)) != 0 {
			t.Errorf("%s lists %v", path, rows(t, env))
		}
	}
}

func TestPBSSyncDirection(t *testing.T) {
	pbs := PBSTestScenario(testNow)
	srv := httptest.NewServer(pbs.Handler())
	t.Cleanup(srv.Close)
	for _, tc := range []struct {
		query  string
		status int
		ids    []string
	}{
		{"", 200, []string{"s-offsite", "s-local-copy"}},
		{"?sync-direction=pull", 200, []string{"s-offsite", "s-local-copy"}},
		{"?sync-direction=push", 200, []string{"s-push-offsite"}},
		{"?sync-direction=all", 200, []string{"s-offsite", "s-local-copy", "s-push-offsite"}},
		{"?sync-direction=both", 400, nil},
	} {
		status, env := pveGet(t, srv, "/admin/sync"+tc.query, pbsAuth)
		var ids []string
		if status == 200 {
			for _, r := range rows(t, env) {
				ids = append(ids, r["id"].(string))
				if r["sync-direction"] == nil {
					t.Errorf("%s: no sync-direction in %v", tc.query, r)
				}
			}
		}
		if status != tc.status || !reflect.DeepEqual(ids, tc.ids) {
			t.Errorf("%q: %d %v, want %d %v", tc.query, status, ids, tc.status, tc.ids)
		}
	}
	pbs.NoSyncDirection = true
	if status, _ := pveGet(t, srv, "/admin/sync?sync-direction=all", pbsAuth); status != 400 {
		t.Errorf("an old server accepted sync-direction: %d", status)
	}
	if _, env := pveGet(t, srv, "/admin/sync", pbsAuth); len(rows(t, env)) != 3 || rows(t, env)[0]["sync-direction"] != nil {
		t.Errorf("old server listing: %v", rows(t, env))
	}
}

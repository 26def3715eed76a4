package simulator

import (
	"net/http"
	"strings"
)

// ACL grants privileges on a path to the scenario's token and to its user
// alike (both products intersect the two, so granting both is what makes a
// token see anything). A scenario without ACLs has a token that may do
// everything, as root@pam's tokens without privilege separation may.
type ACL struct {
	Path string `yaml:"path"`
	// Privs are the privileges of the granted role.
	Privs []string `yaml:"privs"`
	// NoPropagate limits the grant to the path itself.
	NoPropagate bool `yaml:"no_propagate"`
}

// acls is a scenario's ACL list.
type acls []ACL

// allPrivs is what a token of an ACL-free scenario holds everywhere.
var allPrivs = []string{
	"Datastore.Allocate", "Datastore.AllocateSpace", "Datastore.Audit", "Datastore.Backup",
	"Datastore.Modify", "Datastore.Prune", "Datastore.Read", "Datastore.Verify",
	"Remote.Audit", "Sys.Audit", "Sys.Modify", "Tape.Audit",
	"VM.Audit", "VM.Backup", "VM.Config.Options", "VM.PowerMgmt",
}

// privs returns the privileges held on path, each with its propagate flag.
// Like Proxmox, it walks the path from the root; a level that has grants
// for the token replaces what the levels above gave, and a grant applies
// below its own path only when it propagates (pve-access-control
// PVE/AccessControl.pm roles; proxmox-backup pbs-config/src/acl.rs
// AclTree::roles).
func (a acls) privs(path string) map[string]bool {
	if a == nil {
		out := map[string]bool{}
		for _, p := range allPrivs {
			out[p] = true
		}
		return out
	}
	path = "/" + strings.Trim(path, "/")
	var levels []string
	levels = append(levels, "/")
	if path != "/" {
		parts := strings.Split(strings.TrimPrefix(path, "/"), "/")
		for i := range parts {
			levels = append(levels, "/"+strings.Join(parts[:i+1], "/"))
		}
	}
	held := map[string]bool{}
	for i, level := range levels {
		final := i == len(levels)-1
		var next map[string]bool
		for _, acl := range a {
			if "/"+strings.Trim(acl.Path, "/") != level || (!final && acl.NoPropagate) {
				continue
			}
			if next == nil {
				next = map[string]bool{}
			}
			for _, p := range acl.Privs {
				next[p] = next[p] || !acl.NoPropagate
			}
		}
		if next != nil {
			held = next
		}
	}
	return held
}

// can reports whether the token holds priv on path.
func (a acls) can(path, priv string) bool {
	_, ok := a.privs(path)[priv]
	return ok
}

// permissionsAnswer builds GET /access/permissions: the given path alone, or
// the default paths and every path that has an ACL (and its parents),
// leaving out paths without any privilege. PVE writes the propagate flag as
// 1 or 0, PBS as a boolean.
func (a acls) permissionsAnswer(path string, defaults []string, numeric bool) map[string]map[string]any {
	paths := map[string]bool{}
	if path != "" {
		paths[path] = true
	} else {
		for _, p := range defaults {
			paths[p] = true
		}
		for _, acl := range a {
			p := strings.Trim(acl.Path, "/")
			parts := strings.Split(p, "/")
			for i := range parts {
				if parts[0] != "" {
					paths["/"+strings.Join(parts[:i+1], "/")] = true
				}
			}
		}
	}
	out := map[string]map[string]any{}
	for p := range paths {
		held := a.privs(p)
		if len(held) == 0 {
			continue
		}
		row := map[string]any{}
		for priv, prop := range held {
			if numeric {
				row[priv] = b01(prop)
			} else {
				row[priv] = prop
			}
		}
		out[p] = row
	}
	return out
}

// PVE: pve-access-control PVE/API2/AccessControl.pm permissions. A token
// may read its own permissions; another user's need Sys.Audit on /access.
func (p *PVE) permissions(_ http.ResponseWriter, r *http.Request) (any, int, string) {
	q := r.URL.Query()
	if id := q.Get("userid"); id != "" && id != p.TokenID && !p.ACLs.can("/access", "Sys.Audit") {
		return nil, http.StatusForbidden, "Permission check failed (/access, Sys.Audit)"
	}
	defaults := []string{"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"}
	return p.ACLs.permissionsAnswer(q.Get("path"), defaults, true), 0, ""
}

// PBS: proxmox-backup src/api2/access/mod.rs list_permissions.
func (p *PBS) permissions(_ http.ResponseWriter, r *http.Request) (any, int, string) {
	q := r.URL.Query()
	if id := q.Get("auth-id"); id != "" && id != p.TokenID && !p.ACLs.can("/access", "Sys.Audit") {
		return nil, http.StatusBadRequest, "not allowed to list permissions of " + id
	}
	defaults := []string{"/", "/access", "/datastore", "/remote", "/system"}
	return p.ACLs.permissionsAnswer(q.Get("path"), defaults, false), 0, ""
}

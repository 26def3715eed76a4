package collector

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
)

// MissingPrivilege is a privilege that one of the exporter's calls needs and
// the token does not hold. Proxmox answers such calls with 200 and shorter
// lists more often than with 403, so only this check makes a wrong token
// loud.
type MissingPrivilege struct {
	Path      string
	Privilege string
	// Needed says, in plain words, what the exporter cannot see without it.
	Needed string
}

// String is the status page's and the log's wording.
func (m MissingPrivilege) String() string {
	return fmt.Sprintf("the token lacks %s on %s: %s", m.Privilege, m.Path, m.Needed)
}

// requirement is a privilege that an API call of the exporter checks.
type requirement struct {
	path string
	// privs are alternatives: any of them passes; the first is reported.
	privs []string
	// objects: the call checks the objects below path (/vms/<vmid>,
	// /datastore/<store>), so the privilege must propagate from path, or
	// be granted on some object below it (a token limited to some guests
	// or datastores on purpose is not reported).
	objects bool
	needed  string
	// when, if set, decides whether the requirement applies.
	when func(ctx context.Context, c *permCheck) bool
}

// pveRequirements are the checks of the calls the PVE collectors make.
var pveRequirements = []requirement{
	// pve-manager PVE/API2/Cluster.pm resources: "next if !$rpcenv->check($authuser, "/vms/$vmid", ['VM.Audit'], 1)".
	{path: "/vms", privs: []string{"VM.Audit"}, objects: true, needed: "guests are hidden from GET /cluster/resources, so no guest metrics and no backup-age alerts"},
	// pve-storage Storage.pm check_volume_access: a backup volume needs
	// Datastore.AllocateSpace on the storage and VM.Backup on the guest,
	// or Datastore.Allocate on the storage alone.
	{path: "/vms", privs: []string{"VM.Backup"}, objects: true, needed: "backup volumes are left out of the storage content listings, so guests look never backed up",
		when: func(_ context.Context, c *permCheck) bool { return !c.holds("/storage", true, "Datastore.Allocate") }},
	// pve-storage API2/Storage/Config.pm, Status.pm, Content.pm: storages
	// are listed with Datastore.Audit or Datastore.AllocateSpace; backup
	// volumes need Datastore.AllocateSpace (check_volume_access).
	{path: "/storage", privs: []string{"Datastore.AllocateSpace", "Datastore.Allocate"}, objects: true, needed: "backup storages and their backups are hidden"},
	// pve-manager PVE/API2/Backup.pm index: check ['perm', '/', ['Sys.Audit']].
	{path: "/", privs: []string{"Sys.Audit"}, needed: "GET /cluster/backup fails, so backup jobs and coverage are unknown"},
	// pve-manager PVE/API2/Tasks.pm node_tasks and read_task_log, Nodes.pm
	// time: other users' tasks and the node's time need Sys.Audit on
	// /nodes/<node>.
	{path: "/nodes", privs: []string{"Sys.Audit"}, objects: true, needed: "scheduled vzdump tasks (run as root@pam) are hidden, so failed backup attempts go unseen"},
}

// pbsRequirements are the checks of the calls the PBS collectors make.
var pbsRequirements = []requirement{
	// proxmox-backup src/api2/admin/datastore.rs get_datastore_list,
	// src/api2/admin/gc.rs, verify.rs, prune.rs: filtered by
	// Datastore.Audit on /datastore/<store>.
	{path: "/datastore", privs: []string{"Datastore.Audit"}, objects: true, needed: "datastores, their backup groups, garbage collection and verify and prune jobs are hidden"},
	// proxmox-backup src/api2/node/tasks.rs list_tasks: other users'
	// tasks need Sys.Audit on /system/tasks (scheduled GC runs as root@pam).
	{path: "/system/tasks", privs: []string{"Sys.Audit"}, needed: "running garbage collections (tasks of root@pam) are not seen"},
	// proxmox-backup src/api2/config/sync.rs check_sync_job_read_access:
	// a sync job with a remote needs Remote.Audit on the remote.
	{path: "/remote", privs: []string{"Remote.Audit"}, objects: true, needed: "sync jobs with a remote are hidden from GET /admin/sync"},
	// proxmox-backup src/api2/tape/backup.rs list_tape_backup_jobs:
	// filtered by Tape.Audit on /tape/job/<id>. Required only where tape
	// backups ran, as the task list shows.
	{path: "/tape", privs: []string{"Tape.Audit"}, objects: true, needed: "tape backup jobs are hidden from GET /tape/backup",
		when: func(ctx context.Context, c *permCheck) bool { return c.tapeInUse(ctx) }},
}

// defaultPaths are the paths GET /access/permissions always evaluates, so
// that their absence from the answer means "no privilege there".
// pve-access-control PVE/RPCEnvironment.pm get_effective_permissions;
// proxmox-backup src/api2/access/mod.rs list_permissions.
var defaultPaths = map[string][]string{
	config.TypePVE: {"/", "/access", "/access/groups", "/nodes", "/pool", "/sdn", "/storage", "/vms"},
	config.TypePBS: {"/", "/access", "/datastore", "/remote", "/system"},
}

// permSet is the answer of GET /access/permissions: path -> privilege ->
// propagate flag (PVE writes 1 and 0, PBS true and false).
type permSet map[string]map[string]proxmox.Bool

// permCheck is one evaluation of a token's privileges.
type permCheck struct {
	p     *prober
	perms permSet
	errs  errList
}

// holds reports whether the token holds one of privs on path, or, with
// objects, on the objects below it.
func (c *permCheck) holds(path string, objects bool, privs ...string) bool {
	for _, priv := range privs {
		if prop, ok := c.perms[path][priv]; ok && (bool(prop) || !objects) {
			return true
		}
		if !objects {
			continue
		}
		for q, set := range c.perms {
			if _, ok := set[priv]; ok && strings.HasPrefix(q, strings.TrimSuffix(path, "/")+"/") {
				return true
			}
		}
	}
	return false
}

// tapeInUse reports whether the PBS task list shows tape backups. Without
// Sys.Audit on /system/tasks it cannot tell (that is reported on its own)
// and says no.
func (c *permCheck) tapeInUse(ctx context.Context) bool {
	if !c.holds("/system/tasks", false, "Sys.Audit") {
		return false
	}
	var tasks []struct {
		WorkerType string `json:"worker_type"`
	}
	err := c.p.session.Get(ctx, "/nodes/localhost/tasks", url.Values{"typefilter": {"tape-backup"}, "limit": {"1"}}, &tasks)
	if err != nil {
		c.errs.add(err)
		return false
	}
	return len(tasks) > 0
}

// checkPermissions reads the token's effective privileges and returns what
// the exporter's calls need and the token lacks.
func (p *prober) checkPermissions(ctx context.Context, reqs []requirement) ([]MissingPrivilege, error) {
	c := &permCheck{p: p}
	if err := p.session.Get(ctx, "/access/permissions", nil, &c.perms); err != nil {
		return nil, err
	}
	if c.perms == nil {
		c.perms = permSet{}
	}
	// A path that the full answer neither lists nor always evaluates may
	// have been left out for want of any privilege, or hold privileges
	// inherited from above: ask for it alone.
	for _, r := range reqs {
		if _, ok := c.perms[r.path]; ok || slices.Contains(defaultPaths[p.target.Type], r.path) {
			continue
		}
		var one permSet
		if err := p.session.Get(ctx, "/access/permissions", url.Values{"path": {r.path}}, &one); err != nil {
			return nil, err
		}
		c.perms[r.path] = one[r.path]
	}
	var missing []MissingPrivilege
	for _, r := range reqs {
		if c.holds(r.path, r.objects, r.privs...) || r.when != nil && !r.when(ctx, c) {
			continue
		}
		{
			missing = append(missing, MissingPrivilege{Path: r.path, Privilege: r.privs[0], Needed: r.needed})
		}
	}
	return missing, c.errs.err()
}

// PermissionCache keeps each target's last privilege check for a minute, so
// that frequent probes do not ask for the permissions every time, and
// remembers what was last logged so that a change is logged once. It is
// bounded: the least recently used target is dropped when it is full.
type PermissionCache struct {
	TTL time.Duration
	Max int

	mu      sync.Mutex
	entries map[string]*permEntry
}

type permEntry struct {
	checked time.Time
	used    time.Time
	missing []MissingPrivilege
	valid   bool
	logged  string
	// inflight is closed when the check in progress ends.
	inflight chan struct{}
}

// NewPermissionCache returns a cache of one-minute entries for up to max
// targets.
func NewPermissionCache(max int) *PermissionCache {
	return &PermissionCache{TTL: time.Minute, Max: max}
}

var defaultPermissionCache = NewPermissionCache(1024)

func (pc *PermissionCache) entry(key string) *permEntry {
	if pc.entries == nil {
		pc.entries = map[string]*permEntry{}
	}
	e := pc.entries[key]
	if e == nil {
		if len(pc.entries) >= pc.Max {
			oldest := ""
			for k, v := range pc.entries {
				if oldest == "" || v.used.Before(pc.entries[oldest].used) {
					oldest = k
				}
			}
			delete(pc.entries, oldest)
		}
		e = &permEntry{}
		pc.entries[key] = e
	}
	e.used = time.Now()
	return e
}

// Len is the number of targets the cache holds.
func (pc *PermissionCache) Len() int {
	pc.mu.Lock()
	defer pc.mu.Unlock()
	return len(pc.entries)
}

// permissions runs the check for the probe's target, or takes it from the
// cache while it is fresh, and logs the missing privileges when they
// change.
func (p *prober) permissions(ctx context.Context, pc *PermissionCache, part *Result) error {
	reqs := pveRequirements
	if p.target.Type == config.TypePBS {
		reqs = pbsRequirements
	}
	key := strings.Join([]string{p.target.Type, p.target.Name, p.target.URL, p.target.TokenID}, "\x00")
	pc.mu.Lock()
	e := pc.entry(key)
	// Concurrent probes of one target wait for the check in flight
	// instead of repeating it.
	for e.inflight != nil {
		wait := e.inflight
		pc.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return fmt.Errorf("waiting for the privilege check of another probe: %w", context.Cause(ctx))
		}
		pc.mu.Lock()
		e = pc.entry(key)
	}
	if e.valid && time.Since(e.checked) < pc.TTL {
		part.Missing = slices.Clone(e.missing)
		pc.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	e.inflight = done
	pc.mu.Unlock()
	defer func() {
		pc.mu.Lock()
		e.inflight = nil
		pc.mu.Unlock()
		close(done)
	}()

	missing, err := p.checkPermissions(ctx, reqs)
	if err != nil && missing == nil {
		return err
	}
	part.Missing = missing

	var sig []string
	for _, m := range missing {
		sig = append(sig, m.Privilege+" on "+m.Path)
	}
	now := strings.Join(sig, ", ")
	pc.mu.Lock()
	if err == nil {
		e.checked, e.missing, e.valid = time.Now(), slices.Clone(missing), true
	}
	changed := e.logged != now
	e.logged = now
	pc.mu.Unlock()
	if changed {
		if len(missing) > 0 {
			p.logger.Warn("The token lacks privileges the exporter needs; see docs/permissions.md", "missing", now)
			for _, m := range missing {
				p.logger.Warn(m.String())
			}
		} else {
			p.logger.Info("The token holds every privilege the exporter needs")
		}
	}
	return err
}

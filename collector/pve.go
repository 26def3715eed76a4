package collector

import (
	"context"
	"fmt"
	"maps"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/proxmox"
)

// probePVE collects a Proxmox VE cluster: guests, backup storages and their
// backups, backup jobs and the vzdump tasks that ran them.
func (p *prober) probePVE(ctx context.Context, r *Result) {
	if !p.version(ctx, r) {
		return
	}
	v := &pveView{p: p}
	p.runTasks(ctx, r, mergePVE,
		task{"guests", func(ctx context.Context, part *Result) error {
			guests, err := v.guests.get(ctx, v.fetchGuests)
			part.PVE.guestList, part.PVE.guestsRead = guests, err == nil
			return err
		}},
		task{"storage", func(ctx context.Context, part *Result) error { return v.collectStorages(ctx, part.PVE) }},
		task{"backups", func(ctx context.Context, part *Result) error { return v.collectBackups(ctx, part.PVE) }},
		task{"jobs", func(ctx context.Context, part *Result) error { return v.collectJobs(ctx, part.PVE) }},
		task{"tasks", func(ctx context.Context, part *Result) error { return v.collectTasks(ctx, part.PVE) }},
		task{"restores", func(ctx context.Context, part *Result) error { return v.collectRestores(ctx, part.PVE) }},
		task{"permissions", func(ctx context.Context, part *Result) error { return p.permissions(ctx, p.perms, part) }},
	)
	r.Warnings = append(r.Warnings, v.assemble(r.PVE)...)
	r.Warnings = append(r.Warnings, silentOmissions(r.PVE)...)
	for _, w := range r.Warnings {
		p.logger.Warn(w)
	}
}

// silentOmissions spots what PVE hides from a token without failing: backup
// volumes that a token without Datastore.AllocateSpace and VM.Backup does not
// see, and root@pam's scheduled tasks that need Sys.Audit.
func silentOmissions(d *PVEData) []string {
	var out []string
	for _, s := range d.Storages {
		if s.Listed && s.Backups == 0 && s.Type == "pbs" && s.Used > 0 {
			out = append(out, fmt.Sprintf("storage %s lists no backups although its datastore holds %d bytes: the token probably lacks Datastore.AllocateSpace on /storage/%s and VM.Backup on /vms", s.Name, s.Used, s.Name))
		}
	}
	if d.AttemptsKnown && d.BackupsKnown && len(d.attempts) == 0 {
		backedUp := 0
		for _, g := range d.Guests {
			if g.Covered && g.Last != nil {
				backedUp++
			}
		}
		if backedUp > 0 {
			out = append(out, fmt.Sprintf("%d covered guests have backups but no vzdump task is visible: the token probably lacks Sys.Audit on /nodes (scheduled jobs run as root@pam)", backedUp))
		}
	}
	return out
}

func mergePVE(dst, src *Result) {
	dst.Missing = append(dst.Missing, src.Missing...)
	d, s := dst.PVE, src.PVE
	d.Nodes = append(d.Nodes, s.Nodes...)
	d.Storages = append(d.Storages, s.Storages...)
	d.guestList = append(d.guestList, s.guestList...)
	d.jobList = append(d.jobList, s.jobList...)
	d.jobsRead = d.jobsRead || s.jobsRead
	d.guestsRead = d.guestsRead || s.guestsRead
	if s.backups != nil {
		d.backups = s.backups
		d.storeCount = s.storeCount
	}
	if s.attempts != nil {
		d.attempts = s.attempts
		d.taskRuns = s.taskRuns
	}
	if s.restores != nil {
		d.restores = s.restores
	}
	if s.zones != nil {
		if d.zones == nil {
			d.zones = map[string]*time.Location{}
		}
		maps.Copy(d.zones, s.zones)
	}
	if d.zoneNotes == nil {
		d.zoneNotes = s.zoneNotes
	}
}

// memo fetches something once per probe for every collector that needs it.
type memo[T any] struct {
	once sync.Once
	v    T
	err  error
}

func (m *memo[T]) get(ctx context.Context, fetch func(context.Context) (T, error)) (T, error) {
	m.once.Do(func() { m.v, m.err = fetch(ctx) })
	return m.v, m.err
}

// pveView holds the listings that several PVE collectors share in a probe.
type pveView struct {
	p        *prober
	guests   memo[[]Guest]
	nodes    memo[[]Node]
	storages memo[[]nodeStorage]
	zones    memo[zoneInfo]
	jobs     memo[[]PVEJob]
	// storageConfigs is GET /storage, the cluster's storage configuration.
	storageConfigs memo[[]storageConfig]
}

// pveResource is an item of GET /cluster/resources?type=vm.
type pveResource struct {
	Type     string         `json:"type"`
	VMID     proxmox.Int    `json:"vmid"`
	Name     proxmox.String `json:"name"`
	Node     string         `json:"node"`
	Status   string         `json:"status"`
	Template proxmox.Bool   `json:"template"`
	Pool     string         `json:"pool"`
	Tags     string         `json:"tags"`
}

func (v *pveView) fetchGuests(ctx context.Context) ([]Guest, error) {
	var guests []Guest
	err := v.p.session.Each(ctx, "/cluster/resources", url.Values{"type": {"vm"}}, func(dec decoder) error {
		var res pveResource
		if err := dec.Decode(&res); err != nil {
			return err
		}
		if (res.Type != "qemu" && res.Type != "lxc") || res.VMID <= 0 {
			return nil
		}
		if err := tooMany(len(guests), "guests"); err != nil {
			return err
		}
		guests = append(guests, Guest{
			VMID: int(res.VMID), Name: string(res.Name), Type: res.Type, Node: res.Node,
			Pool: res.Pool, Tags: res.Tags, Template: bool(res.Template), Status: res.Status,
		})
		return nil
	})
	sort.Slice(guests, func(i, j int) bool { return guests[i].VMID < guests[j].VMID })
	return guests, err
}

// fetchNodes lists the cluster's nodes and whether they are online.
func (v *pveView) fetchNodes(ctx context.Context) ([]Node, error) {
	var items []struct {
		Node   string `json:"node"`
		Status string `json:"status"`
	}
	if err := v.p.session.Get(ctx, "/nodes", nil, &items); err != nil {
		return nil, err
	}
	nodes := make([]Node, 0, len(items))
	for _, it := range items {
		nodes = append(nodes, Node{Name: it.Node, Online: it.Status == "online"})
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	return nodes, nil
}

// onlineNodes returns the online nodes and an error naming the offline ones.
func (v *pveView) onlineNodes(ctx context.Context) ([]Node, error) {
	nodes, err := v.nodes.get(ctx, v.fetchNodes)
	if err != nil {
		return nil, err
	}
	var online []Node
	var offline []string
	for _, n := range nodes {
		if n.Online {
			online = append(online, n)
		} else {
			offline = append(offline, n.Name)
		}
	}
	if len(offline) > 0 {
		return online, fmt.Errorf("target %q: node(s) %s offline: their local storages and tasks were not read", v.p.target.Name, strings.Join(offline, ", "))
	}
	return online, nil
}

// zoneInfo is what the probe knows of the nodes' time zones.
type zoneInfo struct {
	// zones maps a node to its zone, or to the zone all reachable nodes
	// agree on when its own is unknown; a node with no entry has no known
	// zone.
	zones map[string]*time.Location
	// own are the zones the nodes reported themselves: only these read
	// the local times a node's task logs print.
	own   map[string]*time.Location
	notes []string
}

// fetchZones asks every online node for its time zone: backup schedules run
// in it and vzdump logs print it. A node that is offline or refuses the
// call borrows the zone of the reachable nodes if they all report the same
// one; otherwise its zone stays unknown, never UTC by default. Refused calls
// are errors; unknown and borrowed zones are notes.
func (v *pveView) fetchZones(ctx context.Context) (zoneInfo, error) {
	all, err := v.nodes.get(ctx, v.fetchNodes)
	zones := make(map[string]*time.Location, len(all))
	why := map[string]string{}
	var mu sync.Mutex
	var errs errList
	errs.add(err) // without the node list no zone, and no due time, is known
	var wg sync.WaitGroup
	for _, n := range all {
		if !n.Online {
			why[n.Name] = "node offline"
		}
	}
	for _, n := range all {
		if !n.Online {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t struct {
				Timezone string `json:"timezone"`
			}
			err := v.p.session.Get(ctx, "/nodes/"+url.PathEscape(n.Name)+"/time", nil, &t)
			var loc *time.Location
			if err == nil {
				if loc, err = time.LoadLocation(t.Timezone); err != nil || t.Timezone == "" {
					loc, err = nil, fmt.Errorf("target %q: node %s: unknown time zone %q", v.p.target.Name, n.Name, t.Timezone)
				}
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs.add(err)
				why[n.Name] = "its time could not be read"
				return
			}
			zones[n.Name] = loc
		}()
	}
	wg.Wait()
	own := maps.Clone(zones)
	return zoneInfo{zones: zones, own: own, notes: borrowZones(zones, why)}, errs.err()
}

// borrowZones gives each node of why (node: reason its zone is unknown) the
// zone the known nodes agree on, and describes what it did.
func borrowZones(zones map[string]*time.Location, why map[string]string) []string {
	names := map[string]*time.Location{}
	for _, loc := range zones {
		names[loc.String()] = loc
	}
	var known []string
	for name := range names {
		known = append(known, name)
	}
	sort.Strings(known)
	nodes := make([]string, 0, len(why))
	for n := range why {
		nodes = append(nodes, n)
	}
	sort.Strings(nodes)
	var notes []string
	for _, n := range nodes {
		switch len(known) {
		case 1:
			zones[n] = names[known[0]]
			notes = append(notes, fmt.Sprintf("node %s: time zone unknown (%s): its schedules are evaluated in %s, the zone of every reachable node", n, why[n], known[0]))
		case 0:
			notes = append(notes, fmt.Sprintf("node %s: time zone unknown (%s) and no node reported one: its guests get no due time", n, why[n]))
		default:
			notes = append(notes, fmt.Sprintf("node %s: time zone unknown (%s) and the reachable nodes disagree (%s): its guests get no due time", n, why[n], strings.Join(known, ", ")))
		}
	}
	return notes
}

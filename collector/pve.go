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
	)
	v.assemble(r.PVE)
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
	if s.zones != nil {
		if d.zones == nil {
			d.zones = map[string]*time.Location{}
		}
		maps.Copy(d.zones, s.zones)
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
	zones    memo[map[string]*time.Location]
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

// fetchZones asks every online node for its time zone: backup schedules run
// in it and vzdump logs print it.
func (v *pveView) fetchZones(ctx context.Context) (map[string]*time.Location, error) {
	nodes, _ := v.onlineNodes(ctx)
	zones := make(map[string]*time.Location, len(nodes))
	var mu sync.Mutex
	var errs errList
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var t struct {
				Timezone string `json:"timezone"`
			}
			if err := v.p.session.Get(ctx, "/nodes/"+url.PathEscape(n.Name)+"/time", nil, &t); err != nil {
				errs.add(err)
				return
			}
			loc, err := time.LoadLocation(t.Timezone)
			if err != nil || t.Timezone == "" {
				errs.add(fmt.Errorf("target %q: node %s: unknown time zone %q", v.p.target.Name, n.Name, t.Timezone))
				return
			}
			mu.Lock()
			zones[n.Name] = loc
			mu.Unlock()
		}()
	}
	wg.Wait()
	return zones, errs.err()
}

// zone returns a node's time zone, or UTC when it is unknown.
func zone(zones map[string]*time.Location, node string) *time.Location {
	if loc := zones[node]; loc != nil {
		return loc
	}
	return time.UTC
}

package collector

import (
	"bytes"
	"context"
	"encoding/json"
	"sort"
	"strconv"
	"strings"

	"proxmox_backup_exporter/proxmox"
)

// backupJobItem is an item of GET /cluster/backup.
type backupJobItem struct {
	ID       string         `json:"id"`
	Type     string         `json:"type"`
	Schedule string         `json:"schedule"`
	NextRun  *proxmox.Int   `json:"next-run"`
	Enabled  *proxmox.Bool  `json:"enabled"`
	Storage  string         `json:"storage"`
	Mode     string         `json:"mode"`
	VMID     proxmox.String `json:"vmid"`
	Pool     string         `json:"pool"`
	All      proxmox.Bool   `json:"all"`
	Exclude  proxmox.String `json:"exclude"`
	Node     string         `json:"node"`
	Comment  string         `json:"comment"`
	// Jobs written before calendar schedules existed.
	StartTime string `json:"starttime"`
	DOW       string `json:"dow"`
}

// jobSelection is a job's guest selection, with Proxmox's precedence:
// pool, then a vmid list, then all minus exclude; then the node pin.
type jobSelection struct {
	pool    string
	vmids   map[int]bool
	all     bool
	exclude map[int]bool
	node    string
}

func (s *jobSelection) selects(g *Guest) bool {
	var in bool
	switch {
	case s.pool != "":
		in = g.Pool == s.pool
	case len(s.vmids) > 0:
		in = s.vmids[g.VMID]
	case s.all:
		in = !s.exclude[g.VMID]
	}
	return in && (s.node == "" || g.Node == s.node)
}

// String describes the selection for the job_info metric.
func (s *jobSelection) String() string {
	var b strings.Builder
	switch {
	case s.pool != "":
		b.WriteString("pool=" + s.pool)
	case len(s.vmids) > 0:
		b.WriteString("vmid=" + joinIDs(s.vmids))
	case s.all:
		b.WriteString("all")
		if len(s.exclude) > 0 {
			b.WriteString(" exclude=" + joinIDs(s.exclude))
		}
	default:
		b.WriteString("none")
	}
	if s.node != "" {
		b.WriteString(" node=" + s.node)
	}
	return b.String()
}

func joinIDs(ids map[int]bool) string {
	list := make([]int, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	sort.Ints(list)
	parts := make([]string, len(list))
	for i, id := range list {
		parts[i] = strconv.Itoa(id)
	}
	return strings.Join(parts, ",")
}

// parseIDList reads PVE's vmid lists: comma-, semicolon- or space-separated,
// unordered. Entries that are not ids are ignored.
func parseIDList(s string) map[int]bool {
	ids := map[int]bool{}
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' || r == '\t' }) {
		if id, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && id > 0 {
			ids[id] = true
		}
	}
	return ids
}

func (v *pveView) collectJobs(ctx context.Context, out *PVEData) error {
	// Schedules run in each node's time zone; due times need it.
	zi, zerr := v.zones.get(ctx, v.fetchZones)
	out.zones, out.zoneNotes = zi.zones, zi.notes
	jobs, err := v.jobs.get(ctx, v.fetchJobs)
	if err != nil {
		return err
	}
	// The probe's own copy: assembling fills in its fields.
	out.jobList, out.jobsRead = append([]PVEJob(nil), jobs...), true
	return zerr
}

// fetchJobs lists the cluster's backup jobs.
func (v *pveView) fetchJobs(ctx context.Context) ([]PVEJob, error) {
	var jobs []PVEJob
	err := v.p.session.Each(ctx, "/cluster/backup", nil, func(dec decoder) error {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return err
		}
		if err := tooMany(len(jobs), "backup jobs"); err != nil {
			return err
		}
		job, ok, err := decodeJob(raw)
		if ok {
			jobs = append(jobs, job)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return jobs, nil
}

// decodeJob reads a /cluster/backup item; ok is false for other job types.
func decodeJob(raw []byte) (job PVEJob, ok bool, err error) {
	var it backupJobItem
	if err := json.Unmarshal(raw, &it); err != nil {
		return job, false, err
	}
	if it.Type != "" && it.Type != "vzdump" {
		return job, false, nil
	}
	var all map[string]any
	rd := json.NewDecoder(bytes.NewReader(raw))
	rd.UseNumber()
	if err := rd.Decode(&all); err != nil {
		return job, false, err
	}
	return jobFromItem(&it, all), true, nil
}

// jobFromItem builds a job from its /cluster/backup item, decoded both into
// the known fields and into a map of every option.
func jobFromItem(it *backupJobItem, all map[string]any) PVEJob {
	schedule := it.Schedule
	if schedule == "" && it.StartTime != "" {
		// Legacy job: "dow" days at "starttime".
		schedule = strings.TrimSpace(it.DOW + " " + it.StartTime)
	}
	job := PVEJob{
		ID: it.ID, Schedule: schedule, Storage: it.Storage, Mode: it.Mode, Comment: it.Comment,
		Node: it.Node, Enabled: it.Enabled == nil || bool(*it.Enabled), NextRun: epoch(it.NextRun),
		sel: jobSelection{
			pool: it.Pool, vmids: parseIDList(string(it.VMID)), all: bool(it.All),
			exclude: parseIDList(string(it.Exclude)), node: it.Node,
		},
	}
	job.opts, job.props = jobOptions(all)
	if job.Mode == "" {
		job.Mode = "snapshot"
	}
	job.Selection = job.sel.String()
	return job
}

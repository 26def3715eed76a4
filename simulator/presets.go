package simulator

import (
	"fmt"
	"strings"
	"time"
)

// Presets are the built-in scenarios of cmd/proxmox-simulator.
var Presets = []string{"demo", "small", "large"}

// Sizes scale the small and large presets.
type Sizes struct {
	Nodes            int
	Guests           int
	BackupsPerGuest  int
	Datastores       int
	Namespaces       int
	GroupsPerNS      int
	SnapshotsPerGrp  int
	TaskLogGuestsMax int
}

// DefaultSizes returns the sizes of a preset.
func DefaultSizes(preset string) Sizes {
	if preset == "large" {
		return Sizes{Nodes: 20, Guests: 2000, BackupsPerGuest: 30, Datastores: 2, Namespaces: 5, GroupsPerNS: 300, SnapshotsPerGrp: 30}
	}
	return Sizes{Nodes: 3, Guests: 100, BackupsPerGuest: 10, Datastores: 1, Namespaces: 2, GroupsPerNS: 50, SnapshotsPerGrp: 10}
}

// Preset builds a built-in scenario.
func Preset(name string, now time.Time, sizes Sizes) (*PVE, *PBS, error) {
	switch name {
	case "demo":
		pve, pbs := DemoScenario(now)
		return pve, pbs, nil
	case "small", "large":
		pve := GeneratePVE(PVEGenOptions{Nodes: sizes.Nodes, Guests: sizes.Guests, BackupsPerGuest: sizes.BackupsPerGuest, Now: now})
		pbs := GeneratePBS(PBSGenOptions{Datastores: sizes.Datastores, Namespaces: sizes.Namespaces, Groups: sizes.GroupsPerNS, Snapshots: sizes.SnapshotsPerGrp, Now: now})
		return pve, pbs, nil
	}
	return nil, nil, fmt.Errorf("unknown preset %q: use one of %s", name, strings.Join(Presets, ", "))
}

// PVEGenOptions sizes a generated cluster.
type PVEGenOptions struct {
	Nodes           int
	Guests          int
	BackupsPerGuest int
	Now             time.Time
	// TaskDays is how many daily runs of the job each node's task history
	// holds, newest first (default 1).
	TaskDays int
	// Unscheduled guests (the last ones, spread over the nodes) are
	// excluded from the job: no task names them.
	Unscheduled int
}

// GeneratePVE builds a deterministic cluster: guests spread over the nodes,
// one daily job for all of them at 01:00 on a shared PBS storage, daily
// backups going back from the last run, and each node's newest job task.
func GeneratePVE(o PVEGenOptions) *PVE {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	if o.Nodes < 1 {
		o.Nodes = 1
	}
	now := o.Now
	p := &PVE{
		TokenID: TestPVETokenID, TokenSecret: TestPVETokenSecret,
		Version: "8.4.14", Release: "8.4", RepoID: "b502d23c55afcba1",
		Now: func() time.Time { return now },
	}
	for n := 0; n < o.Nodes; n++ {
		p.Nodes = append(p.Nodes, PVENode{Name: fmt.Sprintf("pve%d", n+1), Timezone: "UTC"})
	}
	run := time.Date(now.Year(), now.Month(), now.Day(), 1, 0, 0, 0, time.UTC)
	if run.After(now) {
		run = run.AddDate(0, 0, -1)
	}
	pbs := PVEStorage{Name: "pbs", Type: "pbs", Shared: true, Server: "pbs.example.com", Datastore: "store1", Total: 64 << 40, Used: 40 << 40}
	if o.TaskDays < 1 {
		o.TaskDays = 1
	}
	tasks := make([]PVETask, o.Nodes*o.TaskDays)
	for n := 0; n < o.Nodes; n++ {
		for d := 0; d < o.TaskDays; d++ {
			start := run.AddDate(0, 0, -d)
			tasks[d*o.Nodes+n] = PVETask{Node: p.Nodes[n].Name, Start: start, End: start.Add(3 * time.Hour), Job: "backup-daily-all"}
		}
	}
	var exclude []string
	for g := 0; g < o.Guests; g++ {
		vmid := 100 + g
		n := g % o.Nodes
		typ := "qemu"
		if g%3 == 2 {
			typ = "lxc"
		}
		p.Guests = append(p.Guests, PVEGuest{VMID: vmid, Name: fmt.Sprintf("guest-%d", vmid), Type: typ, Node: p.Nodes[n].Name, Status: "running"})
		start := run.Add(time.Duration(g/o.Nodes) * 5 * time.Second)
		for b := 0; b < o.BackupsPerGuest; b++ {
			size := uint64(4<<30 + g*4096 + b)
			v := PVEVolume{VMID: vmid, Type: typ, Time: start.AddDate(0, 0, -b), Size: &size}
			if b == 0 {
				v.Verify, v.VerifyTime = "ok", start.Add(2*time.Hour)
			}
			pbs.Volumes = append(pbs.Volumes, v)
		}
		if g >= o.Guests-o.Unscheduled {
			exclude = append(exclude, fmt.Sprint(vmid))
			continue
		}
		for d := 0; d < o.TaskDays; d++ {
			t := &tasks[d*o.Nodes+n]
			t.Guests = append(t.Guests, PVETaskGuest{VMID: vmid, Type: typ, Start: start.AddDate(0, 0, -d), Duration: 4 * time.Second})
		}
	}
	p.Storages = []PVEStorage{pbs, {Name: "local", Type: "dir", Content: "iso,vztmpl,backup", Total: 100 << 30, Used: 20 << 30}}
	p.Jobs = []PVEBackupJob{{ID: "backup-daily-all", Schedule: "01:00", Storage: "pbs", All: true, Exclude: strings.Join(exclude, ","), NextRun: run.AddDate(0, 0, 1).Unix()}}
	p.Tasks = tasks
	return p
}

// DemoScenario tells the story of the demo: a three-node cluster with 30
// guests backed up by daily and weekly jobs to a PBS, relative to now so
// that the backups age in real time. Among them: web03 (115), whose backup
// failed last night; new01 (118), never backed up; lab01 (120), excluded
// from every job; mail (104), whose newest backup failed verification; and
// the PBS datastore "main" at 85%, predicted full in five days. A guest named
// <script>alert(1)</script> and a group comment with HTML test escaping.
func DemoScenario(now time.Time) (*PVE, *PBS) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := 24 * time.Hour
	last := func(hh, mm int) time.Time {
		l := now.In(berlin)
		t := time.Date(l.Year(), l.Month(), l.Day(), hh, mm, 0, 0, berlin)
		if t.After(now) {
			t = t.AddDate(0, 0, -1)
		}
		return t
	}
	prodRun, allRun := last(1, 0), last(2, 30)
	weekly := last(4, 0)
	for weekly.In(berlin).Weekday() != time.Sunday {
		weekly = weekly.AddDate(0, 0, -1)
	}

	names := []string{"web01", "web02", "db01", "db02", "mail", "dns1", "dns2", "proxy", "git", "ci",
		"monitor", "backup-proxy", "files", "vpn", "ldap", "web03", "cache", "queue", "new01", "search",
		"lab01", "wiki", "chat", "build01", "build02", "dev01", "dev02", "test01", "test02", "jump"}
	nodes := []string{"pve1", "pve2", "pve3"}
	p := &PVE{
		TokenID: TestPVETokenID, TokenSecret: TestPVETokenSecret,
		Version: "8.4.14", Release: "8.4", RepoID: "b502d23c55afcba1",
		Now: time.Now,
	}
	for _, n := range nodes {
		p.Nodes = append(p.Nodes, PVENode{Name: n, Timezone: "Europe/Berlin"})
	}
	pbsStore := PVEStorage{Name: "pbs", Type: "pbs", Shared: true, Server: "pbs.example.com", Datastore: "main", Total: 20 << 40, Used: 17 << 40}
	local := PVEStorage{Name: "local", Type: "dir", Content: "iso,vztmpl,backup", Total: 500 << 30, Used: 310 << 30}
	taskOf := map[string]*PVETask{}
	for _, n := range nodes {
		taskOf["prod/"+n] = &PVETask{Node: n, Start: prodRun, End: prodRun.Add(40 * time.Minute), Job: "backup-prod-nightly"}
		taskOf["all/"+n] = &PVETask{Node: n, Start: allRun, End: allRun.Add(50 * time.Minute), Job: "backup-all-nightly"}
		taskOf["weekly/"+n] = &PVETask{Node: n, Start: weekly, End: weekly.Add(90 * time.Minute), Job: "backup-weekly-local"}
	}
	for i, name := range names {
		vmid := 100 + i
		node := nodes[i%3]
		typ := "qemu"
		if i%4 == 3 {
			typ = "lxc"
		}
		g := PVEGuest{VMID: vmid, Name: name, Type: typ, Node: node, Status: "running"}
		job, run := "all", allRun
		if i < 10 {
			g.Pool, g.Tags, job, run = "prod", "prod", "prod", prodRun
		}
		if vmid == 120 {
			g.Tags = "lab;nobackup"
		}
		if vmid >= 125 {
			g.Status = "stopped"
		}
		p.Guests = append(p.Guests, g)
		if vmid == 118 || vmid == 120 {
			continue // never backed up / not covered
		}
		start := run.Add(time.Duration(i/3) * 4 * time.Minute)
		size := uint64(8<<30 + i*97<<20)
		failed := vmid == 115
		for b := 0; b < 14; b++ {
			if failed && b == 0 {
				continue
			}
			s := size + uint64(b)<<20
			v := PVEVolume{VMID: vmid, Type: typ, Time: start.Add(-time.Duration(b) * day), Size: &s, Notes: name}
			if b < 3 {
				v.Verify, v.VerifyTime = "ok", v.Time.Add(6*time.Hour)
				if vmid == 104 && b == 0 {
					v.Verify = "failed"
				}
			}
			pbsStore.Volumes = append(pbsStore.Volumes, v)
		}
		tg := PVETaskGuest{VMID: vmid, Type: typ, Start: start, Duration: time.Duration(60+i*7) * time.Second}
		if failed {
			tg.Error = "VM 115 qmp command 'backup' failed - got timeout"
		}
		t := taskOf[job+"/"+node]
		t.Guests = append(t.Guests, tg)
		if vmid == 102 || vmid == 103 {
			s := size
			local.Volumes = append(local.Volumes, PVEVolume{VMID: vmid, Type: typ, Node: node, Time: weekly.Add(10 * time.Minute), Size: &s})
			taskOf["weekly/"+node].Guests = append(taskOf["weekly/"+node].Guests, PVETaskGuest{VMID: vmid, Type: typ, Start: weekly.Add(10 * time.Minute), Duration: 20 * time.Minute})
		}
	}
	p.Guests = append(p.Guests, PVEGuest{VMID: 9000, Name: "tmpl-debian13", Type: "qemu", Node: "pve1", Status: "stopped", Template: true})
	// A hostile name: every page must show it escaped.
	p.Guests = append(p.Guests, PVEGuest{VMID: 131, Name: "<script>alert(1)</script>", Type: "lxc", Node: "pve2", Status: "running", Tags: "nobackup"})
	p.Storages = []PVEStorage{pbsStore, local}
	p.Jobs = []PVEBackupJob{
		{ID: "backup-prod-nightly", Schedule: "01:00", Storage: "pbs", Pool: "prod", Comment: "production, nightly", NextRun: prodRun.Add(day).Unix()},
		{ID: "backup-all-nightly", Schedule: "02:30", Storage: "pbs", All: true, Exclude: "120", NextRun: allRun.Add(day).Unix()},
		{ID: "backup-weekly-local", Schedule: "sun 04:00", Storage: "local", VMID: "102,103", Mode: "stop", Comment: "local copy of the databases", NextRun: weekly.AddDate(0, 0, 7).Unix()},
	}
	for _, key := range []string{"prod", "all", "weekly"} {
		for _, n := range nodes {
			if t := taskOf[key+"/"+n]; len(t.Guests) > 0 {
				p.Tasks = append(p.Tasks, *t)
			}
		}
	}

	// The PBS behind storage "pbs" holds the same snapshots.
	full := now.Add(5 * day)
	main := Datastore{Name: "main", Comment: "cluster backups", Total: 20 << 40, Used: 17 << 40, EstimatedFull: &full,
		GC: GCStatus{LastStart: last(5, 0), Duration: 23 * time.Minute, State: "OK", Schedule: "05:00", NextRun: last(5, 0).Add(day), RemovedBytes: 214 << 30, PendingBytes: 12 << 30, DiskBytes: 17 << 40}}
	groups := map[string]*Group{}
	var order []string
	for _, v := range pbsStore.Volumes {
		typ := "vm"
		if v.Type == "lxc" {
			typ = "ct"
		}
		key := fmt.Sprintf("%s/%d", typ, v.VMID)
		g := groups[key]
		if g == nil {
			g = &Group{BackupType: typ, BackupID: fmt.Sprint(v.VMID), Owner: "pve@pbs!cluster"}
			groups[key] = g
			order = append(order, key)
		}
		g.Snapshots = append(g.Snapshots, Snapshot{Time: v.Time, Size: v.Size, Verify: v.Verify, VerifyTime: v.VerifyTime, Comment: v.Notes})
	}
	ns := Namespace{}
	for _, k := range order {
		ns.Groups = append(ns.Groups, *groups[k])
	}
	ns.Groups = append(ns.Groups, Group{BackupType: "host", BackupID: "fileserver", Owner: "backup@pbs", Comment: "<b>bold</b> host backup", Snapshots: []Snapshot{
		{Time: last(3, 0), Size: func() *uint64 { v := uint64(300 << 30); return &v }(), Encrypted: true},
	}})
	main.Namespaces = []Namespace{ns}
	offsite := Datastore{Name: "offsite", Total: 40 << 40, Used: 12 << 40,
		GC: GCStatus{LastStart: last(6, 0).Add(-3 * day), Duration: time.Hour, State: "OK", Schedule: "sat 06:00", NextRun: last(6, 0).Add(4 * day)}}
	pbs := &PBS{
		TokenID: TestPBSTokenID, TokenSecret: TestPBSTokenSecret,
		Version: "4.0", Release: "14", RepoID: "8e2a6f1d0c9b7a5e3f1d2c4b6a8e0f1d3c5b7a9e",
		Now:        time.Now,
		Datastores: []Datastore{main, offsite},
		VerifyJobs: []Job{{ID: "v-main-daily", Store: "main", Schedule: "08:00", NextRun: last(8, 0).Add(day), LastStart: last(8, 0), LastEnd: last(8, 0).Add(35 * time.Minute), LastState: "verification failed - please check the log for details"}},
		PruneJobs:  []Job{{ID: "p-main", Store: "main", Schedule: "04:30", Comment: "keep 14 daily", NextRun: last(4, 30).Add(day), LastStart: last(4, 30), LastEnd: last(4, 30).Add(2 * time.Minute), LastState: "OK"}},
		SyncJobs:   []Job{{ID: "s-offsite", Store: "offsite", RemoteStore: "main", Schedule: "07:00", NextRun: last(7, 0).Add(day), LastStart: last(7, 0), LastEnd: last(7, 0).Add(50 * time.Minute), LastState: "OK"}},
	}
	return p, pbs
}

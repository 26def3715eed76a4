package simulator

import (
	"fmt"
	"sort"
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
// that the backups age in real time. The data agrees with the jobs: every
// guest that an enabled job selects has a backup from each of that job's
// runs (the newest run that has finished by now, and the days before it in
// the nodes' zone), so a guest in two jobs has both jobs' backups. The
// deliberate problems, which README's "The simulator and the demo" lists
// and e2e/demo_test.go holds the alerts to: web03 (115), whose backup
// failed last night; new01 (118), in a job but never backed up; mail (104),
// whose newest backup failed verification (and the verify job with it);
// and the PBS datastore "main" at 85%, predicted full in five days. lab01
// (120) and a guest named <script>alert(1)</script> opt out with the
// nobackup tag; that name and a group comment with HTML test escaping.
// files (112) carries the two-copies tag but is backed up to the PBS only.
// DemoOffsite adds the PBS's offsite server.
// Restore tests: db01 (102), db02 (103) and ldap (114) carry the
// restore-test tag; db01 passed one 20 days ago, db02's failed three days
// ago and ldap's last one passed 120 days ago, so the last two are overdue.
func DemoScenario(now time.Time) (*PVE, *PBS) {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	day := 24 * time.Hour
	// daysBefore is hh:mm n days before t's day, built from the wall
	// clock (so that it stays hh:mm across daylight-saving changes).
	daysBefore := func(t time.Time, n, hh, mm int) time.Time {
		l := t.In(berlin)
		return time.Date(l.Year(), l.Month(), l.Day()-n, hh, mm, 0, 0, berlin)
	}
	// done is the newest run of a daily schedule that has finished by now
	// when a run takes d; last the newest that has started.
	done := func(hh, mm int, d time.Duration) time.Time {
		for n := 0; ; n++ {
			if t := daysBefore(now, n, hh, mm); !t.Add(d).After(now) {
				return t
			}
		}
	}
	last := func(hh, mm int) time.Time { return done(hh, mm, 0) }
	const prodTook, allTook, weeklyTook = 40 * time.Minute, 50 * time.Minute, 90 * time.Minute
	prodRun, allRun := done(1, 0, prodTook), done(2, 30, allTook)
	weekly := done(4, 0, weeklyTook)
	for n := 1; weekly.Weekday() != time.Sunday; n++ {
		weekly = daysBefore(done(4, 0, weeklyTook), n, 4, 0)
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
		taskOf["prod/"+n] = &PVETask{Node: n, Start: prodRun, End: prodRun.Add(prodTook), Job: "backup-prod-nightly"}
		taskOf["all/"+n] = &PVETask{Node: n, Start: allRun, End: allRun.Add(allTook), Job: "backup-all-nightly"}
		taskOf["weekly/"+n] = &PVETask{Node: n, Start: weekly, End: weekly.Add(weeklyTook), Job: "backup-weekly-local"}
	}
	for i, name := range names {
		vmid := 100 + i
		node := nodes[i%3]
		typ := "qemu"
		if i%4 == 3 {
			typ = "lxc"
		}
		g := PVEGuest{VMID: vmid, Name: name, Type: typ, Node: node, Status: "running"}
		// Every guest but lab01 is in backup-all-nightly; the first ten,
		// pool prod, in backup-prod-nightly too.
		jobs := []string{"all"}
		if i < 10 {
			g.Pool, g.Tags = "prod", "prod"
			jobs = []string{"prod", "all"}
		}
		if vmid == 120 {
			g.Tags = "lab;nobackup"
		}
		switch vmid {
		case 102, 103: // the databases must pass restore tests
			g.Tags = "prod;restore-test"
		case 114:
			g.Tags = "restore-test"
		case 112:
			// Asks for two recent copies, and has the PBS one only.
			g.Tags = "two-copies"
		}
		if vmid >= 125 {
			g.Status = "stopped"
		}
		p.Guests = append(p.Guests, g)
		if vmid == 118 || vmid == 120 {
			continue // never backed up / not covered
		}
		offset := time.Duration(i/3) * 4 * time.Minute
		took := time.Duration(60+i*7) * time.Second
		size := uint64(8<<30 + i*97<<20)
		failed := vmid == 115
		newest := allRun
		if len(jobs) > 1 && prodRun.After(allRun) {
			newest = prodRun
		}
		for _, job := range jobs {
			run, hh, mm := allRun, 2, 30
			if job == "prod" {
				run, hh, mm = prodRun, 1, 0
			}
			start := run.Add(offset)
			for b := 0; b < 14; b++ {
				if failed && b == 0 {
					continue
				}
				s := size + uint64(b)<<20
				// Each day's run at the same wall-clock time.
				v := PVEVolume{VMID: vmid, Type: typ, Time: daysBefore(run, b, hh, mm).Add(offset), Size: &s, Notes: name}
				if b < 3 {
					// The datastore verifies new snapshots right away.
					v.Verify, v.VerifyTime = "ok", v.Time.Add(took+time.Minute)
					if vmid == 104 && b == 0 && run.Equal(newest) {
						v.Verify = "failed"
					}
				}
				pbsStore.Volumes = append(pbsStore.Volumes, v)
			}
			tg := PVETaskGuest{VMID: vmid, Type: typ, Start: start, Duration: took}
			if failed {
				tg.Error = "VM 115 qmp command 'backup' failed - got timeout"
			}
			t := taskOf[job+"/"+node]
			t.Guests = append(t.Guests, tg)
		}
		if vmid == 102 || vmid == 103 {
			// The weekly local copy, from this and last week's run.
			for w := 0; w < 2; w++ {
				s := size
				local.Volumes = append(local.Volumes, PVEVolume{VMID: vmid, Type: typ, Node: node, Time: daysBefore(weekly, 7*w, 4, 0).Add(10 * time.Minute), Size: &s})
			}
			taskOf["weekly/"+node].Guests = append(taskOf["weekly/"+node].Guests, PVETaskGuest{VMID: vmid, Type: typ, Start: weekly.Add(10 * time.Minute), Duration: 20 * time.Minute})
		}
	}
	p.Guests = append(p.Guests, PVEGuest{VMID: 9000, Name: "tmpl-debian13", Type: "qemu", Node: "pve1", Status: "stopped", Template: true})
	// A hostile name: every page must show it escaped.
	p.Guests = append(p.Guests, PVEGuest{VMID: 131, Name: "<script>alert(1)</script>", Type: "lxc", Node: "pve2", Status: "running", Tags: "nobackup"})
	p.Storages = []PVEStorage{pbsStore, local}
	p.Jobs = []PVEBackupJob{
		{ID: "backup-prod-nightly", Schedule: "01:00", Storage: "pbs", Pool: "prod", Comment: "production, nightly", NextRun: last(1, 0).AddDate(0, 0, 1).Unix()},
		{ID: "backup-all-nightly", Schedule: "02:30", Storage: "pbs", All: true, Exclude: "120", NextRun: last(2, 30).AddDate(0, 0, 1).Unix()},
		{ID: "backup-weekly-local", Schedule: "sun 04:00", Storage: "local", VMID: "102,103", Mode: "stop", Comment: "local copy of the databases", NextRun: nextWeekday(last(4, 0), time.Sunday).Unix()},
	}
	for _, key := range []string{"prod", "all", "weekly"} {
		for _, n := range nodes {
			if t := taskOf[key+"/"+n]; len(t.Guests) > 0 {
				p.Tasks = append(p.Tasks, *t)
			}
		}
	}
	// Restore tests, into spare VMIDs: db01 (102) passed 20 days ago, db02
	// (103) failed three days ago, ldap (114) last passed 120 days ago, and
	// git (108), which needs none, was live-restored ten days ago.
	// A restore from storage "pbs" is a reader task on the PBS too.
	var reads []Read
	restore := func(node string, into int, daysAgo int, took time.Duration, r PVERestore) {
		start := daysBefore(now, daysAgo, 14, 0)
		p.Tasks = append(p.Tasks, PVETask{Node: node, Start: start, End: start.Add(took), VMID: fmt.Sprint(into), User: "admin@pam", Restore: &r})
		if r.Storage == "pbs" {
			typ := "vm"
			if r.Type == "lxc" {
				typ = "ct"
			}
			reads = append(reads, Read{Store: "main", BackupType: typ, BackupID: fmt.Sprint(r.Source), Snapshot: r.BackupTime,
				Start: start.Add(10 * time.Second), End: start.Add(took - 10*time.Second), User: "pve@pbs!cluster"})
		}
	}
	restore("pve3", 9102, 20, 6*time.Minute, PVERestore{Source: 102, Type: "qemu", Storage: "pbs", BackupTime: daysBefore(prodRun, 21, 1, 0).Add(8 * time.Minute)})
	restore("pve1", 9103, 3, 2*time.Minute, PVERestore{Source: 103, Type: "lxc", Storage: "pbs", BackupTime: daysBefore(prodRun, 4, 1, 0).Add(12 * time.Minute),
		Error: "command '/usr/bin/proxmox-backup-client restore ct/103/" + daysBefore(prodRun, 4, 1, 0).Add(12*time.Minute).UTC().Format("2006-01-02T15:04:05Z") + " root.pxar /var/lib/lxc/9103/rootfs --allow-existing-dirs --repository root@pam@pbs.example.com:main' failed: exit code 255"})
	restore("pve3", 9114, 120, 9*time.Minute, PVERestore{Source: 114, Type: "qemu", Storage: "local", BackupTime: daysBefore(now, 121, 4, 0)})
	restore("pve3", 9108, 10, 3*time.Minute, PVERestore{Source: 108, Type: "qemu", Storage: "pbs", BackupTime: daysBefore(allRun, 10, 2, 30).Add(8 * time.Minute), Live: true})

	// The PBS behind storage "pbs" holds the same snapshots.
	full := now.Add(5 * day)
	main := Datastore{Name: "main", Comment: "cluster backups", Total: 20 << 40, Used: 17 << 40, EstimatedFull: &full,
		GC: GCStatus{LastStart: done(5, 0, 23*time.Minute), Duration: 23 * time.Minute, State: "OK", Schedule: "05:00", NextRun: last(5, 0).AddDate(0, 0, 1), RemovedBytes: 214 << 30, PendingBytes: 12 << 30, DiskBytes: 17 << 40}}
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
		snaps := groups[k].Snapshots
		sort.Slice(snaps, func(i, j int) bool { return snaps[i].Time.Before(snaps[j].Time) })
		ns.Groups = append(ns.Groups, *groups[k])
	}
	ns.Groups = append(ns.Groups, Group{BackupType: "host", BackupID: "fileserver", Owner: "backup@pbs", Comment: "<b>bold</b> host backup", Snapshots: []Snapshot{
		{Time: done(3, 0, 0), Size: func() *uint64 { v := uint64(300 << 30); return &v }(), Encrypted: true},
	}})
	main.Namespaces = []Namespace{ns}
	// The offsite datastore collects garbage weekly, on Saturdays.
	offsiteGC := done(6, 0, time.Hour)
	for n := 1; offsiteGC.Weekday() != time.Saturday; n++ {
		offsiteGC = daysBefore(done(6, 0, time.Hour), n, 6, 0)
	}
	offsite := Datastore{Name: "offsite", Total: 40 << 40, Used: 12 << 40,
		GC: GCStatus{LastStart: offsiteGC, Duration: time.Hour, State: "OK", Schedule: "sat 06:00", NextRun: nextWeekday(last(6, 0), time.Saturday)}}
	pbs := &PBS{
		TokenID: TestPBSTokenID, TokenSecret: TestPBSTokenSecret,
		Version: "4.0", Release: "14", RepoID: "8e2a6f1d0c9b7a5e3f1d2c4b6a8e0f1d3c5b7a9e",
		Now:        time.Now,
		Datastores: []Datastore{main, offsite},
		VerifyJobs: []Job{{ID: "v-main-daily", Store: "main", Schedule: "08:00", NextRun: last(8, 0).AddDate(0, 0, 1), LastStart: done(8, 0, 35*time.Minute), LastEnd: done(8, 0, 35*time.Minute).Add(35 * time.Minute), LastState: "verification failed - please check the log for details"}},
		PruneJobs:  []Job{{ID: "p-main", Store: "main", Schedule: "04:30", Comment: "keep 14 daily", NextRun: last(4, 30).AddDate(0, 0, 1), LastStart: done(4, 30, 2*time.Minute), LastEnd: done(4, 30, 2*time.Minute).Add(2 * time.Minute), LastState: "OK"}},
		Reads:      reads,
		SyncJobs:   []Job{{ID: "s-offsite", Store: "offsite", RemoteStore: "main", Schedule: "07:00", NextRun: last(7, 0).AddDate(0, 0, 1), LastStart: done(7, 0, 50*time.Minute), LastEnd: done(7, 0, 50*time.Minute).Add(50 * time.Minute), LastState: "OK"}},
	}
	return p, pbs
}

// nextWeekday is the first time after t, at t's wall-clock time, that falls
// on weekday w.
func nextWeekday(t time.Time, w time.Weekday) time.Time {
	for n := 1; ; n++ {
		if d := time.Date(t.Year(), t.Month(), t.Day()+n, t.Hour(), t.Minute(), 0, 0, t.Location()); d.Weekday() == w {
			return d
		}
	}
}

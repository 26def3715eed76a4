package simulator

import "time"

// Credentials of the PVE test scenario.
const (
	TestPVETokenID     = "monitor@pve!exporter"
	TestPVETokenSecret = "7c1e9a52-33b4-4d0e-9f6a-0b8e2d4c6a18"
)

func u64(v uint64) *uint64 { return &v }

// PVETestScenario is a three-node cluster for the exporter's tests, with
// every time derived from now:
//   - pve1 runs in Europe/Vienna, pve2 in America/New_York, pve3 is offline;
//   - shared PBS storage "pbs", node-local dir storage "local", and a
//     disabled shared storage;
//   - a job by pool (prod, 02:00), one by vmid list (102,103, weekly on
//     Saturday), one for all guests minus 100,101,104 (21:00), and a disabled
//     job that is the only one naming 104;
//   - 104 is covered by no enabled job, 9000 is a template, 106 has never
//     been backed up;
//   - the pool job's last run failed for 101 and succeeded for 100; a task
//     is running on pve2 and is working on 103;
//   - 100's newest PBS backup failed verification, 105's is encrypted and
//     protected, 101's newest PBS snapshot is unfinished (size 1), and a
//     local backup of 100 has no size;
//   - restores: 100's PBS backup into 9100 ten days ago (an older attempt
//     failed), 103's local backup into 9103 two days ago, which failed, and
//     a live-restore of 102 into 9102 still running; 101 and 103 carry the
//     restore-test tag, so 101 (never tested) and 103 (failed) are overdue.
func PVETestScenario(now time.Time) *PVE {
	vienna, _ := time.LoadLocation("Europe/Vienna")
	newYork, _ := time.LoadLocation("America/New_York")
	day := 24 * time.Hour
	// at returns the latest local wall-clock time hh:mm at or before now,
	// minus extra days.
	at := func(loc *time.Location, hh, mm, daysBack int) time.Time {
		l := now.In(loc)
		t := time.Date(l.Year(), l.Month(), l.Day(), hh, mm, 0, 0, loc)
		if t.After(now) {
			t = t.AddDate(0, 0, -1)
		}
		return t.AddDate(0, 0, -daysBack)
	}
	poolRun := at(vienna, 2, 0, 0)   // pve1, pool job
	allRun1 := at(vienna, 21, 0, 0)  // pve1, all job
	allRun2 := at(newYork, 21, 0, 0) // pve2, all job (the newest one is running)
	weekly := at(newYork, 3, 0, 0)   // pve2, vmid job: last Saturday
	for weekly.In(newYork).Weekday() != time.Saturday {
		weekly = weekly.AddDate(0, 0, -1)
	}
	running := now.Add(-20 * time.Minute)

	return &PVE{
		TokenID: TestPVETokenID, TokenSecret: TestPVETokenSecret,
		Version: "8.4.14", Release: "8.4", RepoID: "b502d23c55afcba1",
		Now:   func() time.Time { return now },
		Nodes: []PVENode{{Name: "pve1", Timezone: "Europe/Vienna"}, {Name: "pve2", Timezone: "America/New_York"}, {Name: "pve3", Offline: true}},
		Guests: []PVEGuest{
			{VMID: 100, Name: "db01", Type: "qemu", Node: "pve1", Pool: "prod", Tags: "db;prod"},
			{VMID: 101, Name: "web01", Type: "lxc", Node: "pve1", Pool: "prod", Tags: "prod;restore-test"},
			{VMID: 102, Name: "mail", Type: "qemu", Node: "pve2"},
			{VMID: 103, Name: "dns", Type: "lxc", Node: "pve2", Tags: "restore-test"},
			{VMID: 104, Name: "scratch", Type: "qemu", Node: "pve2", Status: "stopped", Tags: "nobackup"},
			{VMID: 105, Name: "build", Type: "qemu", Node: "pve3", Status: "unknown"},
			{VMID: 106, Name: "legacy", Type: "qemu", Node: "pve1"},
			{VMID: 9000, Name: "tmpl-debian", Type: "qemu", Node: "pve1", Status: "stopped", Template: true},
		},
		Storages: []PVEStorage{
			{
				Name: "pbs", Type: "pbs", Shared: true, Server: "pbs.example.com", Datastore: "main",
				Total: 4 << 40, Used: 3 << 40,
				Volumes: []PVEVolume{
					{VMID: 100, Time: poolRun.Add(-day).Add(4 * time.Minute), Size: u64(34359738368), Verify: "ok", VerifyTime: poolRun.Add(-day / 2), Notes: "db01"},
					{VMID: 100, Time: poolRun.Add(3 * time.Minute), Size: u64(34359739904), Verify: "failed", VerifyTime: poolRun.Add(2 * time.Hour), Notes: "db01"},
					{VMID: 101, Type: "lxc", Time: poolRun.Add(-day).Add(9 * time.Minute), Size: u64(2147483648), Notes: "web01"},
					{VMID: 101, Type: "lxc", Time: poolRun.Add(8 * time.Minute)}, // unfinished: size 1
					{VMID: 102, Time: allRun2.Add(-day).Add(2 * time.Minute), Size: u64(8589934592), Verify: "ok", VerifyTime: allRun2.Add(-day / 2)},
					{VMID: 103, Type: "lxc", Time: allRun2.Add(-day).Add(6 * time.Minute), Size: u64(1073741824)},
					{VMID: 105, Time: now.Add(-3 * day), Size: u64(17179869184), Encrypted: "e3:9a:11:5c:00:7d:2b:41", Protected: true},
					{VMID: 9000, Time: allRun1.Add(-day).Add(1 * time.Minute), Size: u64(2147483648)},
					{VMID: 9000, Time: allRun1.Add(1 * time.Minute), Size: u64(2147483648)},
				},
			},
			{
				Name: "local", Type: "dir", Content: "iso,vztmpl,backup", Total: 100 << 30, Used: 40 << 30,
				Volumes: []PVEVolume{
					{VMID: 100, Node: "pve1", Time: now.Add(-5 * day)}, // a file without a size
					{VMID: 100, Node: "pve1", Time: now.Add(-6 * day), Size: u64(30064771072), Protected: true, Notes: "before upgrade"},
					{VMID: 102, Node: "pve2", Time: weekly.Add(5 * time.Minute), Size: u64(8000000000)},
					{VMID: 103, Node: "pve2", Type: "lxc", Time: weekly.Add(25 * time.Minute), Size: u64(900000000)},
					{VMID: 999, Node: "pve1", Time: now.Add(-10 * day), Size: u64(1000), OddName: true},
				},
			},
			{Name: "nfs-old", Type: "nfs", Shared: true, Disabled: true, Total: 1 << 40, Used: 1 << 39},
		},
		Jobs: []PVEBackupJob{
			{ID: "backup-pool-prod", Schedule: "02:00", Storage: "pbs", Pool: "prod", Comment: "production, nightly", NextRun: poolRun.Add(day).Unix()},
			{ID: "backup-vmids-weekly", Schedule: "sat 03:00", Storage: "local", VMID: "103,102", Mode: "stop", NextRun: weekly.AddDate(0, 0, 7).Unix()},
			{ID: "backup-all", Schedule: "21:00", Storage: "pbs", All: true, Exclude: "100,101,104", NextRun: allRun1.Add(day).Unix()},
			{ID: "backup-old-scratch", Schedule: "daily", Storage: "local", VMID: "104", Disabled: true, Comment: "disabled until the rework"},
		},
		Tasks: []PVETask{
			// pve1: the pool job, 101 failed inside an otherwise good run.
			{Node: "pve1", Start: poolRun, End: poolRun.Add(15 * time.Minute), Job: "backup-pool-prod",
				Guests: []PVETaskGuest{
					{VMID: 100, Type: "qemu", Start: poolRun.Add(3 * time.Minute), Duration: 4*time.Minute + 12*time.Second},
					{VMID: 101, Type: "lxc", Start: poolRun.Add(8 * time.Minute), Duration: 31 * time.Second, Error: "command 'lxc-freeze -n 101' failed: exit code 1"},
				}},
			// pve1: the all job: the template went fine, 106 failed.
			{Node: "pve1", Start: allRun1, End: allRun1.Add(3 * time.Minute), Job: "backup-all",
				Guests: []PVETaskGuest{
					{VMID: 106, Type: "qemu", Start: allRun1.Add(10 * time.Second), Duration: 5 * time.Second, Error: "no such volume 'local-lvm:vm-106-disk-0'"},
					{VMID: 9000, Type: "qemu", Start: allRun1.Add(1 * time.Minute), Duration: 47 * time.Second},
				}},
			// pve1: an older manual backup of 100.
			{Node: "pve1", Start: poolRun.Add(-2 * day), End: poolRun.Add(-2 * day).Add(5 * time.Minute), VMID: "100", User: "admin@pam!cli",
				Guests: []PVETaskGuest{{VMID: 100, Type: "qemu", Start: poolRun.Add(-2 * day), Duration: 5 * time.Minute}}},
			// pve2: yesterday's all job, and today's, still running on 103.
			{Node: "pve2", Start: allRun2.Add(-day), End: allRun2.Add(-day).Add(10 * time.Minute), Job: "backup-all",
				Guests: []PVETaskGuest{
					{VMID: 102, Type: "qemu", Start: allRun2.Add(-day).Add(2 * time.Minute), Duration: 3 * time.Minute},
					{VMID: 103, Type: "lxc", Start: allRun2.Add(-day).Add(6 * time.Minute), Duration: 2 * time.Minute},
				}},
			{Node: "pve2", Start: running, Job: "backup-all",
				Guests: []PVETaskGuest{
					{VMID: 102, Type: "qemu", Start: running.Add(1 * time.Minute), Duration: 4 * time.Minute},
					{VMID: 103, Type: "lxc", Start: running.Add(6 * time.Minute), Running: true},
				}},
			// Restores (qmrestore, vzrestore): the task id is the guest
			// restored into.
			{Node: "pve1", Start: now.Add(-10 * day), End: now.Add(-10*day + 7*time.Minute), VMID: "9100", User: "admin@pam",
				Restore: &PVERestore{Source: 100, Type: "qemu", Storage: "pbs", BackupTime: poolRun.Add(-day).Add(4 * time.Minute)}},
			{Node: "pve1", Start: now.Add(-30 * day), End: now.Add(-30*day + 2*time.Minute), VMID: "9100", User: "admin@pam",
				Restore: &PVERestore{Source: 100, Type: "qemu", Storage: "pbs", BackupTime: now.Add(-31 * day), Error: "interrupted by signal"}},
			{Node: "pve2", Start: now.Add(-2 * day), End: now.Add(-2*day + 3*time.Minute), VMID: "9103", User: "admin@pam",
				Restore: &PVERestore{Source: 103, Type: "lxc", Storage: "local", BackupTime: weekly.Add(25 * time.Minute), Error: "command 'tar xpf - --zstd' failed: exit code 2"}},
			{Node: "pve2", Start: running.Add(5 * time.Minute), VMID: "9102", User: "admin@pam",
				Restore: &PVERestore{Source: 102, Type: "qemu", Storage: "pbs", BackupTime: allRun2.Add(-day).Add(2 * time.Minute), Live: true}},
			// pve2: the weekly job.
			{Node: "pve2", Start: weekly, End: weekly.Add(40 * time.Minute), Job: "backup-vmids-weekly",
				Guests: []PVETaskGuest{
					{VMID: 102, Type: "qemu", Start: weekly.Add(1 * time.Minute), Duration: 4 * time.Minute},
					{VMID: 103, Type: "lxc", Start: weekly.Add(24 * time.Minute), Duration: time.Minute},
				}},
		},
	}
}

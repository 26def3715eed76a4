package simulator

import "time"

// Credentials of the PBS test scenario.
const (
	TestPBSTokenID     = "monitor@pbs!exporter"
	TestPBSTokenSecret = "3f0c2b8e-91d4-4a57-b6e2-5d8a1c9f0e73"
)

// PBSTestScenario is a backup server for the exporter's tests, with every
// time derived from now:
//   - datastore "main" with namespaces "", "prod" and "prod/db", and an
//     estimated full date in 20 days; datastore "archive" whose GC never ran;
//   - vm/100 whose newest snapshot failed verification; ct/101 whose newest
//     snapshot is in progress (no size) and whose finished one was never
//     verified; host/nas01 protected; an encrypted vm/200 in "prod" with a
//     group comment; vm/300 in "prod/db" opted out by its comment;
//   - a verify job that failed, a prune job that never ran, a running sync
//     job, a sync job that succeeded, a push sync job to an offsite server
//     that succeeded, and a tape job;
//   - reader tasks: main's vm/100 read 10 and 2 days ago (the PVE restore and
//     a file restore), prod's vm/200 5 days ago, archive's vm/100 yesterday,
//     and a reader of main's ct/101 still running.
func PBSTestScenario(now time.Time) *PBS {
	h := time.Hour
	day := 24 * h
	full := now.Add(20 * day)
	nightly := now.Truncate(day).Add(-7 * h) // 03:00 UTC last night
	if nightly.After(now) {
		nightly = nightly.Add(-day)
	}
	size := func(gib float64) *uint64 { v := uint64(gib * (1 << 30)); return &v }
	return &PBS{
		TokenID: TestPBSTokenID, TokenSecret: TestPBSTokenSecret,
		Version: "4.0", Release: "14", RepoID: "8e2a6f1d0c9b7a5e3f1d2c4b6a8e0f1d3c5b7a9e",
		Now: func() time.Time { return now },
		Datastores: []Datastore{
			{
				Name: "main", Comment: "primary store", Total: 4 << 40, Used: 3 << 40, EstimatedFull: &full,
				GC: GCStatus{LastStart: nightly.Add(-2 * h), Duration: 142 * time.Second, State: "OK", Schedule: "daily", NextRun: nightly.Add(day - 3*h),
					RemovedBytes: 1209008128, PendingBytes: 402653184, DiskBytes: 89123456789},
				Namespaces: []Namespace{
					{Path: "", Groups: []Group{
						{BackupType: "vm", BackupID: "100", Snapshots: []Snapshot{
							{Time: nightly.Add(-2 * day), Size: size(32), Verify: "ok", VerifyTime: nightly.Add(-2*day + 6*h), Comment: "db01"},
							{Time: nightly.Add(-day), Size: size(32.1), Verify: "ok", VerifyTime: nightly.Add(-day + 6*h), Comment: "db01"},
							{Time: nightly, Size: size(32.2), Verify: "failed", VerifyTime: nightly.Add(2 * h), Comment: "db01"},
						}},
						{BackupType: "ct", BackupID: "101", Snapshots: []Snapshot{
							{Time: nightly.Add(-day), Size: size(2)},
							{Time: now.Add(-10 * time.Minute)}, // in progress
						}},
						{BackupType: "host", BackupID: "nas01", Owner: "backup@pbs", Snapshots: []Snapshot{
							{Time: nightly.Add(-3 * day), Size: size(120), Protected: true, Verify: "ok", VerifyTime: nightly.Add(-2 * day)},
						}},
					}},
					{Path: "prod", Comment: "production cluster", Groups: []Group{
						{BackupType: "vm", BackupID: "200", Comment: "erp <primary> & \"billing\"", Owner: "pve@pbs!cluster1", Snapshots: []Snapshot{
							{Time: nightly.Add(-day + 20*time.Minute), Size: size(64), Encrypted: true, Verify: "ok", VerifyTime: nightly.Add(-day + 4*h)},
							{Time: nightly.Add(20 * time.Minute), Size: size(64.5), Encrypted: true, Verify: "ok", VerifyTime: nightly.Add(4 * h)},
						}},
					}},
					{Path: "prod/db", Groups: []Group{
						{BackupType: "vm", BackupID: "300", Comment: "scratch db, no-monitor", Snapshots: []Snapshot{
							{Time: nightly.Add(-9 * day), Size: size(8)},
						}},
					}},
				},
			},
			{
				Name: "archive", Total: 8 << 40, Used: 2 << 40,
				GC: GCStatus{Schedule: "sat 03:00", NextRun: nightly.Add(3 * day)},
				Namespaces: []Namespace{{Path: "", Groups: []Group{
					{BackupType: "vm", BackupID: "100", Snapshots: []Snapshot{
						{Time: nightly.Add(-day), Size: size(32.1), Verify: "ok", VerifyTime: nightly.Add(-day + 8*h)},
					}},
				}}},
			},
		},
		VerifyJobs: []Job{
			{ID: "v-3f2a9c1d-77b0", Store: "main", Schedule: "daily", NextRun: nightly.Add(day + 2*h), LastStart: nightly.Add(2 * h), LastEnd: nightly.Add(3 * h),
				LastState: "verification failed - please check the log for details"},
		},
		PruneJobs: []Job{
			{ID: "p-main-keep", Store: "main", Schedule: "daily", Comment: "keep 7 daily, 4 weekly", NextRun: nightly.Add(day + h)},
		},
		SyncJobs: []Job{
			{ID: "s-offsite", Store: "archive", Remote: "pbs-offsite", RemoteStore: "main", Schedule: "hourly", NextRun: now.Truncate(h).Add(h), LastStart: now.Add(-5 * time.Minute)},
			{ID: "s-local-copy", Store: "archive", RemoteStore: "main", Schedule: "daily", NextRun: nightly.Add(day + 4*h), LastStart: nightly.Add(4 * h), LastEnd: nightly.Add(4*h + 10*time.Minute), LastState: "OK"},
			{ID: "s-push-offsite", Store: "main", Remote: "pbs-offsite", RemoteStore: "offsite", Direction: "push", Schedule: "daily", NextRun: nightly.Add(day + 5*h), LastStart: nightly.Add(5 * h), LastEnd: nightly.Add(5*h + 20*time.Minute), LastState: "OK"},
		},
		Reads: []Read{
			{Store: "main", BackupType: "vm", BackupID: "100", Snapshot: nightly.Add(-day), Start: now.Add(-10 * day), End: now.Add(-10*day + 7*time.Minute), User: "root@pam"},
			{Store: "main", BackupType: "vm", BackupID: "100", Snapshot: nightly, Start: now.Add(-2 * day), End: now.Add(-2*day + time.Minute), User: "admin@pbs"},
			{Store: "main", BackupType: "vm", BackupID: "200", Snapshot: nightly.Add(20 * time.Minute), Start: now.Add(-5 * day), End: now.Add(-5*day + 3*time.Minute)},
			{Store: "archive", BackupType: "vm", BackupID: "100", Snapshot: nightly.Add(-day), Start: now.Add(-day), End: now.Add(-day + 4*time.Minute), Status: "connection reset"},
			{Store: "main", BackupType: "ct", BackupID: "101", Snapshot: nightly.Add(-day), Start: now.Add(-3 * time.Minute)},
		},
		TapeJobs: []Job{
			{ID: "weekly-tape", Store: "main", Pool: "weekly", Drive: "lto8", Schedule: "sun 05:00", NextRun: nightly.Add(2 * day), LastStart: nightly.Add(-5 * day), LastEnd: nightly.Add(-5*day + 3*h), LastState: "WARNINGS: 2"},
		},
	}
}

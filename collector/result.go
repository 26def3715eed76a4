// Package collector queries one Proxmox target at scrape time and turns the
// answers into a data model (Result) and Prometheus metrics.
//
// A probe runs one sub-collector per API area concurrently. Each fills its
// own part of the result; a failing call marks its collector failed and
// leaves the other collectors' data in place. The same Result feeds /probe
// and the status page.
package collector

import (
	"time"
)

// Result is everything one probe learned about a target.
type Result struct {
	Target  string
	Product string
	// Now is the time the probe started; ages are computed against it.
	Now time.Time
	// Up is true when the API answered and accepted the token.
	Up         bool
	Info       *TargetInfo
	Collectors []CollectorStatus
	// Warnings are problems the API does not report as errors, such as a
	// listing that is probably empty for want of a privilege.
	Warnings []string
	// Missing lists the privileges the exporter's calls need and the
	// token lacks, from GET /access/permissions.
	Missing []MissingPrivilege
	// Offsite is the target that holds copies of this PBS target's groups
	// (its offsite setting), empty if none is configured.
	Offsite string

	PBS *PBSData
	PVE *PVEData
}

// TargetInfo is the server's version.
type TargetInfo struct {
	Version string
	Release string
	RepoID  string
}

// CollectorStatus is the outcome of one sub-collector.
type CollectorStatus struct {
	Name     string
	Success  bool
	Duration time.Duration
	Err      error
}

// Failed reports the names of the collectors that failed.
func (r *Result) Failed() []string {
	var names []string
	for _, c := range r.Collectors {
		if !c.Success {
			names = append(names, c.Name)
		}
	}
	return names
}

// PBSData is what a Proxmox Backup Server target exports.
type PBSData struct {
	Datastores []Datastore
	GC         []GCStatus
	Groups     []Group
	Jobs       []Job

	// reads is the newest reader task per datastore and group (type/id),
	// from the reads collector; nil when it did not deliver.
	reads map[readKey]time.Time
}

// Datastore is a PBS datastore's configuration and usage.
type Datastore struct {
	Name        string
	Comment     string
	MountStatus string
	BackendType string
	// HasUsage is false when PBS reported no sizes (an error, an unmounted
	// removable datastore, or too few privileges).
	HasUsage  bool
	Total     uint64
	Used      uint64
	Avail     uint64
	UsageErr  string
	FullEstim time.Time // zero when PBS has no estimate, or predicts no fill
}

// GCStatus is a datastore's garbage collection status.
type GCStatus struct {
	Datastore    string
	Schedule     string
	LastRunEnd   time.Time // zero if never run
	LastRunState string
	Running      bool
	Duration     time.Duration
	NextRun      time.Time
	// HasCounts is false when no GC ever finished: the counters are then
	// unknown, not zero.
	HasCounts    bool
	RemovedBytes uint64
	PendingBytes uint64
	DiskBytes    uint64
}

// Group is a PBS backup group aggregated from its snapshots.
type Group struct {
	Datastore  string
	Namespace  string
	BackupType string
	BackupID   string
	Owner      string
	Comment    string
	// Snapshots counts every snapshot, finished or not.
	Snapshots int
	// FutureSnapshots counts the finished snapshots dated beyond the
	// clock-skew allowance after the probe time; Last ignores them.
	FutureSnapshots int
	// Last is the newest finished snapshot, nil if there is none.
	Last *Snapshot
	// LastRead is when the newest reader task of one of the group's
	// snapshots within the restore lookback started; zero when none is
	// known (see pbsReads).
	LastRead time.Time
}

// DisplayName names the group for a person: its comment (the group's own
// notes, set by hand in PBS), else the notes of its newest snapshot, which
// PVE fills from the backup job's notes template, by default the guest's
// name. Opt-outs read the comment alone, as the alerts do.
func (g *Group) DisplayName() string {
	if g.Comment != "" || g.Last == nil {
		return g.Comment
	}
	return g.Last.Notes
}

// Snapshot is the state of one backup snapshot.
type Snapshot struct {
	Time time.Time
	// Notes is the first line of the snapshot's notes (PBS "comment").
	Notes     string
	Size      uint64
	Protected bool
	Encrypted bool
	// Verify is "ok", "failed" or "none".
	Verify     string
	VerifyTime time.Time // zero when unknown
}

// Verification states.
const (
	VerifyOK     = "ok"
	VerifyFailed = "failed"
	VerifyNone   = "none"
)

// Job is a PBS verify, prune, sync, tape or GC job.
type Job struct {
	Type string // verify, prune, sync, tape, gc
	ID   string
	// Direction is pull or push for sync jobs, empty for the others.
	Direction string
	Datastore string
	Schedule  string
	Comment   string
	Disabled  bool
	// LastRunEnd is zero when the job never finished a run.
	LastRunEnd   time.Time
	LastRunState string
	Running      bool
	// RunningUnknown: whether a run is in progress could not be read (a
	// GC whose task list failed).
	RunningUnknown bool
	NextRun        time.Time
}

// JobSucceeded interprets a job's or task's state as Proxmox does: "OK" and
// "WARNINGS: N" are successes, anything else is a failure.
func JobSucceeded(state string) bool {
	return state == "OK" || len(state) > 9 && state[:9] == "WARNINGS:"
}

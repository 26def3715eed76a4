package collector

import "time"

// PVEData is what a Proxmox VE target exports.
type PVEData struct {
	// GuestsKnown, BackupsKnown, CoverageKnown and AttemptsKnown tell whether the
	// backups, jobs and tasks collectors delivered: a guest's backup count,
	// coverage and attempts are exported only then, so that a failed call
	// never reads as "no backups" or "not covered".
	GuestsKnown   bool
	BackupsKnown  bool
	CoverageKnown bool
	AttemptsKnown bool
	// RestoresKnown tells whether the restores collector delivered: the
	// restore metrics and the restore-test requirement are exported only
	// then, so that a failed listing never reads as "never restored".
	RestoresKnown bool

	Nodes    []Node
	Guests   []Guest
	Jobs     []PVEJob
	Storages []Storage
	// Restores are, per backed-up guest, the newest finished restore of
	// one of its backups within the restore lookback, by source VMID.
	Restores []GuestRestore

	// Parts filled by the sub-collectors and joined into Guests, Jobs and
	// Storages once they have all reported.
	guestList  []Guest
	guestsRead bool
	jobsRead   bool
	backups    map[int]*guestBackups
	storeCount map[storageKey]*storageCount
	attempts   map[int]*guestAttempts
	jobList    []PVEJob
	taskRuns   []tiedTask
	restores   map[int]*GuestRestore
	zones      map[string]*time.Location
	// zoneNotes say which nodes' time zones are unknown or borrowed.
	zoneNotes []string
}

// Node is a cluster node.
type Node struct {
	Name     string
	Online   bool
	Timezone string // empty when unknown
}

// Guest is a VM or container with its backup state.
type Guest struct {
	VMID     int
	Name     string
	Type     string // qemu or lxc
	Node     string
	Pool     string
	Tags     string
	Template bool
	Status   string

	// Backups counts the guest's backups on all backup storages,
	// unfinished ones included.
	Backups int
	// FutureBackups counts the finished backups dated beyond the clock-skew
	// allowance after the probe time; Last and PerStorage ignore them.
	FutureBackups int
	// Last is the newest finished backup, nil if there is none.
	Last *GuestBackup
	// PerStorage holds the newest finished backup time per storage.
	PerStorage []StorageBackup
	// RecentStorages counts the storages in PerStorage whose newest backup
	// is younger than the target's recent-backup window.
	RecentStorages int

	// Covered is true when an enabled backup job selects the guest.
	Covered bool
	// Jobs are the enabled jobs that select the guest.
	Jobs []string
	// Due is the most recent scheduled start of a covering job, zero if
	// none is known.
	Due time.Time

	// LastAttempt is the newest finished backup attempt found in the task
	// logs within the lookback, nil if none.
	LastAttempt *Attempt
	// Running is true while a backup task is working on the guest.
	Running bool

	// RestoreTestRequired is true when the guest carries the target's
	// restore-test tag or the target requires restore tests of every guest.
	RestoreTestRequired bool
	// LastRestore is the newest finished restore of one of the guest's
	// backups, into whichever guest, nil if none is in the lookback.
	LastRestore *GuestRestore
}

// GuestRestore is one restore task (qmrestore or vzrestore) as its log and
// the task list tell it.
type GuestRestore struct {
	// VMID is the backed-up guest the archive came from; TargetVMID the
	// guest restored into (the task's id).
	VMID       int
	TargetVMID int
	Node       string
	UPID       string
	Start, End time.Time
	Success    bool
	// Status is the task's final status: OK, WARNINGS: N, or the error.
	Status string
	// Archive names the backup read; Storage is its storage when the log
	// gives the volume id (container restores).
	Archive string
	Storage string
	// BackupTime is when the restored backup was made, zero if unknown.
	BackupTime time.Time
	Live       bool
}

// GuestBackup is the state of one backup volume.
type GuestBackup struct {
	VolID      string
	Storage    string
	Time       time.Time
	Size       uint64
	HasSize    bool
	Verify     string // ok, failed or none
	VerifyTime time.Time
	Encrypted  bool
	Protected  bool
}

// StorageBackup is a guest's newest finished backup on one storage.
type StorageBackup struct {
	Storage string
	Time    time.Time
}

// Attempt is one backup attempt of a guest, from a vzdump task log.
type Attempt struct {
	Start    time.Time
	Duration time.Duration
	Success  bool
	Error    string
	Node     string
	UPID     string
}

// PVEJob is a cluster backup job.
type PVEJob struct {
	ID       string
	Schedule string
	// ScheduleValid is false when the schedule cannot be read (the
	// exporter then derives no due time from the job); ScheduleErr says
	// why.
	ScheduleValid bool
	ScheduleErr   string
	Storage       string
	Mode          string
	Selection     string
	Comment       string
	Node          string
	Enabled       bool
	NextRun       time.Time
	Guests        int
	// LastRun and LastRunSuccess come from the newest task tied to the job
	// (nil when no task could be tied to it).
	LastRun        time.Time
	LastRunSuccess *bool

	sel jobSelection
	// opts are the job's vzdump options as its runs log them; props marks
	// the property-string options.
	opts  map[string]string
	props map[string]bool
}

// Storage is a backup storage, per node, or once for a shared storage
// (Node is then empty).
type Storage struct {
	Name        string
	Node        string
	Type        string
	Shared      bool
	Active      bool
	Enabled     bool
	HasUsage    bool
	Total       uint64
	Used        uint64
	Avail       uint64
	Backups     int
	BackupBytes uint64
	// Listed is false when the content listing was not read.
	Listed bool
}

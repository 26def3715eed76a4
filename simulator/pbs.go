package simulator

import (
	"fmt"
	"strings"
	"time"
)

// PBS is a simulated Proxmox Backup Server.
type PBS struct {
	TokenID     string `yaml:"token_id"`
	TokenSecret string `yaml:"token_secret"`
	// Version is MAJOR.MINOR (4.0) and Release the patch level (14), as
	// PBS's /version reports them.
	Version string `yaml:"version"`
	Release string `yaml:"release"`
	RepoID  string `yaml:"repoid"`

	Datastores []Datastore `yaml:"datastores"`
	VerifyJobs []Job       `yaml:"verify_jobs"`
	PruneJobs  []Job       `yaml:"prune_jobs"`
	SyncJobs   []Job       `yaml:"sync_jobs"`
	TapeJobs   []Job       `yaml:"tape_jobs"`
	// ACLs limit the token; none: it may do everything.
	ACLs acls `yaml:"acls"`
	// NoSyncDirection emulates a server before PBS 3.3: /admin/sync knows
	// only pull jobs and rejects the sync-direction parameter.
	NoSyncDirection bool `yaml:"no_sync_direction"`
	// Reads are reader tasks: a client (a restore, a file restore, a pull)
	// reading a snapshot.
	Reads []Read `yaml:"reads"`

	// Now is the simulated clock; nil means time.Now.
	Now func() time.Time `yaml:"-"`
}

// Read is a reader task. proxmox-backup's src/api2/reader/mod.rs
// (upgrade_to_backup_reader_protocol) names it "reader" with the worker id
// store:type/id/SNAPSHOT-TIME-IN-8-HEX-DIGITS, without the namespace.
type Read struct {
	Store      string    `yaml:"store"`
	BackupType string    `yaml:"backup_type"`
	BackupID   string    `yaml:"backup_id"`
	Snapshot   time.Time `yaml:"snapshot"`
	Start      time.Time `yaml:"start"`
	// End zero: the reader is still running.
	End    time.Time `yaml:"end"`
	Status string    `yaml:"status"` // default OK
	User   string    `yaml:"user"`   // default root@pam
}

// Datastore is a PBS datastore with its namespaces.
type Datastore struct {
	Name        string `yaml:"name"`
	Comment     string `yaml:"comment"`
	MountStatus string `yaml:"mount_status"` // mounted, notmounted, nonremovable (default)
	BackendType string `yaml:"backend_type"` // filesystem (default) or s3
	Total       uint64 `yaml:"total"`
	Used        uint64 `yaml:"used"`
	// EstimatedFull is the predicted full date; nil: too little history.
	EstimatedFull *time.Time `yaml:"estimated_full"`
	// UsageError replaces the sizes in /status/datastore-usage.
	UsageError string      `yaml:"usage_error"`
	GC         GCStatus    `yaml:"gc"`
	Namespaces []Namespace `yaml:"namespaces"`
}

// GCStatus is a datastore's garbage collection state.
type GCStatus struct {
	// LastStart zero: no GC ever finished (upid null, counters zero).
	LastStart time.Time     `yaml:"last_start"`
	Duration  time.Duration `yaml:"duration"`
	// State is OK or an error; empty: the job state file holds no result.
	State string `yaml:"state"`
	// Running: a GC task runs now. Its job state file says "started", so
	// PBS reports no last-run state; the upid and counters stay those of
	// the last finished run.
	Running bool `yaml:"running"`
	// StateFileMissing: the job state file is gone (so PBS reports no
	// last-run state) while the last run's upid remains.
	StateFileMissing bool      `yaml:"state_file_missing"`
	Schedule         string    `yaml:"schedule"`
	NextRun          time.Time `yaml:"next_run"`
	RemovedBytes     uint64    `yaml:"removed_bytes"`
	PendingBytes     uint64    `yaml:"pending_bytes"`
	DiskBytes        uint64    `yaml:"disk_bytes"`
}

// Namespace is a namespace of a datastore; Path "" is the root.
type Namespace struct {
	Path    string  `yaml:"path"`
	Comment string  `yaml:"comment"`
	Groups  []Group `yaml:"groups"`
}

// Group is a backup group.
type Group struct {
	BackupType string     `yaml:"backup_type"` // vm, ct or host
	BackupID   string     `yaml:"backup_id"`
	Owner      string     `yaml:"owner"`
	Comment    string     `yaml:"comment"`
	Snapshots  []Snapshot `yaml:"snapshots"`
}

// Snapshot is one backup snapshot.
type Snapshot struct {
	Time time.Time `yaml:"time"`
	// Size nil: in progress or unreadable; PBS then lists the files
	// without crypt modes or sizes, and no verification.
	Size      *uint64 `yaml:"size"`
	Protected bool    `yaml:"protected"`
	Encrypted bool    `yaml:"encrypted"`
	Comment   string  `yaml:"comment"`
	// Verify is "ok", "failed" or "" (never verified).
	Verify     string    `yaml:"verify"`
	VerifyTime time.Time `yaml:"verify_time"`
}

// Job is a verify, prune, sync or tape backup job.
type Job struct {
	ID       string `yaml:"id"`
	Store    string `yaml:"store"`
	NS       string `yaml:"ns"`
	Schedule string `yaml:"schedule"`
	Comment  string `yaml:"comment"`
	// Sync jobs.
	Remote      string `yaml:"remote"`
	RemoteStore string `yaml:"remote_store"`
	// Direction is pull (default) or push (PBS 3.3 and later): a push job
	// sends Store to RemoteStore on Remote.
	Direction string `yaml:"direction"`
	// Prune jobs.
	Disable bool `yaml:"disable"`
	// Tape jobs.
	Pool  string `yaml:"pool"`
	Drive string `yaml:"drive"`

	NextRun time.Time `yaml:"next_run"`
	// LastStart zero: never ran. LastEnd zero: running.
	LastStart time.Time `yaml:"last_start"`
	LastEnd   time.Time `yaml:"last_end"`
	LastState string    `yaml:"last_state"`
}

func (p *PBS) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *PBS) datastore(name string) *Datastore {
	for i := range p.Datastores {
		if p.Datastores[i].Name == name {
			return &p.Datastores[i]
		}
	}
	return nil
}

func (d *Datastore) namespace(path string) *Namespace {
	for i := range d.Namespaces {
		if d.Namespaces[i].Path == path {
			return &d.Namespaces[i]
		}
	}
	if path == "" {
		return &Namespace{}
	}
	return nil
}

// pbsUPID writes a PBS task id, with its task-id field and the
// systemd-escaped worker id.
func pbsUPID(taskID int, start time.Time, workerType, workerID, user string) string {
	return fmt.Sprintf("UPID:pbs:000000CA:0000102F:%08X:%08X:%s:%s:%s:", taskID, start.Unix(), workerType, systemdEscape(workerID), user)
}

// systemdEscape escapes like systemd: "/" becomes "-", every byte outside
// [A-Za-z0-9_.] becomes \xNN.
func systemdEscape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '/':
			b.WriteByte('-')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.':
			b.WriteByte(c)
		default:
			fmt.Fprintf(&b, `\x%02x`, c)
		}
	}
	return b.String()
}

// files lists a snapshot's files as PBS does: index.json.blob is only ever
// signed, client.log.blob carries no crypt mode, and a snapshot without a
// readable manifest lists bare file names.
func (s *Snapshot) files(backupType string) []map[string]any {
	names := []string{"qemu-server.conf.blob", "drive-scsi0.img.fidx"}
	switch backupType {
	case "ct":
		names = []string{"pct.conf.blob", "root.pxar.didx", "catalog.pcat1.didx"}
	case "host":
		names = []string{"etc.pxar.didx", "catalog.pcat1.didx"}
	}
	names = append(names, "index.json.blob", "client.log.blob")
	var out []map[string]any
	// The listed size is the sum of the files' sizes: small blobs, and
	// the rest in the first archive.
	const blob = 512
	for i, n := range names {
		f := map[string]any{"filename": n}
		if s.Size != nil && n != "client.log.blob" {
			mode := "none"
			switch {
			case s.Encrypted && n == "index.json.blob":
				mode = "sign-only"
			case s.Encrypted:
				mode = "encrypt"
			}
			f["crypt-mode"] = mode
			size := uint64(blob)
			if i == 1 {
				size = *s.Size - blob*uint64(len(names)-2)
			}
			f["size"] = size
		}
		out = append(out, f)
	}
	return out
}

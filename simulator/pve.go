package simulator

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// PVE is a simulated Proxmox VE cluster.
type PVE struct {
	TokenID     string `yaml:"token_id"`
	TokenSecret string `yaml:"token_secret"`
	// Version is the pve-manager package version (8.4.14), Release its
	// major.minor (8.4), RepoID a 16-hex-digit commit id.
	Version string `yaml:"version"`
	Release string `yaml:"release"`
	RepoID  string `yaml:"repoid"`
	// Standalone drops the cluster row of /cluster/status.
	Standalone bool `yaml:"standalone"`

	Nodes    []PVENode      `yaml:"nodes"`
	Guests   []PVEGuest     `yaml:"guests"`
	Storages []PVEStorage   `yaml:"storages"`
	Jobs     []PVEBackupJob `yaml:"jobs"`
	Tasks    []PVETask      `yaml:"tasks"`
	// ACLs limit the token; none: it may do everything.
	ACLs acls `yaml:"acls"`

	// Now is the simulated clock; nil means time.Now.
	Now func() time.Time `yaml:"-"`

	once    sync.Once
	upids   []string
	taskIdx map[string]int
}

// PVENode is a cluster node.
type PVENode struct {
	Name     string `yaml:"name"`
	Offline  bool   `yaml:"offline"`
	Timezone string `yaml:"timezone"` // IANA name; default UTC
	// TimeRefused makes /nodes/{node}/time answer 403, as for a token
	// without Sys.Audit on the node.
	TimeRefused bool `yaml:"time_refused"`
}

// PVEGuest is a VM (qemu) or container (lxc).
type PVEGuest struct {
	VMID     int    `yaml:"vmid"`
	Name     string `yaml:"name"`
	Type     string `yaml:"type"` // qemu or lxc
	Node     string `yaml:"node"`
	Status   string `yaml:"status"`
	Pool     string `yaml:"pool"`
	Tags     string `yaml:"tags"` // ";"-separated, as PVE writes them
	Template bool   `yaml:"template"`
}

// PVEStorage is a storage of the cluster configuration.
type PVEStorage struct {
	Name     string   `yaml:"name"`
	Type     string   `yaml:"type"` // dir, nfs, pbs, ...
	Content  string   `yaml:"content"`
	Shared   bool     `yaml:"shared"`
	Disabled bool     `yaml:"disabled"`
	Nodes    []string `yaml:"nodes"` // restriction; empty: all nodes
	// InactiveOn lists the nodes where the storage is unreachable.
	InactiveOn []string `yaml:"inactive_on"`
	Total      uint64   `yaml:"total"`
	Used       uint64   `yaml:"used"`
	// PBS storages.
	Server    string `yaml:"server"`
	Datastore string `yaml:"datastore"`
	Namespace string `yaml:"namespace"`
	// Volumes of a shared storage, or of a local storage on every node
	// (see Volume.Node to place one on a single node).
	Volumes []PVEVolume `yaml:"volumes"`
}

// PVEVolume is one backup on a storage.
type PVEVolume struct {
	VMID int    `yaml:"vmid"`
	Type string `yaml:"type"` // qemu or lxc
	// Node places the volume of a local storage on one node.
	Node string    `yaml:"node"`
	Time time.Time `yaml:"time"`
	// Size nil: an unfinished PBS snapshot (PVE shows size 1) or, on a
	// file storage, no size at all.
	Size      *uint64 `yaml:"size"`
	Notes     string  `yaml:"notes"`
	Protected bool    `yaml:"protected"`
	// Encrypted is the key fingerprint (PBS storages only).
	Encrypted string `yaml:"encrypted"`
	// Verify is "ok" or "failed" (PBS storages only); VerifyTime the
	// verification task's start.
	Verify     string    `yaml:"verify"`
	VerifyTime time.Time `yaml:"verify_time"`
	// OddName gives a file name without a guest id (no vmid in listings).
	OddName bool `yaml:"odd_name"`
}

// PVEBackupJob is an entry of /cluster/backup.
type PVEBackupJob struct {
	ID       string `yaml:"id"`
	Schedule string `yaml:"schedule"`
	Storage  string `yaml:"storage"`
	Mode     string `yaml:"mode"`
	All      bool   `yaml:"all"`
	VMID     string `yaml:"vmid"`    // comma-separated
	Exclude  string `yaml:"exclude"` // comma-separated
	Pool     string `yaml:"pool"`
	Node     string `yaml:"node"`
	Comment  string `yaml:"comment"`
	Disabled bool   `yaml:"disabled"`
	NextRun  int64  `yaml:"next_run"`
}

// PVETask is a vzdump task. Its log is rendered from Guests the way vzdump
// writes it.
type PVETask struct {
	Node  string    `yaml:"node"`
	Start time.Time `yaml:"start"`
	// End zero: the task is still running.
	End time.Time `yaml:"end"`
	// VMID is set for a manual backup of one guest; empty for a job.
	VMID string `yaml:"vmid"`
	User string `yaml:"user"`
	// Status overrides the derived final status (for example "unexpected
	// status" or a raw error).
	Status string `yaml:"status"`
	// Args is the vzdump command line after "vzdump ".
	Args string `yaml:"args"`
	// Job makes the task a scheduled run of that job: the command line is
	// the job's, as PVE logs it (no --job-id), unless Args is set. Set
	// VMID too when the job selects exactly one guest on the node: PVE
	// then uses the vmid as the task id.
	Job    string         `yaml:"job"`
	Guests []PVETaskGuest `yaml:"guests"`
	// JobError aborts the job with this message after the guests.
	JobError string `yaml:"job_error"`
	// InitError: the job died before its first log line (PVE::VZDump::new:
	// storage not activated, dumpdir or tmpdir missing, job-init hook); the
	// log is "TASK ERROR: <InitError>" and the status the message.
	InitError string `yaml:"init_error"`
	// LockTimeout: the worker gave up waiting for the node's vzdump lock
	// and exited without a TASK line ("unexpected status").
	LockTimeout bool `yaml:"lock_timeout"`
	// Restore makes the task a restore into the guest VMID instead of a
	// vzdump task: Job, Args and Guests are then unused.
	Restore *PVERestore `yaml:"restore"`
}

// PVERestore is a restore task: qemu-server's create_vm forks "qmrestore"
// for a VM backup, pve-container's "vzrestore" for a container backup,
// both with the guest restored into (the task's VMID) as the task id.
type PVERestore struct {
	// Source is the backed-up guest; Type its type, qemu or lxc.
	Source int    `yaml:"source"`
	Type   string `yaml:"type"`
	// Storage is the cluster storage the backup is on: a pbs storage gives
	// a PBS snapshot, any other a vzdump file in its dump directory.
	Storage string `yaml:"storage"`
	// BackupTime is when the restored backup was made.
	BackupTime time.Time `yaml:"backup_time"`
	// Live: a live-restore from PBS (VMs only).
	Live bool `yaml:"live"`
	// Error fails the restore with this message once the archive is
	// open; "interrupted by signal" is a restore stopped by a user.
	Error string `yaml:"error"`
}

// PVETaskGuest is one guest's part of a vzdump task.
type PVETaskGuest struct {
	VMID     int           `yaml:"vmid"`
	Type     string        `yaml:"type"`
	Start    time.Time     `yaml:"start"`
	Duration time.Duration `yaml:"duration"`
	// Error makes the guest's backup fail with this message.
	Error string `yaml:"error"`
	// Running: the guest's backup has started and not finished.
	Running bool `yaml:"running"`
	// Skipped: vzdump skipped the guest.
	Skipped string `yaml:"skipped"`
	// Refused: vzdump failed the guest with Error before starting it
	// (guest not found, HA-managed in stop mode, backup limit, ...): only
	// the ERROR and "Failed at" lines are logged.
	Refused bool `yaml:"refused"`
}

func (p *PVE) now() time.Time {
	if p.Now != nil {
		return p.Now()
	}
	return time.Now()
}

func (p *PVE) node(name string) *PVENode {
	for i := range p.Nodes {
		if p.Nodes[i].Name == name {
			return &p.Nodes[i]
		}
	}
	return nil
}

func (p *PVE) location(node string) *time.Location {
	if n := p.node(node); n != nil && n.Timezone != "" {
		if loc, err := time.LoadLocation(n.Timezone); err == nil {
			return loc
		}
	}
	return time.UTC
}

// storageOnNode reports whether a storage is configured for a node.
func (s *PVEStorage) onNode(node string) bool {
	return len(s.Nodes) == 0 || contains(s.Nodes, node)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// index builds the task UPIDs once.
func (p *PVE) index() {
	p.once.Do(func() {
		p.upids = make([]string, len(p.Tasks))
		p.taskIdx = map[string]int{}
		for i := range p.Tasks {
			t := &p.Tasks[i]
			u := pveUPID(t.Node, 0x1000+i, 0x100000+i*7, t.Start, t.taskType(), t.VMID, t.user())
			p.upids[i] = u
			p.taskIdx[u] = i
		}
	})
}

func (t *PVETask) user() string {
	if t.User == "" {
		return "root@pam"
	}
	return t.User
}

// pveUPID writes a PVE task id: UPID:node:pid:pstart:starttime:type:id:user:
func pveUPID(node string, pid, pstart int, start time.Time, typ, id, user string) string {
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", node, pid, pstart, start.Unix(), typ, id, user)
}

// taskType is the task's worker type.
func (t *PVETask) taskType() string {
	switch {
	case t.Restore == nil:
		return "vzdump"
	case t.Restore.Type == "lxc":
		return "vzrestore"
	}
	return "qmrestore"
}

// status is the task's final status as the task list shows it.
func (t *PVETask) status() string {
	if t.End.IsZero() {
		return "RUNNING"
	}
	if t.Status != "" {
		return t.Status
	}
	if r := t.Restore; r != nil {
		switch {
		case r.Error == "":
			return "OK"
		case r.Type == "lxc":
			// pve-container's create_vm dies "$emsg $err".
			return "unable to restore CT " + t.VMID + " - " + r.Error
		}
		return r.Error
	}
	switch {
	case t.InitError != "":
		return strings.ReplaceAll(t.InitError, "\n", " ")
	case t.LockTimeout:
		return "unexpected status"
	case t.JobError != "":
		return t.JobError
	}
	for _, g := range t.Guests {
		if g.Error != "" {
			// exec_backup dies "job errors" whatever the guest count.
			return "job errors"
		}
	}
	return "OK"
}

// args is the task's command line after "vzdump ".
func (p *PVE) args(t *PVETask) string {
	if t.Args == "" && t.Job != "" {
		if j := p.job(t.Job); j != nil {
			return j.commandLine()
		}
	}
	return t.Args
}

// log renders the task log the way vzdump writes it (PVE/VZDump.pm): job
// start, per guest start/finish or failure with node-local times, job end,
// and the worker's final TASK line.
func (t *PVETask) log(loc *time.Location, args string) []string {
	local := func(x time.Time) string { return x.In(loc).Format("2006-01-02 15:04:05") }
	switch {
	case t.End.IsZero():
	case t.InitError != "":
		// fork_worker turns the newlines of the joined errors into blanks.
		return []string{"TASK ERROR: " + strings.ReplaceAll(t.InitError, "\n", " ")}
	case t.LockTimeout:
		return []string{"INFO: trying to get global lock - waiting...", "ERROR: can't acquire lock '/var/run/vzdump.lock' - got timeout"}
	}
	if args == "" && t.VMID != "" {
		args = t.VMID + " --mode snapshot --storage local --node " + t.Node
	}
	lines := []string{"INFO: starting new backup job: vzdump " + args}
	guests := append([]PVETaskGuest(nil), t.Guests...)
	sort.Slice(guests, func(i, j int) bool { return guests[i].VMID < guests[j].VMID })
	errors := 0
	for _, g := range guests {
		if g.Skipped != "" {
			lines = append(lines, fmt.Sprintf("INFO: skip external VMs: %d", g.VMID))
			continue
		}
		if g.Refused {
			errors++
			lines = append(lines,
				fmt.Sprintf("ERROR: Backup of VM %d failed - %s", g.VMID, g.Error),
				"INFO: Failed at "+local(g.Start),
			)
			continue
		}
		kind := g.Type
		if kind == "" {
			kind = "qemu"
		}
		lines = append(lines,
			fmt.Sprintf("INFO: Starting Backup of VM %d (%s)", g.VMID, kind),
			"INFO: Backup started at "+local(g.Start),
			"INFO: status = running",
			"INFO: backup mode: snapshot",
			"INFO: ionice priority: 7",
		)
		if kind == "qemu" {
			lines = append(lines,
				fmt.Sprintf("INFO: VM Name: guest-%d", g.VMID),
				"INFO: include disk 'scsi0' 'local-lvm:vm-"+fmt.Sprint(g.VMID)+"-disk-0' 32G",
				"INFO: creating Proxmox Backup Server archive 'vm/"+fmt.Sprint(g.VMID)+"/"+g.Start.UTC().Format("2006-01-02T15:04:05Z")+"'",
				"INFO: starting kvm to execute backup task",
				"INFO: started backup task '"+fmt.Sprintf("%08x-%04x", g.VMID*2654435761%0xffffffff, g.VMID)+"'",
				"INFO: resuming VM again",
				"INFO: scsi0: dirty-bitmap status: OK (1.2 GiB of 32.0 GiB dirty)",
				"INFO: using fast incremental mode (dirty-bitmap), 1.2 GiB dirty of 32.0 GiB total",
			)
		} else {
			lines = append(lines,
				"INFO: CT Name: guest-"+fmt.Sprint(g.VMID),
				"INFO: including mount point rootfs ('/') in backup",
				"INFO: creating Proxmox Backup Server archive 'ct/"+fmt.Sprint(g.VMID)+"/"+g.Start.UTC().Format("2006-01-02T15:04:05Z")+"'",
				"INFO: run: lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- /usr/bin/proxmox-backup-client backup",
				"INFO: Starting backup: ct/"+fmt.Sprint(g.VMID)+"/"+g.Start.UTC().Format("2006-01-02T15:04:05Z"),
			)
		}
		if g.Running {
			lines = append(lines, "INFO:  12% (3.8 GiB of 32.0 GiB) in 30s, read: 128.0 MiB/s, write: 96.0 MiB/s")
			break
		}
		end := g.Start.Add(g.Duration)
		if g.Error != "" {
			errors++
			lines = append(lines,
				fmt.Sprintf("ERROR: Backup of VM %d failed - %s", g.VMID, g.Error),
				"INFO: Failed at "+local(end),
			)
			continue
		}
		d := g.Duration.Round(time.Second)
		lines = append(lines,
			"INFO: 100% (32.0 GiB of 32.0 GiB) in "+d.String()+", read: 512.0 MiB/s, write: 64.0 MiB/s",
			"INFO: backup was done incrementally, reused 30.8 GiB (96%)",
			"INFO: transferred 32.0 GiB in "+fmt.Sprint(int(d.Seconds()))+" seconds (512.0 MiB/s)",
			"INFO: adding notes to backup",
			fmt.Sprintf("INFO: Finished Backup of VM %d (%02d:%02d:%02d)", g.VMID, int(d.Hours()), int(d.Minutes())%60, int(d.Seconds())%60),
			"INFO: Backup finished at "+local(end),
		)
	}
	if t.End.IsZero() {
		return lines
	}
	switch {
	case t.JobError != "":
		lines = append(lines, "ERROR: Backup job failed - "+t.JobError, "TASK ERROR: "+t.JobError)
	case t.Status == "unexpected status":
		// The worker died without writing a final line.
	case errors > 0:
		lines = append(lines, "INFO: Backup job finished with errors", "TASK ERROR: job errors")
	default:
		lines = append(lines, "INFO: Backup job finished successfully", "TASK OK")
	}
	return lines
}

// selects reports whether a job selects a guest (VZDump.pm get_included_guests).
func (j *PVEBackupJob) selects(g *PVEGuest) bool {
	var in bool
	switch {
	case j.Pool != "":
		in = g.Pool == j.Pool
	case j.VMID != "":
		in = contains(splitList(j.VMID), fmt.Sprint(g.VMID))
	case j.All:
		in = !contains(splitList(j.Exclude), fmt.Sprint(g.VMID))
	}
	return in && (j.Node == "" || j.Node == g.Node)
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
}

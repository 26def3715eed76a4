package tasklog

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Restore is what the log of a restore task (qmrestore for a VM, vzrestore
// for a container) says about the backup it read. The task's id is the
// guest restored INTO; the backup's own guest, its source, is only in the
// archive name the log prints.
type Restore struct {
	// Archive is the archive as the log names it: a volume id
	// (storage:backup/...), a file path, or a PBS snapshot (vm/100/<time>).
	Archive string
	// Storage is the storage id, when the log names a volume id.
	Storage string
	// Repository and Namespace are the PBS repository and namespace,
	// when the log names them.
	Repository string
	Namespace  string
	// GuestType is the backup's guest type: qemu, lxc or openvz (from a
	// vzdump file name), vm or ct (from a PBS snapshot).
	GuestType string
	// VMID is the backed-up guest, 0 when the archive name has none (a PBS
	// host backup, an archive piped in on stdin).
	VMID int
	// BackupTime is when the backup was made: from a PBS snapshot's name
	// (UTC), or a vzdump file name (the node's local time, as PVE's own
	// archive_info reads it); zero when unknown.
	BackupTime time.Time
	// Live is true for a live-restore, which starts the VM while its disks
	// are still read from PBS.
	Live bool
}

// Known reports whether the log named the archive.
func (r *Restore) Known() bool { return r.Archive != "" }

// RestoreParser reads a restore task log line by line.
type RestoreParser struct {
	loc *time.Location
	r   Restore
}

// NewRestoreParser returns a parser for a log of a node in the zone loc
// (nil: unknown; vzdump file names then give no backup time).
func NewRestoreParser(loc *time.Location) *RestoreParser {
	return &RestoreParser{loc: loc}
}

var (
	// qemu-server, PVE/QemuServer.pm restore_vma_archive: the command it
	// runs, the archive file's path among its words.
	vmaRestoreRE = regexp.MustCompile(`^restore vma archive: (.*)$`)
	// qemu-server restore_tar_archive and pve-container PVE/LXC/Create.pm
	// restore_tar_archive: the archive file's path (or STDIN).
	extractRE = regexp.MustCompile(`^extracting archive '(.*)'$`)
	// qemu-server restore_proxmox_backup_archive: the pbs-restore command
	// line of each disk image.
	pbsRestoreRE = regexp.MustCompile(`^restore proxmox backup image: (.*)$`)
	// qemu-server pbs_live_restore.
	liveRestoreRE = regexp.MustCompile(`^repository: '(.*)', snapshot: '(.*)'$`)
	liveStartRE   = regexp.MustCompile(`^starting VM for live-restore$`)
	// pve-container PVE/API2/LXC.pm create_vm: the volume id, before the
	// configuration is read and before the archive is unpacked.
	lxcVolumeRE = regexp.MustCompile(`^(?:recovering backed-up configuration from '(.*)'|restoring '(.*)' now\.\.)$`)

	// A vzdump archive's name, as PVE::Storage::archive_info reads it.
	vzdumpNameRE = regexp.MustCompile(`vzdump-(qemu|lxc|openvz)-([1-9][0-9]{2,8})-(\d{4})_(\d{2})_(\d{2})-(\d{2})_(\d{2})_(\d{2})\.(?:vma|tar|tgz)`)
	// A PBS snapshot: type/id/time, the time in UTC
	// (PVE::Storage::PBSPlugin parse_volname).
	snapshotRE   = regexp.MustCompile(`(?:^|[\s'"/:])((vm|ct|host)/([^\s/'"]+)/(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z))`)
	repositoryRE = regexp.MustCompile(`--repository\s+'?([^\s']+)'?`)
	namespaceRE  = regexp.MustCompile(`--ns\s+'?([^\s']+)'?`)
)

// Line feeds the next log line.
func (p *RestoreParser) Line(text string) {
	text = strings.TrimRight(text, "\r\n")
	switch {
	case liveStartRE.MatchString(text):
		p.r.Live = true
	case liveRestoreRE.MatchString(text):
		m := liveRestoreRE.FindStringSubmatch(text)
		p.r.Live = true
		if p.r.Repository == "" {
			p.r.Repository = m[1]
		}
		p.snapshot(" " + m[2])
	case pbsRestoreRE.MatchString(text):
		cmd := pbsRestoreRE.FindStringSubmatch(text)[1]
		if p.r.Repository == "" {
			if m := repositoryRE.FindStringSubmatch(cmd); m != nil {
				p.r.Repository = m[1]
			}
		}
		if p.r.Namespace == "" {
			if m := namespaceRE.FindStringSubmatch(cmd); m != nil {
				p.r.Namespace = m[1]
			}
		}
		p.snapshot(cmd)
	case lxcVolumeRE.MatchString(text):
		m := lxcVolumeRE.FindStringSubmatch(text)
		volid := m[1] + m[2]
		if p.r.Archive != "" {
			break
		}
		if !strings.HasPrefix(volid, "/") {
			if st, _, ok := strings.Cut(volid, ":"); ok && st != "" && !strings.ContainsAny(st, "/ ") {
				p.r.Storage = st
			}
		}
		// An archive without a standard name leaves the source unknown.
		if !p.vzdumpName(volid) {
			p.snapshot(volid)
		}
		p.r.Archive = volid
	case vmaRestoreRE.MatchString(text):
		p.path(vmaRestoreRE.FindStringSubmatch(text)[1])
	case extractRE.MatchString(text):
		p.path(extractRE.FindStringSubmatch(text)[1])
	}
}

// path takes the archive from a command or path, when no earlier line
// named it.
func (p *RestoreParser) path(s string) {
	if p.r.Archive != "" {
		return
	}
	loc := vzdumpNameRE.FindStringIndex(s)
	if loc == nil {
		return
	}
	// The word around the name is the file's path.
	start := strings.LastIndexAny(s[:loc[0]], " '") + 1
	end := loc[1] + strings.IndexAny(s[loc[1]:]+" ", " '")
	p.vzdumpName(s[loc[0]:loc[1]])
	p.r.Archive = s[start:end]
}

// vzdumpName reads a vzdump archive name in s.
func (p *RestoreParser) vzdumpName(s string) bool {
	m := vzdumpNameRE.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	p.r.GuestType = m[1]
	p.r.VMID, _ = strconv.Atoi(m[2])
	if p.loc != nil {
		n := make([]int, 6)
		for i := range n {
			n[i], _ = strconv.Atoi(m[3+i])
		}
		t := time.Date(n[0], time.Month(n[1]), n[2], n[3], n[4], n[5], 0, p.loc)
		// A name with an impossible date (month 13) is no date.
		if t.Month() == time.Month(n[1]) && t.Day() == n[2] {
			p.r.BackupTime = t
		}
	}
	return true
}

// snapshot reads a PBS snapshot name in s; the first one named wins.
func (p *RestoreParser) snapshot(s string) bool {
	m := snapshotRE.FindStringSubmatch(s)
	if m == nil {
		return false
	}
	if p.r.Archive != "" && p.r.GuestType != "" {
		return true
	}
	if p.r.Archive == "" {
		p.r.Archive = m[1]
	}
	p.r.GuestType = m[2]
	if m[2] != "host" {
		if id, err := strconv.Atoi(m[3]); err == nil && id > 0 && id <= 999999999 {
			p.r.VMID = id
		}
	}
	if t, err := time.Parse("2006-01-02T15:04:05Z", m[4]); err == nil {
		p.r.BackupTime = t
	}
	return true
}

// Result is what the log said so far.
func (p *RestoreParser) Result() Restore { return p.r }

package simulator

import (
	"fmt"
	"strings"
	"time"
)

// restoreLog renders a restore task's log the way qemu-server (PVE/
// QemuServer.pm restore_vma_archive, restore_proxmox_backup_archive,
// pbs_live_restore) and pve-container (PVE/API2/LXC.pm create_vm, PVE/LXC/
// Create.pm restore_tar_archive) print it, and the worker's final TASK line.
func (p *PVE) restoreLog(t *PVETask, loc *time.Location) []string {
	r := t.Restore
	var st *PVEStorage
	for i := range p.Storages {
		if p.Storages[i].Name == r.Storage {
			st = &p.Storages[i]
		}
	}
	pbs := st != nil && st.Type == "pbs"
	dumpDir := "/var/lib/vz/dump"
	if st != nil && st.Name != "local" {
		dumpDir = "/mnt/pve/" + st.Name + "/dump"
	}
	stamp := r.BackupTime.In(loc).Format("2006_01_02-15_04_05")
	snapTime := r.BackupTime.UTC().Format("2006-01-02T15:04:05Z")
	disk := fmt.Sprintf("/dev/pve/vm-%s-disk-0", t.VMID)
	pid := 4000 + int(t.Start.Unix()%1000)
	var lines []string
	if r.Type == "lxc" {
		var volid string
		if pbs {
			volid = fmt.Sprintf("%s:backup/ct/%d/%s", r.Storage, r.Source, snapTime)
		} else {
			volid = fmt.Sprintf("%s:backup/vzdump-lxc-%d-%s.tar.zst", r.Storage, r.Source, stamp)
		}
		lines = append(lines,
			"recovering backed-up configuration from '"+volid+"'",
			fmt.Sprintf("  Logical volume \"vm-%s-disk-0\" created.", t.VMID),
			"restoring '"+volid+"' now..",
		)
		if !pbs {
			lines = append(lines,
				fmt.Sprintf("extracting archive '%s/vzdump-lxc-%d-%s.tar.zst'", dumpDir, r.Source, stamp),
				"Total bytes read: 912445440 (871MiB, 98MiB/s)",
			)
		}
		if r.Error == "" {
			lines = append(lines, "merging backed-up and given configuration..")
		}
	} else {
		// The storage's user, pve@pbs!pve (see storageConfig), makes
		// String::ShellQuote quote the repository in the command line.
		repo := "pve@pbs!pve@pbs.example.com:main"
		if st != nil && st.Server != "" {
			repo = "pve@pbs!pve@" + st.Server + ":" + st.Datastore
		}
		ns := ""
		if st != nil && st.Namespace != "" {
			ns = " --ns " + st.Namespace
		}
		switch {
		case pbs && r.Live:
			lines = append(lines,
				fmt.Sprintf("restore proxmox backup image: /usr/bin/pbs-restore --repository '%s'%s vm/%d/%s drive-efidisk0.img.fidx %s --verbose --format raw --skip-zero", repo, ns, r.Source, snapTime, strings.Replace(disk, "disk-0", "disk-1", 1)),
				"rescan volumes...",
				"starting VM for live-restore",
				fmt.Sprintf("repository: '%s', snapshot: 'vm/%d/%s'", repo, r.Source, snapTime),
				fmt.Sprintf("restoring 'drive-scsi0' to '%s'", disk),
			)
			if r.Error == "" {
				lines = append(lines, "restore-drive jobs finished successfully, removing all tracking block devices")
			}
		case pbs:
			lines = append(lines,
				fmt.Sprintf("restore proxmox backup image: /usr/bin/pbs-restore --repository '%s'%s vm/%d/%s drive-scsi0.img.fidx %s --verbose --format raw --skip-zero", repo, ns, r.Source, snapTime, disk),
			)
			if r.Error == "" {
				lines = append(lines, "rescan volumes...")
			}
		default:
			lines = append(lines,
				fmt.Sprintf("restore vma archive: zstd -q -d -c %s/vzdump-qemu-%d-%s.vma.zst | vma extract -v -r /var/tmp/vzdumptmp%d.fifo - /var/tmp/vzdumptmp%d", dumpDir, r.Source, stamp, pid, pid),
				"CTIME: "+r.BackupTime.In(loc).Format("Mon Jan _2 15:04:05 2006"),
				"DEV: dev_id=1 size: 34359738368 devname: drive-scsi0",
				fmt.Sprintf("map 'drive-scsi0' to '%s' (write zeros = 0)", disk),
			)
			if r.Error == "" {
				lines = append(lines, "rescan volumes...")
			}
		}
	}
	if t.End.IsZero() {
		return lines
	}
	if r.Error != "" {
		return append(lines, "TASK ERROR: "+t.status())
	}
	return append(lines, "TASK OK")
}

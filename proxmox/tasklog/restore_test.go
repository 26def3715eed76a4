package tasklog

import (
	"strings"
	"testing"
	"time"
)

func parseRestore(loc *time.Location, log string) Restore {
	p := NewRestoreParser(loc)
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		p.Line(strings.TrimSpace(l))
	}
	return p.Result()
}

// The lines each test feeds are the ones Proxmox prints; the comment of each
// names the function that prints them.
func TestRestoreLogs(t *testing.T) {
	vienna, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		t.Fatal(err)
	}
	pbsTime := time.Date(2026, 11, 20, 1, 3, 0, 0, time.UTC)
	for _, tc := range []struct {
		name string
		loc  *time.Location
		log  string
		want Restore
	}{
		{
			// qemu-server src/PVE/QemuServer.pm restore_vma_archive: "restore
			// vma archive: " and the pipeline (PVE::Tools::cmd2string), here
			// with the zstd decompressor of PVE::Storage::decompressor_info;
			// vma extract -v echoes its header lines (CTIME, DEV), then
			// "map '<dev>' to '<path>' (write zeros = N)".
			name: "vma file, compressed",
			loc:  vienna,
			log: `
restore vma archive: zstd -q -d -c /var/lib/vz/dump/vzdump-qemu-100-2026_11_20-02_00_04.vma.zst | vma extract -v -r /var/tmp/vzdumptmp4242.fifo - /var/tmp/vzdumptmp4242
CTIME: Fri Nov 20 02:00:04 2026
DEV: dev_id=1 size: 34359738368 devname: drive-scsi0
map 'drive-scsi0' to '/dev/pve/vm-9100-disk-0' (write zeros = 0)
progress 100% (read 34359738368 bytes, duration 120 sec)
rescan volumes...
TASK OK`,
			want: Restore{Archive: "/var/lib/vz/dump/vzdump-qemu-100-2026_11_20-02_00_04.vma.zst", GuestType: "qemu", VMID: 100,
				BackupTime: time.Date(2026, 11, 20, 2, 0, 4, 0, vienna)},
		},
		{
			// restore_vma_archive of an uncompressed file with a read limit
			// (cstream first in the pipeline).
			name: "vma file, rate-limited",
			loc:  time.UTC,
			log: `
applying read rate limit: 10240
restore vma archive: cstream -t 10485760 -- /mnt/pve/nfs-dump/dump/vzdump-qemu-102-2026_01_31-23_59_59.vma | vma extract -v -r /var/tmp/vzdumptmp7.fifo - /var/tmp/vzdumptmp7
TASK ERROR: command 'set -o pipefail && cstream -t 10485760 -- /mnt/pve/nfs-dump/dump/vzdump-qemu-102-2026_01_31-23_59_59.vma | vma extract -v -r /var/tmp/vzdumptmp7.fifo - /var/tmp/vzdumptmp7' failed: exit code 133`,
			want: Restore{Archive: "/mnt/pve/nfs-dump/dump/vzdump-qemu-102-2026_01_31-23_59_59.vma", GuestType: "qemu", VMID: 102,
				BackupTime: time.Date(2026, 1, 31, 23, 59, 59, 0, time.UTC)},
		},
		{
			// restore_vma_archive without a known zone: no backup time.
			name: "vma file, zone unknown",
			log:  `restore vma archive: vma extract -v -r /var/tmp/vzdumptmp7.fifo /var/lib/vz/dump/vzdump-qemu-102-2026_01_31-23_59_59.vma /var/tmp/vzdumptmp7`,
			want: Restore{Archive: "/var/lib/vz/dump/vzdump-qemu-102-2026_01_31-23_59_59.vma", GuestType: "qemu", VMID: 102},
		},
		{
			// qemu-server restore_tar_archive: "extracting archive '<path>'".
			name: "qemu tar file",
			loc:  time.UTC,
			log:  `extracting archive '/var/lib/vz/dump/vzdump-qemu-105-2020_03_04-05_06_07.tgz'`,
			want: Restore{Archive: "/var/lib/vz/dump/vzdump-qemu-105-2020_03_04-05_06_07.tgz", GuestType: "qemu", VMID: 105,
				BackupTime: time.Date(2020, 3, 4, 5, 6, 7, 0, time.UTC)},
		},
		{
			// qemu-server restore_proxmox_backup_archive: "restore proxmox
			// backup image: " and the pbs-restore command, its repository
			// (PVE::PBSClient::get_repository, user@server:datastore)
			// quoted by String::ShellQuote when a token's "!" is in it,
			// "--ns" when the storage has a namespace.
			name: "pbs snapshot",
			loc:  vienna,
			log: `
restore proxmox backup image: /usr/bin/pbs-restore --repository 'backup@pbs!pve@pbs.example.com:main' --ns prod vm/100/2026-11-20T01:03:00Z drive-scsi0.img.fidx /dev/pve/vm-9100-disk-0 --verbose --format raw --skip-zero
restore proxmox backup image: /usr/bin/pbs-restore --repository 'backup@pbs!pve@pbs.example.com:main' --ns prod vm/100/2026-11-20T01:03:00Z drive-efidisk0.img.fidx /dev/pve/vm-9100-disk-1 --verbose --format raw --skip-zero
rescan volumes...
TASK OK`,
			want: Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "backup@pbs!pve@pbs.example.com:main", Namespace: "prod",
				GuestType: "vm", VMID: 100, BackupTime: pbsTime},
		},
		{
			// qemu-server pbs_live_restore: "starting VM for live-restore",
			// then "repository: '<repo>', snapshot: '<snapshot>'".
			name: "live-restore",
			loc:  vienna,
			log: `
rescan volumes...
starting VM for live-restore
repository: 'root@pam@pbs.example.com:main', snapshot: 'vm/100/2026-11-20T01:03:00Z'
restoring 'drive-scsi0' to 'local-lvm:vm-9100-disk-0'
restore-drive jobs finished successfully, removing all tracking block devices
TASK OK`,
			want: Restore{Archive: "vm/100/2026-11-20T01:03:00Z", Repository: "root@pam@pbs.example.com:main",
				GuestType: "vm", VMID: 100, BackupTime: pbsTime, Live: true},
		},
		{
			// pve-container src/PVE/API2/LXC.pm create_vm: "recovering
			// backed-up configuration from '<volid>'" and "restoring
			// '<volid>' now.."; PBS restores print no path afterwards.
			name: "container from pbs",
			loc:  vienna,
			log: `
recovering backed-up configuration from 'pbs:backup/ct/101/2026-11-20T01:08:00Z'
restoring 'pbs:backup/ct/101/2026-11-20T01:08:00Z' now..
merging backed-up and given configuration..
TASK OK`,
			want: Restore{Archive: "pbs:backup/ct/101/2026-11-20T01:08:00Z", Storage: "pbs", GuestType: "ct", VMID: 101,
				BackupTime: time.Date(2026, 11, 20, 1, 8, 0, 0, time.UTC)},
		},
		{
			// create_vm then PVE/LXC/Create.pm restore_tar_archive:
			// "extracting archive '<path>'" after the volume id.
			name: "container from a file",
			loc:  vienna,
			log: `
recovering backed-up configuration from 'local:backup/vzdump-lxc-103-2026_11_14-03_24_00.tar.zst'
restoring 'local:backup/vzdump-lxc-103-2026_11_14-03_24_00.tar.zst' now..
extracting archive '/var/lib/vz/dump/vzdump-lxc-103-2026_11_14-03_24_00.tar.zst'
Total bytes read: 912445440 (871MiB, 98MiB/s)
merging backed-up and given configuration..
TASK ERROR: unable to restore CT 9103 - command 'lxc-usernsexec -m u:0:100000:65536 -m g:0:100000:65536 -- tar xpf - --zstd --totals --one-file-system -p --sparse --numeric-owner --acls --xattrs '--xattrs-include=user.*' '--xattrs-include=security.capability' '--warning=no-file-ignored' '--warning=no-xattr-write' -C /var/lib/lxc/9103/rootfs --skip-old-files --anchored --exclude './dev/*'' failed: exit code 2`,
			want: Restore{Archive: "local:backup/vzdump-lxc-103-2026_11_14-03_24_00.tar.zst", Storage: "local", GuestType: "lxc", VMID: 103,
				BackupTime: time.Date(2026, 11, 14, 3, 24, 0, 0, vienna)},
		},
		{
			// An archive piped in (qmrestore - / pct restore -): no name.
			name: "stdin",
			loc:  vienna,
			log:  "extracting archive from STDIN\nTASK OK",
			want: Restore{},
		},
		{
			// A restore that failed before it named the archive.
			name: "failed early",
			loc:  vienna,
			log:  "TASK ERROR: unable to restore VM 9100 - VM 9100 already running",
			want: Restore{},
		},
		{
			name: "impossible date in the name",
			loc:  time.UTC,
			log:  `extracting archive '/var/lib/vz/dump/vzdump-qemu-105-2020_13_04-05_06_07.tgz'`,
			want: Restore{Archive: "/var/lib/vz/dump/vzdump-qemu-105-2020_13_04-05_06_07.tgz", GuestType: "qemu", VMID: 105},
		},
		{
			// A PBS host backup has no guest.
			name: "host snapshot",
			loc:  time.UTC,
			log:  `restore proxmox backup image: /usr/bin/pbs-restore --repository root@pam@pbs:main host/pve1/2026-11-20T01:03:00Z drive-scsi0.img.fidx /dev/x --verbose`,
			want: Restore{Archive: "host/pve1/2026-11-20T01:03:00Z", Repository: "root@pam@pbs:main", GuestType: "host", BackupTime: pbsTime},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseRestore(tc.loc, tc.log)
			if !got.BackupTime.Equal(tc.want.BackupTime) {
				t.Errorf("backup time %v, want %v", got.BackupTime, tc.want.BackupTime)
			}
			got.BackupTime, tc.want.BackupTime = time.Time{}, time.Time{}
			if got != tc.want {
				t.Errorf("got %+v\nwant %+v", got, tc.want)
			}
			if got.Known() != (tc.want.Archive != "") {
				t.Errorf("Known() = %v", got.Known())
			}
		})
	}
}

// The first archive a log names is the restore's: a later line cannot
// replace it.
func TestRestoreFirstArchiveWins(t *testing.T) {
	got := parseRestore(time.UTC, `
restoring 'local:backup/vzdump-lxc-103-2026_11_14-03_24_00.tar.zst' now..
extracting archive '/var/lib/vz/dump/vzdump-lxc-104-2026_11_15-03_24_00.tar.zst'
recovering backed-up configuration from 'pbs:backup/ct/105/2026-11-20T01:08:00Z'`)
	if got.VMID != 103 || got.Storage != "local" || got.Archive != "local:backup/vzdump-lxc-103-2026_11_14-03_24_00.tar.zst" {
		t.Errorf("got %+v", got)
	}
}

func FuzzRestoreParser(f *testing.F) {
	f.Add("restore vma archive: vma extract -v -r /x.fifo /d/vzdump-qemu-100-2026_11_20-02_00_04.vma /t")
	f.Add("repository: 'r', snapshot: 'vm/1/2026-11-20T01:03:00Z'")
	f.Add("restoring ':backup/ct/x/2026-11-20T01:08:00Z' now..")
	f.Add("extracting archive ''vzdump-lxc-100-2026_11_20-02_00_04.tar'")
	f.Fuzz(func(t *testing.T, line string) {
		p := NewRestoreParser(time.UTC)
		p.Line(line)
		p.Line(line)
		r := p.Result()
		if r.VMID < 0 || r.VMID > 999999999 {
			t.Errorf("vmid %d", r.VMID)
		}
		if r.Archive == "" && (r.VMID != 0 || !r.BackupTime.IsZero()) {
			t.Errorf("a source without an archive: %+v", r)
		}
	})
}

// The source guest and the backup's time come only from names that PVE
// itself would read as a guest's backup: PVE::Storage::archive_info for
// vzdump files (a real calendar date) and PVE::Storage::PBSPlugin
// parse_volname for snapshots (vm or ct with a VMID of 1 to 999999999; a
// host backup's id is the host's name, whatever it looks like).
func TestRestoreSourceBounds(t *testing.T) {
	for _, tc := range []struct {
		name, line string
		vmid       int
		guestType  string
		timed      bool
		storage    string
	}{
		{"30 February", `extracting archive '/var/lib/vz/dump/vzdump-qemu-105-2026_02_30-05_06_07.tgz'`, 105, "qemu", false, ""},
		{"29 February of a leap year", `extracting archive '/var/lib/vz/dump/vzdump-qemu-105-2028_02_29-05_06_07.tgz'`, 105, "qemu", true, ""},
		{"smallest VMID", `recovering backed-up configuration from 'pbs:backup/ct/1/2026-11-20T01:08:00Z'`, 1, "ct", true, "pbs"},
		{"largest VMID", `recovering backed-up configuration from 'pbs:backup/ct/999999999/2026-11-20T01:08:00Z'`, 999999999, "ct", true, "pbs"},
		{"VMID 0", `recovering backed-up configuration from 'pbs:backup/ct/0/2026-11-20T01:08:00Z'`, 0, "ct", true, "pbs"},
		{"VMID too large", `recovering backed-up configuration from 'pbs:backup/vm/1000000000/2026-11-20T01:08:00Z'`, 0, "vm", true, "pbs"},
		{"negative VMID", `recovering backed-up configuration from 'pbs:backup/vm/-5/2026-11-20T01:08:00Z'`, 0, "vm", true, "pbs"},
		{"VMID not a number", `recovering backed-up configuration from 'pbs:backup/vm/web/2026-11-20T01:08:00Z'`, 0, "vm", true, "pbs"},
		{"host backup named by digits", `restore proxmox backup image: /usr/bin/pbs-restore --repository pbs:main host/100/2026-11-20T01:03:00Z drive-scsi0.img.fidx /dev/x`, 0, "host", true, ""},
		{"file path, no storage", `restoring '/mnt/usb/vzdump-lxc-107-2026_11_14-03_24_00.tar.zst' now..`, 107, "lxc", true, ""},
		{"relative path with a colon, no storage", `restoring 'usb/a:b/vzdump-lxc-107-2026_11_14-03_24_00.tar.zst' now..`, 107, "lxc", true, ""},
		{"bare file name, no storage", `restoring 'vzdump-lxc-107-2026_11_14-03_24_00.tar.zst' now..`, 107, "lxc", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := parseRestore(time.UTC, tc.line)
			if got.VMID != tc.vmid || got.GuestType != tc.guestType || got.BackupTime.IsZero() == tc.timed || got.Storage != tc.storage {
				t.Errorf("got vmid %d, type %q, time %v, storage %q; want vmid %d, type %q, timed %v, storage %q",
					got.VMID, got.GuestType, got.BackupTime, got.Storage, tc.vmid, tc.guestType, tc.timed, tc.storage)
			}
		})
	}
}

// A VM restored from PBS prints one pbs-restore line per disk; should two
// name different snapshots, the first one named is the restore's source.
func TestRestoreFirstSnapshotWins(t *testing.T) {
	got := parseRestore(time.UTC, `
restore proxmox backup image: /usr/bin/pbs-restore --repository pbs:main vm/100/2026-11-20T01:03:00Z drive-scsi0.img.fidx /dev/x
restore proxmox backup image: /usr/bin/pbs-restore --repository pbs:main vm/200/2026-11-21T01:03:00Z drive-scsi1.img.fidx /dev/y`)
	if got.VMID != 100 || got.Archive != "vm/100/2026-11-20T01:03:00Z" || !got.BackupTime.Equal(time.Date(2026, 11, 20, 1, 3, 0, 0, time.UTC)) {
		t.Errorf("got %+v, want the first snapshot's guest and time", got)
	}
}

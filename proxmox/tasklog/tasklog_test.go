package tasklog

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
)

func parse(loc *time.Location, log string) Log {
	p := NewParser(loc)
	for _, l := range strings.Split(strings.TrimSpace(log), "\n") {
		p.Line(strings.TrimSpace(l))
	}
	return p.Result()
}

const jobWithFailure = `
INFO: starting new backup job: vzdump --mode snapshot --all 1 --storage pbs --node pve1 --quiet 1
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2026-11-20 02:00:04
INFO: status = running
INFO: VM Name: db01
INFO: include disk 'scsi0' 'local-lvm:vm-100-disk-0' 32G
INFO: backup mode: snapshot
INFO: ionice priority: 7
INFO: creating Proxmox Backup Server archive 'vm/100/2026-11-20T01:00:04Z'
INFO: started backup task 'a1b2c3d4-0000-4000-8000-000000000001'
INFO: resuming VM again
INFO: scsi0: dirty-bitmap status: OK (1.1 GiB of 32.0 GiB dirty)
INFO: 100% (32.0 GiB of 32.0 GiB) in 4m 10s, read: 130.9 MiB/s, write: 4.6 MiB/s
INFO: backup was done incrementally, reused 30.9 GiB (96%)
INFO: Finished Backup of VM 100 (00:04:12)
INFO: Backup finished at 2026-11-20 02:04:16
INFO: Starting Backup of VM 101 (lxc)
INFO: Backup started at 2026-11-20 02:04:16
INFO: status = running
INFO: CT Name: web01
INFO: including mount point rootfs ('/') in backup
INFO: backup mode: snapshot
ERROR: Backup of VM 101 failed - command 'lxc-freeze -n 101' failed: exit code 1
INFO: Failed at 2026-11-20 02:04:47
INFO: Starting Backup of VM 102 (qemu)
INFO: Backup started at 2026-11-20 02:04:47
INFO: status = stopped
INFO: backup mode: stop
INFO: Finished Backup of VM 102 (01:02:03)
INFO: Backup finished at 2026-11-20 03:06:50
INFO: Backup job finished with errors
INFO: notified via target 'mail-to-root'
TASK ERROR: job errors
`

func TestJobWithAFailedGuest(t *testing.T) {
	vienna, _ := time.LoadLocation("Europe/Vienna")
	log := parse(vienna, jobWithFailure)
	if !log.Finished || log.TaskStatus != "job errors" {
		t.Fatalf("finished %v status %q", log.Finished, log.TaskStatus)
	}
	if len(log.Attempts) != 3 {
		t.Fatalf("%d attempts", len(log.Attempts))
	}
	a, b, c := log.Attempts[0], log.Attempts[1], log.Attempts[2]
	if a.VMID != 100 || a.GuestType != "qemu" || !a.Success || a.Duration != 4*time.Minute+12*time.Second {
		t.Errorf("100: %+v", a)
	}
	// 02:00:04 in Vienna (UTC+1 in November) is 01:00:04 UTC.
	if !a.Start.Equal(time.Date(2026, 11, 20, 1, 0, 4, 0, time.UTC)) {
		t.Errorf("100 started %v", a.Start.UTC())
	}
	if b.VMID != 101 || b.GuestType != "lxc" || b.Success || b.Error != "command 'lxc-freeze -n 101' failed: exit code 1" || b.Duration != 31*time.Second {
		t.Errorf("101: %+v", b)
	}
	if c.VMID != 102 || !c.Success || c.Duration != time.Hour+2*time.Minute+3*time.Second {
		t.Errorf("102: %+v", c)
	}
	// The same log read as UTC gives other instants.
	if utc := parse(time.UTC, jobWithFailure); utc.Attempts[0].Start.Sub(a.Start) != time.Hour {
		t.Errorf("time zone ignored: %v vs %v", utc.Attempts[0].Start, a.Start)
	}
}

func TestSingleGuestWithWarnings(t *testing.T) {
	log := parse(time.UTC, `
INFO: starting new backup job: vzdump 2675 --storage local --mode snapshot --node vega --remove 0 --notes-template '{{guestname}}'
INFO: Starting Backup of VM 2675 (qemu)
INFO: Backup started at 2026-09-12 10:00:00
WARN: unable to find the agent
INFO: Finished Backup of VM 2675 (00:00:42)
INFO: Backup finished at 2026-09-12 10:00:42
INFO: Backup job finished successfully
TASK WARNINGS: 1
`)
	if !log.Finished || log.TaskStatus != "WARNINGS: 1" || StatusIsError(log.TaskStatus) {
		t.Fatalf("%+v", log)
	}
	if a := log.Attempts[0]; !a.Success || a.Duration != 42*time.Second || a.Running {
		t.Errorf("%+v", a)
	}
}

func TestRunningTask(t *testing.T) {
	log := parse(time.UTC, `
INFO: starting new backup job: vzdump --all 1 --storage pbs --node pve2
INFO: Starting Backup of VM 102 (qemu)
INFO: Backup started at 2026-11-20 09:41:00
INFO: Finished Backup of VM 102 (00:04:00)
INFO: Backup finished at 2026-11-20 09:45:00
INFO: Starting Backup of VM 103 (lxc)
INFO: Backup started at 2026-11-20 09:46:00
INFO:  12% (3.8 GiB of 32.0 GiB) in 30s, read: 128.0 MiB/s, write: 96.0 MiB/s
`)
	if log.Finished {
		t.Fatal("a log without a TASK line is not finished")
	}
	if a := log.Attempts[0]; !a.Success || a.Running {
		t.Errorf("102: %+v", a)
	}
	if a := log.Attempts[1]; !a.Running || a.Success || a.Error != "" {
		t.Errorf("103 must be running, not failed: %+v", a)
	}
}

func TestJobFailedBeforeAnyGuest(t *testing.T) {
	log := parse(time.UTC, `
INFO: starting new backup job: vzdump --all 1 --storage geros --node pve1
ERROR: Backup job failed - could not activate storage 'geros': storage 'geros' is not online
TASK ERROR: could not activate storage 'geros': storage 'geros' is not online
`)
	if len(log.Attempts) != 0 || !StatusIsError(log.TaskStatus) || !strings.Contains(log.TaskStatus, "not online") {
		t.Errorf("%+v", log)
	}
}

func TestAbortedMidGuestAndSkipped(t *testing.T) {
	log := parse(time.UTC, `
INFO: starting new backup job: vzdump 100 101 105 --storage pbs
INFO: skip external VMs: 105
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2026-11-20 02:00:00
TASK ERROR: interrupted by signal
`)
	if len(log.Attempts) != 2 {
		t.Fatalf("%+v", log.Attempts)
	}
	if s := log.Attempts[0]; s.VMID != 105 || !s.Skipped {
		t.Errorf("skipped: %+v", s)
	}
	if a := log.Attempts[1]; a.Success || a.Running || !strings.Contains(a.Error, "interrupted by signal") {
		t.Errorf("an attempt cut short by a finished task failed: %+v", a)
	}
}

func TestEmptyLog(t *testing.T) {
	log := parse(time.UTC, "no content")
	if len(log.Attempts) != 0 || log.Finished {
		t.Errorf("%+v", log)
	}
}

func TestUPIDs(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want UPID
	}{
		{"UPID:vega:000831DD:0640E944:6AC1B32B:vzdump::root@pam:", UPID{Node: "vega", PID: 0x831DD, PStart: 0x640E944, StartTime: time.Unix(0x6AC1B32B, 0), Type: "vzdump", User: "root@pam"}},
		{"UPID:pve1:000934AF:0D015579:68BF3A41:vzdump:100:monitor@pam!mytoken:", UPID{Node: "pve1", PID: 0x934AF, PStart: 0xD015579, StartTime: time.Unix(0x68BF3A41, 0), Type: "vzdump", ID: "100", User: "monitor@pam!mytoken"}},
		{"UPID:node:000934AF:FFFFFFFFF:68BF3A41:vzdump:101:root@pam:", UPID{Node: "node", PID: 0x934AF, PStart: 0xFFFFFFFFF, StartTime: time.Unix(0x68BF3A41, 0), Type: "vzdump", ID: "101", User: "root@pam"}},
		{`UPID:pbs:000000CA:0000102F:00000050:6A49AA96:prune:main\x3a\x3act-104:root@pam!pve:`, UPID{Node: "pbs", PID: 0xCA, PStart: 0x102F, TaskID: 0x50, StartTime: time.Unix(0x6A49AA96, 0), Type: "prune", ID: "main::ct/104", User: "root@pam!pve"}},
		{`UPID:pbs:000002C0:000007BA:00000001:67DE4FC4:verificationjob:fs01\x3av\x2dee54fa7e\x2d61f0:root@pam:`, UPID{Node: "pbs", PID: 0x2C0, PStart: 0x7BA, TaskID: 1, StartTime: time.Unix(0x67DE4FC4, 0), Type: "verificationjob", ID: "fs01:v-ee54fa7e-61f0", User: "root@pam"}},
	} {
		got, err := ParseUPID(tc.in)
		if err != nil {
			t.Errorf("%s: %v", tc.in, err)
			continue
		}
		if got != tc.want {
			t.Errorf("%s:\n got %+v\nwant %+v", tc.in, got, tc.want)
		}
	}
	for _, bad := range []string{"", "UPID:", "UPID:a:b:c:d:e:f:g:", "UPID:n:XYZ:0:0:vzdump::root@pam:", "PID:n:1:1:1:vzdump::root@pam:", `UPID:pbs:1:1:1:1:t:bad\x:u:`, `UPID:pbs:1:1:1:1:t:\xZZ:u:`, "UPID:n:1:1:1:vzdump::root@pam"} {
		if _, err := ParseUPID(bad); err == nil {
			t.Errorf("ParseUPID(%q) succeeded", bad)
		}
	}
}

// The field widths PVE and PBS print: pid and start time %08X, pstart
// %08X (9 digits once the counter passes 32 bits), PBS task id %08X (up to
// 16 digits) (pve-common PVE/Tools.pm upid_encode and upid_decode's
// pattern; proxmox proxmox-schema src/upid.rs, the UPID's Display and
// parse). Anything wider or narrower is not a UPID.
func TestUPIDFieldWidths(t *testing.T) {
	pbs := func(pid, pstart, task, start string) string {
		return "UPID:pbs:" + pid + ":" + pstart + ":" + task + ":" + start + `:verificationjob:main\x3av\x2d1:root@pam:`
	}
	pve := func(pid, pstart, start string) string {
		return "UPID:pve1:" + pid + ":" + pstart + ":" + start + ":vzdump:100:root@pam:"
	}
	for in, ok := range map[string]bool{
		pbs("000000CA", "0000102F", "00000050", "6A49AA96"):          true,
		pbs("000000CA", "10000102F", "FFFFFFFFFFFFFFFF", "6A49AA96"): true,
		pbs("0000000CA", "0000102F", "00000050", "6A49AA96"):         false,
		pbs("000000CA", "00000000102F", "00000050", "6A49AA96"):      false,
		pbs("000000CA", "0000000102F", "00000050", "6A49AA96"):       false,
		pbs("000000CA", "0000102F", "10000000000000050", "6A49AA96"): false,
		pbs("000000CA", "0000102F", "0050", "6A49AA96"):              false,
		pbs("000000CA", "0000102F", "00000050", "06A49AA96"):         false,
		pbs("000000CA", "0000102F", "00000050", "A49AA96"):           false,
		pve("000000CA", "0000102F", "6A49AA96"):                      true,
		pve("0000000CA", "0000102F", "6A49AA96"):                     false,
		pve("000000CA", "0000000102F", "6A49AA96"):                   false,
		pve("000000CA", "0000102F", "06A49AA96"):                     false,
		pve("00000CA", "0000102F", "6A49AA96"):                       false,
	} {
		u, err := ParseUPID(in)
		if (err == nil) != ok {
			t.Errorf("ParseUPID(%q): %+v, %v; want accepted %v", in, u, err, ok)
		}
		if err != nil && u != (UPID{}) {
			t.Errorf("ParseUPID(%q) failed with fields %+v", in, u)
		}
	}
	// A UPID is at most 512 bytes; the id is what grows.
	long := func(n int) string {
		s := pve("000000CA", "0000102F", "6A49AA96")
		return strings.Replace(s, ":100:", ":"+strings.Repeat("1", n-len(s)+3)+":", 1)
	}
	if s := long(512); len(s) != 512 {
		t.Fatalf("built %d bytes", len(s))
	} else if _, err := ParseUPID(s); err != nil {
		t.Errorf("a 512-byte UPID: %v", err)
	}
	if _, err := ParseUPID(long(513)); err == nil {
		t.Error("a 513-byte UPID was accepted")
	}
	// Truncated escapes in a PBS worker id.
	for _, id := range []string{`main\x3`, `main\x`, `main\`, `\x4`, `main\y3a`, `\u0041`} {
		in := "UPID:pbs:000000CA:0000102F:00000050:6A49AA96:prune:" + id + ":root@pam:"
		if u, err := ParseUPID(in); err == nil {
			t.Errorf("ParseUPID(%q) = %+v", in, u)
		}
	}
	if u, err := ParseUPID(`UPID:pbs:000000CA:0000102F:00000050:6A49AA96:prune:a\x2d:root@pam:`); err != nil || u.ID != "a-" {
		t.Errorf("escape at the end: %+v, %v", u, err)
	}
}

// A guest's duration is the one its Finished line states; End-Start only
// stands in when there is none. An end line outside any guest (after the
// guest's own) changes no attempt.
func TestDurationsAndStrayLines(t *testing.T) {
	log := parse(time.UTC, `
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2026-11-20 02:00:00
INFO: Finished Backup of VM 100 (00:04:12)
INFO: Backup finished at 2026-11-20 02:05:00
INFO: Backup finished at 2026-11-20 03:00:00
INFO: Backup started at 2026-11-20 03:10:00
INFO: Starting Backup of VM 101 (qemu)
INFO: Backup started at 2026-11-20 02:05:00
ERROR: Backup of VM 101 failed - boom
INFO: Failed at 2026-11-20 02:06:30
TASK ERROR: job errors
`)
	if len(log.Attempts) != 2 {
		t.Fatalf("%+v", log.Attempts)
	}
	a := log.Attempts[0]
	if !a.Success || a.Duration != 4*time.Minute+12*time.Second {
		t.Errorf("100: %+v, want the logged 4m12s", a)
	}
	if !a.Start.Equal(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)) || !a.End.Equal(time.Date(2026, 11, 20, 2, 5, 0, 0, time.UTC)) {
		t.Errorf("100: stray lines moved its times: %+v", a)
	}
	if b := log.Attempts[1]; b.Success || b.Duration != 90*time.Second || b.Error != "boom" {
		t.Errorf("101: %+v", b)
	}
	// Without a Finished line (an older vzdump), End-Start.
	log = parse(time.UTC, "INFO: Starting Backup of VM 7 (lxc)\nINFO: Backup started at 2026-11-20 02:00:00\nINFO: Finished Backup of VM 7 (00:00:00)\nINFO: Backup finished at 2026-11-20 02:00:42\nTASK OK")
	if a := log.Attempts[0]; !a.Success || a.Duration != 42*time.Second {
		t.Errorf("7: %+v", a)
	}
}

// vzdump lists the skipped guests joined by ", " (pve-manager
// PVE/VZDump.pm exec_backup: "skip external VMs: $skip_string").
func TestSkipExternalList(t *testing.T) {
	log := parse(time.UTC, "INFO: starting new backup job: vzdump 100 105 106 107\nINFO: skip external VMs: 105, 106, 107\nTASK OK")
	var ids []int
	for _, a := range log.Attempts {
		if !a.Skipped || a.Running || a.Success || a.Error != "" {
			t.Errorf("%+v", a)
		}
		ids = append(ids, a.VMID)
	}
	if fmt.Sprint(ids) != "[105 106 107]" {
		t.Errorf("skipped %v", ids)
	}
}

// A guest's time that cannot be read (a garbled line) leaves its duration
// unknown, never the distance to year 1.
func TestUnreadableStart(t *testing.T) {
	log := parse(time.UTC, `
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2026-13-45 99:99:99
ERROR: Backup of VM 100 failed - boom
INFO: Failed at 2026-11-20 02:00:00
TASK ERROR: job errors
`)
	if a := log.Attempts[0]; a.Duration != 0 || !a.Start.IsZero() || a.End.IsZero() {
		t.Errorf("%+v", a)
	}
}

// vzdump logs one result per guest (PVE/VZDump.pm exec_backup_task logs
// either "Backup of VM N failed" or "Finished Backup of VM N"). An ERROR
// line for a guest whose attempt already has its result is a refusal of
// its own, and it does not rewrite the earlier result.
func TestSecondResultLine(t *testing.T) {
	for _, first := range []string{"INFO: Finished Backup of VM 100 (00:01:00)", "ERROR: Backup of VM 100 failed - first"} {
		log := parse(time.UTC, "INFO: Starting Backup of VM 100 (qemu)\nINFO: Backup started at 2026-11-20 02:00:00\n"+first+
			"\nINFO: Backup finished at 2026-11-20 02:01:00\nERROR: Backup of VM 100 failed - second\nINFO: Failed at 2026-11-20 02:05:00\nTASK ERROR: job errors")
		if len(log.Attempts) != 2 {
			t.Fatalf("after %q: %+v", first, log.Attempts)
		}
		a, b := log.Attempts[0], log.Attempts[1]
		if a.Error == "second" || !b.Refused || b.Error != "second" || !b.Start.Equal(time.Date(2026, 11, 20, 2, 5, 0, 0, time.UTC)) {
			t.Errorf("after %q: %+v, %+v", first, a, b)
		}
	}
}

func TestStatus(t *testing.T) {
	for status, isErr := range map[string]bool{"OK": false, "WARNINGS: 42": false, "job errors": true, "unexpected status": true, "Some error message": true, "": true} {
		if StatusIsError(status) != isErr {
			t.Errorf("StatusIsError(%q) = %v", status, !isErr)
		}
	}
}

// FuzzParseLog feeds arbitrary logs. Whatever the log: an attempt is only
// for a guest id the log names; no attempt both succeeded and runs; once
// the TASK line is read nothing runs; a duration is never negative; more
// lines never take attempts away; and CRLF line ends read like LF.
func FuzzParseLog(f *testing.F) {
	f.Add(jobWithFailure)
	f.Add("INFO: Starting Backup of VM 1 (qemu)\nERROR: Backup of VM 1 failed - x\nINFO: Failed at 2026-13-45 99:99:99\nTASK ERROR: job errors")
	f.Add("INFO: Finished Backup of VM 99999999999999999999 (00:00:01)\nINFO: skip external VMs: 1, x, 3")
	f.Add("INFO: Starting Backup of VM 7 (lxc)\nINFO: Backup started at 2026-10-25 02:59:00\nERROR: Backup of VM 7 failed - x\nINFO: Failed at 2026-10-25 02:01:00\nTASK ERROR: job errors")
	vienna, err := time.LoadLocation("Europe/Vienna")
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, log string) {
		lines := strings.Split(log, "\n")
		p := NewParser(vienna)
		crlf := NewParser(vienna)
		prev := 0
		for _, l := range lines {
			p.Line(l)
			crlf.Line(l + "\r\n")
			if n := len(p.Result().Attempts); n < prev {
				t.Fatalf("attempts went from %d to %d on %q", prev, n, l)
			} else {
				prev = n
			}
		}
		res := p.Result()
		if fmt.Sprint(res) != fmt.Sprint(crlf.Result()) {
			t.Fatalf("CRLF reads differently:\n%+v\n%+v", res, crlf.Result())
		}
		for _, a := range res.Attempts {
			if !strings.Contains(log, strconv.Itoa(a.VMID)) {
				t.Fatalf("attempt for guest %d, which the log does not name", a.VMID)
			}
			if a.Success && a.Running || res.Finished && a.Running {
				t.Fatalf("attempt %+v of a log finished %v", a, res.Finished)
			}
			if a.Duration < 0 {
				t.Fatalf("negative duration: %+v", a)
			}
			if a.Skipped && (a.Success || a.Running || a.Error != "") {
				t.Fatalf("a skipped guest has a result: %+v", a)
			}
		}
	})
}

// FuzzParseUPID: a UPID that parses prints back (in the format PVE or PBS
// writes) to one that parses to the same fields, and the field count picks
// the format.
func FuzzParseUPID(f *testing.F) {
	f.Add("UPID:vega:000831DD:0640E944:6AC1B32B:vzdump::root@pam:")
	f.Add(`UPID:pbs:000000CA:0000102F:00000050:6A49AA96:prune:main\x3a\x3act-104:root@pam!pve:`)
	f.Add("UPID:node:000934af:fffffffff:68bf3a41:vzdump:101:root@pam:")
	f.Fuzz(func(t *testing.T, s string) {
		u, err := ParseUPID(s)
		if err != nil {
			if u != (UPID{}) {
				t.Fatalf("%q: error %v with fields %+v", s, err, u)
			}
			return
		}
		pbs := strings.Count(s, ":") == 9
		var again UPID
		if pbs {
			again, err = ParsePBSUPID(formatPBS(u))
		} else {
			if u.TaskID != 0 {
				t.Fatalf("%q: a PVE UPID with a task id", s)
			}
			again, err = ParsePVEUPID(formatPVE(u))
		}
		if err != nil || again != u {
			t.Fatalf("%q: %+v printed and read again: %+v, %v", s, u, again, err)
		}
	})
}

func formatPVE(u UPID) string {
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%s:%s:%s:", u.Node, u.PID, u.PStart, u.StartTime.Unix(), u.Type, u.ID, u.User)
}

// formatPBS escapes the worker id the way systemd does: "/" is "-", and
// every byte other than a letter, digit, "_" or "." is \xNN.
func formatPBS(u UPID) string {
	var id strings.Builder
	for i := 0; i < len(u.ID); i++ {
		switch c := u.ID[i]; {
		case c == '/':
			id.WriteByte('-')
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '_', c == '.':
			id.WriteByte(c)
		default:
			fmt.Fprintf(&id, `\x%02x`, c)
		}
	}
	return fmt.Sprintf("UPID:%s:%08X:%08X:%08X:%08X:%s:%s:%s:", u.Node, u.PID, u.PStart, u.TaskID, u.StartTime.Unix(), u.Type, id.String(), u.User)
}

func BenchmarkParseLog(b *testing.B) {
	var lines []string
	lines = append(lines, "INFO: starting new backup job: vzdump --all 1 --storage pbs")
	for id := 100; id < 5100; id++ {
		lines = append(lines,
			fmt.Sprintf("INFO: Starting Backup of VM %d (qemu)", id),
			"INFO: Backup started at 2026-11-20 02:00:04",
			"INFO: status = running", "INFO: backup mode: snapshot", "INFO: ionice priority: 7",
			"INFO: 100% (32.0 GiB of 32.0 GiB) in 4m 10s, read: 130.9 MiB/s, write: 4.6 MiB/s",
			fmt.Sprintf("INFO: Finished Backup of VM %d (00:04:12)", id),
			"INFO: Backup finished at 2026-11-20 02:04:16")
	}
	lines = append(lines, "INFO: Backup job finished successfully", "TASK OK")
	b.ReportAllocs()
	for b.Loop() {
		p := NewParser(time.UTC)
		for _, l := range lines {
			p.Line(l)
		}
		if len(p.Result().Attempts) != 5000 {
			b.Fatal("wrong count")
		}
	}
}

func BenchmarkParseUPID(b *testing.B) {
	for b.Loop() {
		_, _ = ParseUPID(`UPID:pbs:000000CA:0000102F:00000050:6A49AA96:prune:main\x3a\x3act-104:root@pam!pve:`)
	}
}

// Job-level failures, as pve-manager PVE/VZDump.pm and PVE/API2/VZDump.pm
// write them, and pve-common PVE/RESTEnvironment.pm fork_worker ends them.
func TestJobLevelFailures(t *testing.T) {
	for _, tc := range []struct {
		name, log   string
		finished    bool
		status, job string
		attempts    int
	}{
		// PVE::VZDump::new dies (storage not activated, dumpdir or tmpdir
		// missing, job-init hook) before exec_backup logs anything:
		// fork_worker writes only "TASK ERROR: <reason>", several reasons
		// joined by blanks.
		{"new dies", "TASK ERROR: could not activate storage 'pbs': pbs: error fetching datastores - 500 Can't connect to 10.0.0.5:8007 (No route to host)",
			true, "could not activate storage 'pbs': pbs: error fetching datastores - 500 Can't connect to 10.0.0.5:8007 (No route to host)", "", 0},
		// PVE::VZDump::getlock logs its error and the worker calls
		// exit(-1): no TASK line, so PVE::UPID::read_status says
		// "unexpected status".
		{"lock timeout", "INFO: trying to get global lock - waiting...\nERROR: can't acquire lock '/var/run/vzdump.lock' - got timeout",
			false, "", "can't acquire lock '/var/run/vzdump.lock' - got timeout", 0},
		{"lock busy, lockwait 0", "ERROR: can't acquire lock '/var/run/vzdump.lock' (wait = 0)",
			false, "", "can't acquire lock '/var/run/vzdump.lock' (wait = 0)", 0},
		// exec_backup: the job-start hook dies inside the eval around the
		// guests: "Backup job failed - <err>", then fork_worker's line.
		{"job-start hook", "INFO: starting new backup job: vzdump --all 1 --storage pbs --quiet 1\nERROR: Backup job failed - command '/root/hook.pl job-start' failed: exit code 2\nTASK ERROR: command '/root/hook.pl job-start' failed: exit code 2",
			true, "command '/root/hook.pl job-start' failed: exit code 2", "command '/root/hook.pl job-start' failed: exit code 2", 0},
	} {
		log := parse(time.UTC, tc.log)
		if log.Finished != tc.finished || log.TaskStatus != tc.status || log.JobError != tc.job || len(log.Attempts) != tc.attempts {
			t.Errorf("%s: %+v", tc.name, log)
		}
	}
}

// pve-manager PVE/VZDump.pm exec_backup_task: errors raised before
// "Starting Backup of VM N" (unable to find VM, HA-managed guest in stop
// mode, backup or protected-backup limit, temporary directory, log file)
// still reach the error branch, which logs "Backup of VM N failed - <err>"
// and "Failed at <time>".
func TestRefusedGuest(t *testing.T) {
	vienna, _ := time.LoadLocation("Europe/Vienna")
	log := parse(vienna, `
INFO: starting new backup job: vzdump 100 101 102 --mode stop --storage local --quiet 1
INFO: Starting Backup of VM 100 (qemu)
INFO: Backup started at 2026-11-20 02:00:04
INFO: status = stopped
INFO: Finished Backup of VM 100 (00:01:00)
INFO: Backup finished at 2026-11-20 02:01:04
ERROR: Backup of VM 101 failed - Cannot execute a backup with stop mode on a HA managed and enabled Service. Use snapshot mode or disable the Service.
INFO: Failed at 2026-11-20 02:01:04
ERROR: Backup of VM 102 failed - There is a max backup limit of 3 enforced by the target storage or the vzdump parameters. Either increase the limit or delete old backups.
INFO: Failed at 2026-11-20 02:01:05
INFO: Backup job finished with errors
TASK ERROR: job errors
`)
	if len(log.Attempts) != 3 {
		t.Fatalf("%+v", log.Attempts)
	}
	if a := log.Attempts[0]; a.VMID != 100 || !a.Success || a.Refused {
		t.Errorf("100: %+v", a)
	}
	at := time.Date(2026, 11, 20, 2, 1, 4, 0, vienna)
	if a := log.Attempts[1]; a.VMID != 101 || a.Success || !a.Refused || !strings.HasPrefix(a.Error, "Cannot execute a backup with stop mode") || !a.Start.Equal(at) || a.Duration != 0 {
		t.Errorf("101: %+v", a)
	}
	if a := log.Attempts[2]; a.VMID != 102 || a.Success || !a.Refused || !strings.Contains(a.Error, "max backup limit of 3") || !a.Start.Equal(at.Add(time.Second)) {
		t.Errorf("102: %+v", a)
	}

	// The same line for a guest that already failed in this log is not a
	// second attempt; a refused guest whose zone is unknown has no time.
	log = parse(nil, "ERROR: Backup of VM 107 failed - unable to find VM '107'\nINFO: Failed at 2026-11-20 02:01:05\nTASK ERROR: job errors")
	if len(log.Attempts) != 1 || !log.Attempts[0].Refused || log.Attempts[0].Error != "unable to find VM '107'" || !log.Attempts[0].Start.IsZero() {
		t.Errorf("%+v", log.Attempts)
	}
	log = parse(time.UTC, "INFO: Starting Backup of VM 100 (qemu)\nERROR: Backup of VM 100 failed - interrupted by signal\nINFO: Failed at 2026-11-20 02:01:05\nERROR: Backup job failed - interrupted by signal\nTASK ERROR: interrupted by signal")
	if len(log.Attempts) != 1 || log.Attempts[0].Refused || log.JobError != "interrupted by signal" {
		t.Errorf("%+v", log)
	}
}

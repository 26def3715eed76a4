package collector

import (
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/proxmox/calendar"
)

func TestJobSelection(t *testing.T) {
	guests := []Guest{
		{VMID: 100, Node: "pve1", Pool: "prod"},
		{VMID: 101, Node: "pve2", Pool: "prod"},
		{VMID: 102, Node: "pve1"},
		{VMID: 103, Node: "pve2"},
	}
	for _, tc := range []struct {
		name string
		sel  jobSelection
		want []int
		desc string
	}{
		{"all", jobSelection{all: true}, []int{100, 101, 102, 103}, "all"},
		{"all minus exclude", jobSelection{all: true, exclude: map[int]bool{101: true, 103: true}}, []int{100, 102}, "all exclude=101,103"},
		{"vmid list", jobSelection{vmids: map[int]bool{103: true, 100: true}}, []int{100, 103}, "vmid=100,103"},
		{"pool", jobSelection{pool: "prod"}, []int{100, 101}, "pool=prod"},
		// Proxmox's precedence: a pool wins over a vmid list and all.
		{"pool wins", jobSelection{pool: "prod", vmids: map[int]bool{102: true}, all: true}, []int{100, 101}, "pool=prod"},
		{"vmid wins over all", jobSelection{vmids: map[int]bool{102: true}, all: true}, []int{102}, "vmid=102"},
		{"all on one node", jobSelection{all: true, node: "pve2"}, []int{101, 103}, "all node=pve2"},
		{"vmids on one node", jobSelection{vmids: map[int]bool{100: true, 101: true}, node: "pve1"}, []int{100}, "vmid=100,101 node=pve1"},
		{"nothing", jobSelection{}, nil, "none"},
	} {
		var got []int
		for i := range guests {
			if tc.sel.selects(&guests[i]) {
				got = append(got, guests[i].VMID)
			}
		}
		if !equalInts(got, tc.want) {
			t.Errorf("%s: selects %v, want %v", tc.name, got, tc.want)
		}
		if d := tc.sel.String(); d != tc.desc {
			t.Errorf("%s: String() = %q, want %q", tc.name, d, tc.desc)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestParseIDList(t *testing.T) {
	got := parseIDList(" 101,102;103 104,x,-5,0")
	for _, id := range []int{101, 102, 103, 104} {
		if !got[id] {
			t.Errorf("missing %d in %v", id, got)
		}
	}
	if len(got) != 4 {
		t.Errorf("parseIDList = %v", got)
	}
}

func TestVzdumpArgsAndJobTie(t *testing.T) {
	line := "INFO: starting new backup job: vzdump --notes-template '{{guestname}} on {{node}}' --mode snapshot --all 1 --exclude '101,105' --storage pbs --node pve1 --prune-backups 'keep-daily=7,keep-weekly=4' --quiet 1"
	a, ok := parseVzdumpArgs(line)
	if !ok {
		t.Fatal("not recognised")
	}
	if a.opts["notes-template"] != "{{guestname}} on {{node}}" || a.opts["storage"] != "pbs" || a.opts["exclude"] != "101,105" || a.opts["all"] != "1" {
		t.Fatalf("opts = %v", a.opts)
	}
	b, _ := parseVzdumpArgs("INFO: starting new backup job: vzdump 200 201 --storage local --mode stop")
	if !b.vmids[200] || !b.vmids[201] || len(b.vmids) != 2 {
		t.Fatalf("vmids = %v", b.vmids)
	}
	if _, ok := parseVzdumpArgs("INFO: Starting Backup of VM 100 (qemu)"); ok {
		t.Fatal("a guest line read as a job line")
	}

	jobs := []PVEJob{
		mustJob(t, `{"id":"daily","type":"vzdump","schedule":"21:00","storage":"pbs","all":1,"exclude":"105,101","mode":"snapshot","node":"pve1","notes-template":"{{guestname}} on {{node}}","prune-backups":{"keep-weekly":"4","keep-daily":7}}`),
		mustJob(t, `{"id":"weekly","type":"vzdump","schedule":"sat 03:00","storage":"local","vmid":"201,200","mode":"stop"}`),
		mustJob(t, `{"id":"pool","type":"vzdump","schedule":"02:00","storage":"pbs","pool":"prod"}`),
	}
	t0 := time.Unix(1_800_000_000, 0)
	c, _ := parseVzdumpArgs("INFO: starting new backup job: vzdump --job-id pool --pool prod --storage pbs")
	tier := newJobTier(jobs, make([]*calendar.Event, len(jobs)), nil, nil)
	runs, _ := tier.tieJobRuns([]tiedTask{
		{node: "pve1", args: &a, end: t0, success: true},
		{node: "pve1", args: &a, end: t0.Add(time.Minute), success: false},
		{node: "pve1", args: &a, end: t0.Add(-24 * time.Hour), success: false}, // older: ignored
		{node: "pve2", args: &b, end: t0, success: true},
		{node: "pve1", args: &c, end: t0, success: true},
	})
	if r := runs["daily"]; !r.end.Equal(t0.Add(time.Minute)) || r.success {
		t.Errorf("daily = %+v, want the latest end and its failure", r)
	}
	if r := runs["weekly"]; !r.end.Equal(t0) || !r.success {
		t.Errorf("weekly = %+v", r)
	}
	if r, ok := runs["pool"]; !ok || !r.success {
		t.Errorf("pool (tied by job-id) = %+v, %v", r, ok)
	}
}

func mustJob(t *testing.T, raw string) PVEJob {
	t.Helper()
	j, ok, err := decodeJob([]byte(raw))
	if err != nil || !ok {
		t.Fatalf("%s: %v", raw, err)
	}
	return j
}

// Tying a logged command line to a job: pve-guest-common
// PVE/VZDump/Common.pm command_line prints the vmid list, then every option
// of the job's config except id, vmid, starttime, dow, stdout, enabled and
// job-id (so never --job-id), property strings printed, values shell-quoted,
// in Perl's hash order; pve-manager PVE/Jobs/VZDump.pm run adds quiet=1.
func TestCommandLineMatchesJob(t *testing.T) {
	job := mustJob(t, `{"id":"backup-all","type":"vzdump","schedule":"21:00","enabled":1,"comment":"x","storage":"pbs","all":1,"exclude":"100,101","mode":"snapshot","compress":"zstd","notes-template":"{{guestname}}","prune-backups":{"keep-daily":"7","keep-weekly":"4"},"fleecing":{"enabled":0},"exclude-path":["/tmp/?*"],"next-run":1800000000}`)
	for _, tc := range []struct {
		line string
		want bool
	}{
		{"--fleecing 'enabled=0' --quiet 1 --exclude 101,100 --storage pbs --prune-backups 'keep-weekly=4,keep-daily=7' --mode snapshot --compress zstd --all 1 --notes-template '{{guestname}}' --exclude-path '/tmp/?*'", true},
		// Another storage, mode or exclusion, an option the job lacks, or
		// a missing selection key: another job or a manual run.
		{"--fleecing 'enabled=0' --quiet 1 --exclude 100,101 --storage other --prune-backups 'keep-daily=7,keep-weekly=4' --mode snapshot --compress zstd --all 1 --notes-template '{{guestname}}'", false},
		{"--fleecing 'enabled=0' --quiet 1 --exclude 100,101 --storage pbs --prune-backups 'keep-daily=7,keep-weekly=4' --mode stop --compress zstd --all 1 --notes-template '{{guestname}}'", false},
		{"--fleecing 'enabled=0' --quiet 1 --exclude 100 --storage pbs --prune-backups 'keep-daily=7,keep-weekly=4' --mode snapshot --compress zstd --all 1 --notes-template '{{guestname}}'", false},
		{"--fleecing 'enabled=0' --quiet 1 --exclude 100,101 --storage pbs --prune-backups 'keep-daily=7,keep-weekly=4' --mode snapshot --compress zstd --all 1 --notes-template '{{guestname}}' --node pve1", false},
		{"--fleecing 'enabled=0' --quiet 1 --exclude 100,101 --storage pbs --prune-backups 'keep-daily=7,keep-weekly=4' --compress zstd --all 1 --notes-template '{{guestname}}'", false},
		{"--fleecing 'enabled=0' --exclude 100,101 --storage pbs --prune-backups 'keep-daily=7' --mode snapshot --compress zstd --all 1 --notes-template '{{guestname}}'", false},
		{"100 --fleecing 'enabled=0' --exclude 100,101 --storage pbs --prune-backups 'keep-daily=7,keep-weekly=4' --mode snapshot --compress zstd --all 1 --notes-template '{{guestname}}'", false},
	} {
		a, ok := parseVzdumpArgs(vzdumpJobPrefix + " " + tc.line)
		if !ok {
			t.Fatal(tc.line)
		}
		if got := a.matches(&job); got != tc.want {
			t.Errorf("%s: matches = %v, want %v", tc.line, got, tc.want)
		}
	}
}

// Tying a task to a job by its start: pve-manager PVE/Jobs.pm run_jobs
// starts a job (on its node only, if pinned) once the time passes its next
// occurrence, and PVE/Service/pvescheduler.pm runs that about every minute;
// PVE/API2/VZDump.pm vzdump makes the vmid the task id when the node has one
// guest to back up, and starts no task on a node without guests unless the
// job is for all guests.
func TestJobOfTask(t *testing.T) {
	vienna, _ := time.LoadLocation("Europe/Vienna")
	guests := []Guest{
		{VMID: 100, Node: "pve1", Pool: "prod"}, {VMID: 101, Node: "pve1", Pool: "prod"},
		{VMID: 102, Node: "pve2", Pool: "prod"}, {VMID: 103, Node: "pve1"},
	}
	jobs := []PVEJob{
		mustJob(t, `{"id":"a-prod-2","type":"vzdump","schedule":"02:00","storage":"pbs","pool":"prod"}`),
		mustJob(t, `{"id":"b-prod-3","type":"vzdump","schedule":"03:00","storage":"pbs","pool":"prod"}`),
		mustJob(t, `{"id":"c-off","type":"vzdump","schedule":"04:00","storage":"pbs","pool":"prod","enabled":0}`),
		mustJob(t, `{"id":"d-pinned","type":"vzdump","schedule":"05:00","storage":"pbs","all":1,"node":"pve2"}`),
		mustJob(t, `{"id":"e-bad","type":"vzdump","schedule":"06:00","storage":"pbs","vmid":"103"}`),
	}
	events := make([]*calendar.Event, len(jobs))
	for i := range jobs {
		ev, err := calendar.Parse(jobs[i].Schedule)
		if err != nil {
			t.Fatal(err)
		}
		events[i] = ev
	}
	tier := newJobTier(jobs, events, map[string]*time.Location{"pve1": vienna, "pve2": vienna}, guests)
	at := func(hh, mm, ss int) time.Time { return time.Date(2026, 11, 20, hh, mm, ss, 0, vienna) }
	prod, _ := parseVzdumpArgs(vzdumpJobPrefix + " --pool prod --storage pbs --quiet 1")
	one, _ := parseVzdumpArgs(vzdumpJobPrefix + " 103 --storage pbs --quiet 1")
	for _, tc := range []struct {
		name string
		task tiedTask
		want string
	}{
		{"same options, 02:00 run", tiedTask{node: "pve1", user: "root@pam", args: &prod, start: at(2, 0, 4)}, "a-prod-2"},
		{"same options, 03:00 run", tiedTask{node: "pve1", user: "root@pam", args: &prod, start: at(3, 0, 58)}, "b-prod-3"},
		{"same options, neither schedule", tiedTask{node: "pve1", user: "root@pam", args: &prod, start: at(3, 10, 0)}, ""},
		{"unique options, off schedule", tiedTask{node: "pve1", user: "root@pam", args: &one, start: at(13, 0, 0), id: 103}, "e-bad"},
		// No command line (PVE::VZDump::new died): the schedule and the
		// task id decide.
		{"early failure at 02:00", tiedTask{node: "pve1", user: "root@pam", start: at(2, 0, 30)}, "a-prod-2"},
		{"early failure, 3 minutes late", tiedTask{node: "pve1", user: "root@pam", start: at(2, 3, 0)}, ""},
		{"early failure by a user", tiedTask{node: "pve1", user: "admin@pve", start: at(2, 0, 30)}, ""},
		{"early failure by a token of root", tiedTask{node: "pve1", user: "root@pam!auto", start: at(2, 0, 30)}, ""},
		{"early failure of a disabled job", tiedTask{node: "pve1", user: "root@pam", start: at(4, 0, 10)}, ""},
		{"early failure, job pinned elsewhere", tiedTask{node: "pve1", user: "root@pam", start: at(5, 0, 10)}, ""},
		{"early failure, job pinned here", tiedTask{node: "pve2", user: "root@pam", start: at(5, 0, 10), id: 102}, "d-pinned"},
		// pve2 has one prod guest: its runs carry the vmid.
		{"early failure, one-guest node without id", tiedTask{node: "pve2", user: "root@pam", start: at(2, 0, 10)}, ""},
		{"early failure, one-guest node with id", tiedTask{node: "pve2", user: "root@pam", start: at(2, 0, 10), id: 102}, "a-prod-2"},
		{"early failure, id of a guest the job lacks", tiedTask{node: "pve1", user: "root@pam", start: at(6, 0, 10), id: 100}, ""},
		{"early failure, id 103 at 06:00", tiedTask{node: "pve1", user: "root@pam", start: at(6, 0, 10), id: 103}, "e-bad"},
	} {
		got := ""
		if i := tier.jobOf(&tc.task); i >= 0 {
			got = jobs[i].ID
		}
		if got != tc.want {
			t.Errorf("%s: tied to %q, want %q", tc.name, got, tc.want)
		}
	}

	// Two jobs due at the same minute with the same options: a draw.
	jobs[1].Schedule = "02:00"
	events[1] = events[0]
	if i := tier.jobOf(&tiedTask{node: "pve1", user: "root@pam", args: &prod, start: at(2, 0, 4)}); i >= 0 {
		t.Errorf("a draw tied to %s", jobs[i].ID)
	}
	// A node whose time zone is unknown cannot be tied by time.
	tier.zones = map[string]*time.Location{}
	if i := tier.jobOf(&tiedTask{node: "pve1", user: "root@pam", start: at(6, 0, 10), id: 103}); i >= 0 {
		t.Errorf("tied without a time zone: %s", jobs[i].ID)
	}
}

func TestBorrowZones(t *testing.T) {
	vienna, _ := time.LoadLocation("Europe/Vienna")
	ny, _ := time.LoadLocation("America/New_York")
	zones := map[string]*time.Location{"pve1": vienna, "pve2": vienna}
	notes := borrowZones(zones, map[string]string{"pve3": "node offline"})
	if zones["pve3"] != vienna || len(notes) != 1 || !strings.Contains(notes[0], "pve3") || !strings.Contains(notes[0], "Europe/Vienna") {
		t.Errorf("agreeing nodes: %v %q", zones, notes)
	}
	zones = map[string]*time.Location{"pve1": vienna, "pve2": ny}
	notes = borrowZones(zones, map[string]string{"pve3": "node offline"})
	if _, ok := zones["pve3"]; ok || len(notes) != 1 || !strings.Contains(notes[0], "disagree") {
		t.Errorf("disagreeing nodes: %v %q", zones, notes)
	}
	zones = map[string]*time.Location{}
	notes = borrowZones(zones, map[string]string{"pve1": "its time could not be read"})
	if len(zones) != 0 || len(notes) != 1 || !strings.Contains(notes[0], "no node reported") {
		t.Errorf("nothing known: %v %q", zones, notes)
	}
}

func TestReadPlan(t *testing.T) {
	storages := []nodeStorage{
		{Node: "pve1", Name: "pbs", Shared: true, Active: true, Enabled: true},
		{Node: "pve2", Name: "pbs", Shared: true, Active: true, Enabled: true},
		{Node: "pve1", Name: "local", Active: true, Enabled: true},
		{Node: "pve2", Name: "local", Active: true, Enabled: true},
		{Node: "pve1", Name: "nfs", Shared: true, Active: false, Enabled: true},
		{Node: "pve2", Name: "nfs", Shared: true, Active: true, Enabled: true},
		{Node: "pve1", Name: "usb", Active: false, Enabled: true},
		{Node: "pve1", Name: "off", Active: false, Enabled: false},
	}
	plan, err := readPlan(storages, "c")
	var got []string
	for _, s := range plan {
		got = append(got, s.Name+"@"+s.Node)
	}
	want := "pbs@pve1 local@pve1 local@pve2 nfs@pve2"
	if joined := join(got); joined != want {
		t.Errorf("plan = %s, want %s", joined, want)
	}
	if err == nil || err.Error() != `target "c": storage usb is not active on node pve1` {
		t.Errorf("err = %v", err)
	}
}

func join(s []string) string {
	out := ""
	for i, x := range s {
		if i > 0 {
			out += " "
		}
		out += x
	}
	return out
}

func TestEncrypted(t *testing.T) {
	f := func(pairs ...string) []pbsFile {
		var files []pbsFile
		for i := 0; i+1 < len(pairs); i += 2 {
			files = append(files, pbsFile{Filename: pairs[i], CryptMode: pairs[i+1]})
		}
		return files
	}
	for _, tc := range []struct {
		name  string
		files []pbsFile
		want  bool
	}{
		// A real encrypted backup: the manifest is only signed, the client
		// log has no crypt mode.
		{"encrypted", f("qemu-server.conf.blob", "encrypt", "drive-scsi0.img.fidx", "encrypt", "index.json.blob", "sign-only", "client.log.blob", ""), true},
		{"plain", f("qemu-server.conf.blob", "none", "drive-scsi0.img.fidx", "none", "index.json.blob", "none", "client.log.blob", ""), false},
		{"signed only", f("pct.conf.blob", "sign-only", "root.pxar.didx", "sign-only", "index.json.blob", "sign-only"), false},
		{"mixed", f("a.blob", "encrypt", "b.fidx", "none"), false},
		{"no crypt modes", f("index.json.blob", "", "client.log.blob", ""), false},
		{"none", nil, false},
	} {
		if got := encrypted(tc.files); got != tc.want {
			t.Errorf("%s: encrypted = %v, want %v", tc.name, got, tc.want)
		}
	}
}

package collector

import (
	"testing"
	"time"
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
		{ID: "daily", Storage: "pbs", sel: jobSelection{all: true, exclude: map[int]bool{101: true, 105: true}}},
		{ID: "weekly", Storage: "local", sel: jobSelection{vmids: map[int]bool{200: true, 201: true}}},
		{ID: "pool", Storage: "pbs", sel: jobSelection{pool: "prod"}},
	}
	t0 := time.Unix(1_800_000_000, 0)
	c, _ := parseVzdumpArgs("INFO: starting new backup job: vzdump --job-id pool --pool prod --storage pbs")
	runs := tieJobRuns(jobs, []tiedTask{
		{node: "pve1", args: a, end: t0, success: true},
		{node: "pve2", args: a, end: t0.Add(time.Minute), success: false},
		{node: "pve1", args: a, end: t0.Add(-24 * time.Hour), success: false}, // older: ignored
		{node: "pve1", args: b, end: t0, success: true},
		{node: "pve1", args: c, end: t0, success: true},
	})
	if r := runs["daily"]; !r.end.Equal(t0.Add(time.Minute)) || r.success {
		t.Errorf("daily = %+v, want the latest end and failure (pve2 failed)", r)
	}
	if r := runs["weekly"]; !r.end.Equal(t0) || !r.success {
		t.Errorf("weekly = %+v", r)
	}
	if r, ok := runs["pool"]; !ok || !r.success {
		t.Errorf("pool (tied by job-id) = %+v, %v", r, ok)
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

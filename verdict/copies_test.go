package verdict

import (
	"slices"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/collector"
)

// SingleCopy judges only guests that carry the whole opt-in tag, and only
// when the backups are known, as the alert, whose metric is then absent.
func TestSingleCopy(t *testing.T) {
	h := time.Hour
	last := &collector.GuestBackup{Time: now.Add(-h), HasSize: true, Size: 1, Verify: collector.VerifyOK, Encrypted: true}
	guest := func(tags string, recent int) collector.Guest {
		return collector.Guest{VMID: 1, Tags: tags, Backups: 3, Covered: true, Last: last, RecentStorages: recent}
	}
	for _, tc := range []struct {
		name string
		g    collector.Guest
		want []string
	}{
		{"tagged, one copy", guest("prod;two-copies", 1), []string{"single_copy/warning/1"}},
		{"tagged, no recent copy", guest("two-copies", 0), []string{"single_copy/warning/1"}},
		{"tagged, two copies", guest("two-copies", 2), nil},
		{"a longer tag is not the tag", guest("two-copies-please", 1), nil},
		{"untagged", guest("", 1), nil},
		{"opted out wins", guest("two-copies;nobackup", 1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := found(cluster(tc.g)); !slices.Equal(got, tc.want) {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
	r := cluster(guest("two-copies", 1))
	r.Up = false
	if got := found(r); slices.Contains(got, "single_copy/warning/1") {
		t.Errorf("reported for a target that is down: %q", got)
	}
	r = cluster(guest("two-copies", 1))
	r.PVE.BackupsKnown = false
	if got := found(r); slices.Contains(got, "single_copy/warning/1") {
		t.Errorf("reported with the backups unknown: %q", got)
	}
	th := Defaults()
	th.SingleCopyTag = "3-2-1"
	if ps := Evaluate(cluster(guest("3-2-1", 1)), th); len(ps) != 1 || ps[0].Problem != "single_copy" {
		t.Errorf("with the tag 3-2-1: %+v", ps)
	}
}

func pbsResult(name, offsite string, up bool, groups ...collector.Group) *collector.Result {
	return &collector.Result{Target: name, Product: "pbs", Now: now, Up: up, Offsite: offsite,
		PBS: &collector.PBSData{Groups: groups}}
}

func group(ds, ns, typ, id string, newest time.Time) collector.Group {
	return collector.Group{Datastore: ds, Namespace: ns, BackupType: typ, BackupID: id,
		Last: &collector.Snapshot{Time: newest, Size: 1, Encrypted: true, Verify: collector.VerifyOK, VerifyTime: newest}}
}

// The offsite rule compares each primary group with the newest copy of the
// same type and id anywhere on the offsite target, as the alert does.
func TestOffsiteLagging(t *testing.T) {
	h := time.Hour
	fresh := now.Add(-h)
	primary := pbsResult("pbs1", "pbs-offsite", true,
		group("main", "", "vm", "100", fresh),                                 // copy 49h behind
		group("main", "", "ct", "101", fresh),                                 // copy 47h behind
		group("main", "", "vm", "102", fresh),                                 // no copy
		group("main", "prod", "vm", "200", fresh),                             // newer copy of two counts
		group("main", "", "vm", "201", fresh),                                 // exactly 48h behind: not more
		collector.Group{Datastore: "main", BackupType: "vm", BackupID: "103"}, // no finished snapshot
	)
	offsite := pbsResult("pbs-offsite", "", true,
		group("copies", "site1", "vm", "100", fresh.Add(-49*h)),
		group("copies", "site1", "ct", "101", fresh.Add(-47*h)),
		group("old", "", "vm", "200", fresh.Add(-400*h)),
		group("copies", "site1/prod", "vm", "200", fresh.Add(-40*h)),
		collector.Group{Datastore: "copies", Namespace: "site1", BackupType: "vm", BackupID: "200"}, // no finished snapshot
		group("copies", "site1", "vm", "103", fresh.Add(-400*h)),
		group("copies", "site1", "vm", "201", fresh.Add(-48*h)),
	)
	lagging := func(ps []Problem) []string {
		var out []string
		for _, p := range ps {
			if p.Problem == "offsite_lagging" {
				out = append(out, p.Target+" "+p.Object.ID+" "+p.Object.Labels["offsite_target"])
			}
		}
		return out
	}
	ps := EvaluateAll([]*collector.Result{primary, offsite}, Defaults())
	if got, want := lagging(ps), []string{"pbs1 main:vm/100 pbs-offsite"}; !slices.Equal(got, want) {
		t.Fatalf("got %q, want %q", got, want)
	}
	for _, p := range ps {
		if p.Problem == "offsite_lagging" && (p.Severity != Warning || !strings.Contains(p.Text, "2d 1h behind")) {
			t.Errorf("problem %+v", p)
		}
	}
	// One probe alone, the offsite down, or the primary without an offsite
	// setting: nothing to compare.
	if got := lagging(Evaluate(primary, Defaults())); got != nil {
		t.Errorf("without the offsite's result: %q", got)
	}
	down := *offsite
	down.Up = false
	if got := lagging(EvaluateAll([]*collector.Result{primary, &down}, Defaults())); got != nil {
		t.Errorf("offsite down: %q", got)
	}
	plain := *primary
	plain.Offsite = ""
	if got := lagging(EvaluateAll([]*collector.Result{&plain, offsite}, Defaults())); got != nil {
		t.Errorf("no offsite setting: %q", got)
	}
	// An offsite target that is no PBS (the configuration forbids it)
	// holds no copies.
	pve := cluster()
	pve.Target = "pbs-offsite"
	if got := lagging(EvaluateAll([]*collector.Result{primary, pve}, Defaults())); got != nil {
		t.Errorf("a PVE offsite: %q", got)
	}
	// Opted out by its comment.
	optedOut := *primary
	optedOut.PBS = &collector.PBSData{Groups: slices.Clone(primary.PBS.Groups)}
	optedOut.PBS.Groups[0].Comment = "no-monitor"
	if got := lagging(EvaluateAll([]*collector.Result{&optedOut, offsite}, Defaults())); got != nil {
		t.Errorf("opted out: %q", got)
	}
	// The threshold is the configured lag.
	th := Defaults()
	th.OffsiteMaxLag = 46 * h
	if got := lagging(EvaluateAll([]*collector.Result{primary, offsite}, th)); len(got) != 3 {
		t.Errorf("with a 46h limit: %q, want vm/100, ct/101 and vm/201", got)
	}
}

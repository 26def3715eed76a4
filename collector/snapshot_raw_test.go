package collector

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/proxmox/tasklog"
)

// referenceGroups aggregates a snapshot listing the plain way, by
// unmarshalling it whole with encoding/json, for comparison with the
// element scanner of the collector.
func referenceGroups(t *testing.T, body []byte) map[string]Group {
	t.Helper()
	var env struct {
		Data []struct {
			BackupType   string         `json:"backup-type"`
			BackupID     proxmox.String `json:"backup-id"`
			BackupTime   proxmox.Int    `json:"backup-time"`
			Size         *proxmox.Int   `json:"size"`
			Protected    proxmox.Bool   `json:"protected"`
			Verification *struct {
				State string `json:"state"`
				UPID  string `json:"upid"`
			} `json:"verification"`
			Files []struct {
				Filename  string `json:"filename"`
				CryptMode string `json:"crypt-mode"`
			} `json:"files"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	out := map[string]Group{}
	for _, s := range env.Data {
		key := s.BackupType + "/" + string(s.BackupID)
		g := out[key]
		g.Datastore, g.BackupType, g.BackupID = "store", s.BackupType, string(s.BackupID)
		g.Snapshots++
		tm, _ := proxmox.Timestamp(int64(s.BackupTime))
		if s.Size != nil && (g.Last == nil || tm.After(g.Last.Time)) {
			var files []pbsFile
			for _, f := range s.Files {
				files = append(files, pbsFile{f.Filename, f.CryptMode})
			}
			last := &Snapshot{Time: tm, Size: nonNeg(*s.Size), Protected: bool(s.Protected), Encrypted: encrypted(files), Verify: VerifyNone}
			if v := s.Verification; v != nil {
				if v.State == VerifyOK || v.State == VerifyFailed {
					last.Verify = v.State
				}
				if u, err := tasklog.ParsePBSUPID(v.UPID); err == nil {
					last.VerifyTime = u.StartTime
				}
			}
			g.Last = last
		}
		out[key] = g
	}
	return out
}

func scannedGroups(t *testing.T, body []byte) map[string]Group {
	t.Helper()
	agg := newSnapshotAgg("store", "")
	if err := proxmox.DecodeEachRaw(strings.NewReader(string(body)), agg.addRaw); err != nil {
		t.Fatal(err)
	}
	out := map[string]Group{}
	for _, g := range agg.result() {
		out[g.BackupType+"/"+g.BackupID] = g
	}
	return out
}

func sameGroups(t *testing.T, got, want map[string]Group) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d groups, want %d", len(got), len(want))
	}
	keys := make([]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		g, w := got[k], want[k]
		if !reflect.DeepEqual(g, w) {
			t.Errorf("group %s:\n got %+v last %+v\nwant %+v last %+v", k, g, g.Last, w, w.Last)
		}
	}
}

// The scanner reads the generated listings (encrypted and unencrypted
// groups, failed and passed verifications) as encoding/json does.
func TestSnapshotScannerMatchesEncodingJSON(t *testing.T) {
	for _, size := range []struct{ groups, perGroup int }{{1, 1}, {30, 7}, {200, 3}} {
		t.Run(fmt.Sprintf("%dx%d", size.groups, size.perGroup), func(t *testing.T) {
			body := snapshotListing(t, size.groups, size.perGroup, "")
			sameGroups(t, scannedGroups(t, body), referenceGroups(t, body))
		})
	}
}

// The forms a server may write that the generator does not: numeric ids
// and counters as strings, escapes, nulls, unknown nested fields, fields
// in any order, duplicate keys (the last wins).
func TestSnapshotScannerOddForms(t *testing.T) {
	body := []byte(`{"data":[
	{"backup-type":"vm","backup-id":100,"backup-time":"1790139612","size":"1024","protected":1,
	 "files":[{"filename":"index.json.blob","crypt-mode":"none"},{"filename":"drive-scsi0.img.fidx","crypt-mode":"encr\u0079pt"}],
	 "verification":{"state":"ok","upid":"UPID:pbs:000001F4:00002A31:0000007E:6AB3792C:verificationjob:main\\x3av:root@pam:"}},
	{"comment":{"nested":[1,{"x":"]}"}]},"backup-id":"100","backup-type":"vm","backup-time":1790139000,"size":5},
	{"backup-type":"c\u0074","backup-id":"caf\u00e9","backup-time":1790130000,"size":null,"protected":"0"},
	{"backup-type":"ct","backup-id":"café","backup-time":1790130001,"size":7,"verification":null,"files":null},
	{"backup-type":"host","backup-id":"h","backup-time":1,"backup-time":1790100000,"size":-3,"protected":false,
	 "files":[{"filename":"root.pxar.didx","crypt-mode":"encrypt"},{"filename":"client.log.blob"}],"verification":{"state":"weird"}}
	]}`)
	got, want := scannedGroups(t, body), referenceGroups(t, body)
	sameGroups(t, got, want)
	// Spot checks, so that a bug common to both sides still shows.
	if g := got["vm/100"]; g.Snapshots != 2 || g.Last.Size != 1024 || !g.Last.Encrypted || !g.Last.Protected || g.Last.Verify != VerifyOK || g.Last.VerifyTime.IsZero() {
		t.Errorf("vm/100: %+v %+v", g, g.Last)
	}
	if g := got["ct/café"]; g.Snapshots != 2 || g.Last == nil || g.Last.Size != 7 || g.Last.Time.Unix() != 1790130001 {
		t.Errorf("ct/café: %+v", g)
	}
	if g := got["host/h"]; g.Last.Time.Unix() != 1790100000 || g.Last.Size != 0 || !g.Last.Encrypted || g.Last.Verify != VerifyNone {
		t.Errorf("host/h: %+v %+v", g, g.Last)
	}
}

// Values of the wrong type fail the listing, as they did with encoding/json.
func TestSnapshotScannerWrongTypes(t *testing.T) {
	for _, elem := range []string{
		`{"backup-type":5,"backup-id":"1","backup-time":1}`,
		`{"backup-type":"vm","backup-id":{},"backup-time":1}`,
		`{"backup-type":"vm","backup-id":"1","backup-time":"soon"}`,
		`{"backup-type":"vm","backup-id":"1","backup-time":1,"size":true}`,
		`{"backup-type":"vm","backup-id":"1","backup-time":1,"protected":"maybe"}`,
		`{"backup-type":"vm","backup-id":"1","backup-time":1,"size":1,"files":{}}`,
		`{"backup-type":"vm","backup-id":"1","backup-time":1,"size":1,"files":[{"crypt-mode":1}]}`,
		`{"backup-type":"vm","backup-id":"1","backup-time":1,"size":1,"verification":[]}`,
		`{"backup-type":"vm","backup-id":"1","backup-time":1,"size":1,"verification":{"upid":7}}`,
		`[1]`,
	} {
		agg := newSnapshotAgg("store", "")
		if err := proxmox.DecodeEachRaw(strings.NewReader(`{"data":[`+elem+`]}`), agg.addRaw); err == nil {
			t.Errorf("%s: no error", elem)
		}
	}
}

// A group is named by its comment, else by its newest snapshot's notes,
// which PVE writes from the backup job's notes template (pve-storage
// PBSPlugin.pm update_volume_notes; proxmox-backup src/api2/admin/datastore.rs
// list_snapshots reads the first notes line into "comment", list_groups the
// group's own notes file).
func TestGroupDisplayName(t *testing.T) {
	body := `{"data":[
	{"backup-type":"vm","backup-id":"100","backup-time":1700000000,"size":10,"files":[],"comment":"old-name"},
	{"backup-type":"vm","backup-id":"100","backup-time":1700086400,"size":10,"files":[],"comment":"db01"},
	{"backup-type":"vm","backup-id":"101","backup-time":1700086400,"size":10,"files":[],"comment":null},
	{"backup-type":"vm","backup-id":"102","backup-time":1700086400,"files":[],"comment":"unfinished"}
	]}`
	groups := scannedGroups(t, []byte(body))
	for id, want := range map[string]string{"vm/100": "db01", "vm/101": "", "vm/102": ""} {
		g := groups[id]
		if got := g.DisplayName(); got != want {
			t.Errorf("%s: name %q, want %q", id, got, want)
		}
	}
	g := groups["vm/100"]
	g.Comment = "database server"
	if got := g.DisplayName(); got != "database server" {
		t.Errorf("the group's own comment does not win: %q", got)
	}
}

package collector

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"proxmox_backup_exporter/proxmox"
)

// The decoders of the large listings must reject any body with an error,
// never a panic or a hang, and keep their invariants.

func FuzzSnapshotStream(f *testing.F) {
	f.Add([]byte(`{"data":[{"backup-type":"vm","backup-id":"100","backup-time":1790139612,"size":1073741824,"protected":false,"files":[{"filename":"index.json.blob","crypt-mode":"sign-only"},{"filename":"drive-scsi0.img.fidx","crypt-mode":"encrypt","size":1},{"filename":"client.log.blob"}],"verification":{"state":"failed","upid":"UPID:pbs:000001F4:00002A31:0000007E:6AB3792C:verificationjob:main\\x3av\\x2d3f2a9c1d\\x2d77b0:root@pam:"}}]}`))
	f.Add([]byte(`{"data":[{"backup-type":"ct","backup-id":101,"backup-time":"1790139612","files":[]},{"backup-type":"ct","backup-id":"101","backup-time":1,"size":-5}]}`))
	f.Add([]byte(`{"data":null}`))
	f.Add([]byte(`{"data":[{"files":"x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		agg := newSnapshotAgg("store", "")
		err := proxmox.DecodeEach(bytes.NewReader(body), agg.add)
		for _, g := range agg.result() {
			if g.Snapshots < 1 {
				t.Fatalf("group %+v without snapshots", g)
			}
			if g.Last != nil && g.Last.Verify != VerifyOK && g.Last.Verify != VerifyFailed && g.Last.Verify != VerifyNone {
				t.Fatalf("verify state %q", g.Last.Verify)
			}
		}
		// A listing read to its end counts every item once.
		if err == nil {
			items := 0
			_ = proxmox.DecodeEach(bytes.NewReader(body), func(dec decoder) error {
				var skip json.RawMessage
				items++
				return dec.Decode(&skip)
			})
			n := 0
			for _, g := range agg.result() {
				n += g.Snapshots
			}
			if n != items {
				t.Fatalf("%d snapshots counted of %d items", n, items)
			}
		}
	})
}

func FuzzContentStream(f *testing.F) {
	f.Add([]byte(`{"data":[{"volid":"local:backup/vzdump-qemu-100-2026_09_22-03_00_12.vma.zst","vmid":100,"ctime":1790060412,"size":21474836480,"format":"vma.zst","content":"backup","protected":1,"notes":"x"},{"volid":"pbs:backup/ct/101/2026-06-21T10:45:21Z","vmid":101,"ctime":1782038721,"size":1,"format":"pbs-ct","content":"backup","encrypted":"ab:cd","verification":{"state":"ok","upid":"UPID:pbs:000002C0:000007BA:00000001:67DE4FC4:verificationjob:fs01\\x3av:root@pam:"}}]}`))
	f.Add([]byte(`{"data":[{"volid":"odd","ctime":"12","approximate-size":"77","content":"backup"},{"vmid":"x"}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c := &contentAgg{storage: "s", aggs: map[int]*guestBackups{}, cnt: &storageCount{}}
		_ = proxmox.DecodeEach(bytes.NewReader(body), c.add)
		n := 0
		for vmid, a := range c.aggs {
			if vmid <= 0 || a.count < 1 {
				t.Fatalf("aggregate %d: %+v", vmid, a)
			}
			n += a.count
		}
		if n > c.cnt.backups {
			t.Fatalf("%d attributed backups, %d counted", n, c.cnt.backups)
		}
	})
}

// FuzzTaskList feeds task list items; the running state depends on the end
// time and the status alone: an ended task never runs.
func FuzzTaskList(f *testing.F) {
	f.Add([]byte(`{"data":[{"upid":"UPID:vega:00278614:07B4AAEB:6AC56ADD:vzdump::root@pam:","node":"vega","starttime":1791322845,"type":"vzdump","id":"","user":"root@pam","status":"RUNNING"},{"upid":"UPID:n:000934AF:0D015579:68BF3A41:vzdump:100:u@pam!t:","starttime":1757362753,"endtime":1757363000,"type":"vzdump","id":"100","status":"unexpected status","tokenid":"t"}],"total":2}`))
	f.Add([]byte(`{"total":"x","data":[{"id":100,"endtime":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = proxmox.DecodeEach(bytes.NewReader(body), func(dec decoder) error {
			var it taskItem
			if err := dec.Decode(&it); err != nil {
				return err
			}
			if it.running() && (it.EndTime != nil || (it.Status != "" && !strings.EqualFold(it.Status, "running"))) {
				t.Fatalf("task %+v runs although it ended", it)
			}
			return nil
		})
	})
}

// FuzzVzdumpCommandLine feeds the command line a vzdump log starts with
// ("INFO: starting new backup job: vzdump ..."). Whatever the line, the
// parser finds only guest ids and options that the line holds.
func FuzzVzdumpCommandLine(f *testing.F) {
	f.Add("101 102 --storage pbs --all 1 --prune-backups 'keep-daily=7,keep-weekly=4' --mode snapshot --node pve1")
	f.Add(`--pool prod --exclude '100,101' --notes-template "{{guestname}} nightly" --quiet 1`)
	f.Add("--job-id 'x --all 1' 1,2;3 --storage")
	f.Fuzz(func(t *testing.T, rest string) {
		if !utf8.ValidString(rest) {
			t.Skip("log lines arrive JSON-decoded, as UTF-8")
		}
		a, ok := parseVzdumpArgs(vzdumpJobPrefix + " " + rest)
		if !ok {
			t.Fatal("a line with the prefix was not read")
		}
		for id := range a.vmids {
			if id <= 0 || !strings.Contains(rest, strconv.Itoa(id)) {
				t.Fatalf("guest %d is not in %q", id, rest)
			}
		}
		for k, v := range a.opts {
			if k != "" && !strings.Contains(rest, k) && !strings.ContainsAny(rest, `'"`) {
				t.Fatalf("option %q is not in %q", k, rest)
			}
			if strings.HasPrefix(v, "--") {
				t.Fatalf("option %q took the next option %q as its value", k, v)
			}
		}
		if _, ok := parseVzdumpArgs(rest); ok && !strings.HasPrefix(strings.TrimSpace(rest), vzdumpJobPrefix) {
			t.Fatalf("%q read as a command line without the prefix", rest)
		}
	})
}

// FuzzVzdumpCommandLineRoundTrip prints a command line the way PVE does
// (guest ids, then options whose values are shell-quoted when they hold
// blanks) and reads it back.
func FuzzVzdumpCommandLineRoundTrip(f *testing.F) {
	f.Add(uint32(101), uint32(102), "storage", "pbs", "prune-backups", "keep-daily=7,keep-weekly=4")
	f.Add(uint32(100), uint32(100), "notes-template", "{{guestname}} nightly", "mode", "stop")
	f.Fuzz(func(t *testing.T, id1, id2 uint32, k1, v1, k2, v2 string) {
		optRE := regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)
		if !utf8.ValidString(v1) || !utf8.ValidString(v2) || !optRE.MatchString(k1) || !optRE.MatchString(k2) || k1 == k2 ||
			strings.ContainsAny(v1+v2, "'\"\\\n\r") || strings.HasPrefix(v1, "-") || strings.HasPrefix(v2, "-") || v1 == "" || v2 == "" {
			t.Skip()
		}
		id1, id2 = id1%999999900+100, id2%999999900+100
		quote := func(v string) string {
			if strings.IndexFunc(v, unicode.IsSpace) >= 0 {
				return "'" + v + "'"
			}
			return v
		}
		line := fmt.Sprintf("%s %d %d --%s %s --%s %s", vzdumpJobPrefix, id1, id2, k1, quote(v1), k2, quote(v2))
		a, ok := parseVzdumpArgs(line)
		if !ok {
			t.Fatalf("%q not read", line)
		}
		want := map[int]bool{int(id1): true, int(id2): true}
		if !maps.Equal(a.vmids, want) {
			t.Errorf("%q: guests %v, want %v", line, a.vmids, want)
		}
		if len(a.opts) != 2 || a.opts[k1] != v1 || a.opts[k2] != v2 {
			t.Errorf("%q: options %q", line, a.opts)
		}
	})
}

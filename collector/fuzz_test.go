package collector

import (
	"bytes"
	"testing"

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
		_ = err
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

func FuzzTaskList(f *testing.F) {
	f.Add([]byte(`{"data":[{"upid":"UPID:vega:00278614:07B4AAEB:6AC56ADD:vzdump::root@pam:","node":"vega","starttime":1791322845,"type":"vzdump","id":"","user":"root@pam","status":"RUNNING"},{"upid":"UPID:n:000934AF:0D015579:68BF3A41:vzdump:100:u@pam!t:","starttime":1757362753,"endtime":1757363000,"type":"vzdump","id":"100","status":"unexpected status","tokenid":"t"}],"total":2}`))
	f.Add([]byte(`{"total":"x","data":[{"id":100,"endtime":null}]}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		_ = proxmox.DecodeEach(bytes.NewReader(body), func(dec decoder) error {
			var it taskItem
			if err := dec.Decode(&it); err != nil {
				return err
			}
			_ = it.running()
			_, _ = parseVzdumpArgs(it.Status)
			return nil
		})
	})
}

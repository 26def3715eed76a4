package collector

import (
	"bytes"
	"fmt"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/proxmox"
)

var skewNow = time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)

// A snapshot dated beyond the clock-skew allowance is counted apart and does
// not become the last backup; one within it does; dates no server can mean
// are ignored.
func TestSnapshotDates(t *testing.T) {
	now := skewNow.Unix()
	body := fmt.Sprintf(`{"data":[
		{"backup-type":"vm","backup-id":"100","backup-time":%d,"size":10},
		{"backup-type":"vm","backup-id":"100","backup-time":%d,"size":11},
		{"backup-type":"vm","backup-id":"100","backup-time":%d,"size":12},
		{"backup-type":"vm","backup-id":"100","backup-time":%d,"size":13},
		{"backup-type":"vm","backup-id":"100","backup-time":-1,"size":14},
		{"backup-type":"vm","backup-id":"200","backup-time":%d,"size":15}
	]}`, now-7200, now+300, now+3600, proxmox.MaxTimestamp+1, now+86400*365*80)
	agg := newSnapshotAgg("store", "")
	agg.now = skewNow
	if err := proxmox.DecodeEach(strings.NewReader(body), agg.add); err != nil {
		t.Fatal(err)
	}
	groups := map[string]Group{}
	for _, g := range agg.result() {
		groups[g.BackupID] = g
	}
	g := groups["100"]
	if g.Snapshots != 3 || g.FutureSnapshots != 1 {
		t.Errorf("group 100: %d snapshots, %d in the future; want 3 and 1", g.Snapshots, g.FutureSnapshots)
	}
	if g.Last == nil || g.Last.Time.Unix() != now+300 || g.Last.Size != 11 {
		t.Errorf("group 100: last %+v, want the one 5 minutes ahead (within the allowance)", g.Last)
	}
	if g := groups["200"]; g.Last != nil || g.FutureSnapshots != 1 {
		t.Errorf("group 200, only dated 80 years ahead: %+v", g)
	}
	if agg.rejected.n != 2 {
		t.Errorf("%d rejected dates, want 2", agg.rejected.n)
	}
}

func TestBackupVolumeDates(t *testing.T) {
	now := skewNow.Unix()
	body := fmt.Sprintf(`{"data":[
		{"volid":"a","vmid":100,"ctime":%d,"size":10,"content":"backup"},
		{"volid":"b","vmid":100,"ctime":%d,"size":11,"content":"backup"},
		{"volid":"c","vmid":100,"ctime":%d,"size":12,"content":"backup"}
	]}`, now-86400, now+1200, int64(1)<<40)
	c := &contentAgg{storage: "s", aggs: map[int]*guestBackups{}, cnt: &storageCount{}, now: skewNow}
	if err := proxmox.DecodeEach(strings.NewReader(body), c.add); err != nil {
		t.Fatal(err)
	}
	a := c.aggs[100]
	if a == nil || a.count != 2 || a.future != 1 || a.last == nil || a.last.VolID != "a" {
		t.Fatalf("aggregate %+v", a)
	}
	if got := a.perStorage["s"]; got.Unix() != now-86400 {
		t.Errorf("per-storage last backup %v ignores neither the future nor the impossible", got)
	}
	if c.rejected.n != 1 || c.cnt.backups != 2 {
		t.Errorf("%d rejected, %d counted", c.rejected.n, c.cnt.backups)
	}
}

// A listing of more distinct groups than the bound fails instead of
// growing without bound (the bound is lowered to keep the test fast).
func TestSnapshotGroupsBounded(t *testing.T) {
	defer func(n int) { maxKept = n }(maxKept)
	maxKept = 1000
	var b bytes.Buffer
	b.WriteString(`{"data":[`)
	for i := 0; i <= maxKept; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"backup-type":"vm","backup-id":"%d","backup-time":1}`, i)
	}
	b.WriteString(`]}`)
	agg := newSnapshotAgg("store", "")
	err := proxmox.DecodeEach(&b, agg.add)
	if err == nil || !strings.Contains(err.Error(), "more than 1000 backup groups") {
		t.Fatalf("err = %v", err)
	}
	if len(agg.groups) > maxKept {
		t.Errorf("%d groups kept", len(agg.groups))
	}
}

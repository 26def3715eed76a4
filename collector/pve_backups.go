package collector

import (
	"context"
	"net/url"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/proxmox/tasklog"
)

// guestBackups aggregates one guest's backup volumes while they stream by.
type guestBackups struct {
	count      int
	future     int // finished backups dated in the future, not in last
	last       *GuestBackup
	perStorage map[string]time.Time
}

type storageKey struct{ name, node string } // node is "" for a shared storage

type storageCount struct {
	backups int
	bytes   uint64
}

// contentItem is an item of GET /nodes/{node}/storage/{storage}/content.
type contentItem struct {
	VolID        string         `json:"volid"`
	VMID         *proxmox.Int   `json:"vmid"`
	CTime        proxmox.Int    `json:"ctime"`
	Size         *proxmox.Int   `json:"size"`
	ApproxSize   *proxmox.Int   `json:"approximate-size"`
	Format       string         `json:"format"`
	Content      string         `json:"content"`
	Protected    proxmox.Bool   `json:"protected"`
	Encrypted    proxmox.String `json:"encrypted"`
	Verification *struct {
		State string `json:"state"`
		UPID  string `json:"upid"`
	} `json:"verification"`
}

// collectBackups streams the backup listing of every backup storage once
// (a shared storage from one node) and keeps per-guest aggregates only.
func (v *pveView) collectBackups(ctx context.Context, out *PVEData) error {
	storages, err := v.storages.get(ctx, v.fetchStorages)
	var errs errList
	errs.add(err)
	plan, err := readPlan(storages, v.p.target.Name)
	errs.add(err)

	var mu sync.Mutex
	aggs := map[int]*guestBackups{}
	counts := map[storageKey]*storageCount{}
	var wg sync.WaitGroup
	for _, s := range plan {
		wg.Add(1)
		go func() {
			defer wg.Done()
			local := map[int]*guestBackups{}
			var cnt storageCount
			err := v.listBackups(ctx, s, local, &cnt)
			if err != nil {
				// A listing cut short would undercount: keep none of it.
				errs.add(err)
				return
			}
			key := storageKey{name: s.Name, node: s.Node}
			if s.Shared {
				key.node = ""
			}
			mu.Lock()
			defer mu.Unlock()
			counts[key] = &cnt
			for vmid, a := range local {
				mergeGuestBackups(aggs, vmid, a)
			}
		}()
	}
	wg.Wait()
	out.backups, out.storeCount = aggs, counts
	return errs.err()
}

func mergeGuestBackups(dst map[int]*guestBackups, vmid int, a *guestBackups) {
	d := dst[vmid]
	if d == nil {
		dst[vmid] = a
		return
	}
	d.count += a.count
	d.future += a.future
	if a.last != nil && (d.last == nil || a.last.Time.After(d.last.Time)) {
		d.last = a.last
	}
	for st, t := range a.perStorage {
		if t.After(d.perStorage[st]) {
			d.perStorage[st] = t
		}
	}
}

func (v *pveView) listBackups(ctx context.Context, s nodeStorage, aggs map[int]*guestBackups, cnt *storageCount) error {
	path := "/nodes/" + url.PathEscape(s.Node) + "/storage/" + url.PathEscape(s.Name) + "/content"
	c := &contentAgg{storage: s.Name, aggs: aggs, cnt: cnt, now: v.p.now}
	err := v.p.session.Each(ctx, path, url.Values{"content": {"backup"}}, c.add)
	c.rejected.warn(v.p, path, "backup volumes")
	return err
}

// contentAgg folds a streamed backup listing of one storage into per-guest
// aggregates and the storage's totals.
type contentAgg struct {
	storage string
	aggs    map[int]*guestBackups
	cnt     *storageCount
	it      contentItem
	// now is the probe time, against which backups dated in the future
	// are told apart; rejected counts volumes with impossible dates.
	now      time.Time
	rejected rejectedDates
}

// add decodes the next volume of the listing.
func (c *contentAgg) add(dec decoder) error {
	c.it = contentItem{}
	it := &c.it
	if err := dec.Decode(it); err != nil {
		return err
	}
	if it.Content != "" && it.Content != "backup" {
		return nil
	}
	t, ok := proxmox.Timestamp(int64(it.CTime))
	if !ok {
		c.rejected.add(int64(it.CTime))
		return nil
	}
	size, hasSize := uint64(0), false
	switch {
	case it.Size != nil:
		size, hasSize = nonNeg(*it.Size), true
	case it.ApproxSize != nil:
		size, hasSize = nonNeg(*it.ApproxSize), true
	}
	c.cnt.backups++
	c.cnt.bytes += size
	// Backups without a guest id in their name cannot be attributed.
	if it.VMID == nil || *it.VMID <= 0 || *it.VMID > 999999999 {
		return nil
	}
	vmid := int(*it.VMID)
	a := c.aggs[vmid]
	if a == nil {
		if err := tooMany(len(c.aggs), "guests"); err != nil {
			return err
		}
		a = &guestBackups{perStorage: map[string]time.Time{}}
		c.aggs[vmid] = a
	}
	a.count++
	// PVE shows a PBS snapshot that has no size yet (in progress or
	// unreadable) with size 1: it is not a finished backup.
	if strings.HasPrefix(it.Format, "pbs-") && hasSize && size <= 1 {
		return nil
	}
	// A backup dated in the future is counted apart and never hides the
	// age of the real last one.
	if datedInFuture(t, c.now) {
		a.future++
		return nil
	}
	if t.After(a.perStorage[c.storage]) {
		a.perStorage[c.storage] = t
	}
	if a.last != nil && !t.After(a.last.Time) {
		return nil
	}
	b := &GuestBackup{
		VolID: it.VolID, Storage: c.storage, Time: t, Size: size, HasSize: hasSize,
		Verify: VerifyNone, Protected: bool(it.Protected),
		Encrypted: it.Encrypted != "" && it.Encrypted != "0",
	}
	if vr := it.Verification; vr != nil {
		if vr.State == VerifyOK || vr.State == VerifyFailed {
			b.Verify = vr.State
		}
		if u, err := tasklog.ParsePBSUPID(vr.UPID); err == nil {
			b.VerifyTime = u.StartTime
		}
	}
	a.last = b
	return nil
}

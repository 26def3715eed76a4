package collector

import (
	"context"
	"encoding/json"
	"net/url"
	"sync"
	"time"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/proxmox/tasklog"
)

type decoder = *json.Decoder

// skipJSONValue ignores a value without decoding it into memory, for large
// fields that the exporter does not use (a datastore's usage history).
type skipJSONValue struct{}

// UnmarshalJSON implements json.Unmarshaler.
func (skipJSONValue) UnmarshalJSON([]byte) error { return nil }

// pbsGroups aggregates every backup group of every namespace of every
// datastore. Snapshot listings are streamed: memory grows with the number of
// groups, not of snapshots.
func (p *prober) pbsGroups(ctx context.Context, stores *storeList, out *PBSData) error {
	list, err := stores.get(ctx)
	var errs errList
	errs.add(err)

	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, s := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			namespaces, err := p.pbsNamespaces(ctx, s.Store)
			errs.add(err)
			var nsWG sync.WaitGroup
			for _, ns := range namespaces {
				nsWG.Add(1)
				go func() {
					defer nsWG.Done()
					groups, err := p.pbsNamespaceGroups(ctx, s.Store, ns)
					errs.add(err)
					mu.Lock()
					out.Groups = append(out.Groups, groups...)
					mu.Unlock()
				}()
			}
			nsWG.Wait()
		}()
	}
	wg.Wait()
	return errs.err()
}

// pbsNamespaces lists a datastore's namespaces, root included. When the
// listing fails (an old server, or a token limited to some namespaces), the
// root namespace is still collected and the error reported.
func (p *prober) pbsNamespaces(ctx context.Context, store string) ([]string, error) {
	var items []struct {
		NS string `json:"ns"`
	}
	err := p.session.Get(ctx, "/admin/datastore/"+url.PathEscape(store)+"/namespace", nil, &items)
	if err != nil {
		return []string{""}, err
	}
	seen := make(map[string]bool, len(items)+1)
	namespaces := []string{""}
	seen[""] = true
	for _, it := range items {
		if !seen[it.NS] {
			seen[it.NS] = true
			namespaces = append(namespaces, it.NS)
		}
	}
	return namespaces, nil
}

type groupKey struct{ backupType, backupID string }

// pbsSnapshotItem is an item of GET /admin/datastore/{store}/snapshots.
type pbsSnapshotItem struct {
	BackupType   string         `json:"backup-type"`
	BackupID     proxmox.String `json:"backup-id"`
	BackupTime   proxmox.Int    `json:"backup-time"`
	Size         *proxmox.Int   `json:"size"`
	Protected    proxmox.Bool   `json:"protected"`
	Verification *struct {
		State string `json:"state"`
		UPID  string `json:"upid"`
	} `json:"verification"`
	Files []pbsFile `json:"files"`
}

type pbsFile struct {
	Filename  string `json:"filename"`
	CryptMode string `json:"crypt-mode"`
}

// pbsNamespaceGroups reads one namespace's groups and snapshots and joins
// them into groups.
func (p *prober) pbsNamespaceGroups(ctx context.Context, store, ns string) ([]Group, error) {
	base := "/admin/datastore/" + url.PathEscape(store)
	var q url.Values
	if ns != "" {
		q = url.Values{"ns": {ns}}
	}

	var infoErr error
	var infos []struct {
		BackupType string         `json:"backup-type"`
		BackupID   proxmox.String `json:"backup-id"`
		Owner      string         `json:"owner"`
		Comment    string         `json:"comment"`
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		infoErr = p.session.Get(ctx, base+"/groups", q, &infos)
	}()

	agg := newSnapshotAgg(store, ns)
	agg.now = p.now
	snapErr := p.session.Each(ctx, base+"/snapshots", q, agg.add)
	wg.Wait()
	agg.rejected.warn(p, base+"/snapshots", "snapshots")

	// A listing cut short would give wrong counts and ages: report the
	// error instead of half a namespace.
	if snapErr != nil {
		return nil, snapErr
	}
	// Owners and comments come from the group listing. A group that has
	// no snapshot listed (all removed since) is still a group.
	for _, in := range infos {
		g := agg.group(in.BackupType, string(in.BackupID))
		g.Owner, g.Comment = in.Owner, in.Comment
	}
	return agg.result(), infoErr
}

// snapshotAgg folds a streamed snapshot listing into one aggregate per
// group, reusing one item buffer: memory grows with the groups only.
type snapshotAgg struct {
	store, ns string
	groups    map[groupKey]*Group
	item      pbsSnapshotItem
	// now is the probe time, against which snapshots dated in the future
	// are told apart; rejected counts snapshots with impossible dates.
	now      time.Time
	rejected rejectedDates
}

func newSnapshotAgg(store, ns string) *snapshotAgg {
	return &snapshotAgg{store: store, ns: ns, groups: map[groupKey]*Group{}}
}

func (a *snapshotAgg) group(backupType, backupID string) *Group {
	key := groupKey{backupType, backupID}
	g := a.groups[key]
	if g == nil {
		g = &Group{Datastore: a.store, Namespace: a.ns, BackupType: backupType, BackupID: backupID}
		a.groups[key] = g
	}
	return g
}

// add decodes the next snapshot of the listing.
func (a *snapshotAgg) add(dec decoder) error {
	// Reuse the file slice, but never a stale field of a previous item.
	files := a.item.Files[:cap(a.item.Files)]
	clear(files)
	a.item = pbsSnapshotItem{Files: files[:0]}
	item := &a.item
	if err := dec.Decode(item); err != nil {
		return err
	}
	t, ok := proxmox.Timestamp(int64(item.BackupTime))
	if !ok {
		a.rejected.add(int64(item.BackupTime))
		return nil
	}
	if _, known := a.groups[groupKey{item.BackupType, string(item.BackupID)}]; !known {
		if err := tooMany(len(a.groups), "backup groups"); err != nil {
			return err
		}
	}
	g := a.group(item.BackupType, string(item.BackupID))
	g.Snapshots++
	// An unfinished or unreadable snapshot has no size: it is counted but
	// is not a backup yet.
	if item.Size == nil {
		return nil
	}
	// A snapshot dated in the future is counted apart and never hides
	// the age of the real last one.
	if datedInFuture(t, a.now) {
		g.FutureSnapshots++
		return nil
	}
	if g.Last != nil && !t.After(g.Last.Time) {
		return nil
	}
	if g.Last == nil {
		g.Last = &Snapshot{}
	}
	*g.Last = Snapshot{
		Time:      t,
		Size:      nonNeg(*item.Size),
		Protected: bool(item.Protected),
		Encrypted: encrypted(item.Files),
		Verify:    VerifyNone,
	}
	if v := item.Verification; v != nil {
		switch v.State {
		case VerifyOK, VerifyFailed:
			g.Last.Verify = v.State
		}
		if u, err := tasklog.ParsePBSUPID(v.UPID); err == nil {
			g.Last.VerifyTime = u.StartTime
		}
	}
	return nil
}

func (a *snapshotAgg) result() []Group {
	out := make([]Group, 0, len(a.groups))
	for _, g := range a.groups {
		out = append(out, *g)
	}
	return out
}

// encrypted decides a snapshot's encryption the way the PBS web interface
// does: index.json.blob is never encrypted (it is only signed), files without
// a crypt mode (client.log.blob) do not count, and the snapshot is encrypted
// when every remaining file is.
func encrypted(files []pbsFile) bool {
	counted, enc := 0, 0
	for _, f := range files {
		if f.Filename == "index.json.blob" {
			continue
		}
		switch f.CryptMode {
		case "encrypt":
			enc++
			counted++
		case "none", "sign-only", "mixed":
			counted++
		}
	}
	return counted > 0 && enc == counted
}

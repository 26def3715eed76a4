package collector

import (
	"context"
	"encoding/json"
	"fmt"
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

// groupKey is a group's backup type and id, joined by a NUL byte (which
// neither may hold): a map keyed by it is looked up from bytes without
// allocating.
func groupKey(dst []byte, backupType, backupID string) []byte {
	dst = append(dst[:0], backupType...)
	dst = append(dst, 0)
	return append(dst, backupID...)
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
	snapErr := p.session.EachRaw(ctx, base+"/snapshots", q, agg.addRaw)
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
// group, reading each snapshot in place: memory grows with the groups only.
type snapshotAgg struct {
	store, ns string
	groups    map[string]*Group
	key       []byte
	// now is the probe time, against which snapshots dated in the future
	// are told apart; rejected counts snapshots with impossible dates.
	now      time.Time
	rejected rejectedDates
	raw      json.RawMessage
}

func newSnapshotAgg(store, ns string) *snapshotAgg {
	return &snapshotAgg{store: store, ns: ns, groups: map[string]*Group{}}
}

func (a *snapshotAgg) group(backupType, backupID string) *Group {
	a.key = groupKey(a.key, backupType, backupID)
	g := a.groups[string(a.key)]
	if g == nil {
		g = &Group{Datastore: a.store, Namespace: a.ns, BackupType: backupType, BackupID: backupID}
		a.groups[string(a.key)] = g
	}
	return g
}

// add decodes the next snapshot of a listing read with the JSON decoder.
func (a *snapshotAgg) add(dec decoder) error {
	if err := dec.Decode(&a.raw); err != nil {
		return err
	}
	return a.addRaw(a.raw)
}

// snapshotFields are the raw values of the fields of a snapshot that the
// exporter reads (GET /admin/datastore/{store}/snapshots, PBS's
// SnapshotListItem): sub-slices of the element, nil when absent.
type snapshotFields struct {
	backupType, backupID, backupTime, size, protected, verification, files, comment []byte
}

// addRaw reads the next snapshot of the listing from its JSON bytes.
func (a *snapshotAgg) addRaw(elem []byte) error {
	var f snapshotFields
	err := proxmox.Fields(elem, func(key, v []byte) error {
		switch string(key) {
		case "backup-type":
			f.backupType = v
		case "backup-id":
			f.backupID = v
		case "backup-time":
			f.backupTime = v
		case "size":
			f.size = v
		case "protected":
			f.protected = v
		case "verification":
			f.verification = v
		case "files":
			f.files = v
		case "comment":
			f.comment = v
		}
		return nil
	})
	if err != nil {
		return err
	}
	var backupTime proxmox.Int
	if f.backupTime != nil {
		if err := backupTime.UnmarshalJSON(f.backupTime); err != nil {
			return err
		}
	}
	var protected proxmox.Bool
	if f.protected != nil {
		if err := protected.UnmarshalJSON(f.protected); err != nil {
			return err
		}
	}
	// The key of the group, from the bytes: a group's strings are only
	// made when it is first seen.
	key := a.key[:0]
	if key, err = proxmox.AppendString(key, f.backupType); err != nil {
		return fmt.Errorf("backup-type: %w", err)
	}
	typeLen := len(key)
	key = append(key, 0)
	if key, err = appendID(key, f.backupID); err != nil {
		return fmt.Errorf("backup-id: %w", err)
	}
	a.key = key

	t, ok := proxmox.Timestamp(int64(backupTime))
	if !ok {
		a.rejected.add(int64(backupTime))
		return nil
	}
	g := a.groups[string(key)]
	if g == nil {
		if err := tooMany(len(a.groups), "backup groups"); err != nil {
			return err
		}
		g = &Group{Datastore: a.store, Namespace: a.ns, BackupType: string(key[:typeLen]), BackupID: string(key[typeLen+1:])}
		a.groups[string(key)] = g
	}
	g.Snapshots++
	// An unfinished or unreadable snapshot has no size: it is counted but
	// is not a backup yet.
	if f.size == nil || string(f.size) == "null" {
		return nil
	}
	var size proxmox.Int
	if err := size.UnmarshalJSON(f.size); err != nil {
		return err
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
	enc, err := encryptedRaw(f.files)
	if err != nil {
		return fmt.Errorf("files: %w", err)
	}
	last := Snapshot{
		Time:      t,
		Size:      nonNeg(size),
		Protected: bool(protected),
		Encrypted: enc,
		Verify:    VerifyNone,
	}
	var state, upid []byte
	err = proxmox.Fields(f.verification, func(key, v []byte) error {
		switch string(key) {
		case "state":
			state = v
		case "upid":
			upid = v
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("verification: %w", err)
	}
	switch string(state) {
	case `"` + VerifyOK + `"`:
		last.Verify = VerifyOK
	case `"` + VerifyFailed + `"`:
		last.Verify = VerifyFailed
	}
	if upid != nil {
		u, err := proxmox.AppendString(nil, upid)
		if err != nil {
			return fmt.Errorf("verification upid: %w", err)
		}
		if u, err := tasklog.ParsePBSUPID(string(u)); err == nil {
			last.VerifyTime = u.StartTime
		}
	}
	// The first line of the snapshot's notes: PVE writes them from the
	// backup job's notes template (pve-storage PBSPlugin.pm
	// update_volume_notes; the GUI's default template is {{guestname}}).
	if f.comment != nil && string(f.comment) != "null" {
		c, err := proxmox.AppendString(nil, f.comment)
		if err != nil {
			return fmt.Errorf("comment: %w", err)
		}
		last.Notes = string(c)
	}
	if g.Last == nil {
		g.Last = &Snapshot{}
	}
	*g.Last = last
	return nil
}

type pbsFile struct {
	Filename  string
	CryptMode string
}

// appendID appends a backup id, which PBS writes as a string but a numeric
// id may come as a number.
func appendID(dst, v []byte) ([]byte, error) {
	if len(v) > 0 && (v[0] == '-' || v[0] >= '0' && v[0] <= '9') {
		return append(dst, v...), nil
	}
	return proxmox.AppendString(dst, v)
}

// encryptedRaw is encrypted for the raw "files" array of a snapshot.
func encryptedRaw(files []byte) (bool, error) {
	var list []pbsFile
	var buf [16]pbsFile
	list = buf[:0]
	err := proxmox.Elements(files, func(v []byte) error {
		var name, mode []byte
		err := proxmox.Fields(v, func(key, v []byte) error {
			switch string(key) {
			case "filename":
				name = v
			case "crypt-mode":
				mode = v
			}
			return nil
		})
		if err != nil {
			return err
		}
		var f pbsFile
		// Only these names and modes count; their JSON form is compared
		// without making strings.
		switch string(name) {
		case `"index.json.blob"`:
			f.Filename = "index.json.blob"
		default:
			s, err := proxmox.AppendString(nil, name)
			if err != nil {
				return err
			}
			if string(s) == "index.json.blob" {
				f.Filename = "index.json.blob"
			}
		}
		switch string(mode) {
		case `"encrypt"`, `"none"`, `"sign-only"`, `"mixed"`:
			f.CryptMode = string(mode[1 : len(mode)-1])
		default:
			s, err := proxmox.AppendString(nil, mode)
			if err != nil {
				return err
			}
			f.CryptMode = string(s)
		}
		list = append(list, f)
		return nil
	})
	return encrypted(list), err
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

package collector

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"proxmox_backup_exporter/proxmox"
)

// readerTaskLimit bounds the reader tasks one probe lists: the newest ones
// within the restore lookback. Every restore, file restore and pull of a
// snapshot from this server is one, so a server that is synced from can
// have many; a group read only before the newest readerTaskLimit reads
// gets no last-read time.
const readerTaskLimit = taskPageSize

// readKey is a group as a reader task names it: without its namespace.
type readKey struct{ store, backupType, backupID string }

// pbsReads lists the newest reader tasks within the restore lookback, in
// one request filtered by type. proxmox-backup's src/api2/reader/mod.rs
// (upgrade_to_backup_reader_protocol) names each "reader" with the worker
// id STORE:TYPE/ID/TIME, the snapshot's time in 8 hex digits; the
// namespace is not in it. Other users' tasks need Sys.Audit on
// /system/tasks (src/api2/node/tasks.rs list_tasks).
func (p *prober) pbsReads(ctx context.Context, out *PBSData) error {
	since := p.now.Add(-time.Duration(p.target.RestoreLookback)).Unix()
	q := url.Values{
		"typefilter": {"reader"},
		"since":      {strconv.FormatInt(since, 10)},
		"limit":      {strconv.Itoa(readerTaskLimit)},
	}
	reads := map[readKey]time.Time{}
	n := 0
	err := p.session.Each(ctx, "/nodes/localhost/tasks", q, func(dec decoder) error {
		var t struct {
			WorkerType string      `json:"worker_type"`
			WorkerID   string      `json:"worker_id"`
			StartTime  proxmox.Int `json:"starttime"`
		}
		if err := dec.Decode(&t); err != nil {
			return err
		}
		if n++; n > readerTaskLimit || t.WorkerType != "reader" || int64(t.StartTime) < since {
			return nil
		}
		start, ok := proxmox.Timestamp(int64(t.StartTime))
		if !ok {
			return nil
		}
		k, ok := parseReaderID(t.WorkerID)
		if !ok || !p.wanted(k.store) {
			return nil
		}
		if start.After(reads[k]) {
			reads[k] = start
		}
		return nil
	})
	if err != nil {
		return err
	}
	out.reads = reads
	return nil
}

// parseReaderID reads a reader task's worker id, STORE:TYPE/ID/HEXTIME.
func parseReaderID(id string) (readKey, bool) {
	store, rest, ok := strings.Cut(id, ":")
	if !ok || store == "" {
		return readKey{}, false
	}
	f := strings.Split(rest, "/")
	if len(f) != 3 || f[0] == "" || f[1] == "" {
		return readKey{}, false
	}
	if _, err := strconv.ParseUint(f[2], 16, 64); err != nil {
		return readKey{}, false
	}
	return readKey{store: store, backupType: f[0], backupID: f[1]}, true
}

// joinReads gives each group its last read. A reader task does not name
// the namespace: where groups of the same type and id are in several
// namespaces of a datastore, none of them gets the time, and the probe
// warns once per datastore.
func joinReads(d *PBSData) []string {
	if d.reads == nil {
		return nil
	}
	count := map[readKey]int{}
	for i := range d.Groups {
		g := &d.Groups[i]
		count[readKey{g.Datastore, g.BackupType, g.BackupID}]++
	}
	ambiguous := map[string]int{}
	for i := range d.Groups {
		g := &d.Groups[i]
		k := readKey{g.Datastore, g.BackupType, g.BackupID}
		t, ok := d.reads[k]
		if !ok {
			continue
		}
		if count[k] > 1 {
			ambiguous[g.Datastore]++
			continue
		}
		g.LastRead = t
	}
	var stores []string
	for s := range ambiguous {
		stores = append(stores, s)
	}
	sort.Strings(stores)
	var out []string
	for _, s := range stores {
		out = append(out, fmt.Sprintf("datastore %s: %d groups were read whose type and id are in several namespaces; PBS's reader tasks do not name the namespace, so they get no last-read time", s, ambiguous[s]))
	}
	return out
}

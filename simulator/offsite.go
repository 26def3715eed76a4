package simulator

import (
	"time"
)

// Offsite is a PBS that keeps copies of another PBS's groups, as a pull
// sync job makes them.
type Offsite struct {
	// Store and NS are where the copies go on the offsite server; From is
	// the primary's datastore they come from, all of its namespaces mapped
	// below NS.
	Store, NS, From string
	// Remote names the primary in the sync job.
	Remote string
	// LastSync is when the sync job last ran: it copied every snapshot of
	// the primary made before then.
	LastSync time.Time
	// Stalled maps a group ("vm/103") to when its copies stopped: the sync
	// copies none of its snapshots made after that.
	Stalled map[string]time.Time
}

// OffsitePBS builds the offsite server of a primary. A synced snapshot
// keeps its backup type, id and time, in the target namespace that maps
// the source's below the sync's root: a pull creates the local snapshot
// from the source's BackupDir (proxmox-backup src/server/pull.rs,
// pull_group: backup_dir(target_ns, from_snapshot), target_ns from
// map_prefix), and a push (PBS 3.3 and later) starts the remote writer
// with the source's BackupDir (src/server/push.rs, push_snapshot:
// BackupWriter::start(..., &target_ns, snapshot, ...), target_ns from
// map_to_target). The copy's verification is its own, so the copies are
// unverified here.
func OffsitePBS(primary *PBS, o Offsite) *PBS {
	ds := Datastore{Name: o.Store, Comment: "offsite copies", Total: 40 << 40, Used: 11 << 40}
	if src := primary.datastore(o.From); src != nil {
		for _, ns := range src.Namespaces {
			copyNS := Namespace{Path: joinNS(o.NS, ns.Path), Comment: ns.Comment}
			for _, g := range ns.Groups {
				until := o.LastSync
				if t, ok := o.Stalled[g.BackupType+"/"+g.BackupID]; ok && t.Before(until) {
					until = t
				}
				c := Group{BackupType: g.BackupType, BackupID: g.BackupID, Owner: "sync@pbs", Comment: g.Comment}
				for _, s := range g.Snapshots {
					if s.Size == nil || !s.Time.Before(until) {
						continue // unfinished, or not synced yet
					}
					c.Snapshots = append(c.Snapshots, Snapshot{Time: s.Time, Size: s.Size, Protected: s.Protected, Encrypted: s.Encrypted, Comment: s.Comment})
				}
				if len(c.Snapshots) > 0 {
					copyNS.Groups = append(copyNS.Groups, c)
				}
			}
			ds.Namespaces = append(ds.Namespaces, copyNS)
		}
	}
	return &PBS{
		TokenID: primary.TokenID, TokenSecret: primary.TokenSecret,
		Version: primary.Version, Release: primary.Release, RepoID: primary.RepoID,
		Now:        primary.Now,
		Datastores: []Datastore{ds},
		SyncJobs: []Job{{ID: "s-pull-" + o.Remote, Store: o.Store, NS: o.NS, Remote: o.Remote, RemoteStore: o.From, Schedule: "07:00",
			NextRun: o.LastSync.AddDate(0, 0, 1), LastStart: o.LastSync, LastEnd: o.LastSync.Add(50 * time.Minute), LastState: "OK"}},
	}
}

func joinNS(parent, child string) string {
	switch {
	case parent == "":
		return child
	case child == "":
		return parent
	}
	return parent + "/" + child
}

// DemoOffsite is the offsite server of the demo's PBS: a pull sync job
// copies datastore main into namespace pbs1 of its datastore offsite every
// day at 07:00 (Europe/Berlin), and has done so until its last run, but the
// copies of db02 (ct/103) stopped four days before that: a change of the
// job's group filter left it out. The sync job succeeds all the same.
func DemoOffsite(now time.Time, primary *PBS) *PBS {
	berlin, _ := time.LoadLocation("Europe/Berlin")
	l := now.In(berlin)
	sync := time.Date(l.Year(), l.Month(), l.Day(), 7, 0, 0, 0, berlin)
	for sync.Add(50 * time.Minute).After(now) {
		l = sync.In(berlin)
		sync = time.Date(l.Year(), l.Month(), l.Day()-1, 7, 0, 0, 0, berlin)
	}
	l = sync.In(berlin)
	stalled := time.Date(l.Year(), l.Month(), l.Day()-4, 7, 0, 0, 0, berlin)
	return OffsitePBS(primary, Offsite{Store: "offsite", NS: "pbs1", From: "main", Remote: "pbs1", LastSync: sync,
		Stalled: map[string]time.Time{"ct/103": stalled}})
}

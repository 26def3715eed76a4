package simulator

import (
	"fmt"
	"time"
)

// PBSGenOptions sizes a generated backup server.
type PBSGenOptions struct {
	Datastores int
	Namespaces int // per datastore, root included
	Groups     int // per namespace
	Snapshots  int // per group
	Now        time.Time
}

// GeneratePBS builds a deterministic backup server of the given size, for
// benchmarks and the large demo: daily snapshots going back from now, every
// tenth group encrypted, every seventh newest snapshot failed verification.
func GeneratePBS(o PBSGenOptions) *PBS {
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	now := o.Now
	day := 24 * time.Hour
	p := &PBS{
		TokenID: TestPBSTokenID, TokenSecret: TestPBSTokenSecret,
		Version: "4.0", Release: "14", RepoID: "8e2a6f1d0c9b7a5e3f1d2c4b6a8e0f1d3c5b7a9e",
		Now: func() time.Time { return now },
	}
	id := 100
	for d := 0; d < o.Datastores; d++ {
		ds := Datastore{Name: fmt.Sprintf("store%d", d+1), Total: 16 << 40, Used: 9 << 40,
			GC: GCStatus{LastStart: now.Add(-20 * time.Hour), Duration: 10 * time.Minute, State: "OK", Schedule: "daily", NextRun: now.Add(4 * time.Hour)}}
		for n := 0; n < o.Namespaces; n++ {
			ns := Namespace{}
			if n > 0 {
				ns.Path = fmt.Sprintf("site%d", n)
			}
			for g := 0; g < o.Groups; g++ {
				typ := "vm"
				if g%3 == 2 {
					typ = "ct"
				}
				grp := Group{BackupType: typ, BackupID: fmt.Sprint(id)}
				id++
				for s := 0; s < o.Snapshots; s++ {
					size := uint64(8<<30 + g*4096 + s)
					snap := Snapshot{Time: now.Add(-time.Duration(s)*day - time.Duration(g%600)*time.Second), Size: &size, Encrypted: g%10 == 0}
					if s < 3 {
						snap.Verify, snap.VerifyTime = "ok", snap.Time.Add(2*time.Hour)
						if s == 0 && g%7 == 0 {
							snap.Verify = "failed"
						}
					}
					grp.Snapshots = append(grp.Snapshots, snap)
				}
				ns.Groups = append(ns.Groups, grp)
			}
			ds.Namespaces = append(ds.Namespaces, ns)
		}
		p.Datastores = append(p.Datastores, ds)
	}
	return p
}

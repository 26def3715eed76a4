package exporter

import (
	"encoding/json"
	"fmt"
	"html"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/simulator"
)

// edgeScenario is a PVE cluster and a PBS server on which every time
// threshold of the verdict is met exactly at t0 (the default thresholds,
// verdict.Defaults): one second later each is exceeded by one second.
//
//   - guests 99 and 100 were backed up yesterday at 04:05 by the daily
//     04:00 job, so today's 04:00 run is due since t0-6h (missedGracePeriod);
//     101 carries the opt-out tag; a manual backup of 102 is running;
//   - PVE storage "pbs" and datastore "edge" are 90.0% full
//     (almostFullRatio), PBS estimates "edge" full at t0+7d
//     (fillPredictionWindow);
//   - GC of "edge" was due at t0-3h (scheduleGracePeriod);
//   - the verify job and the PVE job were due at t0-3h;
//   - group vm/200's last snapshot is 36h old (tooOldWarning), ct/201's
//     48h (tooOldCritical), vm/202 was verified at t0-7d
//     (notVerifiedWindow), host/nas is 48h old but its comment opts it out.
func edgeScenario(t0 time.Time) (*simulator.PVE, *simulator.PBS) {
	h, day := time.Hour, 24*time.Hour
	today4 := t0.Truncate(day).Add(4 * h) // t0 is 10:00 UTC
	yesterday := today4.Add(-day)
	size := func(v uint64) *uint64 { return &v }
	vol := func(vmid int) simulator.PVEVolume {
		return simulator.PVEVolume{VMID: vmid, Time: yesterday.Add(5 * time.Minute), Size: size(1 << 30),
			Encrypted: "aa:bb", Verify: "ok", VerifyTime: yesterday.Add(2 * h)}
	}
	pve := &simulator.PVE{
		TokenID: simulator.TestPVETokenID, TokenSecret: simulator.TestPVETokenSecret,
		Version: "8.4.14", Release: "8.4", RepoID: "b502d23c55afcba1",
		Nodes: []simulator.PVENode{{Name: "pve1", Timezone: "UTC"}},
		Guests: []simulator.PVEGuest{
			{VMID: 100, Name: "app", Type: "qemu", Node: "pve1"},
			{VMID: 99, Name: "zz-first-by-id", Type: "qemu", Node: "pve1"},
			{VMID: 101, Name: "lab", Type: "qemu", Node: "pve1", Tags: "lab;nobackup"},
			{VMID: 102, Name: "busy", Type: "qemu", Node: "pve1"},
		},
		Storages: []simulator.PVEStorage{{Name: "pbs", Type: "pbs", Shared: true, Server: "pbs.example.com", Datastore: "edge",
			Total: 1000, Used: 900, Volumes: []simulator.PVEVolume{vol(99), vol(100), vol(101), vol(102)}}},
		Jobs: []simulator.PVEBackupJob{{ID: "backup-daily", Schedule: "04:00", Storage: "pbs", All: true, NextRun: t0.Add(-3 * h).Unix()}},
		Tasks: []simulator.PVETask{
			{Node: "pve1", Start: yesterday, End: yesterday.Add(20 * time.Minute), Job: "backup-daily",
				Guests: []simulator.PVETaskGuest{
					{VMID: 99, Type: "qemu", Start: yesterday.Add(time.Minute), Duration: time.Minute},
					{VMID: 100, Type: "qemu", Start: yesterday.Add(3 * time.Minute), Duration: time.Minute},
					{VMID: 101, Type: "qemu", Start: yesterday.Add(5 * time.Minute), Duration: time.Minute},
					{VMID: 102, Type: "qemu", Start: yesterday.Add(7 * time.Minute), Duration: time.Minute},
				}},
			{Node: "pve1", Start: t0.Add(-10 * time.Minute), VMID: "102", User: "admin@pam",
				Guests: []simulator.PVETaskGuest{{VMID: 102, Type: "qemu", Start: t0.Add(-9 * time.Minute), Running: true}}},
		},
	}
	snap := func(at time.Time) simulator.Snapshot {
		return simulator.Snapshot{Time: at, Size: size(1 << 20), Encrypted: true, Verify: "ok", VerifyTime: at.Add(h)}
	}
	verified := snap(t0.Add(-2 * h))
	verified.VerifyTime = t0.Add(-7 * day)
	full := t0.Add(7 * day)
	pbs := &simulator.PBS{
		TokenID: simulator.TestPBSTokenID, TokenSecret: simulator.TestPBSTokenSecret,
		Version: "4.0", Release: "14", RepoID: "8e2a6f1d0c9b7a5e3f1d2c4b6a8e0f1d3c5b7a9e",
		Datastores: []simulator.Datastore{
			{Name: "edge", Total: 1000, Used: 900, EstimatedFull: &full,
				GC: simulator.GCStatus{LastStart: t0.Add(-day), Duration: time.Minute, State: "OK", Schedule: "daily", NextRun: t0.Add(-3 * h)},
				Namespaces: []simulator.Namespace{{Path: "", Groups: []simulator.Group{
					{BackupType: "vm", BackupID: "200", Snapshots: []simulator.Snapshot{snap(t0.Add(-36 * h))}},
					{BackupType: "ct", BackupID: "201", Snapshots: []simulator.Snapshot{snap(t0.Add(-48 * h))}},
					{BackupType: "vm", BackupID: "202", Snapshots: []simulator.Snapshot{verified}},
					{BackupType: "host", BackupID: "nas", Comment: "nas (no-monitor)", Snapshots: []simulator.Snapshot{snap(t0.Add(-48 * h))}},
				}}}},
		},
		VerifyJobs: []simulator.Job{{ID: "v-edge", Store: "edge", Schedule: "daily", NextRun: t0.Add(-3 * h),
			LastStart: t0.Add(-day), LastEnd: t0.Add(-day + time.Minute), LastState: "OK"}},
	}
	return pve, pbs
}

// edgeWant is what /status.json and /status show for one object: its state
// and the problems (rule IDs, sorted) that make it.
type edgeWant struct {
	state    string
	problems string // comma-separated rule IDs, sorted; "" none
}

// TestStatusEdges renders /status.json and /status for the edge scenario at
// its thresholds, one second past them, and one byte past the usage ratio,
// and checks the state and problems of every row, store and job, in both.
func TestStatusEdges(t *testing.T) {
	t0 := goldenNow
	atEdge := map[string]edgeWant{
		"row cluster/guest/99":            {stateOK, ""},
		"row cluster/guest/100":           {stateOK, ""},
		"row cluster/guest/101":           {stateIgnored, ""},
		"row cluster/guest/102":           {stateOK, ""},
		"row backup/group/vm/200":         {stateOK, ""},
		"row backup/group/ct/201":         {stateWarning, "too_old"},
		"row backup/group/vm/202":         {stateOK, ""},
		"row backup/group/host/nas":       {stateIgnored, ""},
		"store backup/datastore/edge":     {stateOK, ""},
		"store cluster/storage/pbs":       {stateOK, ""},
		"job backup/gc/edge":              {stateOK, ""},
		"job backup/verify/v-edge":        {stateOK, ""},
		"job cluster/backup/backup-daily": {stateOK, ""},
	}
	past := map[string]edgeWant{
		"row cluster/guest/99":  {stateCritical, "missed"},
		"row cluster/guest/100": {stateCritical, "missed"},
		"row cluster/guest/101": {stateIgnored, ""},
		// Running: its missed run is not reported while it runs.
		"row cluster/guest/102":   {stateOK, ""},
		"row backup/group/vm/200": {stateWarning, "too_old"},
		"row backup/group/ct/201": {stateCritical, "too_old"},
		"row backup/group/vm/202": {stateInfo, "not_verified"},
		// The opted-out group stays ignored, however old.
		"row backup/group/host/nas":       {stateIgnored, ""},
		"store backup/datastore/edge":     {stateWarning, "filling_up,gc_not_running"},
		"store cluster/storage/pbs":       {stateOK, ""},
		"job backup/gc/edge":              {stateWarning, "job_overdue"},
		"job backup/verify/v-edge":        {stateWarning, "job_overdue"},
		"job cluster/backup/backup-daily": {stateWarning, "job_overdue"},
	}
	fuller := map[string]edgeWant{}
	for k, v := range atEdge {
		fuller[k] = v
	}
	fuller["store backup/datastore/edge"] = edgeWant{stateCritical, "almost_full"}
	fuller["store cluster/storage/pbs"] = edgeWant{stateCritical, "almost_full"}

	for _, tc := range []struct {
		name   string
		clock  time.Time
		change func(pve *simulator.PVE, pbs *simulator.PBS)
		want   map[string]edgeWant
		// order is the rows' order on the page.
		order []string
	}{
		{"at the thresholds", t0, nil, atEdge, []string{
			"backup/group/ct/201",
			"backup/group/vm/200", "backup/group/vm/202", "cluster/guest/99", "cluster/guest/100", "cluster/guest/102",
			"backup/group/host/nas", "cluster/guest/101"}},
		{"a second past them", t0.Add(time.Second), nil, past, []string{
			"backup/group/ct/201", "cluster/guest/99", "cluster/guest/100",
			"backup/group/vm/200",
			"backup/group/vm/202",
			"cluster/guest/102",
			"backup/group/host/nas", "cluster/guest/101"}},
		{"a byte past the usage ratio", t0, func(pve *simulator.PVE, pbs *simulator.PBS) {
			pve.Storages[0].Used++
			pbs.Datastores[0].Used++
		}, fuller, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pve, pbs := edgeScenario(t0)
			if tc.change != nil {
				tc.change(pve, pbs)
			}
			clock := func() time.Time { return tc.clock }
			pve.Now, pbs.Now = clock, clock
			te := newTestExporter(t, simulatorConfig(t, pve, pbs), clock)

			_, js := te.get("/status.json")
			var page statusPage
			if err := json.Unmarshal([]byte(js), &page); err != nil {
				t.Fatal(err)
			}
			for _, st := range page.Targets {
				if !st.Up || len(st.Failed) > 0 {
					t.Fatalf("target %s: up %v, failed collectors %v: %v", st.Name, st.Up, st.Failed, st.Problems)
				}
			}
			problems := map[string][]string{}
			for _, p := range page.Problems {
				k := p.Target + "/" + p.Object.Kind + "/" + p.Object.ID
				problems[k] = append(problems[k], p.Problem)
			}
			got := map[string]edgeWant{}
			var order []string
			for _, r := range page.Rows {
				key, obj := r.Target+"/"+r.Kind+"/"+r.ID, r.Target+"/"+r.Kind+"/"+r.ID
				if r.Kind == "group" {
					obj = r.Target + "/group/" + r.Where + ":" + r.ID
				}
				order = append(order, key)
				got["row "+key] = edgeWant{r.State, sortedJoin(problems[obj])}
			}
			for _, s := range page.Stores {
				id := s.Name
				if s.Node != "" {
					id += "@" + s.Node
				}
				got["store "+s.Target+"/"+s.Kind+"/"+id] = edgeWant{s.State, sortedJoin(problems[s.Target+"/"+s.Kind+"/"+id])}
			}
			for _, j := range page.Jobs {
				got["job "+j.Target+"/"+j.Type+"/"+j.ID] = edgeWant{j.State, sortedJoin(problems[j.Target+"/job/"+j.Type+"/"+j.ID])}
			}
			for k, want := range tc.want {
				if g, ok := got[k]; !ok {
					t.Errorf("%s: not on /status.json", k)
				} else if g != want {
					t.Errorf("%s: /status.json shows %s %q, want %s %q", k, g.state, g.problems, want.state, want.problems)
				}
			}
			for k := range got {
				if _, ok := tc.want[k]; !ok {
					t.Errorf("%s: on /status.json, not expected", k)
				}
			}
			if tc.order != nil && !slices.Equal(order, tc.order) {
				t.Errorf("rows in the order\n%q, want\n%q", order, tc.order)
			}
			// Every problem counted by severity.
			for sev, n := range page.ProblemCounts {
				c := 0
				for _, p := range page.Problems {
					if string(p.Severity) == sev {
						c++
					}
				}
				if c != n {
					t.Errorf("problem count %s: %d, %d problems", sev, n, c)
				}
			}

			// The HTML page shows the same states in the same order.
			_, body := te.get("/status")
			htmlRows := tableRows(t, body, "backups")
			why := tableColumn(t, body, "backups", "Why")
			if len(htmlRows) != len(page.Rows) {
				t.Fatalf("/status has %d rows, /status.json %d", len(htmlRows), len(page.Rows))
			}
			for i, r := range page.Rows {
				hr := htmlRows[i]
				if hr.class != r.State || hr.cells[0] != r.State || hr.cells[2] != r.ID || hr.cells[3] != r.Target {
					t.Errorf("HTML row %d is %s %q, /status.json has %s %s/%s", i, hr.class, hr.cells[:4], r.State, r.Target, r.ID)
				}
				// The reasons: one line per problem, plus the ignore reason.
				for _, p := range strings.Split(got["row "+r.Target+"/"+r.Kind+"/"+r.ID].problems, ",") {
					if p != "" && !strings.Contains(hr.cells[why], ruleTitle(p)) {
						t.Errorf("HTML row %s/%s does not give the reason %q: %q", r.Target, r.ID, ruleTitle(p), hr.cells[why])
					}
				}
			}
			stores := tableRows(t, body, "stores")
			for i, s := range page.Stores {
				if i >= len(stores) || stores[i].class != s.State || !strings.Contains(stores[i].cells[2], s.Name) {
					t.Errorf("HTML store %d does not show %s %s", i, s.State, s.Name)
				}
			}
			jobs := tableRows(t, body, "jobs")
			for i, j := range page.Jobs {
				if i >= len(jobs) || jobs[i].class != j.State || !strings.HasPrefix(jobs[i].cells[3], j.ID) {
					t.Errorf("HTML job %d does not show %s %s", i, j.State, j.ID)
				}
			}
		})
	}
}

// TestStatusRunningAndOptOutMarkers checks what the rows say beside their
// state: the running backup, the opt-outs, the ages against the too-old
// thresholds.
func TestStatusRunningAndOptOutMarkers(t *testing.T) {
	t0 := goldenNow
	pve, pbs := edgeScenario(t0)
	ns := &pbs.Datastores[0].Namespaces[0]
	ns.Groups = append(ns.Groups, simulator.Group{BackupType: "vm", BackupID: "203",
		Snapshots: []simulator.Snapshot{{Time: t0.Add(-10 * time.Minute)}}})
	clock := func() time.Time { return t0.Add(time.Second) }
	pve.Now, pbs.Now = clock, clock
	te := newTestExporter(t, simulatorConfig(t, pve, pbs), clock)
	_, js := te.get("/status.json")
	var page statusPage
	if err := json.Unmarshal([]byte(js), &page); err != nil {
		t.Fatal(err)
	}
	rows := map[string]statusRow{}
	for _, r := range page.Rows {
		rows[r.Target+"/"+r.ID] = r
	}
	for id, want := range map[string]struct {
		attempt, ageState, coverage, firstReason string
		reasons                                  int
	}{
		"cluster/102":     {"ok (running)", stateOK, "backup-daily", "", 0},
		"cluster/100":     {"ok", stateOK, "backup-daily", "scheduled backup missed: ", 1},
		"cluster/101":     {"ok", stateOK, "backup-daily", "opted out by the nobackup tag", 1},
		"backup/vm/200":   {"n/a", stateWarning, "n/a", "last backup too old: ", 1},
		"backup/ct/201":   {"n/a", stateCritical, "n/a", "last backup too old: ", 1},
		"backup/vm/202":   {"n/a", stateOK, "n/a", "not verified: ", 1},
		"backup/host/nas": {"n/a", stateCritical, "n/a", "opted out by the no-monitor comment", 1},
		// Only an unfinished snapshot: no age, and the row says why.
		"backup/vm/203": {"n/a", stateCritical, "n/a", "no finished snapshot", 1},
	} {
		r, ok := rows[id]
		if !ok {
			t.Errorf("%s: no row", id)
			continue
		}
		first := ""
		if len(r.Reasons) > 0 {
			first = r.Reasons[0]
		}
		if r.LastAttempt != want.attempt || r.AgeState != want.ageState || r.Coverage != want.coverage ||
			!strings.HasPrefix(first, want.firstReason) || len(r.Reasons) != want.reasons {
			t.Errorf("%s: attempt %q, age %s, coverage %q, reasons %q; want %q, %s, %q, %d reasons starting %q",
				id, r.LastAttempt, r.AgeState, r.Coverage, r.Reasons, want.attempt, want.ageState, want.coverage, want.reasons, want.firstReason)
		}
	}
	// The state filter keeps the rows of one state, in order.
	_, js = te.get("/status.json?state=critical")
	var crit statusPage
	if err := json.Unmarshal([]byte(js), &crit); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, r := range crit.Rows {
		ids = append(ids, r.Target+"/"+r.ID)
	}
	if want := []string{"backup/ct/201", "cluster/99", "cluster/100"}; !slices.Equal(ids, want) {
		t.Errorf("critical rows %q, want %q", ids, want)
	}
	if crit.Counts[stateCritical] != 3 || crit.Counts[stateIgnored] != 2 {
		t.Errorf("counts %v: the filter does not change them", crit.Counts)
	}
}

func sortedJoin(s []string) string {
	s = slices.Clone(s)
	slices.Sort(s)
	return strings.Join(s, ",")
}

func ruleTitle(id string) string {
	for _, p := range []struct{ id, title string }{
		{"missed", "scheduled backup missed"}, {"too_old", "last backup too old"}, {"not_verified", "not verified"},
	} {
		if p.id == id {
			return p.title
		}
	}
	return id
}

type htmlRow struct {
	class string
	cells []string // text of each cell, tags removed, unescaped
}

var (
	trRE  = regexp.MustCompile(`(?s)<tr class="([a-z]+)">(.*?)</tr>`)
	tdRE  = regexp.MustCompile(`(?s)<td[^>]*>(.*?)</td>`)
	tagRE = regexp.MustCompile(`<[^>]+>`)
)

// tableRows returns the body rows of the table with the id.
// tableColumn is the index of the column headed name in the table id.
func tableColumn(t *testing.T, page, id, name string) int {
	t.Helper()
	start := strings.Index(page, `<table id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no table %s", id)
	}
	head, _, _ := strings.Cut(page[start:], "</thead>")
	for i, m := range thRE.FindAllStringSubmatch(head, -1) {
		if strings.TrimSpace(tagRE.ReplaceAllString(m[1], " ")) == name {
			return i
		}
	}
	t.Fatalf("table %s has no column %q", id, name)
	return -1
}

var thRE = regexp.MustCompile(`(?s)<th[^>]*>(.*?)</th>`)

func tableRows(t *testing.T, page, id string) []htmlRow {
	t.Helper()
	start := strings.Index(page, `<table id="`+id+`">`)
	if start < 0 {
		t.Fatalf("no table %s", id)
	}
	table := page[start:]
	table = table[:strings.Index(table, "</table>")]
	_, body, _ := strings.Cut(table, "<tbody>")
	var out []htmlRow
	for _, m := range trRE.FindAllStringSubmatch(body, -1) {
		r := htmlRow{class: m[1]}
		for _, c := range tdRE.FindAllStringSubmatch(m[2], -1) {
			r.cells = append(r.cells, html.UnescapeString(strings.TrimSpace(tagRE.ReplaceAllString(c[1], " "))))
		}
		out = append(out, r)
	}
	return out
}

// TestStatusTargetProblems checks what the targets table says of a down
// target: the error as it is, unless it names the secret file.
func TestStatusTargetProblems(t *testing.T) {
	dir := t.TempDir()
	present := filepath.Join(dir, "present.secret")
	if err := os.WriteFile(present, []byte(testSecret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	gone := filepath.Join(dir, "gone.secret")
	fileTarget := func(name, file string) string {
		return fmt.Sprintf("  %s:\n    type: pve\n    url: %s\n    token_id: %q\n    token_secret_file: %s\n", name, closedURL(t), simulator.TestPVETokenID, file)
	}
	cfg := "targets:\n" + pveTargetConfig("inline", closedURL(t)) + fileTarget("withfile", present) + fileTarget("nofile", gone)
	te := newTestExporter(t, cfg, func() time.Time { return goldenNow })
	_, js := te.get("/status.json")
	var page statusPage
	if err := json.Unmarshal([]byte(js), &page); err != nil {
		t.Fatal(err)
	}
	problems := map[string]string{}
	for _, st := range page.Targets {
		if st.Up {
			t.Errorf("%s is up", st.Name)
		}
		problems[st.Name] = strings.Join(st.Problems, "; ")
	}
	for name, want := range map[string]string{
		"inline":   "connection refused",
		"withfile": "connection refused",
		"nofile":   "the token secret file cannot be read (see the exporter's log)",
	} {
		if got := problems[name]; !strings.Contains(got, want) || strings.Contains(got, dir) {
			t.Errorf("%s: %q, want %q and no path", name, got, want)
		}
	}
	if page.TargetsDown != 3 {
		t.Errorf("targets down: %d, want 3", page.TargetsDown)
	}
}

// TestStatusEmptyStore checks that a datastore that reports a size of 0
// renders without a used ratio (0/0 is no ratio, and JSON has no NaN).
func TestStatusEmptyStore(t *testing.T) {
	pve, pbs := edgeScenario(goldenNow)
	pbs.Datastores[0].Total, pbs.Datastores[0].Used = 0, 0
	te := newTestExporter(t, simulatorConfig(t, pve, pbs), func() time.Time { return goldenNow })
	status, js := te.get("/status.json")
	if status != 200 {
		t.Fatalf("/status.json: %d %s", status, js)
	}
	var page statusPage
	if err := json.Unmarshal([]byte(js), &page); err != nil {
		t.Fatal(err)
	}
	for _, s := range page.Stores {
		if s.Name == "edge" && s.Kind == "datastore" {
			if s.TotalBytes == nil || *s.TotalBytes != 0 || s.UsedRatio != nil {
				t.Errorf("size %v, ratio %v; want 0 and no ratio", s.TotalBytes, s.UsedRatio)
			}
			return
		}
	}
	t.Error("the datastore is not on the page")
}

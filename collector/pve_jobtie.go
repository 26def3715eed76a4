package collector

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"proxmox_backup_exporter/proxmox/calendar"
)

// vzdumpJobPrefix starts the first line of every vzdump task log that got
// as far as exec_backup; the rest of the line is the command line the task
// ran.
const vzdumpJobPrefix = "INFO: starting new backup job: vzdump"

// schedulerUser runs every scheduled job (pvescheduler sets root@pam).
const schedulerUser = "root@pam"

// scheduleSlack is how long after a scheduled occurrence a scheduled run's
// task may start. pvescheduler wakes about once a minute (re-aligned to the
// minute boundary every 1000 loops, so it drifts by seconds in between),
// starts the due jobs one after the other in PVE::Jobs::run_jobs (each
// forks a worker and waits for it to sync), and skips a turn while its
// previous "jobs" child still runs. Three minutes covers one tick, the drift,
// the jobs started before this one and one skipped tick, and stays far
// below the spacing of any two occurrences of a sensible backup schedule.
const scheduleSlack = 3 * time.Minute

// vzdumpArgs is a parsed vzdump command line: the guest ids given as
// arguments and the --options.
type vzdumpArgs struct {
	vmids map[int]bool
	opts  map[string]string
}

// parseVzdumpArgs reads "vzdump 101 102 --storage pbs --all 1
// --prune-backups 'keep-daily=7'" as PVE prints it (shell-quoted values,
// options in Perl's arbitrary hash order).
func parseVzdumpArgs(line string) (vzdumpArgs, bool) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(line), vzdumpJobPrefix)
	if !ok {
		return vzdumpArgs{}, false
	}
	a := vzdumpArgs{vmids: map[int]bool{}, opts: map[string]string{}}
	words := shellWords(rest)
	for i := 0; i < len(words); i++ {
		w := words[i]
		if key, isOpt := strings.CutPrefix(w, "--"); isOpt {
			val := ""
			if i+1 < len(words) && !strings.HasPrefix(words[i+1], "--") {
				val = words[i+1]
				i++
			}
			a.opts[key] = val
			continue
		}
		for id := range parseIDList(w) {
			a.vmids[id] = true
		}
	}
	return a, true
}

// shellWords splits on blanks, honouring single and double quotes.
func shellWords(s string) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	for _, r := range s {
		switch {
		case quote != 0:
			if r == quote {
				quote = 0
			} else {
				cur.WriteRune(r)
			}
		case r == '\'' || r == '"':
			quote, inWord = r, true
		case r == ' ' || r == '\t':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		default:
			cur.WriteRune(r)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

// notLogged are job keys that never reach the logged command line: PVE
// drops them (pve-guest-common PVE/VZDump/Common.pm command_line skips id,
// vmid, starttime, dow, stdout, enabled and job-id; PVE/Jobs/VZDump.pm run
// keeps only vzdump options) or adds them to every scheduled run (quiet).
var notLogged = map[string]bool{
	"id": true, "type": true, "schedule": true, "comment": true, "enabled": true, "repeat-missed": true,
	"next-run": true, "vmid": true, "starttime": true, "dow": true, "stdout": true, "job-id": true, "quiet": true,
}

// selectionKeys must be on both sides or neither: they decide what a run
// backs up and where.
var selectionKeys = []string{"storage", "pool", "all", "exclude", "node", "mode"}

// jobOptions turns a /cluster/backup item into comparable option values.
// Property strings arrive as objects and are printed as sorted key=value
// lists; lists of ids and mail addresses are sorted.
func jobOptions(raw map[string]any) (opts map[string]string, props map[string]bool) {
	opts, props = map[string]string{}, map[string]bool{}
	for k, v := range raw {
		if notLogged[k] {
			continue
		}
		var s string
		switch x := v.(type) {
		case nil:
			continue
		case map[string]any:
			parts := make([]string, 0, len(x))
			for pk, pv := range x {
				parts = append(parts, pk+"="+scalarString(pv))
			}
			sort.Strings(parts)
			s, props[k] = strings.Join(parts, ","), true
		case []any:
			// exclude-path: logged as one --exclude-path per entry.
			opts[k] = listOpt
			continue
		default:
			s = scalarString(x)
		}
		if s != "" {
			opts[k] = normalizeOpt(k, s, props[k])
		}
	}
	return opts, props
}

// listOpt marks an option configured as a list; its logged form is not
// compared.
const listOpt = "\x00list"

func scalarString(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "1"
		}
		return "0"
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}

// normalizeOpt makes a logged value and a configured one comparable.
func normalizeOpt(key, v string, property bool) string {
	switch {
	case key == "exclude":
		return joinIDs(parseIDList(v))
	case key == "mailto" || property:
		parts := strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ';' || r == ' ' })
		sort.Strings(parts)
		return strings.Join(parts, ",")
	}
	return v
}

// matches reports whether a logged command line is this job's. PVE never
// logs --job-id (it is honoured if some version does): the guest ids, the
// selection keys and every other logged option must agree with the job.
func (a *vzdumpArgs) matches(j *PVEJob) bool {
	if id, ok := a.opts["job-id"]; ok {
		return id == j.ID
	}
	if !sameIDs(a.vmids, j.sel.vmids) {
		return false
	}
	for _, k := range selectionKeys {
		if _, ok := a.opts[k]; ok != (j.opts[k] != "") {
			return false
		}
	}
	for k, v := range a.opts {
		if notLogged[k] {
			continue
		}
		want, ok := j.opts[k]
		if want == listOpt {
			continue
		}
		if !ok || normalizeOpt(k, v, j.props[k]) != want {
			return false
		}
	}
	return true
}

// selection is the guest selection a logged command line asked for.
func (a *vzdumpArgs) selection() jobSelection {
	return jobSelection{
		pool: a.opts["pool"], vmids: a.vmids, all: a.opts["all"] == "1",
		exclude: parseIDList(a.opts["exclude"]), node: a.opts["node"],
	}
}

func sameIDs(a, b map[int]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for id := range a {
		if !b[id] {
			return false
		}
	}
	return true
}

// tiedTask is a finished vzdump task, as far as tying it to a job and to
// the guests it failed for needs it.
type tiedTask struct {
	node  string
	upid  string
	user  string
	id    int // the UPID id: the vmid when the run had one guest, else 0
	start time.Time
	end   time.Time
	// args is nil when the log has no command line: the job died in
	// PVE::VZDump::new, before exec_backup logged it.
	args    *vzdumpArgs
	success bool
	// aborted: the task failed with a job-level error (not "job errors"),
	// so the guests its log does not name were never backed up; reason
	// is that error.
	aborted   bool
	reason    string
	attempted map[int]bool
}

// jobTier ties tasks to jobs.
type jobTier struct {
	jobs   []PVEJob
	events []*calendar.Event
	zones  map[string]*time.Location
	// local[job][node] are the guests the job selects on the node.
	local []map[string]map[int]bool
}

func newJobTier(jobs []PVEJob, events []*calendar.Event, zones map[string]*time.Location, guests []Guest) *jobTier {
	t := &jobTier{jobs: jobs, events: events, zones: zones, local: make([]map[string]map[int]bool, len(jobs))}
	for i := range jobs {
		t.local[i] = map[string]map[int]bool{}
		for gi := range guests {
			g := &guests[gi]
			if jobs[i].sel.selects(g) {
				if t.local[i][g.Node] == nil {
					t.local[i][g.Node] = map[int]bool{}
				}
				t.local[i][g.Node][g.VMID] = true
			}
		}
	}
	return t
}

// occurrence returns the job's latest scheduled start, in the node's time
// zone, that the task's start follows within scheduleSlack.
func (t *jobTier) occurrence(job int, node string, start time.Time) (time.Time, bool) {
	ev, loc := t.events[job], t.zones[node]
	if ev == nil || loc == nil {
		return time.Time{}, false
	}
	p, ok := ev.Prev(start.In(loc))
	if !ok || start.Sub(p) >= scheduleSlack {
		return time.Time{}, false
	}
	return p, true
}

// jobOf finds the job a task ran, or -1. A job pinned to another node never
// runs here (PVE::Jobs::run_jobs). With a command line, the options must
// match; without one, only a scheduled run (root@pam) of an enabled job
// qualifies, and the UPID id must fit: PVE/API2/VZDump.pm uses the vmid as
// the task id exactly when the node has one guest to back up, and starts
// no task for a node without guests unless the job is for all. When more
// than one job qualifies, or there is no command line, the schedule
// decides: the job with the latest occurrence that the start follows
// within scheduleSlack; a draw ties nothing.
func (t *jobTier) jobOf(task *tiedTask) int {
	var cands []int
	for i := range t.jobs {
		j := &t.jobs[i]
		if j.Node != "" && j.Node != task.node {
			continue
		}
		if task.args != nil {
			if task.args.matches(j) {
				cands = append(cands, i)
			}
			continue
		}
		if !j.Enabled || task.user != schedulerUser {
			continue
		}
		local := t.local[i][task.node]
		if task.id != 0 {
			if len(local) != 1 || !local[task.id] {
				continue
			}
		} else if len(local) == 1 || (len(local) == 0 && !j.sel.all) {
			continue
		}
		cands = append(cands, i)
	}
	if len(cands) == 1 && task.args != nil {
		return cands[0]
	}
	best, draw := -1, false
	var bestAt time.Time
	for _, i := range cands {
		at, ok := t.occurrence(i, task.node, task.start)
		switch {
		case !ok:
		case best < 0 || at.After(bestAt):
			best, bestAt, draw = i, at, false
		case at.Equal(bestAt):
			draw = true
		}
	}
	if draw {
		return -1
	}
	return best
}

// tieJobRuns finds each job's newest task on every node and derives the
// job's last run: the latest end, successful only if every node's newest
// run was. It also returns the job each task was tied to (-1 for none).
func (t *jobTier) tieJobRuns(tasks []tiedTask) (map[string]jobRun, []int) {
	type nodeJob struct {
		job  int
		node string
	}
	newest := map[nodeJob]*tiedTask{}
	tiedTo := make([]int, len(tasks))
	for i := range tasks {
		task := &tasks[i]
		ji := t.jobOf(task)
		tiedTo[i] = ji
		if ji < 0 {
			continue
		}
		k := nodeJob{ji, task.node}
		if cur := newest[k]; cur == nil || task.end.After(cur.end) {
			newest[k] = task
		}
	}
	runs := map[string]jobRun{}
	for k, task := range newest {
		id := t.jobs[k.job].ID
		r, ok := runs[id]
		if !ok {
			r = jobRun{end: task.end, success: task.success}
		} else {
			if task.end.After(r.end) {
				r.end = task.end
			}
			r.success = r.success && task.success
		}
		runs[id] = r
	}
	return runs, tiedTo
}

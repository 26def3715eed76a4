package collector

import (
	"context"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/proxmox/calendar"
	"proxmox_backup_exporter/proxmox/tasklog"
)

// taskPageSize is how many rows a task list or task log request asks for.
// The APIs default to 50, which silently drops older tasks and later log
// lines: every listing is paged until it runs dry.
const taskPageSize = 5000

// guestAttempts is what the task logs say about one guest.
type guestAttempts struct {
	last    *Attempt // newest finished attempt
	running bool
}

// jobRun is a backup job's newest run, from the tasks tied to it.
type jobRun struct {
	end     time.Time
	success bool
}

// taskItem is an item of GET /nodes/{node}/tasks.
type taskItem struct {
	UPID      string         `json:"upid"`
	StartTime proxmox.Int    `json:"starttime"`
	EndTime   *proxmox.Int   `json:"endtime"`
	Type      string         `json:"type"`
	ID        proxmox.String `json:"id"`
	User      string         `json:"user"`
	TokenID   string         `json:"tokenid"`
	Status    string         `json:"status"`
}

// user is who started the task, a token as user!token.
func (t *taskItem) user() string {
	if t.TokenID != "" {
		return t.User + "!" + t.TokenID
	}
	return t.User
}

func (t *taskItem) running() bool {
	return t.EndTime == nil && (t.Status == "" || strings.EqualFold(t.Status, "running"))
}

// collectTasks finds each guest's newest backup attempt in the vzdump tasks
// of the guest's node, within the lookback. It reads the newest task logs
// first and stops as soon as every guest that an enabled job covers has an
// attempt; a one-guest task is found by its id, whoever the guest. The
// logs of finished tasks come from the process's cache once read.
func (v *pveView) collectTasks(ctx context.Context, out *PVEData) error {
	var errs errList
	guests, err := v.guests.get(ctx, v.fetchGuests)
	errs.add(err)
	nodes, err := v.onlineNodes(ctx)
	errs.add(err)
	zi, err := v.zones.get(ctx, v.fetchZones)
	errs.add(err)
	out.zones, out.zoneNotes = zi.zones, zi.notes
	// The jobs collector reports a failure to list the jobs; without them
	// every guest is searched for.
	jobs, jerr := v.jobs.get(ctx, v.fetchJobs)
	var tier *jobTier
	if jerr == nil {
		events := make([]*calendar.Event, len(jobs))
		for i := range jobs {
			if jobs[i].Schedule == "" {
				continue
			}
			if ev, err := calendar.Parse(jobs[i].Schedule); err == nil {
				events[i] = ev
			}
		}
		tier = newJobTier(jobs, events, zi.zones, guests)
	}

	byNode := map[string]map[int]bool{}
	searched := map[string]map[int]bool{}
	for gi := range guests {
		g := &guests[gi]
		if byNode[g.Node] == nil {
			byNode[g.Node], searched[g.Node] = map[int]bool{}, map[int]bool{}
		}
		byNode[g.Node][g.VMID] = true
		if jerr != nil || coveredByEnabledJob(jobs, g) {
			searched[g.Node][g.VMID] = true
		}
	}

	var mu sync.Mutex
	attempts := map[int]*guestAttempts{}
	var runs []tiedTask
	var wg sync.WaitGroup
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			found, tied, err := v.nodeAttempts(ctx, n.Name, zi.own[n.Name], byNode[n.Name], searched[n.Name], tier)
			errs.add(err)
			mu.Lock()
			defer mu.Unlock()
			runs = append(runs, tied...)
			for vmid, a := range found {
				if cur := attempts[vmid]; cur == nil {
					attempts[vmid] = a
				} else {
					cur.running = cur.running || a.running
					if a.last != nil && (cur.last == nil || a.last.Start.After(cur.last.Start)) {
						cur.last = a.last
					}
				}
			}
		}()
	}
	wg.Wait()
	out.attempts = attempts
	out.taskRuns = runs
	return errs.err()
}

func coveredByEnabledJob(jobs []PVEJob, g *Guest) bool {
	for i := range jobs {
		if jobs[i].Enabled && jobs[i].sel.selects(g) {
			return true
		}
	}
	return false
}

// nodeAttempts reads the node's tasks, newest first. needed are the node's
// guests, searched those of them that an enabled job covers: the logs of
// jobs over several guests are read only while a searched guest has no
// attempt yet, or an enabled job with guests on the node has no run tied
// to it yet (a guest in no job would otherwise have every log in the
// lookback read). A one-guest task is the attempt of any needed guest.
func (v *pveView) nodeAttempts(ctx context.Context, node string, loc *time.Location, needed, searched map[int]bool, tier *jobTier) (map[int]*guestAttempts, []tiedTask, error) {
	found := map[int]*guestAttempts{}
	var tied []tiedTask
	if len(needed) == 0 {
		return found, nil, nil
	}
	want := make(map[int]bool, len(needed))
	pending := 0 // searched guests in want
	for id := range needed {
		want[id] = true
		if searched[id] {
			pending++
		}
	}
	// The enabled jobs that select guests here: each one's newest run on
	// the node gives its last run.
	jobsLeft := map[int]bool{}
	if tier != nil {
		for i := range tier.jobs {
			j := &tier.jobs[i]
			if j.Enabled && (j.Node == "" || j.Node == node) && len(tier.local[i][node]) > 0 {
				jobsLeft[i] = true
			}
		}
	}
	tie := func(rt *tiedTask) {
		tied = append(tied, *rt)
		if len(jobsLeft) > 0 {
			delete(jobsLeft, tier.jobOf(rt))
		}
	}
	settle := func(vmid int) {
		delete(want, vmid)
		if searched[vmid] {
			pending--
		}
	}
	tasks, err := v.listTasks(ctx, node)
	if err != nil {
		return found, nil, err
	}
	get := func(vmid int) *guestAttempts {
		a := found[vmid]
		if a == nil {
			a = &guestAttempts{}
			found[vmid] = a
		}
		return a
	}
	for i := range tasks {
		if len(want) == 0 && len(jobsLeft) == 0 {
			break
		}
		t := &tasks[i]
		id := string(t.ID)
		if id == "" && pending == 0 && len(jobsLeft) == 0 {
			// Only guests in no enabled job lack an attempt: no more logs.
			continue
		}
		ended := !t.running() && t.EndTime != nil
		rt := tiedTask{node: node, upid: t.UPID, user: t.user(), start: time.Unix(int64(t.StartTime), 0), attempted: map[int]bool{}}
		if ended {
			rt.end = time.Unix(int64(*t.EndTime), 0)
			rt.success = !tasklog.StatusIsError(t.Status)
			// "job errors": every guest was tried and the log says how it
			// went; any other error ended the job before some guests.
			rt.aborted = !rt.success && t.Status != "job errors"
			rt.reason = t.Status
			if t.Status == "unexpected status" {
				// The worker died without its final line.
				rt.reason = "backup did not finish: task ended with unexpected status"
			}
		}
		if id != "" {
			// A run with one guest (PVE/API2/VZDump.pm makes the vmid the
			// task id), manual or scheduled: the task is the attempt.
			vmid, err := strconv.Atoi(id)
			if err != nil || !want[vmid] {
				continue
			}
			if t.running() {
				get(vmid).running = true
				continue
			}
			rt.id = vmid
			rt.attempted[vmid] = true
			a := &Attempt{Start: rt.start, Success: rt.success, Node: node, UPID: t.UPID}
			if ended {
				a.Duration = rt.end.Sub(a.Start)
			}
			// The status of a failed run only says "job errors" (or
			// "unexpected status"): the reason is in the log. A scheduled
			// run needs the log's first line to be tied to its job.
			if !a.Success || rt.user == schedulerUser {
				res, cmdline, err := v.readTaskLog(ctx, node, t.UPID, rt.start, loc, a.Success, ended)
				if err != nil {
					return found, tied, err
				}
				if args, ok := parseVzdumpArgs(cmdline); ok {
					rt.args = &args
				}
				if !a.Success {
					a.Error = oneGuestError(res, vmid, t.Status)
					rt.reason = a.Error
				}
			}
			if ended {
				tie(&rt)
			}
			get(vmid).last = a
			settle(vmid)
			continue
		}
		// A job over several guests, or one that failed before naming any:
		// only its log tells who was in it.
		res, cmdline, err := v.readTaskLog(ctx, node, t.UPID, rt.start, loc, false, ended)
		if err != nil {
			return found, tied, err
		}
		if args, ok := parseVzdumpArgs(cmdline); ok {
			rt.args = &args
		}
		if res.JobError != "" {
			rt.reason = res.JobError
		}
		for _, at := range res.Attempts {
			rt.attempted[at.VMID] = true
			if !want[at.VMID] || at.Skipped {
				continue
			}
			if at.Running {
				if t.running() {
					get(at.VMID).running = true
					continue
				}
				// The task ended without a word on this guest, e.g. a
				// worker that died ("unexpected status").
				at.Success, at.Error = false, "backup did not finish: task ended with "+t.Status
				if res.JobError != "" {
					at.Error = "backup did not finish: " + res.JobError
				}
			}
			a := &Attempt{Start: at.Start, Duration: at.Duration, Success: at.Success, Error: at.Error, Node: node, UPID: t.UPID}
			if a.Start.IsZero() {
				a.Start = rt.start
			}
			get(at.VMID).last = a
			settle(at.VMID)
		}
		if ended {
			tie(&rt)
		}
	}
	return found, tied, nil
}

// oneGuestError is the reason a one-guest run failed: the guest's error in
// the log, else the job's, else the task status (which is the reason
// itself when PVE::VZDump::new died and the log is "TASK ERROR: <reason>").
func oneGuestError(res tasklog.Log, vmid int, status string) string {
	for _, at := range res.Attempts {
		if at.VMID == vmid && !at.Skipped && at.Error != "" {
			return at.Error
		}
	}
	if res.JobError != "" {
		return res.JobError
	}
	return status
}

// listTasks returns the node's vzdump tasks within the lookback, running
// ones included, newest first.
func (v *pveView) listTasks(ctx context.Context, node string) ([]taskItem, error) {
	return v.listTasksOf(ctx, node, "vzdump", time.Duration(v.p.target.TaskLookback))
}

// listTasksOf returns the node's tasks of one type within a lookback,
// running ones included, newest first. PVE's typefilter matches one type
// exactly (pve-manager PVE/API2/Tasks.pm node_tasks).
func (v *pveView) listTasksOf(ctx context.Context, node, taskType string, lookback time.Duration) ([]taskItem, error) {
	since := v.p.now.Add(-lookback).Unix()
	var tasks []taskItem
	var rejected rejectedDates
	path := "/nodes/" + url.PathEscape(node) + "/tasks"
	defer func() { rejected.warn(v.p, path, "tasks") }()
	for start := 0; ; start += taskPageSize {
		q := url.Values{
			"typefilter": {taskType},
			"source":     {"all"},
			"since":      {strconv.FormatInt(since, 10)},
			"start":      {strconv.Itoa(start)},
			"limit":      {strconv.Itoa(taskPageSize)},
		}
		n := 0
		err := v.p.session.Each(ctx, path, q, func(dec decoder) error {
			var t taskItem
			n++
			if err := dec.Decode(&t); err != nil {
				return err
			}
			if _, ok := proxmox.Timestamp(int64(t.StartTime)); !ok {
				rejected.add(int64(t.StartTime))
				return nil
			}
			if t.EndTime != nil {
				if _, ok := proxmox.Timestamp(int64(*t.EndTime)); !ok {
					rejected.add(int64(*t.EndTime))
					return nil
				}
			}
			if t.Type == taskType && int64(t.StartTime) >= since {
				if err := tooMany(len(tasks), "tasks"); err != nil {
					return err
				}
				tasks = append(tasks, t)
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		if n < taskPageSize {
			break
		}
	}
	sort.SliceStable(tasks, func(i, j int) bool { return tasks[i].StartTime > tasks[j].StartTime })
	return tasks, nil
}

// logKey is a task log's key in the cache: the log's local times were read
// in the node's zone.
func (v *pveView) logKey(node, upid string, loc *time.Location) taskLogKey {
	key := taskLogKey{target: v.p.target.Name + "\x00" + v.p.target.URL, node: node, upid: upid}
	if loc != nil {
		key.zone = loc.String()
	}
	return key
}

// eachLogLine feeds a task log's lines to line, limit lines a request, and
// asks for the next page while the last one was full and more says so. The
// lines one log may feed are bounded (the parsers keep what lines say).
func (v *pveView) eachLogLine(ctx context.Context, node, upid string, limit int, more func() bool, line func(string)) error {
	path := "/nodes/" + url.PathEscape(node) + "/tasks/" + url.PathEscape(upid) + "/log"
	lines := 0
	for first := 0; ; first += limit {
		q := url.Values{"start": {strconv.Itoa(first)}, "limit": {strconv.Itoa(limit)}}
		n := 0
		err := v.p.session.Each(ctx, path, q, func(dec decoder) error {
			var row struct {
				T string `json:"t"`
			}
			n++
			if err := tooMany(lines, "log lines"); err != nil {
				return err
			}
			lines++
			if err := dec.Decode(&row); err != nil {
				return err
			}
			line(row.T)
			return nil
		})
		if err != nil {
			return err
		}
		if n < limit || !more() {
			return nil
		}
	}
}

// readTaskLog reads a whole task log, page by page, through the parser, or
// only its first line. It also returns the job's command line (the log's
// first line). The log of a finished task is read once: later probes take
// its parse from the cache.
func (v *pveView) readTaskLog(ctx context.Context, node, upid string, start time.Time, loc *time.Location, firstLine, finished bool) (tasklog.Log, string, error) {
	cache := v.p.taskLogs
	key := v.logKey(node, upid, loc)
	if finished && cache != nil {
		if f, ok := cache.get(key, firstLine); ok {
			return f.log(loc), f.cmdline, nil
		}
	}
	p := tasklog.NewParser(loc)
	cmdline := ""
	limit := taskPageSize
	if firstLine {
		limit = 1
	}
	err := v.eachLogLine(ctx, node, upid, limit, func() bool { return !firstLine }, func(line string) {
		if cmdline == "" && strings.HasPrefix(line, vzdumpJobPrefix) {
			cmdline = line
		}
		p.Line(line)
	})
	if err != nil {
		return tasklog.Log{}, "", err
	}
	res := p.Result()
	if finished && cache != nil {
		cache.put(key, newLogFacts(res, cmdline, !firstLine), start.Add(time.Duration(v.p.target.TaskLookback)), v.p.now)
	}
	return res, cmdline, nil
}

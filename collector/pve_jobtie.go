package collector

import (
	"strings"
	"time"
)

// vzdumpJobPrefix starts the first line of every vzdump task log; the rest
// of the line is the command line the task ran.
const vzdumpJobPrefix = "INFO: starting new backup job: vzdump"

// vzdumpArgs is a parsed vzdump command line: the guest ids given as
// arguments and the --options.
type vzdumpArgs struct {
	vmids map[int]bool
	opts  map[string]string
}

// parseVzdumpArgs reads "vzdump 101 102 --storage pbs --all 1
// --prune-backups 'keep-daily=7'" as PVE prints it (shell-quoted values).
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

// matches reports whether a task's command line is this job's: by job-id
// where PVE passes it, else by storage and the same guest selection.
func (a *vzdumpArgs) matches(j *PVEJob) bool {
	if id, ok := a.opts["job-id"]; ok {
		return id == j.ID
	}
	if j.Storage != "" && a.opts["storage"] != j.Storage {
		return false
	}
	if j.Node != "" && a.opts["node"] != "" && a.opts["node"] != j.Node {
		return false
	}
	s := &j.sel
	switch {
	case s.pool != "":
		return a.opts["pool"] == s.pool
	case len(s.vmids) > 0:
		return sameIDs(a.vmids, s.vmids)
	case s.all:
		return a.opts["all"] == "1" && sameIDs(parseIDList(a.opts["exclude"]), s.exclude)
	}
	return false
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

// tiedTask is a finished multi-guest vzdump task with its command line.
type tiedTask struct {
	node    string
	args    vzdumpArgs
	end     time.Time
	success bool
}

// tieJobRuns finds each job's newest task on every node and derives the
// job's last run: the latest end, successful only if every node's newest
// run was. A task that matches more than one job is not tied.
func tieJobRuns(jobs []PVEJob, tasks []tiedTask) map[string]jobRun {
	type nodeJob struct{ job, node string }
	newest := map[nodeJob]tiedTask{}
	for _, t := range tasks {
		match := -1
		for i := range jobs {
			if t.args.matches(&jobs[i]) {
				if match >= 0 {
					match = -2
					break
				}
				match = i
			}
		}
		if match < 0 {
			continue
		}
		k := nodeJob{jobs[match].ID, t.node}
		if cur, ok := newest[k]; !ok || t.end.After(cur.end) {
			newest[k] = t
		}
	}
	runs := map[string]jobRun{}
	for k, t := range newest {
		r, ok := runs[k.job]
		if !ok {
			r = jobRun{end: t.end, success: t.success}
		} else {
			if t.end.After(r.end) {
				r.end = t.end
			}
			r.success = r.success && t.success
		}
		runs[k.job] = r
	}
	return runs
}

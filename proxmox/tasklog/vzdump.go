package tasklog

import (
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Attempt is one guest's backup in a vzdump task log.
type Attempt struct {
	VMID      int
	GuestType string // qemu or lxc, as the log says
	Start     time.Time
	End       time.Time     // zero while unknown
	Duration  time.Duration // from the Finished line, else End-Start
	Success   bool
	Running   bool // started; no result yet and the task has not ended
	Skipped   bool
	// Refused: vzdump failed the guest before "Starting Backup" (guest
	// not found, HA-managed guest in stop mode, backup limits, temporary
	// directory or log file errors); the log has only the ERROR line.
	Refused bool
	Error   string
}

// Log is what a vzdump task log says.
type Log struct {
	Attempts []Attempt
	// Finished is true when the log has its final TASK line.
	Finished bool
	// TaskStatus is the final status: "OK", "WARNINGS: N" or the error.
	TaskStatus string
	// JobError is a job-level error the log states before its end: "Backup
	// job failed - X" (a hook or signal ended the job) or the global lock
	// that could not be acquired (the worker then exits without a TASK
	// line, and its status reads "unexpected status").
	JobError string
}

// Parser reads a vzdump task log line by line, so that a long log never has
// to be held in memory.
type Parser struct {
	loc     *time.Location
	log     Log
	current int // index of the attempt in progress, or -1
}

// NewParser returns a parser for a log written in the node's time zone.
// With a nil zone (the node's zone is unknown) the log's local times are
// not read: attempts then have no Start or End of their own.
func NewParser(loc *time.Location) *Parser {
	return &Parser{loc: loc, current: -1}
}

// localTime reads a node-local time stamp of the log.
func (p *Parser) localTime(s string) (time.Time, bool) {
	if p.loc == nil {
		return time.Time{}, false
	}
	t, err := time.ParseInLocation(timeLayout, s, p.loc)
	return t, err == nil
}

var (
	startRE    = regexp.MustCompile(`^INFO: Starting Backup of VM (\d+) \((qemu|lxc|openvz)\)`)
	startedRE  = regexp.MustCompile(`^INFO: Backup started at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})`)
	finishedRE = regexp.MustCompile(`^INFO: Finished Backup of VM (\d+) \((\d+):(\d{2}):(\d{2})\)`)
	endAtRE    = regexp.MustCompile(`^INFO: (?:Backup finished|Failed) at (\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2})`)
	failedRE   = regexp.MustCompile(`^ERROR: Backup of VM (\d+) failed - (.*)$`)
	skipRE     = regexp.MustCompile(`^INFO: skip external VMs: (.*)$`)
	jobFailRE  = regexp.MustCompile(`^ERROR: Backup job failed - (.*)$`)
	lockFailRE = regexp.MustCompile(`^ERROR: (can't (?:acquire|open) lock .*)$`)
)

const timeLayout = "2006-01-02 15:04:05"

// Line feeds the next log line.
func (p *Parser) Line(text string) {
	text = strings.TrimRight(text, "\r\n")
	switch {
	case strings.HasPrefix(text, "TASK "):
		p.log.Finished = true
		status := strings.TrimPrefix(text, "TASK ")
		status = strings.TrimPrefix(status, "ERROR: ")
		p.log.TaskStatus = status
	case startRE.MatchString(text):
		m := startRE.FindStringSubmatch(text)
		vmid, _ := strconv.Atoi(m[1])
		p.log.Attempts = append(p.log.Attempts, Attempt{VMID: vmid, GuestType: m[2]})
		p.current = len(p.log.Attempts) - 1
	case p.current >= 0 && startedRE.MatchString(text):
		if t, ok := p.localTime(startedRE.FindStringSubmatch(text)[1]); ok {
			p.log.Attempts[p.current].Start = t
		}
	case failedRE.MatchString(text):
		m := failedRE.FindStringSubmatch(text)
		a := p.attempt(m[1])
		if a == nil || a.Success || a.Error != "" {
			// No open attempt: vzdump refused the guest before starting it
			// (exec_backup_task dies before "Starting Backup").
			vmid, err := strconv.Atoi(m[1])
			if err != nil {
				break
			}
			p.log.Attempts = append(p.log.Attempts, Attempt{VMID: vmid, Refused: true})
			p.current = len(p.log.Attempts) - 1
			a = &p.log.Attempts[p.current]
		}
		a.Success, a.Error = false, strings.TrimSpace(m[2])
		a.End = time.Time{}
		a.Duration = -1
	case jobFailRE.MatchString(text):
		p.log.JobError = strings.TrimSpace(jobFailRE.FindStringSubmatch(text)[1])
	case lockFailRE.MatchString(text):
		p.log.JobError = strings.TrimSpace(lockFailRE.FindStringSubmatch(text)[1])
	case finishedRE.MatchString(text):
		m := finishedRE.FindStringSubmatch(text)
		if a := p.attempt(m[1]); a != nil {
			h, _ := strconv.Atoi(m[2])
			mi, _ := strconv.Atoi(m[3])
			s, _ := strconv.Atoi(m[4])
			a.Success = true
			a.Duration = time.Duration(h)*time.Hour + time.Duration(mi)*time.Minute + time.Duration(s)*time.Second
		}
	case p.current >= 0 && endAtRE.MatchString(text):
		a := &p.log.Attempts[p.current]
		if t, ok := p.localTime(endAtRE.FindStringSubmatch(text)[1]); ok {
			a.End = t
			if a.Refused && a.Start.IsZero() {
				// A refused guest is failed at once: it started then too.
				a.Start = t
			}
		}
		p.current = -1
	case skipRE.MatchString(text):
		for _, f := range strings.FieldsFunc(skipRE.FindStringSubmatch(text)[1], func(r rune) bool { return r == ',' || r == ' ' }) {
			if vmid, err := strconv.Atoi(f); err == nil {
				p.log.Attempts = append(p.log.Attempts, Attempt{VMID: vmid, Skipped: true})
			}
		}
	}
}

// attempt finds the newest attempt of a guest.
func (p *Parser) attempt(vmid string) *Attempt {
	id, err := strconv.Atoi(vmid)
	if err != nil {
		return nil
	}
	for i := len(p.log.Attempts) - 1; i >= 0; i-- {
		if p.log.Attempts[i].VMID == id && !p.log.Attempts[i].Skipped {
			return &p.log.Attempts[i]
		}
	}
	return nil
}

// elapsed is end-start when both are known. The log's times are local
// wall-clock times: across a backward clock change (the autumn DST switch)
// an end can read earlier than its start, and the duration is then
// unknown (0), never negative.
func elapsed(start, end time.Time) time.Duration {
	if start.IsZero() || end.IsZero() || end.Before(start) {
		return 0
	}
	return end.Sub(start)
}

// Result settles every attempt: one without a result is running while the
// task runs, and failed with the task's error once the task has ended.
func (p *Parser) Result() Log {
	out := p.log
	out.Attempts = append([]Attempt(nil), p.log.Attempts...)
	for i := range out.Attempts {
		a := &out.Attempts[i]
		if a.Skipped {
			continue
		}
		if a.Duration < 0 {
			a.Duration = elapsed(a.Start, a.End)
			continue
		}
		if a.Success {
			if a.Duration == 0 {
				a.Duration = elapsed(a.Start, a.End)
			}
			continue
		}
		if !out.Finished {
			a.Running = true
			continue
		}
		if out.JobError != "" {
			a.Error = "backup did not finish: " + out.JobError
		} else {
			a.Error = "backup did not finish: task ended with " + out.TaskStatus
		}
	}
	return out
}

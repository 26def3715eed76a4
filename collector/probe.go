package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
)

// Options are the per-probe inputs besides the target itself.
type Options struct {
	Logger *slog.Logger
	// Now returns the current time; tests fix it.
	Now func() time.Time
	// Permissions caches the token privilege checks; nil means a cache
	// shared by the process.
	Permissions *PermissionCache
	// TaskLogs keeps the parsed logs of finished vzdump tasks; nil means
	// a cache shared by the process.
	TaskLogs *TaskLogCache
}

// Probe queries the target through the session and returns what it learned
// before ctx ended. It never returns later than shortly after ctx's deadline:
// a collector that has not finished by then is reported as failed.
func Probe(ctx context.Context, t *config.Target, s *proxmox.Session, opts Options) *Result {
	now := time.Now
	if opts.Now != nil {
		now = opts.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	logger = logger.With("target", t.Name)
	r := &Result{Target: t.Name, Product: t.Type, Now: now(), Offsite: t.Offsite}

	perms := opts.Permissions
	if perms == nil {
		perms = defaultPermissionCache
	}
	taskLogs := opts.TaskLogs
	if taskLogs == nil {
		taskLogs = defaultTaskLogCache
	}
	p := &prober{target: t, session: s, logger: logger, now: r.Now, perms: perms, taskLogs: taskLogs}
	switch t.Type {
	case config.TypePBS:
		r.PBS = &PBSData{}
		p.probePBS(ctx, r)
	case config.TypePVE:
		r.PVE = &PVEData{}
		p.probePVE(ctx, r)
	}
	sort.Slice(r.Collectors, func(i, j int) bool { return r.Collectors[i].Name < r.Collectors[j].Name })
	return r
}

// prober carries one probe's inputs to the product-specific code.
type prober struct {
	target  *config.Target
	session *proxmox.Session
	logger  *slog.Logger
	now     time.Time
	perms   *PermissionCache
	// taskLogs keeps finished tasks' logs between probes.
	taskLogs *TaskLogCache
}

// task is one sub-collector. run fills part (a Result of its own) and
// returns an error if any of its calls failed; what it filled is kept
// either way.
type task struct {
	name string
	run  func(ctx context.Context, part *Result) error
}

// version asks for the server's version. It doubles as the check that the
// API answers and accepts the token, so it runs before everything else.
func (p *prober) version(ctx context.Context, r *Result) bool {
	start := time.Now()
	var v struct {
		Version string `json:"version"`
		Release string `json:"release"`
		RepoID  string `json:"repoid"`
	}
	err := p.session.Get(ctx, "/version", nil, &v)
	st := CollectorStatus{Name: "version", Success: err == nil, Duration: time.Since(start), Err: err}
	r.Collectors = append(r.Collectors, st)
	if err != nil {
		p.logger.Error("Target is down", "collector", "version", "err", err)
		return false
	}
	r.Up = true
	r.Info = &TargetInfo{Version: v.Version, Release: v.Release, RepoID: v.RepoID}
	return true
}

// runTasks runs the tasks concurrently and merges each task's part into r
// as it finishes. When ctx ends first, the unfinished tasks are recorded as
// failed and runTasks returns at once; their goroutines stop on their own
// because every API call observes ctx, and what they fill afterwards is
// discarded.
func (p *prober) runTasks(ctx context.Context, r *Result, merge func(dst, src *Result), tasks ...task) {
	type done struct {
		i    int
		part *Result
		st   CollectorStatus
	}
	ch := make(chan done, len(tasks))
	var wg sync.WaitGroup
	for i, tk := range tasks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			part := &Result{Target: r.Target, Product: r.Product, Now: r.Now}
			if r.PBS != nil {
				part.PBS = &PBSData{}
			}
			if r.PVE != nil {
				part.PVE = &PVEData{}
			}
			start := time.Now()
			err := safeRun(func() error { return tk.run(ctx, part) })
			ch <- done{i: i, part: part, st: CollectorStatus{Name: tk.name, Success: err == nil, Duration: time.Since(start), Err: err}}
		}()
	}

	finished := make([]bool, len(tasks))
	record := func(d done) {
		finished[d.i] = true
		if d.st.Err != nil {
			p.logger.Error("Collector failed", "collector", d.st.Name, "duration_seconds", d.st.Duration.Seconds(), "err", d.st.Err)
		} else {
			p.logger.Debug("Collector succeeded", "collector", d.st.Name, "duration_seconds", d.st.Duration.Seconds())
		}
		r.Collectors = append(r.Collectors, d.st)
		merge(r, d.part)
	}
	for n := 0; n < len(tasks); n++ {
		select {
		case d := <-ch:
			record(d)
		case <-ctx.Done():
			// Every API call observes ctx, so the collectors return at
			// once with errors that name what they were waiting for; give
			// them a moment to say so, then give up on the rest.
			grace := time.NewTimer(deadlineGrace)
			defer grace.Stop()
			for ; n < len(tasks); n++ {
				select {
				case d := <-ch:
					record(d)
					continue
				case <-grace.C:
				}
				break
			}
			waiting := ""
			if inflight := p.session.InFlight(); len(inflight) > 0 {
				waiting = " (still waiting for " + strings.Join(inflight, ", ") + ")"
			}
			for i, tk := range tasks {
				if finished[i] {
					continue
				}
				err := fmt.Errorf("did not finish before the probe deadline%s: %w", waiting, context.Cause(ctx))
				p.logger.Error("Collector failed", "collector", tk.name, "err", err)
				r.Collectors = append(r.Collectors, CollectorStatus{Name: tk.name, Success: false, Duration: time.Since(r.Now), Err: err})
			}
			return
		}
	}
	wg.Wait()
}

// deadlineGrace is how long a probe whose deadline passed waits for its
// collectors to report their cancelled calls.
const deadlineGrace = 100 * time.Millisecond

// safeRun turns a panic in a collector into an error, so that one bad
// response can never take the exporter down.
func safeRun(f func() error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("internal error: %v", v)
		}
	}()
	return f()
}

// errList gathers the errors of independent calls inside one collector.
type errList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errList) add(err error) {
	if err == nil {
		return
	}
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

func (l *errList) err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return errors.Join(l.errs...)
}

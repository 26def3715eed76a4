// Package verdict decides what is wrong with a probed target: every problem
// that the mixin's alerts report, defined once, so that /status,
// /status.json and the check command say the same as the alerts.
//
// Each rule mirrors one alerting rule of mixin/alerts/*.libsonnet and
// computes from a probe's Result what that rule's expression computes from
// the probe's metrics at the same moment. Parts of an expression that need
// Prometheus' history (see Rule.HistoryOnly) cannot be computed from one
// probe; the verdict evaluates them as Prometheus does over a short, steady
// history, in which they never fire.
//
// To add a problem, add its alert to the mixin and append a Rule to Rules
// (rules.go) that mirrors it; TestRulesMirrorTheAlerts fails until both
// exist, and the agreement test against promtool (exporter/
// agreement_test.go) then covers it. If the alert identifies its object by
// a label not yet in that test's identityLabels, add the label there, and
// give the Object those labels.
package verdict

import (
	"cmp"
	"slices"
	"strings"
	"time"

	"proxmox_backup_exporter/collector"
)

// Severity is a problem's severity, as the alert's severity label.
type Severity string

// Severities, worst first.
const (
	Critical Severity = "critical"
	Warning  Severity = "warning"
	Info     Severity = "info"
)

// Rank orders severities, worst first; unknown severities sort last.
func (s Severity) Rank() int {
	switch s {
	case Critical:
		return 0
	case Warning:
		return 1
	case Info:
		return 2
	}
	return 3
}

// Thresholds are the limits the rules apply. Defaults returns the mixin's
// _config defaults (mixin/config.libsonnet); a test keeps them equal.
type Thresholds struct {
	MissedGracePeriod    time.Duration // missedGracePeriod
	TooOldWarning        time.Duration // tooOldWarning
	TooOldCritical       time.Duration // tooOldCritical
	NotVerifiedWindow    time.Duration // notVerifiedWindow
	SizeAnomalyRatio     float64       // sizeAnomalyRatio (history only)
	SizeAnomalyWindow    time.Duration // sizeAnomalyWindow (history only)
	FillPredictionWindow time.Duration // fillPredictionWindow
	AlmostFullRatio      float64       // almostFullRatio
	GCMaxAge             time.Duration // gcMaxAge (datastores without a GC schedule)
	ScheduleGracePeriod  time.Duration // scheduleGracePeriod (GC and jobs past their next run)
	RestoreTestInterval  time.Duration // restoreTestInterval
	OptOutTag            string        // optOutTag
	OptOutComment        string        // optOutComment
	SingleCopyTag        string        // singleCopyTag
	OffsiteMaxLag        time.Duration // offsiteCopyMaxLag
}

// Defaults are the mixin's default thresholds.
func Defaults() Thresholds {
	return Thresholds{
		MissedGracePeriod:    6 * time.Hour,
		TooOldWarning:        36 * time.Hour,
		TooOldCritical:       48 * time.Hour,
		NotVerifiedWindow:    7 * 24 * time.Hour,
		SizeAnomalyRatio:     0.5,
		SizeAnomalyWindow:    7 * 24 * time.Hour,
		FillPredictionWindow: 7 * 24 * time.Hour,
		AlmostFullRatio:      0.9,
		GCMaxAge:             3 * 24 * time.Hour,
		ScheduleGracePeriod:  3 * time.Hour,
		RestoreTestInterval:  90 * 24 * time.Hour,
		OptOutTag:            "nobackup",
		OptOutComment:        "no-monitor",
		SingleCopyTag:        "two-copies",
		OffsiteMaxLag:        48 * time.Hour,
	}
}

// Object kinds.
const (
	KindTarget    = "target"
	KindCollector = "collector"
	KindGuest     = "guest"
	KindGroup     = "group"
	KindDatastore = "datastore"
	KindStorage   = "storage"
	KindJob       = "job"
	KindPrivilege = "privilege"
)

// Object is what a problem is about.
type Object struct {
	Kind string `json:"kind"`
	// ID identifies the object within its target and kind: a VMID, a
	// group's datastore[/namespace]/type/id, a datastore, storage[@node],
	// a job's type/id, a collector's name; empty for the target itself.
	ID string `json:"id"`
	// Name is what a person knows the object by: the guest's name, the
	// group's comment (PVE fills it with the guest's name).
	Name string `json:"name,omitempty"`
	// Labels are the labels that identify the object in the alert, as the
	// alert carries them (empty ones left out).
	Labels map[string]string `json:"labels,omitempty"`
}

// Problem is one problem found on one object.
type Problem struct {
	Target   string   `json:"target"`
	Problem  string   `json:"problem"` // the rule's ID
	Alert    string   `json:"alert"`
	Severity Severity `json:"severity"`
	Object   Object   `json:"object"`
	// Text says what is wrong, for a person.
	Text string `json:"text"`
}

// Evaluate returns the problems of one probe result, evaluated at the
// probe's time, in a stable order (worst first). Rules that compare two
// targets (an offsite copy with its primary) see no other target: use
// EvaluateAll for them.
func Evaluate(r *collector.Result, th Thresholds) []Problem {
	return EvaluateAll([]*collector.Result{r}, th)
}

// EvaluateAll returns the problems of several targets' probe results, each
// evaluated at its probe's time, in a stable order (worst first). A rule
// that compares two targets, as Prometheus compares their series, sees all
// of the results.
func EvaluateAll(results []*collector.Result, th Thresholds) []Problem {
	all := map[string]*collector.Result{}
	for _, r := range results {
		if r != nil {
			all[r.Target] = r
		}
	}
	var out []Problem
	for _, r := range results {
		if r == nil {
			continue
		}
		in := &input{r: r, th: th, now: r.Now, all: all}
		for i := range Rules {
			in.rule = &Rules[i]
			Rules[i].find(in)
		}
		out = append(out, in.out...)
	}
	Sort(out)
	return out
}

// Sort orders problems worst first, then by target, object and problem.
func Sort(ps []Problem) {
	slices.SortStableFunc(ps, func(a, b Problem) int {
		return cmp.Or(
			cmp.Compare(a.Severity.Rank(), b.Severity.Rank()),
			cmp.Compare(a.Target, b.Target),
			cmp.Compare(a.Object.Kind, b.Object.Kind),
			cmp.Compare(a.Object.ID, b.Object.ID),
			cmp.Compare(a.Problem, b.Problem),
		)
	})
}

// Worst is the worst severity among the problems, "" when there is none.
func Worst(ps []Problem) Severity {
	var w Severity
	for _, p := range ps {
		if w == "" || p.Severity.Rank() < w.Rank() {
			w = p.Severity
		}
	}
	return w
}

// OptedOut reports whether a guest's tags (";"-separated, as PVE gives
// them) contain the opt-out tag as a whole tag.
func (th Thresholds) OptedOut(g *collector.Guest) bool {
	return slices.Contains(strings.Split(g.Tags, ";"), th.OptOutTag)
}

// WantsTwoCopies reports whether a guest's tags contain the single-copy
// opt-in tag as a whole tag.
func (th Thresholds) WantsTwoCopies(g *collector.Guest) bool {
	return slices.Contains(strings.Split(g.Tags, ";"), th.SingleCopyTag)
}

// GroupOptedOut reports whether a PBS group's comment carries the opt-out
// marker anywhere in it.
func (th Thresholds) GroupOptedOut(g *collector.Group) bool {
	return strings.Contains(g.Comment, th.OptOutComment)
}

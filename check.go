package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/alecthomas/kingpin/v2"

	"proxmox_backup_exporter/collector"
	"proxmox_backup_exporter/exporter"
	"proxmox_backup_exporter/verdict"
)

// Exit codes of a monitoring plugin (Nagios, Icinga, Naemon, Sensu).
const (
	pluginOK       = 0
	pluginWarning  = 1
	pluginCritical = 2
	pluginUnknown  = 3
)

var pluginStates = []string{"OK", "WARNING", "CRITICAL", "UNKNOWN"}

// checkArgs are the check command's flags.
type checkArgs struct {
	targets []string
	th      verdict.Thresholds
}

// addCheckFlags adds the check command and its flags, with the verdict's
// (the mixin's) default thresholds.
func addCheckFlags(app *kingpin.Application) (*kingpin.CmdClause, *checkArgs) {
	a := &checkArgs{th: verdict.Defaults()}
	cmd := app.Command("check", "Probe the targets once and print the verdict as a monitoring plugin (Nagios, Icinga): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.")
	cmd.Flag("target", "A target of the configuration file to check (repeatable; default: all).").StringsVar(&a.targets)
	d := a.th
	dur := func(name, help string, v *time.Duration, def time.Duration) {
		cmd.Flag(name, help).Default(def.String()).DurationVar(v)
	}
	dur("missed-grace", "How long after a scheduled start a missing backup is missed.", &a.th.MissedGracePeriod, d.MissedGracePeriod)
	dur("too-old.warning", "Last backup age that warns (guests without a schedule, PBS groups).", &a.th.TooOldWarning, d.TooOldWarning)
	dur("too-old.critical", "Last backup age that is critical.", &a.th.TooOldCritical, d.TooOldCritical)
	dur("not-verified.window", "How long a backup may stay unverified.", &a.th.NotVerifiedWindow, d.NotVerifiedWindow)
	dur("fill-prediction.window", "Warn when PBS predicts a datastore full within this time.", &a.th.FillPredictionWindow, d.FillPredictionWindow)
	dur("gc.max-age", "How long a datastore may go without a successful garbage collection.", &a.th.GCMaxAge, d.GCMaxAge)
	dur("offsite.max-lag", "How far an offsite copy may lag behind its primary PBS's newest snapshot.", &a.th.OffsiteMaxLag, d.OffsiteMaxLag)
	dur("restore-test.interval", "How often a guest that must pass restore tests needs a successful one.", &a.th.RestoreTestInterval, d.RestoreTestInterval)
	cmd.Flag("almost-full.ratio", "Used fraction of a datastore or storage that is critical.").Default(fmt.Sprint(d.AlmostFullRatio)).Float64Var(&a.th.AlmostFullRatio)
	cmd.Flag("opt-out.tag", "PVE guest tag that excludes a guest.").Default(d.OptOutTag).StringVar(&a.th.OptOutTag)
	cmd.Flag("opt-out.comment", "Marker in a PBS group comment that excludes the group.").Default(d.OptOutComment).StringVar(&a.th.OptOutComment)
	cmd.Flag("single-copy.tag", "PVE guest tag that requires a recent backup on two storages.").Default(d.SingleCopyTag).StringVar(&a.th.SingleCopyTag)
	return cmd, a
}

// runCheck probes the targets once and writes the plugin output. It returns
// the plugin's exit code.
func runCheck(ctx context.Context, configFile string, a *checkArgs, stdout, stderr io.Writer) int {
	exp, err := exporter.New(exporter.Options{
		ConfigFile: configFile,
		Logger:     slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelError + 4})),
		Thresholds: a.th,
	})
	if err != nil {
		fmt.Fprintf(stdout, "UNKNOWN - configuration %s is not valid: %s\n", configFile, oneLine(err.Error()))
		return pluginUnknown
	}
	results, problems, err := exp.Check(ctx, a.targets)
	if err != nil {
		fmt.Fprintf(stdout, "UNKNOWN - %s\n", oneLine(err.Error()))
		return pluginUnknown
	}
	code, line := pluginSummary(results, problems)
	fmt.Fprintf(stdout, "%s | %s\n", line, perfdata(results, problems))
	for _, p := range problems {
		fmt.Fprintln(stdout, problemLine(p))
	}
	for _, l := range restoreLines(results) {
		fmt.Fprintln(stdout, l)
	}
	return code
}

// restoreLines lists, after the problems, the last restore test of every
// guest that has one or must pass one, where the restores were read.
func restoreLines(results []*collector.Result) []string {
	var out []string
	for _, r := range results {
		d := r.PVE
		if d == nil || !r.Up || !d.RestoresKnown {
			continue
		}
		for i := range d.Guests {
			g := &d.Guests[i]
			lr := g.LastRestore
			if lr == nil && !g.RestoreTestRequired {
				continue
			}
			what := fmt.Sprintf("restore test: %s: guest %d", r.Target, g.VMID)
			if g.Name != "" {
				what += " (" + g.Name + ")"
			}
			if g.RestoreTestRequired {
				what += " [required]"
			}
			if lr == nil {
				out = append(out, oneLine(what+": none in the restore lookback"))
				continue
			}
			result := "ok"
			if !lr.Success {
				result = "failed (" + lr.Status + ")"
			}
			backup := "a backup of unknown date"
			if !lr.BackupTime.IsZero() {
				backup = "the backup of " + lr.BackupTime.UTC().Format("2006-01-02 15:04 UTC")
			}
			out = append(out, oneLine(fmt.Sprintf("%s: %s, ended %s: %s into %d on %s",
				what, result, lr.End.UTC().Format("2006-01-02 15:04 UTC"), backup, lr.TargetVMID, lr.Node)))
		}
	}
	return out
}

// pluginSummary is the exit code and the status line: the worst severity
// decides; info problems (opt-in checks) never do.
func pluginSummary(results []*collector.Result, problems []verdict.Problem) (int, string) {
	count := map[verdict.Severity]int{}
	for _, p := range problems {
		count[p.Severity]++
	}
	down := 0
	for _, r := range results {
		if !r.Up {
			down++
		}
	}
	code := pluginOK
	switch {
	case count[verdict.Critical] > 0:
		code = pluginCritical
	case count[verdict.Warning] > 0:
		code = pluginWarning
	}
	var parts []string
	if down > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d targets down", down, len(results)))
	}
	for _, s := range []verdict.Severity{verdict.Critical, verdict.Warning} {
		if n := count[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	summary := fmt.Sprintf("%d targets, no problems", len(results))
	if len(parts) > 0 {
		summary = strings.Join(parts, ", ")
	}
	if n := count[verdict.Info]; n > 0 {
		summary += fmt.Sprintf(" (%d info)", n)
	}
	return code, pluginStates[code] + " - " + summary
}

// perfdata is the plugin's performance data: counts, each with its
// critical threshold where one applies.
func perfdata(results []*collector.Result, problems []verdict.Problem) string {
	count := map[verdict.Severity]int{}
	for _, p := range problems {
		count[p.Severity]++
	}
	down, guests, groups := 0, 0, 0
	for _, r := range results {
		if !r.Up {
			down++
		}
		if r.PVE != nil {
			guests += len(r.PVE.Guests)
		}
		if r.PBS != nil {
			groups += len(r.PBS.Groups)
		}
	}
	n := len(results)
	return fmt.Sprintf("targets=%d;;;0 targets_down=%d;;0;0;%d critical=%d;;0;0 warning=%d;0;;0 info=%d;;;0 guests=%d;;;0 groups=%d;;;0",
		n, down, n, count[verdict.Critical], count[verdict.Warning], count[verdict.Info], guests, groups)
}

// problemLine names the target and the object, the guest or group by name.
func problemLine(p verdict.Problem) string {
	what := p.Object.Kind
	if p.Object.ID != "" {
		what += " " + p.Object.ID
	}
	if p.Object.Name != "" {
		what += " (" + p.Object.Name + ")"
	}
	title := p.Problem
	if r := verdict.RuleByID(p.Problem); r != nil {
		title = r.Title
	}
	return oneLine(fmt.Sprintf("[%s] %s: %s: %s: %s", strings.ToUpper(string(p.Severity)), p.Target, what, title, p.Text))
}

// oneLine keeps plugin output lines whole: no line breaks, and no "|",
// which starts the performance data.
func oneLine(s string) string {
	return strings.NewReplacer("\n", " ", "\r", " ", "|", "/").Replace(s)
}

package collector

import (
	"slices"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
)

// Namespace is the prefix of every metric a probe exports.
const Namespace = "proxmox_backup"

// family is what WriteMetrics needs to know of a metric besides its Desc.
type family struct {
	name, help string
	// section is the part of the result the metric comes from, so that
	// writing one family walks only that part.
	section string
	// labels are the variable label names in the order the emitter passes
	// their values; byName orders them by name, as the exposition does.
	labels []string
	byName []int
	names  []string
}

var families = map[*prometheus.Desc]*family{}

func newDesc(name, help string, labels ...string) *prometheus.Desc {
	d := prometheus.NewDesc(prometheus.BuildFQName(Namespace, "", name), help, labels, nil)
	section := "target"
	for _, prefix := range []string{"datastore_", "gc_", "group_", "job_", "guest_", "pve_job_", "storage_"} {
		if strings.HasPrefix(name, prefix) {
			section = prefix
			break
		}
	}
	f := &family{name: prometheus.BuildFQName(Namespace, "", name), help: help, section: section, labels: labels}
	f.byName = make([]int, len(labels))
	for i := range f.byName {
		f.byName[i] = i
	}
	slices.SortStableFunc(f.byName, func(a, b int) int { return strings.Compare(labels[a], labels[b]) })
	for _, i := range f.byName {
		f.names = append(f.names, labels[i])
	}
	families[d] = f
	return d
}

var (
	groupLabels = []string{"datastore", "namespace", "backup_type", "backup_id"}
	jobLabels   = []string{"job_type", "job_id", "datastore"}

	upDesc                = newDesc("up", "1 if the Proxmox API answered and accepted the token, 0 otherwise.")
	collectorSuccessDesc  = newDesc("collector_success", "1 if every API call of the collector succeeded in this probe, 0 otherwise.", "collector")
	collectorDurationDesc = newDesc("collector_duration_seconds", "Time the collector took in this probe.", "collector")
	targetInfoDesc        = newDesc("target_info", "The Proxmox product and version behind the target.", "product", "version", "release")
	offsiteInfoDesc       = newDesc("offsite_info", "The target of the exporter's configuration that holds copies of this PBS's backup groups, made by PBS sync (the target's offsite setting).", "offsite_target")
	missingPrivilegeDesc  = newDesc("token_missing_privilege", "1 for each privilege that an API call of the exporter needs and the token lacks on the path, from GET /access/permissions.", "path", "privilege")

	datastoreInfoDesc      = newDesc("datastore_info", "A PBS datastore's configuration.", "datastore", "comment", "mount_status", "backend_type")
	datastoreSizeDesc      = newDesc("datastore_size_bytes", "Total size of the PBS datastore's file system.", "datastore")
	datastoreUsedDesc      = newDesc("datastore_used_bytes", "Bytes used on the PBS datastore's file system.", "datastore")
	datastoreAvailDesc     = newDesc("datastore_available_bytes", "Bytes available on the PBS datastore's file system.", "datastore")
	datastoreFullEstimDesc = newDesc("datastore_estimated_full_timestamp_seconds", "When PBS predicts the datastore to be full, from its usage history; absent when PBS predicts no fill.", "datastore")

	gcLastRunDesc  = newDesc("gc_last_run_timestamp_seconds", "When the datastore's last scheduled garbage collection ended.", "datastore")
	gcSuccessDesc  = newDesc("gc_last_run_success", "1 if the datastore's last garbage collection succeeded, 0 if it failed.", "datastore")
	gcDurationDesc = newDesc("gc_last_run_duration_seconds", "How long the datastore's last garbage collection took.", "datastore")
	gcNextRunDesc  = newDesc("gc_next_run_timestamp_seconds", "When the datastore's next scheduled garbage collection starts.", "datastore")
	gcRemovedDesc  = newDesc("gc_removed_bytes", "Bytes the last garbage collection removed.", "datastore")
	gcPendingDesc  = newDesc("gc_pending_bytes", "Bytes the last garbage collection found unused but too recent to remove.", "datastore")
	gcDiskDesc     = newDesc("gc_disk_bytes", "Bytes of chunks on disk, as the last garbage collection counted them.", "datastore")

	groupSnapshotsDesc     = newDesc("group_snapshots", "Number of snapshots in the backup group, unfinished ones included.", groupLabels...)
	groupLastTimeDesc      = newDesc("group_last_backup_timestamp_seconds", "Time of the group's newest finished snapshot.", groupLabels...)
	groupLastAgeDesc       = newDesc("group_last_backup_age_seconds", "Age of the group's newest finished snapshot at probe time.", groupLabels...)
	groupLastSizeDesc      = newDesc("group_last_backup_size_bytes", "Size of the group's newest finished snapshot.", groupLabels...)
	groupLastVerifyDesc    = newDesc("group_last_backup_verify_state", "Verification state of the group's newest finished snapshot (1 for the current state).", append(groupLabels, "state")...)
	groupLastEncryptedDesc = newDesc("group_last_backup_encrypted", "1 if the group's newest finished snapshot is encrypted.", groupLabels...)
	groupLastProtectedDesc = newDesc("group_last_backup_protected", "1 if the group's newest finished snapshot is protected from pruning.", groupLabels...)
	groupLastVerifiedDesc  = newDesc("group_last_verify_timestamp_seconds", "When the last verification of the group's newest finished snapshot started.", groupLabels...)
	groupInfoDesc          = newDesc("group_info", "A backup group's owner and comment.", append(groupLabels, "owner", "comment")...)
	groupLastReadDesc      = newDesc("group_last_read_timestamp_seconds", "When the newest reader task (a restore, file restore or pull) of one of the group's snapshots within the restore lookback started; absent when PBS's reader tasks cannot tell the group's namespace.", groupLabels...)
	groupFutureDesc        = newDesc("group_future_snapshots", "Number of the group's finished snapshots dated more than the clock-skew allowance (10 minutes) after the probe time; they are never taken as the last backup.", groupLabels...)

	jobLastRunDesc = newDesc("job_last_run_timestamp_seconds", "When the job's last run ended.", jobLabels...)
	jobSuccessDesc = newDesc("job_last_run_success", "1 if the job's last run succeeded (with or without warnings), 0 if it failed.", jobLabels...)
	jobNextRunDesc = newDesc("job_next_run_timestamp_seconds", "When the job runs next.", jobLabels...)
	jobRunningDesc = newDesc("job_running", "1 while a run of the job is in progress.", jobLabels...)
	jobInfoDesc    = newDesc("job_info", "A PBS job's schedule and comment, and a sync job's direction (pull or push).", append(jobLabels, "schedule", "comment", "direction")...)
)

// verifyStates are the values of the verify_state stateset, in output order.
var verifyStates = []string{VerifyOK, VerifyFailed, VerifyNone}

// Metrics is a prometheus.Collector that writes out one probe's Result. It
// is built for one request and registered on that request's registry.
type Metrics struct {
	r *Result
}

// NewMetrics wraps a probe result.
func NewMetrics(r *Result) *Metrics { return &Metrics{r: r} }

// Describe implements prometheus.Collector. The metrics are unchecked: what
// a probe exports depends on what the target holds.
func (m *Metrics) Describe(chan<- *prometheus.Desc) {}

// Collect implements prometheus.Collector.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	e := &emitter{ch: ch}
	e.emit(m.r)
}

// emitter writes a result's metrics to a channel, or, when only is set,
// collects the metrics of that one family.
type emitter struct {
	ch   chan<- prometheus.Metric
	only *prometheus.Desc
	out  *familyBuf
}

// wants reports whether a section of the result is to be walked.
func (e *emitter) wants(section string) bool {
	return e.only == nil || families[e.only].section == section
}

func (e *emitter) gauge(d *prometheus.Desc, v float64, labels ...string) {
	if e.only != nil {
		if d == e.only {
			e.out.add(v, labels)
		}
		return
	}
	// The clone keeps labels from escaping, so that the emitter's callers'
	// label slices stay on the stack when WriteMetrics runs.
	e.ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, slices.Clone(labels)...)
}

func (e *emitter) emit(r *Result) {
	if e.wants("target") {
		e.gauge(upDesc, b2f(r.Up))
		for _, c := range r.Collectors {
			e.gauge(collectorSuccessDesc, b2f(c.Success), c.Name)
			e.gauge(collectorDurationDesc, c.Duration.Seconds(), c.Name)
		}
		if r.Info != nil {
			e.gauge(targetInfoDesc, 1, r.Product, r.Info.Version, r.Info.Release)
		}
		if r.Offsite != "" {
			e.gauge(offsiteInfoDesc, 1, r.Offsite)
		}
		for _, m := range r.Missing {
			e.gauge(missingPrivilegeDesc, 1, m.Path, m.Privilege)
		}
	}
	if r.PBS != nil {
		e.pbs(r)
	}
	if r.PVE != nil {
		e.pve(r)
	}
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func (e *emitter) pbs(r *Result) {
	d := r.PBS
	for _, ds := range d.Datastores {
		if !e.wants("datastore_") {
			break
		}
		e.gauge(datastoreInfoDesc, 1, ds.Name, ds.Comment, ds.MountStatus, ds.BackendType)
		if ds.HasUsage {
			e.gauge(datastoreSizeDesc, float64(ds.Total), ds.Name)
			e.gauge(datastoreUsedDesc, float64(ds.Used), ds.Name)
			e.gauge(datastoreAvailDesc, float64(ds.Avail), ds.Name)
		}
		if !ds.FullEstim.IsZero() {
			e.gauge(datastoreFullEstimDesc, float64(ds.FullEstim.Unix()), ds.Name)
		}
	}
	for _, gc := range d.GC {
		if !e.wants("gc_") {
			break
		}
		if !gc.LastRunEnd.IsZero() {
			e.gauge(gcLastRunDesc, float64(gc.LastRunEnd.Unix()), gc.Datastore)
		}
		if gc.LastRunState != "" {
			e.gauge(gcSuccessDesc, b2f(JobSucceeded(gc.LastRunState)), gc.Datastore)
		}
		if gc.Duration > 0 {
			e.gauge(gcDurationDesc, gc.Duration.Seconds(), gc.Datastore)
		}
		if !gc.NextRun.IsZero() {
			e.gauge(gcNextRunDesc, float64(gc.NextRun.Unix()), gc.Datastore)
		}
		if gc.HasCounts {
			e.gauge(gcRemovedDesc, float64(gc.RemovedBytes), gc.Datastore)
			e.gauge(gcPendingDesc, float64(gc.PendingBytes), gc.Datastore)
			e.gauge(gcDiskDesc, float64(gc.DiskBytes), gc.Datastore)
		}
	}
	for i := range d.Groups {
		if !e.wants("group_") {
			break
		}
		g := &d.Groups[i]
		// Room for the extra labels of the info and verify families, so
		// that appending them does not allocate.
		l := append(make([]string, 0, 6), g.Datastore, g.Namespace, g.BackupType, g.BackupID)
		e.gauge(groupInfoDesc, 1, append(l, g.Owner, g.Comment)...)
		e.gauge(groupSnapshotsDesc, float64(g.Snapshots), l...)
		e.gauge(groupFutureDesc, float64(g.FutureSnapshots), l...)
		if !g.LastRead.IsZero() {
			e.gauge(groupLastReadDesc, float64(g.LastRead.Unix()), l...)
		}
		if s := g.Last; s != nil {
			e.gauge(groupLastTimeDesc, float64(s.Time.Unix()), l...)
			e.gauge(groupLastAgeDesc, r.Now.Sub(s.Time).Seconds(), l...)
			e.gauge(groupLastSizeDesc, float64(s.Size), l...)
			for _, st := range verifyStates {
				e.gauge(groupLastVerifyDesc, b2f(s.Verify == st), append(l, st)...)
			}
			e.gauge(groupLastEncryptedDesc, b2f(s.Encrypted), l...)
			e.gauge(groupLastProtectedDesc, b2f(s.Protected), l...)
			if !s.VerifyTime.IsZero() {
				e.gauge(groupLastVerifiedDesc, float64(s.VerifyTime.Unix()), l...)
			}
		}
	}
	for _, j := range d.Jobs {
		if !e.wants("job_") {
			break
		}
		l := []string{j.Type, j.ID, j.Datastore}
		e.gauge(jobInfoDesc, 1, append(l, j.Schedule, j.Comment, j.Direction)...)
		if !j.LastRunEnd.IsZero() {
			e.gauge(jobLastRunDesc, float64(j.LastRunEnd.Unix()), l...)
		}
		if j.LastRunState != "" {
			e.gauge(jobSuccessDesc, b2f(JobSucceeded(j.LastRunState)), l...)
		}
		if !j.NextRun.IsZero() {
			e.gauge(jobNextRunDesc, float64(j.NextRun.Unix()), l...)
		}
		if !j.RunningUnknown {
			e.gauge(jobRunningDesc, b2f(j.Running), l...)
		}
	}
}

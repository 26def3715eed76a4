package collector

import (
	"strconv"
)

var (
	guestInfoDesc        = newDesc("guest_info", "A Proxmox VE guest's name, type, node, pool, tags and whether it is a template.", "vmid", "name", "guest_type", "node", "pool", "tags", "template")
	guestBackupsDesc     = newDesc("guest_backups", "Number of the guest's backups on all backup storages.", "vmid")
	guestFutureDesc      = newDesc("guest_future_backups", "Number of the guest's finished backups dated more than the clock-skew allowance (10 minutes) after the probe time; they are never taken as the last backup.", "vmid")
	guestLastTimeDesc    = newDesc("guest_last_backup_timestamp_seconds", "Time of the guest's newest finished backup.", "vmid")
	guestLastAgeDesc     = newDesc("guest_last_backup_age_seconds", "Age of the guest's newest finished backup at probe time.", "vmid")
	guestLastSizeDesc    = newDesc("guest_last_backup_size_bytes", "Size of the guest's newest finished backup.", "vmid")
	guestLastVerifyDesc  = newDesc("guest_last_backup_verify_state", "Verification state of the guest's newest finished backup (1 for the current state).", "vmid", "state")
	guestLastEncDesc     = newDesc("guest_last_backup_encrypted", "1 if the guest's newest finished backup is encrypted.", "vmid")
	guestLastProtDesc    = newDesc("guest_last_backup_protected", "1 if the guest's newest finished backup is protected from pruning.", "vmid")
	guestStorageLastDesc = newDesc("guest_storage_last_backup_timestamp_seconds", "Time of the guest's newest finished backup on each storage.", "vmid", "storage")
	guestRecentStorDesc  = newDesc("guest_recent_backup_storages", "Number of backup storages whose newest finished backup of the guest is younger than the target's recent_backup_window (default 48h); a copy that PBS sync makes on another server is not seen here.", "vmid")
	guestCoveredDesc     = newDesc("guest_covered", "1 if an enabled backup job selects the guest, 0 otherwise.", "vmid")
	guestDueDesc         = newDesc("guest_backup_due_timestamp_seconds", "The most recent time an enabled job selecting the guest was scheduled to start.", "vmid")
	guestAttemptTimeDesc = newDesc("guest_last_attempt_timestamp_seconds", "When the guest's newest finished backup attempt within the task lookback started.", "vmid")
	guestAttemptOKDesc   = newDesc("guest_last_attempt_success", "1 if the guest's newest finished backup attempt succeeded, 0 if it failed.", "vmid")
	guestAttemptDurDesc  = newDesc("guest_last_attempt_duration_seconds", "How long the guest's newest finished backup attempt took.", "vmid")
	guestRunningDesc     = newDesc("guest_backup_running", "1 while a backup task is working on the guest.", "vmid")

	guestRestoreReqDesc    = newDesc("guest_restore_test_required", "1 if the guest must pass restore tests (it carries the target's restore_test_tag, or the target sets restore_test_all), 0 otherwise.", "vmid")
	guestRestoreTimeDesc   = newDesc("guest_last_restore_timestamp_seconds", "When the newest finished restore of one of the guest's backups, within the restore lookback, ended.", "vmid")
	guestRestoreOKDesc     = newDesc("guest_last_restore_success", "1 if the newest finished restore of one of the guest's backups succeeded, 0 if it failed or was stopped.", "vmid")
	guestRestoreBackupDesc = newDesc("guest_last_restore_backup_timestamp_seconds", "When the backup that the guest's newest restore read was made.", "vmid")
	guestRestoreInfoDesc   = newDesc("guest_last_restore_info", "The guest and node that the newest restore of one of the guest's backups restored into, and the backup's storage (empty when the log does not name it).", "vmid", "restore_vmid", "restore_node", "storage")

	pveJobInfoDesc    = newDesc("pve_job_info", "A Proxmox VE backup job's schedule, storage, mode, guest selection and comment.", "job_id", "schedule", "storage", "mode", "selection", "comment")
	pveJobEnabledDesc = newDesc("pve_job_enabled", "1 if the backup job is enabled.", "job_id")
	pveJobNextDesc    = newDesc("pve_job_next_run_timestamp_seconds", "When the backup job runs next, as Proxmox VE computes it.", "job_id")
	pveJobSchedOKDesc = newDesc("pve_job_schedule_valid", "1 if the exporter can read the backup job's schedule, 0 if not (the job then gives its guests no due time).", "job_id")
	pveJobGuestsDesc  = newDesc("pve_job_guests", "Number of guests the backup job selects.", "job_id")
	pveJobLastDesc    = newDesc("pve_job_last_run_timestamp_seconds", "When the backup job's newest task ended.", "job_id")
	pveJobOKDesc      = newDesc("pve_job_last_run_success", "1 if the backup job's newest task succeeded for every guest.", "job_id")

	storageLabels        = []string{"storage", "node"}
	storageSizeDesc      = newDesc("storage_size_bytes", "Size of the backup storage (node is empty for shared storage).", storageLabels...)
	storageUsedDesc      = newDesc("storage_used_bytes", "Bytes used on the backup storage.", storageLabels...)
	storageAvailDesc     = newDesc("storage_available_bytes", "Bytes available on the backup storage.", storageLabels...)
	storageBackupsDesc   = newDesc("storage_backups", "Number of backups on the storage that the token can see.", storageLabels...)
	storageBackupBytDesc = newDesc("storage_backup_bytes", "Total size of the backups on the storage.", storageLabels...)
)

func (e *emitter) pve(r *Result) {
	d := r.PVE
	for i := range d.Guests {
		if !e.wants("guest_") {
			break
		}
		g := &d.Guests[i]
		id := strconv.Itoa(g.VMID)
		e.gauge(guestInfoDesc, 1, id, g.Name, g.Type, g.Node, g.Pool, g.Tags, boolLabel(g.Template))
		if d.BackupsKnown {
			e.gauge(guestBackupsDesc, float64(g.Backups), id)
			e.gauge(guestFutureDesc, float64(g.FutureBackups), id)
			e.gauge(guestRecentStorDesc, float64(g.RecentStorages), id)
		}
		if b := g.Last; b != nil {
			e.gauge(guestLastTimeDesc, float64(b.Time.Unix()), id)
			e.gauge(guestLastAgeDesc, r.Now.Sub(b.Time).Seconds(), id)
			if b.HasSize {
				e.gauge(guestLastSizeDesc, float64(b.Size), id)
			}
			for _, st := range verifyStates {
				e.gauge(guestLastVerifyDesc, b2f(b.Verify == st), id, st)
			}
			e.gauge(guestLastEncDesc, b2f(b.Encrypted), id)
			e.gauge(guestLastProtDesc, b2f(b.Protected), id)
		}
		for _, sb := range g.PerStorage {
			e.gauge(guestStorageLastDesc, float64(sb.Time.Unix()), id, sb.Storage)
		}
		if d.CoverageKnown {
			e.gauge(guestCoveredDesc, b2f(g.Covered), id)
			if !g.Due.IsZero() {
				e.gauge(guestDueDesc, float64(g.Due.Unix()), id)
			}
		}
		if d.AttemptsKnown {
			if a := g.LastAttempt; a != nil {
				e.gauge(guestAttemptTimeDesc, float64(a.Start.Unix()), id)
				e.gauge(guestAttemptOKDesc, b2f(a.Success), id)
				e.gauge(guestAttemptDurDesc, a.Duration.Seconds(), id)
			}
			e.gauge(guestRunningDesc, b2f(g.Running), id)
		}
	}
	for i := range d.Guests {
		if !e.wants("guest_") || !d.RestoresKnown {
			break
		}
		g := &d.Guests[i]
		e.gauge(guestRestoreReqDesc, b2f(g.RestoreTestRequired), strconv.Itoa(g.VMID))
	}
	for i := range d.Restores {
		if !e.wants("guest_") || !d.RestoresKnown {
			break
		}
		rs := &d.Restores[i]
		id := strconv.Itoa(rs.VMID)
		e.gauge(guestRestoreTimeDesc, float64(rs.End.Unix()), id)
		e.gauge(guestRestoreOKDesc, b2f(rs.Success), id)
		if !rs.BackupTime.IsZero() {
			e.gauge(guestRestoreBackupDesc, float64(rs.BackupTime.Unix()), id)
		}
		e.gauge(guestRestoreInfoDesc, 1, id, strconv.Itoa(rs.TargetVMID), rs.Node, rs.Storage)
	}
	for i := range d.Jobs {
		if !e.wants("pve_job_") {
			break
		}
		j := &d.Jobs[i]
		e.gauge(pveJobInfoDesc, 1, j.ID, j.Schedule, j.Storage, j.Mode, j.Selection, j.Comment)
		e.gauge(pveJobEnabledDesc, b2f(j.Enabled), j.ID)
		e.gauge(pveJobSchedOKDesc, b2f(j.ScheduleValid), j.ID)
		if !j.NextRun.IsZero() {
			e.gauge(pveJobNextDesc, float64(j.NextRun.Unix()), j.ID)
		}
		if d.GuestsKnown {
			e.gauge(pveJobGuestsDesc, float64(j.Guests), j.ID)
		}
		if j.LastRunSuccess != nil {
			e.gauge(pveJobLastDesc, float64(j.LastRun.Unix()), j.ID)
			e.gauge(pveJobOKDesc, b2f(*j.LastRunSuccess), j.ID)
		}
	}
	for i := range d.Storages {
		if !e.wants("storage_") {
			break
		}
		s := &d.Storages[i]
		if s.HasUsage {
			e.gauge(storageSizeDesc, float64(s.Total), s.Name, s.Node)
			e.gauge(storageUsedDesc, float64(s.Used), s.Name, s.Node)
			e.gauge(storageAvailDesc, float64(s.Avail), s.Name, s.Node)
		}
		if s.Listed {
			e.gauge(storageBackupsDesc, float64(s.Backups), s.Name, s.Node)
			e.gauge(storageBackupBytDesc, float64(s.BackupBytes), s.Name, s.Node)
		}
	}
}

func boolLabel(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

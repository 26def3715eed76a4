package collector

import (
	"fmt"
	"time"

	"proxmox_backup_exporter/proxmox"
)

// ClockSkewAllowance is how far after the probe time a backup may be dated
// and still count as the latest backup: the clocks of Proxmox hosts and of
// the exporter are rarely in perfect agreement. A backup dated later than
// that is a problem of its own (a host clock set wrong, or a forged
// snapshot): it is counted as dated in the future and never taken as the
// last backup, so that it cannot hide the age of the real one.
const ClockSkewAllowance = 10 * time.Minute

// datedInFuture reports whether t is beyond the clock-skew allowance after
// now. A zero now (a test without a clock) sees no future.
func datedInFuture(t, now time.Time) bool {
	return !now.IsZero() && t.After(now.Add(ClockSkewAllowance))
}

// rejectedDates counts the items of one listing whose date is outside the
// range a server can mean (proxmox.Timestamp), for one warning per listing
// rather than one per item.
type rejectedDates struct {
	n       int
	example int64
}

func (r *rejectedDates) add(secs int64) {
	if r.n == 0 {
		r.example = secs
	}
	r.n++
}

// warn logs the rejected items of a listing, if any.
func (r *rejectedDates) warn(p *prober, endpoint, what string) {
	if r.n == 0 {
		return
	}
	p.logger.Warn("Ignored "+what+" dated outside the years 1970 to 9999", "endpoint", endpoint, "count", r.n, "example_unix_seconds", r.example)
}

// maxKept bounds the entries a collector keeps from one listing; tests
// lower it.
var maxKept = proxmox.MaxElements

// tooMany fails a listing that would keep more than maxKept entries; n is
// the number kept so far, what names them.
func tooMany(n int, what string) error {
	if n >= maxKept {
		return fmt.Errorf("the listing has more than %d %s, the bound on elements kept from one response", maxKept, what)
	}
	return nil
}

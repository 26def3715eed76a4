package calendar

import (
	"time"
)

// wall is a broken-down time, as the C struct tm: fields may be out of
// range until mktime normalizes them.
type wall struct {
	year, mon, mday, hour, min, sec int // mon 1..12
	wday                            int // 0 = Sunday
}

// clock converts between instants and wall times in one zone with the
// C library's rules. guess is glibc's static mktime offset (the
// localtime_offset of mktime.c): the first probe of the next mktime call.
type clock struct {
	loc   *time.Location
	utc   bool
	guess int64
}

func (c *clock) local(t int64) (wall, int64, bool) {
	tt := time.Unix(t, 0).In(c.loc)
	_, off := tt.Zone()
	y, m, d := tt.Date()
	h, mi, s := tt.Clock()
	return wall{y, int(m), d, h, mi, s, int(tt.Weekday())}, int64(off), tt.IsDST()
}

// naive counts a wall time's seconds as if it were UTC, carrying
// out-of-range fields linearly as mktime does.
func naive(w wall, sec int) int64 {
	return time.Date(w.year, time.Month(w.mon), w.mday, w.hour, w.min, sec, 0, time.UTC).Unix()
}

// mktime mirrors glibc's mktime with tm_isdst = -1 (mktime.c,
// __mktime_internal), or timegm for a UTC event, and returns the instant
// and the normalized wall time. glibc probes with the offset of its
// previous call; a wall time inside a spring-forward gap makes the probes
// oscillate between the two offsets, and glibc then takes the probe on the
// daylight-saving side, which moves the wall time forward by the gap. A
// repeated wall time resolves to whichever offset the first probe (the
// previous call's offset) confirms. Seconds are clamped to 0..59 for the
// probing and the rest is added afterwards, as glibc does for leap
// seconds.
func (c *clock) mktime(w wall) (int64, wall, bool) {
	if c.utc {
		t := naive(w, w.sec)
		n, _, _ := c.local(t)
		return t, n, true
	}
	sec := min(max(w.sec, 0), 59)
	want := naive(w, sec)
	t0 := want + c.guess
	t, t1, t2 := t0, t0, t0
	dst2 := false
	for probes := 6; ; {
		_, off, dst := c.local(t)
		dt := want - (t + off)
		if dt == 0 {
			break
		}
		if t == t1 && t != t2 && (!dst2 || dst) {
			break // oscillating around a gap
		}
		probes--
		if probes == 0 {
			return 0, wall{}, false
		}
		t1, t2, t, dst2 = t2, t, t+dt, dst
	}
	c.guess = t - want
	t += int64(w.sec - sec)
	n, _, _ := c.local(t)
	return t, n, true
}

// editor is proxmox-time's TmEditor (tm_editor.rs): every change is
// normalized through mktime at once.
type editor struct {
	c  *clock
	w  wall
	ok bool
}

func (ed *editor) normalize() {
	if !ed.ok {
		return
	}
	_, ed.w, ed.ok = ed.c.mktime(ed.w)
}

func (ed *editor) addYears(n int) {
	ed.w.mon, ed.w.mday, ed.w.hour, ed.w.min, ed.w.sec = 1, 1, 0, 0, 0
	ed.w.year += n
	ed.normalize()
}

func (ed *editor) addMonths(n int) {
	ed.w.mday, ed.w.hour, ed.w.min, ed.w.sec = 1, 0, 0, 0
	ed.w.mon += n
	ed.normalize()
}

func (ed *editor) addDays(n int) {
	ed.w.hour, ed.w.min, ed.w.sec = 0, 0, 0
	ed.w.mday += n
	ed.normalize()
}

func (ed *editor) setTime(h, m, s int) {
	ed.w.hour, ed.w.min, ed.w.sec = h, m, s
	ed.normalize()
}

func (ed *editor) setMinSec(m, s int) {
	ed.w.min, ed.w.sec = m, s
	ed.normalize()
}

func (ed *editor) setSec(s int) {
	ed.w.sec = s
	ed.normalize()
}

// maxSteps is compute_next_event's bound on its search loop.
const maxSteps = 1000

func (e *Event) clock(loc *time.Location) *clock {
	if e.utc {
		return &clock{loc: time.UTC, utc: true}
	}
	return &clock{loc: loc}
}

// next is proxmox-time's CalendarEvent::compute_next_event
// (calendar_event.rs): the first scheduled start after last, in Unix
// seconds. The mktime state it starts from is the offset in force just
// after last, which is what the PVE scheduler carries over from its
// previous computation when a job runs on time.
func (e *Event) next(last int64, loc *time.Location) (int64, bool) {
	c := e.clock(loc)
	last++
	w, off, _ := c.local(last)
	c.guess = -off
	ed := &editor{c: c, w: w, ok: true}
	allDays := e.days == 0 || e.days == 0x7f
	for count := 0; count <= maxSteps; count++ {
		if !ed.ok {
			return 0, false
		}
		w := ed.w
		if len(e.year) > 0 && !e.year.has(uint32(w.year)) {
			n, ok := e.year.after(uint32(w.year))
			if !ok {
				return 0, false
			}
			ed.addYears(int(n) - w.year)
			continue
		}
		if len(e.month) > 0 && !e.month.has(uint32(w.mon)) {
			if n, ok := e.month.after(uint32(w.mon)); ok {
				ed.addMonths(int(n) - w.mon)
			} else {
				ed.addYears(1)
			}
			continue
		}
		if len(e.day) > 0 && !e.day.has(uint32(w.mday)) {
			if n, ok := e.day.after(uint32(w.mday)); ok {
				ed.addDays(int(n) - w.mday)
			} else {
				ed.addMonths(1)
			}
			continue
		}
		if !allDays {
			num := (w.wday + 6) % 7 // Monday = 0
			if e.days&(1<<num) == 0 {
				n := num + 1
				for n < 7 && e.days&(1<<n) == 0 {
					n++
				}
				ed.addDays(n - num) // n = 7: next Monday
				continue
			}
		}
		if len(e.hour) > 0 && !e.hour.has(uint32(w.hour)) {
			if n, ok := e.hour.after(uint32(w.hour)); ok {
				ed.setTime(int(n), 0, 0)
			} else {
				ed.addDays(1)
			}
			continue
		}
		if len(e.min) > 0 && !e.min.has(uint32(w.min)) {
			if n, ok := e.min.after(uint32(w.min)); ok {
				ed.setMinSec(int(n), 0)
			} else {
				ed.setTime(w.hour+1, 0, 0)
			}
			continue
		}
		if len(e.sec) > 0 && !e.sec.has(uint32(w.sec)) {
			if n, ok := e.sec.after(uint32(w.sec)); ok {
				ed.setSec(int(n))
			} else {
				ed.setMinSec(w.min+1, 0)
			}
			continue
		}
		t, _, ok := c.mktime(ed.w)
		return t, ok
	}
	return 0, false
}

// searchDays bounds the search for a scheduled start: about ten years. A
// job whose only start is older than that has none.
const searchDays = 3700

// instants are the instants whose wall time in the zone is w (naive
// seconds): none in a spring-forward gap, two in a fall-back overlap.
func (c *clock) instants(w int64, out []int64) []int64 {
	out = out[:0]
	if c.utc {
		return append(out, w)
	}
	for _, probe := range [...]int64{w - 86400, w + 86400} {
		_, off, _ := c.local(probe)
		x := w - off
		if _, o, _ := c.local(x); o == off && (len(out) == 0 || out[0] != x) {
			out = append(out, x)
		}
	}
	return out
}

// walkBack calls yield with every instant at or before at whose wall time
// matches the event's fields, going back day by day, until yield returns
// false or the search ends.
func (e *Event) walkBack(c *clock, at int64, yield func(int64) bool) {
	w, _, _ := c.local(at)
	day := time.Date(w.year, time.Month(w.mon), w.mday, 0, 0, 0, 0, time.UTC)
	var buf []int64
	allDays := e.days == 0 || e.days == 0x7f
	// On the first day, wall times more than two hours after at's (more
	// than any clock change in use moves) cannot be at or before it.
	limit := w.hour*3600 + w.min*60 + w.sec + 2*3600
	for i := 0; i < searchDays; i++ {
		if i == 1 {
			limit = 86400
		}
		y, m, d := day.Date()
		if (len(e.year) == 0 || e.year.has(uint32(y))) && (len(e.month) == 0 || e.month.has(uint32(m))) &&
			(len(e.day) == 0 || e.day.has(uint32(d))) && (allDays || e.days&(1<<((int(day.Weekday())+6)%7)) != 0) {
			base := day.Unix()
			for h := 23; h >= 0; h-- {
				if h*3600 > limit || len(e.hour) > 0 && !e.hour.has(uint32(h)) {
					continue
				}
				for mi := 59; mi >= 0; mi-- {
					if h*3600+mi*60 > limit || len(e.min) > 0 && !e.min.has(uint32(mi)) {
						continue
					}
					for s := 59; s >= 0; s-- {
						if h*3600+mi*60+s > limit || len(e.sec) > 0 && !e.sec.has(uint32(s)) {
							continue
						}
						buf = c.instants(base+int64(h*3600+mi*60+s), buf)
						for _, x := range buf {
							if x <= at && !yield(x) {
								return
							}
						}
					}
				}
			}
		}
		day = day.AddDate(0, 0, -1)
	}
}

// Prev returns the latest scheduled start at or before at, evaluated in
// at's location (in UTC for an event with a trailing UTC), and reports
// false when there is none within about ten years.
//
// The scheduled starts are the chain of compute_next_event results the PVE
// scheduler follows from one run to the next. That chain skips wall times a
// spring-forward change removes, the second pass of a wall time repeated
// by a fall-back change (the search reaches it only after the first pass,
// and stepping past minute 59 of that pass lands after the repeated
// interval), and, for some events, values a repetition carries past the
// end of its unit (see carries). Without such carries the starts are the
// matching wall times minus those two DST cases; with them Prev follows the
// chain forward from an anchor two carrying units back (see prevByChain).
// A start whose search would need more than compute_next_event's 1000 steps
// is not one PVE ever reaches; Prev only meets that for events that almost
// never match.
func (e *Event) Prev(at time.Time) (time.Time, bool) {
	loc := at.Location()
	if e.utc {
		loc = time.UTC
	}
	c := e.clock(loc)
	t := at.Unix()
	if e.carrySpan > 0 {
		return e.prevByChain(c, t)
	}
	var buf []int64
	best, found := int64(0), false
	e.walkBack(c, t, func(x int64) bool {
		if c.secondPass(x, &buf) {
			return true
		}
		best, found = x, true
		return false
	})
	if !found {
		return time.Time{}, false
	}
	return time.Unix(best, 0).In(loc), true
}

// secondPass reports whether x is the later of two instants with the same
// wall time.
func (c *clock) secondPass(x int64, buf *[]int64) bool {
	if c.utc {
		return false
	}
	w, _, _ := c.local(x)
	*buf = c.instants(naive(w, w.sec), *buf)
	for _, y := range *buf {
		if y < x {
			return true
		}
	}
	return false
}

// prevByChain follows compute_next_event forward from an anchor: the
// earliest of the four latest matching instants and the latest one at least
// carrySpan back. Chains from any two anchors meet at the first unit (hour,
// day, month or year) both enter after the anchor's, so starting two units
// back (and at least a day, for DST changes) gives the scheduler's chain.
func (e *Event) prevByChain(c *clock, t int64) (time.Time, bool) {
	const (
		minMatches = 4
		maxMatches = 40000
	)
	budget := maxMatches // compute_next_event calls, so odd events stay cheap
	first := max(e.carrySpan, 26*3600)
	for span := first; span <= 4*first && budget > 0; span *= 4 {
		anchor, n := int64(0), 0
		e.walkBack(c, t, func(x int64) bool {
			if n == 0 || x < anchor {
				anchor = x
			}
			n++
			return n < maxMatches && (n < minMatches || x > t-span)
		})
		if n == 0 {
			return time.Time{}, false
		}
		best, found := int64(0), false
		s, ok := e.next(anchor-1, c.loc)
		for steps := 0; ok && s <= t && steps <= n+2 && budget > 0; steps++ {
			budget--
			best, found = s, true
			n, more := e.next(s, c.loc)
			// glibc can send a carried second (set_sec(60)) back into
			// the first pass of a repeated hour; the chain ends there.
			s, ok = n, more && n > s
		}
		if found {
			return time.Unix(best, 0).In(c.loc), true
		}
		if n < maxMatches && anchor > t-span {
			return time.Time{}, false // the search reached its end
		}
	}
	return time.Time{}, false
}

// carries reports whether compute_next_event can skip a matching wall
// time of the event without a DST change: find_next names a value past the
// end of its unit (minute 63, hour 25, "February 30", month 16), mktime
// carries it into the next unit, and a value of that unit below the landing
// point is never tried ("*:0/7" never runs at :00, "*-*-1,15,30" skips 1
// March). It returns how far back Prev anchors the chain for such an
// event: two of the largest units that carries, and at least a day; 0 if
// nothing carries.
func (e *Event) carries() int64 {
	lands := func(f field, lo, end uint32) bool { // values lo..end-1
		if len(f) == 0 {
			return false
		}
		first, ok := uint32(0), false
		for v := lo; v < end; v++ {
			if f.has(v) {
				first, ok = v, true
				break
			}
		}
		if !ok {
			return false
		}
		for v := lo; v < end; v++ {
			if n, ok := f.after(v); ok && n >= end && lo+(n-end) > first {
				return true
			}
		}
		return false
	}
	const day = 86400
	switch {
	case lands(e.month, 1, 13):
		return 2*366*day + 32*day
	case dayCarries(e.day, lands):
		return 2*31*day + 2*day
	case lands(e.hour, 0, 24):
		return 3 * day
	case lands(e.min, 0, 60) || lands(e.sec, 0, 60):
		return day + 2*3600
	}
	return 0
}

func dayCarries(f field, lands func(field, uint32, uint32) bool) bool {
	for length := uint32(28); length <= 31; length++ {
		if lands(f, 1, length+1) {
			return true
		}
	}
	return false
}

// Package calendar reads Proxmox calendar events, the schedule format of
// PVE backup jobs and PBS jobs, and finds their occurrences in a time zone.
//
// The format is [WEEKDAY] [[YEARS-]MONTHS-DAYS] [HOURS:MINUTES[:SECONDS]].
// Every part is optional (but not all of them). A weekday part is a list of
// days and day ranges (mon,wed..fri). Each number field is "*", a value, a
// list, a range a..b, or a repetition start/step or a..b/step. Omitted time
// fields are 0; omitted date fields match every date. The named events are
// minutely, hourly, daily, weekly, monthly, yearly (annually), quarterly and
// semiannually (semi-annually). A trailing "UTC" evaluates the event in UTC
// instead of the given time zone.
package calendar

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Event is a parsed calendar event.
type Event struct {
	text     string
	utc      bool   // a trailing "UTC": evaluated in UTC, not the node's zone
	weekdays uint8  // bit per time.Weekday; 0 = every day
	years    []int  // nil = every year
	months   uint16 // bits 1..12
	days     uint32 // bits 1..31
	hours    uint32 // bits 0..23
	minutes  uint64 // bits 0..59
	seconds  uint64 // bits 0..59
}

var named = map[string]string{
	"minutely":      "*-*-* *:*:00",
	"hourly":        "*-*-* *:00:00",
	"daily":         "*-*-* 00:00:00",
	"weekly":        "mon *-*-* 00:00:00",
	"monthly":       "*-*-01 00:00:00",
	"yearly":        "*-01-01 00:00:00",
	"annually":      "*-01-01 00:00:00",
	"quarterly":     "*-01,04,07,10-01 00:00:00",
	"semiannually":  "*-01,07-01 00:00:00",
	"semi-annually": "*-01,07-01 00:00:00",
}

var weekdayNames = []struct {
	short, long string
	day         time.Weekday
}{
	{"mon", "monday", time.Monday}, {"tue", "tuesday", time.Tuesday}, {"wed", "wednesday", time.Wednesday},
	{"thu", "thursday", time.Thursday}, {"fri", "friday", time.Friday}, {"sat", "saturday", time.Saturday},
	{"sun", "sunday", time.Sunday},
}

// Parse reads a calendar event.
func Parse(s string) (*Event, error) {
	text := strings.TrimSpace(s)
	if text == "" {
		return nil, fmt.Errorf("calendar event %q: empty", s)
	}
	if len(text) > 256 {
		return nil, fmt.Errorf("calendar event %q: too long", s[:32]+"...")
	}
	spec := strings.ToLower(text)
	if exp, ok := named[spec]; ok {
		spec = exp
	}
	if spec == "*" {
		spec = "*:*" // every minute
	}
	e := &Event{text: text}
	fields := strings.Fields(spec)
	// proxmox-time accepts a trailing UTC to evaluate the event in UTC.
	if n := len(fields); n > 1 && fields[n-1] == "utc" {
		e.utc, fields = true, fields[:n-1]
	}
	i := 0
	if i < len(fields) && startsWithLetter(fields[i]) {
		days, err := parseWeekdays(fields[i])
		if err != nil {
			return nil, fmt.Errorf("calendar event %q: %v", s, err)
		}
		e.weekdays = days
		i++
	}
	var date, clock string
	for ; i < len(fields); i++ {
		f := fields[i]
		switch {
		case strings.Contains(f, ":") && clock == "":
			clock = f
		case strings.Contains(f, "-") && !strings.Contains(f, ":") && date == "" && clock == "":
			date = f
		default:
			return nil, fmt.Errorf("calendar event %q: unexpected %q", s, f)
		}
	}
	if e.weekdays == 0 && date == "" && clock == "" {
		return nil, fmt.Errorf("calendar event %q: nothing to schedule", s)
	}
	if err := e.parseDate(date); err != nil {
		return nil, fmt.Errorf("calendar event %q: date %q: %v", s, date, err)
	}
	if err := e.parseClock(clock); err != nil {
		return nil, fmt.Errorf("calendar event %q: time %q: %v", s, clock, err)
	}
	return e, nil
}

func startsWithLetter(s string) bool {
	return s != "" && s[0] >= 'a' && s[0] <= 'z'
}

func parseWeekday(s string) (time.Weekday, error) {
	for _, w := range weekdayNames {
		if s == w.short || s == w.long {
			return w.day, nil
		}
	}
	return 0, fmt.Errorf("%q is not a weekday", s)
}

// parseWeekdays reads "mon,wed..fri". A range runs Monday to Sunday.
func parseWeekdays(s string) (uint8, error) {
	var bits uint8
	for _, part := range strings.Split(s, ",") {
		from, to, isRange := strings.Cut(part, "..")
		a, err := parseWeekday(from)
		if err != nil {
			return 0, err
		}
		if !isRange {
			bits |= 1 << a
			continue
		}
		b, err := parseWeekday(to)
		if err != nil {
			return 0, err
		}
		ai, bi := (int(a)+6)%7, (int(b)+6)%7 // Monday = 0
		if bi < ai {
			return 0, fmt.Errorf("weekday range %q runs backwards", part)
		}
		for d := ai; d <= bi; d++ {
			bits |= 1 << ((d + 1) % 7)
		}
	}
	return bits, nil
}

func (e *Event) parseDate(s string) error {
	e.months, e.days = mask16(1, 12), mask32(1, 31)
	if s == "" {
		return nil
	}
	parts := strings.Split(s, "-")
	switch len(parts) {
	case 2:
		parts = append([]string{"*"}, parts...)
	case 3:
	default:
		return fmt.Errorf("want [YEARS-]MONTHS-DAYS")
	}
	if parts[0] != "*" {
		years, err := values(parts[0], 1970, 9999)
		if err != nil {
			return fmt.Errorf("years: %v", err)
		}
		e.years = years
	}
	months, err := values(parts[1], 1, 12)
	if err != nil {
		return fmt.Errorf("months: %v", err)
	}
	days, err := values(parts[2], 1, 31)
	if err != nil {
		return fmt.Errorf("days: %v", err)
	}
	e.months, e.days = 0, 0
	for _, m := range months {
		e.months |= 1 << m
	}
	for _, d := range days {
		e.days |= 1 << d
	}
	return nil
}

func (e *Event) parseClock(s string) error {
	e.hours, e.minutes, e.seconds = 1, 1, 1 // 00:00:00
	if s == "" {
		return nil
	}
	parts := strings.Split(s, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return fmt.Errorf("want HOURS:MINUTES[:SECONDS]")
	}
	limits := []int{23, 59, 59}
	masks := make([]uint64, 3)
	masks[2] = 1
	for i, p := range parts {
		vals, err := values(p, 0, limits[i])
		if err != nil {
			return fmt.Errorf("%s: %v", []string{"hours", "minutes", "seconds"}[i], err)
		}
		masks[i] = 0
		for _, v := range vals {
			masks[i] |= 1 << v
		}
	}
	e.hours, e.minutes, e.seconds = uint32(masks[0]), masks[1], masks[2]
	return nil
}

// values expands one number field: "*", "5", "1,15", "8..17", "0/15",
// "*/15", "8..17/2", and lists of these.
func values(s string, lo, hi int) ([]int, error) {
	if s == "" {
		return nil, fmt.Errorf("empty field")
	}
	seen := map[int]bool{}
	var out []int
	add := func(v int) {
		if !seen[v] {
			seen[v] = true
			out = append(out, v)
		}
	}
	for _, part := range strings.Split(s, ",") {
		base, stepText, hasStep := strings.Cut(part, "/")
		step := 1
		if hasStep {
			n, err := strconv.Atoi(stepText)
			if err != nil || n < 1 {
				return nil, fmt.Errorf("bad repetition %q", part)
			}
			step = n
		}
		from, to := lo, hi
		switch {
		case base == "*":
		case strings.Contains(base, ".."):
			a, b, _ := strings.Cut(base, "..")
			var err1, err2 error
			from, err1 = number(a, lo, hi)
			to, err2 = number(b, lo, hi)
			if err1 != nil || err2 != nil {
				return nil, fmt.Errorf("bad range %q (values %d..%d)", base, lo, hi)
			}
			if to < from {
				return nil, fmt.Errorf("range %q runs backwards", base)
			}
		default:
			v, err := number(base, lo, hi)
			if err != nil {
				return nil, err
			}
			from = v
			if !hasStep {
				to = v
			}
		}
		for v := from; v <= to; v += step {
			add(v)
		}
	}
	return out, nil
}

func number(s string, lo, hi int) (int, error) {
	v, err := strconv.Atoi(s)
	if err != nil || len(s) > 4 {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d is out of range %d..%d", v, lo, hi)
	}
	return v, nil
}

func mask16(lo, hi int) uint16 {
	var m uint16
	for v := lo; v <= hi; v++ {
		m |= 1 << v
	}
	return m
}

func mask32(lo, hi int) uint32 {
	var m uint32
	for v := lo; v <= hi; v++ {
		m |= 1 << v
	}
	return m
}

// String returns the text the event was parsed from.
func (e *Event) String() string { return e.text }

// searchDays bounds the search for an occurrence: about ten years. A job
// whose only run is older than that has no previous occurrence.
const searchDays = 3700

func (e *Event) matchesDay(y int, m time.Month, d int, wd time.Weekday) bool {
	if e.weekdays != 0 && e.weekdays&(1<<wd) == 0 {
		return false
	}
	if e.months&(1<<m) == 0 || e.days&(1<<d) == 0 {
		return false
	}
	if e.years != nil {
		for _, yy := range e.years {
			if yy == y {
				return true
			}
		}
		return false
	}
	return true
}

// lastTimeOfDay is the latest second of the day's schedule at or before
// h:m:s, as seconds since midnight, or -1.
func (e *Event) lastTimeOfDay(h, m, s int) int {
	for hh := h; hh >= 0; hh-- {
		if e.hours&(1<<hh) == 0 {
			continue
		}
		mm := 59
		if hh == h {
			mm = m
		}
		for ; mm >= 0; mm-- {
			if e.minutes&(1<<mm) == 0 {
				continue
			}
			ss := 59
			if hh == h && mm == m {
				ss = s
			}
			for ; ss >= 0; ss-- {
				if e.seconds&(1<<ss) != 0 {
					return hh*3600 + mm*60 + ss
				}
			}
		}
	}
	return -1
}

// firstTimeOfDay is the earliest second of the day's schedule at or after
// h:m:s, or -1.
func (e *Event) firstTimeOfDay(h, m, s int) int {
	for hh := h; hh < 24; hh++ {
		if e.hours&(1<<hh) == 0 {
			continue
		}
		mm := 0
		if hh == h {
			mm = m
		}
		for ; mm < 60; mm++ {
			if e.minutes&(1<<mm) == 0 {
				continue
			}
			ss := 0
			if hh == h && mm == m {
				ss = s
			}
			for ; ss < 60; ss++ {
				if e.seconds&(1<<ss) != 0 {
					return hh*3600 + mm*60 + ss
				}
			}
		}
	}
	return -1
}

func wall(y int, m time.Month, d, secs int, loc *time.Location) time.Time {
	return time.Date(y, m, d, secs/3600, secs/60%60, secs%60, 0, loc)
}

// Prev returns the latest occurrence at or before at, in at's location. A
// wall time that the location skips (a DST change) is taken as the instant
// Go normalizes it to. It reports false when there is none within about
// ten years.
func (e *Event) Prev(at time.Time) (time.Time, bool) {
	if e.utc {
		at = at.UTC()
	}
	loc := at.Location()
	day := time.Date(at.Year(), at.Month(), at.Day(), 0, 0, 0, 0, loc)
	h, m, s := at.Clock()
	for i := 0; i < searchDays; i++ {
		y, mo, d := day.Date()
		if e.matchesDay(y, mo, d, day.Weekday()) {
			lh, lm, ls := 23, 59, 59
			if i == 0 {
				lh, lm, ls = h, m, s
			}
			for secs := e.lastTimeOfDay(lh, lm, ls); secs >= 0; secs = e.lastTimeOfDay(secs/3600, secs/60%60, secs%60-1) {
				if t := wall(y, mo, d, secs, loc); !t.After(at) {
					return t, true
				}
				if secs%60 == 0 && secs == 0 {
					break
				}
			}
		}
		day = time.Date(y, mo, d-1, 0, 0, 0, 0, loc)
	}
	return time.Time{}, false
}

// Next returns the first occurrence strictly after after, in its location.
func (e *Event) Next(after time.Time) (time.Time, bool) {
	if e.utc {
		after = after.UTC()
	}
	loc := after.Location()
	start := after.Add(time.Second).Truncate(time.Second)
	if start.Before(after) {
		start = start.Add(time.Second)
	}
	day := time.Date(start.Year(), start.Month(), start.Day(), 0, 0, 0, 0, loc)
	h, m, s := start.In(loc).Clock()
	for i := 0; i < searchDays; i++ {
		y, mo, d := day.Date()
		if e.matchesDay(y, mo, d, day.Weekday()) {
			fh, fm, fs := 0, 0, 0
			if i == 0 {
				fh, fm, fs = h, m, s
			}
			for secs := e.firstTimeOfDay(fh, fm, fs); secs >= 0; secs = e.nextAfter(secs) {
				if t := wall(y, mo, d, secs, loc); t.After(after) {
					return t, true
				}
			}
		}
		day = time.Date(y, mo, d+1, 0, 0, 0, 0, loc)
	}
	return time.Time{}, false
}

func (e *Event) nextAfter(secs int) int {
	secs++
	if secs >= 86400 {
		return -1
	}
	return e.firstTimeOfDay(secs/3600, secs/60%60, secs%60)
}

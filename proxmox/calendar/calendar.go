// Package calendar reads Proxmox calendar events, the schedule format of
// PVE backup jobs, and finds their scheduled starts the way the PVE
// scheduler does.
//
// The grammar is the one of proxmox-time's CalendarEvent parser
// (calendar_event.rs, parse_calendar_event_incomplete), which PVE uses
// after trimming the text (pve-common, PVE::CalendarEvent):
//
//	[WEEKDAYS] [[YEARS-]MONTHS-DAYS] [[HOURS:]MINUTES[:SECONDS]] [UTC]
//
// or one of the named events minutely, hourly, daily, weekly, monthly,
// yearly, annually, quarterly, semiannually and semi-annually (lower case
// only). Weekdays are case-insensitive names and ranges, and a range may
// wrap (sat..mon). Each number field is "*", "*/STEP", or a comma list of
// values, ranges a..b and repetitions v/STEP or a..b/STEP. A minute alone
// ("0", "*/30") means that minute of every hour.
//
// The scheduled starts are what proxmox-time's compute_next_event yields
// step by step; that function walks the wall clock with C library mktime
// (glibc, tm_isdst = -1), which this package reproduces with Go's zone
// data, including how glibc resolves a skipped or repeated wall time.
package calendar

import (
	"fmt"
	"strings"
)

// item is one element of a number field: a value, a range or a
// repetition, as proxmox-time's DateTimeValue.
type item struct {
	start, end uint32 // end is the range end, or for a repetition its end
	step       uint32 // 0 for a value or range
	ranged     bool   // a..b or a..b/step
	repeat     bool
}

// field is a list of items; an empty field matches every value.
type field []item

func (it item) has(v uint32) bool {
	switch {
	case it.repeat:
		if v < it.start {
			return false
		}
		if it.step == 0 {
			return v == it.start
		}
		return (v-it.start)%it.step == 0 && (!it.ranged || v <= it.end)
	case it.ranged:
		return v >= it.start && v <= it.end
	default:
		return v == it.start
	}
}

func (f field) has(v uint32) bool {
	for _, it := range f {
		if it.has(v) {
			return true
		}
	}
	return false
}

// after is the smallest value the field names above v, with the same
// arithmetic as proxmox-time's DateTimeValue::find_next: a repetition
// without an end may name a value past the unit (minute 60, hour 25), which
// the caller's mktime carries into the next unit.
func (f field) after(v uint32) (uint32, bool) {
	var best uint32
	found := false
	take := func(n uint32) {
		if !found || n < best {
			best, found = n, true
		}
	}
	for _, it := range f {
		switch {
		case it.repeat:
			if v < it.start {
				take(it.start)
			} else if it.step > 0 {
				n := it.start + (v-it.start+it.step)/it.step*it.step
				if !it.ranged || n <= it.end {
					take(n)
				}
			}
		case it.ranged:
			if v < it.start {
				take(it.start)
			} else if v+1 >= it.start && v+1 <= it.end {
				take(v + 1)
			}
		default:
			if it.start > v {
				take(it.start)
			}
		}
	}
	return best, found
}

// Event is a parsed calendar event.
type Event struct {
	text      string
	utc       bool
	days      uint8 // bit 0 = Monday .. bit 6 = Sunday; 0 = every day
	year      field
	month     field
	day       field
	hour      field
	min       field
	sec       field
	carrySpan int64 // see carries
}

// String returns the text the event was parsed from.
func (e *Event) String() string { return e.text }

// maxLen bounds the text Parse reads; PVE's schedules are far shorter.
const maxLen = 1024

var zero = field{{start: 0}}

// Parse reads a calendar event as PVE does: surrounding white space is
// trimmed, the rest must match proxmox-time's grammar completely.
func Parse(s string) (*Event, error) {
	text := strings.TrimSpace(s)
	if len(text) > maxLen {
		return nil, fmt.Errorf("calendar event %q: longer than %d characters", text[:32]+"...", maxLen)
	}
	if text == "" {
		return nil, fmt.Errorf("calendar event %q: empty", s)
	}
	e, rest, what := parseEvent(text)
	if e == nil || rest != "" {
		if e != nil {
			what = "unexpected text"
		}
		return nil, fmt.Errorf("calendar event %q: cannot parse at %q: %s", text, rest, what)
	}
	e.text = text
	e.carrySpan = e.carries()
	return e, nil
}

var named = map[string]func(e *Event){
	"minutely": func(e *Event) { e.sec = zero },
	"hourly":   func(e *Event) { e.min, e.sec = zero, zero },
	"daily":    func(e *Event) { e.hour, e.min, e.sec = zero, zero, zero },
	"weekly":   func(e *Event) { e.hour, e.min, e.sec, e.days = zero, zero, zero, 1 },
	"monthly":  func(e *Event) { e.hour, e.min, e.sec, e.day = zero, zero, zero, field{{start: 1}} },
	"yearly": func(e *Event) {
		e.hour, e.min, e.sec, e.day, e.month = zero, zero, zero, field{{start: 1}}, field{{start: 1}}
	},
	"quarterly": func(e *Event) {
		e.hour, e.min, e.sec, e.day = zero, zero, zero, field{{start: 1}}
		e.month = field{{start: 1}, {start: 4}, {start: 7}, {start: 10}}
	},
	"semiannually": func(e *Event) {
		e.hour, e.min, e.sec, e.day = zero, zero, zero, field{{start: 1}}
		e.month = field{{start: 1}, {start: 7}}
	},
}

func init() {
	named["annually"] = named["yearly"]
	named["semi-annually"] = named["semiannually"]
}

// parseEvent follows parse_calendar_event_incomplete. On failure it
// returns a nil event, the text it stopped at and what it expected there.
func parseEvent(i string) (*Event, string, string) {
	e := &Event{}
	// A trailing "UTC" (upper case, any spaces before it) selects UTC.
	if n, ok := strings.CutSuffix(i, "UTC"); ok {
		e.utc = true
		i = strings.TrimRight(n, " ")
	}
	var hasDays, hasDate, hasTime bool
	if i != "" && isAlpha(i[0]) {
		if set, ok := named[i]; ok {
			set(e)
			return e, "", ""
		}
		rest, ok := weekdayRange(i, &e.days)
		if !ok {
			return nil, i, "a weekday"
		}
		for strings.HasPrefix(rest, ",") {
			r, ok := weekdayRange(rest[1:], &e.days)
			if !ok {
				break
			}
			rest = r
		}
		hasDays = true
		i = skipBlanks(rest)
	}
	if rest, ok := e.dateSpec(i); ok {
		hasDate = true
		i = skipBlanks(rest)
	}
	if rest, ok := e.timeSpec(i); ok {
		hasTime = true
		i = rest
	} else {
		e.hour, e.min, e.sec = zero, zero, zero
	}
	if !hasDays && !hasDate && !hasTime {
		return nil, i, "a date or time"
	}
	return e, i, ""
}

func isAlpha(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// skipBlanks skips spaces and tabs (nom's space0).
func skipBlanks(s string) string { return strings.TrimLeft(s, " \t") }

var weekdayBits = map[string]uint8{
	"mon": 1, "monday": 1, "tue": 2, "tuesday": 2, "wed": 4, "wednesday": 4,
	"thu": 8, "thursday": 8, "fri": 16, "friday": 16, "sat": 32, "saturday": 32,
	"sun": 64, "sunday": 64,
}

func weekday(s string) (uint8, string, bool) {
	n := 0
	for n < len(s) && isAlpha(s[n]) {
		n++
	}
	bit, ok := weekdayBits[strings.ToLower(s[:n])]
	return bit, s[n:], ok
}

// weekdayRange reads a day or a day range (week_days.rs,
// parse_weekdays_range); a range whose end comes before its start wraps
// over Sunday.
func weekdayRange(s string, days *uint8) (string, bool) {
	from, rest, ok := weekday(s)
	if !ok {
		return s, false
	}
	if strings.HasPrefix(rest, "..") {
		if to, r, ok := weekday(rest[2:]); ok {
			if from > to {
				*days |= bitsFrom(from, 64) | bitsFrom(1, to)
			} else {
				*days |= bitsFrom(from, to)
			}
			return r, true
		}
	}
	*days |= from
	return rest, true
}

func bitsFrom(from, to uint8) uint8 {
	var b uint8
	for p := from; ; p <<= 1 {
		b |= p
		if p >= to {
			return b
		}
	}
}

// number reads digits as a u32 below max (parse_helpers.rs,
// parse_time_comp).
func number(s string, max uint32) (uint32, string, bool) {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	if n == 0 {
		return 0, s, false
	}
	var v uint64
	for _, c := range s[:n] {
		v = v*10 + uint64(c-'0')
		if v > 1<<32-1 {
			return 0, s, false
		}
	}
	if v >= uint64(max) {
		return 0, s, false
	}
	return uint32(v), s[n:], true
}

// element reads a value, range or repetition (calendar_event.rs,
// parse_date_time_comp).
func element(s string, max uint32) (item, string, bool) {
	v, rest, ok := number(s, max)
	if !ok {
		return item{}, s, false
	}
	it := item{start: v}
	if strings.HasPrefix(rest, "..") {
		if end, r, ok := number(rest[2:], max); ok {
			if v > end {
				return item{}, s, false
			}
			it.end, it.ranged, rest = end, true, r
		}
	}
	if strings.HasPrefix(rest, "/") {
		step, r, ok := number(rest[1:], max)
		if !ok {
			return item{}, s, false
		}
		it.step, it.repeat, rest = step, true, r
	}
	return it, rest, true
}

// list reads "*", "*/step" or a comma list of elements
// (calendar_event.rs, parse_date_time_comp_list). start is where "*/step"
// counts from.
func list(s string, start, max uint32) (field, string, bool) {
	if rest, ok := strings.CutPrefix(s, "*"); ok {
		if r, ok := strings.CutPrefix(rest, "/"); ok {
			step, r, ok := number(r, max)
			if !ok {
				return nil, s, false
			}
			if step > 0 {
				return field{{start: start, step: step, repeat: true}}, r, true
			}
		}
		return field{}, rest, true
	}
	it, rest, ok := element(s, max)
	if !ok {
		return nil, s, false
	}
	f := field{it}
	for strings.HasPrefix(rest, ",") {
		it, r, ok := element(rest[1:], max)
		if !ok {
			break
		}
		f, rest = append(f, it), r
	}
	return f, rest, true
}

// timeSpec reads [HOURS:]MINUTES[:SECONDS] (parse_time_spec). Without
// hours the event runs every hour; without seconds at second 0.
func (e *Event) timeSpec(s string) (string, bool) {
	var hour field
	rest := s
	if h, r, ok := list(s, 0, 24); ok && strings.HasPrefix(r, ":") {
		hour, rest = h, r[1:]
	}
	min, rest, ok := list(rest, 0, 60)
	if !ok {
		return s, false
	}
	sec := zero
	if r, ok := strings.CutPrefix(rest, ":"); ok {
		if f, r, ok := list(r, 0, 60); ok {
			sec, rest = f, r
		}
	}
	e.hour, e.min, e.sec = hour, min, sec
	return rest, true
}

// dateSpec reads [YEARS-]MONTHS-DAYS (parse_date_spec). Years run to
// 2199, months and days from 0, as the parser only bounds them above.
func (e *Event) dateSpec(s string) (string, bool) {
	if y, r, ok := list(s, 0, 2200); ok && strings.HasPrefix(r, "-") {
		if m, r, ok := list(r[1:], 1, 13); ok && strings.HasPrefix(r, "-") {
			if d, r, ok := list(r[1:], 1, 32); ok {
				e.year, e.month, e.day = y, m, d
				return r, true
			}
		}
	}
	if m, r, ok := list(s, 1, 13); ok && strings.HasPrefix(r, "-") {
		if d, r, ok := list(r[1:], 1, 32); ok {
			e.year, e.month, e.day = nil, m, d
			return r, true
		}
	}
	return s, false
}

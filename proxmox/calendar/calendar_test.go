package calendar

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

func mustParse(t testing.TB, s string) *Event {
	t.Helper()
	e, err := Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// starts lists the n scheduled starts after from, as compute_next_event
// chains them, formatted in loc.
func starts(e *Event, from time.Time, n int) []string {
	loc := from.Location()
	var out []string
	x := from.Unix()
	for range n {
		var ok bool
		if x, ok = e.next(x, loc); !ok {
			break
		}
		out = append(out, time.Unix(x, 0).In(loc).Format("2006-01-02 15:04:05 MST"))
	}
	return out
}

// The cases of proxmox-time's test_compute_next_event (src/test.rs), all
// evaluated in UTC: an event, the last run in epoch seconds, and the start
// compute_next_event must give next.
func TestComputeNextEventUTC(t *testing.T) {
	const (
		min       = 60
		hour      = 3600
		day       = 86400
		thu0      = 0          // 1970-01-01, a Thursday
		thu15     = 15 * hour  // the same day, 15:00
		jul312020 = 1596153600 // Friday 2020-07-31 00:00
		dec312020 = 1609372800 // Thursday 2020-12-31 00:00
	)
	for _, tc := range []struct {
		event      string
		last, want int64
	}{
		{"0", thu0, thu0 + hour}, // minute only
		{"*", thu0, thu0 + min},
		{"*:0", thu0, thu0 + hour},
		{"*:*", thu0, thu0 + min},
		{"*:*:*", thu0, thu0 + 1},
		{"*:3:5", thu0, thu0 + 3*min + 5},
		{"mon *:*", thu0, thu0 + 4*day},
		{"mon 2:*", thu0, thu0 + 4*day + 2*hour},
		{"mon 2:50", thu0, thu0 + 4*day + 2*hour + 50*min},
		{"tue", thu0, thu0 + 5*day},
		{"thu", thu0, thu0 + 7*day},
		{"fri", thu0, thu0 + day},
		{"sun", thu0, thu0 + 3*day},
		{"4..10/2:0", thu0, thu0 + 4*hour},
		{"4..10/2:0", thu0 + 5*hour, thu0 + 6*hour},
		{"4..10/2:0", thu0 + 11*hour, thu0 + day + 4*hour},
		{"5,10:4,8", thu0, thu0 + 5*hour + 4*min},
		{"10,5:8,4", thu0, thu0 + 5*hour + 4*min},
		{"6,4..10:23,5/5", thu0, thu0 + 4*hour + 5*min},
		{"4..10,6:5/5,23", thu0, thu0 + 4*hour + 5*min},
		{"sat", jul312020, jul312020 + day},
		{"fri", jul312020, jul312020 + 7*day},
		{"fri", dec312020, dec312020 + day},
		{"thu", dec312020, dec312020 + 7*day},
		{"daily", thu0, thu0 + day},
		{"daily", thu0 + 1, thu0 + day},
		{"5/2:0", thu0 + 5*hour, thu0 + 7*hour},
		{"1:0", thu15, thu0 + day + hour},
		{"2020-07-31", 0, jul312020},
		{"02-28", 0, (31 + 27) * day},
		{"02-29", 0, 2*365*day + (31+28)*day}, // 1972-02-29
		{"1965/5-01-01", -1, thu0},
		{"2020-7..9-2/2", jul312020, jul312020 + 2*day},
		{"2020,2021-12-31", jul312020, dec312020},
		{"minutely", thu0, thu0 + min},
		{"hourly", thu0, thu0 + hour},
		{"weekly", thu0, thu0 + 4*day},
		{"monthly", 0, 31 * day},
		{"quarterly", 0, (31 + 28 + 31) * day},
		{"semiannually", 0, (31 + 28 + 31 + 30 + 31 + 30) * day},
		{"semi-annually", 0, (31 + 28 + 31 + 30 + 31 + 30) * day},
		{"yearly", 0, 365 * day},
		{"annually", 0, 365 * day},
	} {
		e := mustParse(t, tc.event+" UTC")
		got, ok := e.next(tc.last, time.Local)
		if !ok || got != tc.want {
			t.Errorf("%q after %d: %d (%v), want %d", tc.event, tc.last, got, ok, tc.want)
		}
	}
	for _, never := range []string{"2021-02-29", "02-30"} {
		if got, ok := mustParse(t, never+" UTC").next(0, time.Local); ok {
			t.Errorf("%q never comes, got %d", never, got)
		}
	}
}

// Syntax PVE accepts (proxmox-time calendar_event.rs,
// parse_calendar_event_incomplete, after pve-common's PVE::CalendarEvent
// trims the text), with the first starts after Friday 2026-11-20 10:00:00
// UTC, evaluated in UTC.
func TestGrammar(t *testing.T) {
	from := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		event string
		want  []string // "MM-DD hh:mm:ss" in 2026, or with a year prefix
	}{
		// GUI presets and minute-only events: the hour is free.
		{"*/30", []string{"11-20 10:30:00", "11-20 11:00:00"}},
		{"*/15", []string{"11-20 10:15:00", "11-20 10:30:00"}},
		{"0", []string{"11-20 11:00:00", "11-20 12:00:00"}},
		{"5", []string{"11-20 10:05:00", "11-20 11:05:00"}},
		{"*:0/20", []string{"11-20 10:20:00", "11-20 10:40:00", "11-20 11:00:00"}},
		{"0/6:00", []string{"11-20 12:00:00", "11-20 18:00:00", "11-21 00:00:00"}},
		{"*/6:00", []string{"11-20 12:00:00", "11-20 18:00:00", "11-21 00:00:00"}},
		// A step of one is every value, as "*" (a step of 0 is refused).
		{"*/1:00", []string{"11-20 11:00:00", "11-20 12:00:00"}},
		{"*:*/1", []string{"11-20 10:01:00", "11-20 10:02:00"}},
		// An hour out of range is not an hour: "25:00" is minute 25 and
		// second 0 of every hour, as the hour part is optional.
		{"25:00", []string{"11-20 10:25:00", "11-20 11:25:00"}},
		{"*/24:00", []string{"11-20 10:24:00", "11-20 10:48:00", "11-20 11:24:00"}}, // 72 carries to 11:12
		{"*-*", []string{"11-21 00:00:00"}},
		{"sat*", []string{"11-21 00:00:00", "11-21 00:01:00"}},
		// Weekday ranges that wrap over Sunday; names in any case.
		{"sat..mon", []string{"11-21 00:00:00", "11-22 00:00:00", "11-23 00:00:00", "11-28 00:00:00"}},
		{"fri..mon 02:00", []string{"11-21 02:00:00", "11-22 02:00:00", "11-23 02:00:00", "11-27 02:00:00"}},
		{"SUN,Wednesday 9:00", []string{"11-22 09:00:00", "11-25 09:00:00"}},
		{"mon,wed..fri", []string{"11-23 00:00:00", "11-25 00:00:00", "11-26 00:00:00", "11-27 00:00:00"}},
		// Named events, with the zone suffix.
		{"daily UTC", []string{"11-21 00:00:00"}},
		{"dailyUTC", []string{"11-21 00:00:00"}},
		{"weekly", []string{"11-23 00:00:00", "11-30 00:00:00"}},
		{"quarterly", []string{"2027-01-01 00:00:00", "2027-04-01 00:00:00"}},
		{"minutely", []string{"11-20 10:01:00"}},
		// Dates with years, ranges and repetitions in every field.
		{"2027-10-21", []string{"2027-10-21 00:00:00"}},
		{"2026..2027-11,12-21..22 12:00", []string{"11-21 12:00:00", "11-22 12:00:00", "12-21 12:00:00"}},
		{"*/2-01-01", []string{"2028-01-01 00:00:00", "2030-01-01 00:00:00"}},
		// Month 12+4 = 16 is April: January is carried over (see
		// TestCarriedRepetitions).
		{"*-*/5-1", []string{"2027-06-01 00:00:00", "2027-11-01 00:00:00", "2028-06-01 00:00:00"}},
		{"12-*/10", []string{"12-01 00:00:00", "12-11 00:00:00", "12-21 00:00:00", "12-31 00:00:00"}},
		{"Sat *-1..7 15:00", []string{"12-05 15:00:00", "2027-01-02 15:00:00"}},
		{"*-*-* 10:00:30", []string{"11-20 10:00:30", "11-21 10:00:30"}},
		{"10:0:0/20", []string{"11-20 10:00:20", "11-20 10:00:40", "11-21 10:00:00"}},
		{"*:*:*/20", []string{"11-20 10:00:20", "11-20 10:00:40", "11-20 10:01:00"}},
		{"8..17/3:15", []string{"11-20 11:15:00", "11-20 14:15:00", "11-20 17:15:00", "11-21 08:15:00"}},
		{"01,05..10,12/02:00", []string{"11-20 12:00:00", "11-20 14:00:00"}},
		{"fri 12,13:5/20", []string{"11-20 12:05:00", "11-20 12:25:00"}},
		// Blanks: none needed between parts, tabs allowed, any spaces
		// before UTC, and surrounding white space trimmed by PVE.
		{"mon12:00", []string{"11-23 12:00:00"}},
		{"*-*-*12:00", []string{"11-20 12:00:00"}},
		{"mon\t*-12-* 1:00", []string{"12-07 01:00:00"}},
		{"  12:00   UTC ", []string{"11-20 12:00:00"}},
		{"0010:0005", []string{"11-20 10:05:00"}},
	} {
		e, err := Parse(tc.event)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.event, err)
			continue
		}
		if e.String() != strings.TrimSpace(tc.event) {
			t.Errorf("String() = %q", e.String())
		}
		got := starts(e, from, len(tc.want))
		for i, w := range tc.want {
			if !strings.HasPrefix(w, "20") {
				tc.want[i] = "2026-" + w
			}
			tc.want[i] += " UTC"
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: starts %v\n want %v", tc.event, got, tc.want)
		}
	}
}

// What proxmox-time refuses; each error names the schedule.
func TestInvalid(t *testing.T) {
	for _, in := range []string{
		"", "   ", "foo", "Daily", "DAILY", "daily 02:00", "mon..foo", "mon,", "mon tue",
		"02:00 utc", "daily\tUTC", "UTC", "12:60", "12:00:61", "24:60", "1:2:3:4", "*-13-01", "*-*-32",
		"1-2-3-4", "10..5:00", "*/0:00", "*/60", "0/60", "12:", ":30", "5-", "2200-01-01",
		"02:00 03:00", "12:xx", "4294967296", "1..", "-1", "mon..", "*:*/0", "02:00;",
		strings.Repeat("1,", 600) + "1",
	} {
		_, err := Parse(in)
		if err == nil {
			t.Errorf("Parse(%q) succeeded", in)
			continue
		}
		if name := strings.TrimSpace(in); len(name) < 40 && !strings.Contains(err.Error(), fmt.Sprintf("%q", name)) &&
			!strings.Contains(err.Error(), fmt.Sprintf("%q", in)) {
			t.Errorf("Parse(%q): error %q does not name the schedule", in, err)
		}
	}
}

// The C library's mktime (glibc mktime.c, __mktime_internal, tm_isdst =
// -1) and proxmox-time's TmEditor (tm_editor.rs) decide what the
// scheduler does on the days the clock changes. These sequences were
// checked against compute_next_event run over the real glibc 2.36 mktime.
//
//   - Spring forward: TmEditor::set_time(2, 0, 0) asks mktime for a wall
//     time in the gap; glibc's probes oscillate and it takes the daylight
//     side, 03:00. That hour no longer matches "02:30", so compute_next_event
//     moves to the next day: no start that day.
//   - Fall back: mktime resolves a repeated wall time with the offset of its
//     previous call, which during the search is still summer time, so the
//     first pass fires. After the last start of that pass, stepping the
//     minute past 59 lands on 03:00 standard time: the second pass of the
//     repeated hour has no starts at all (hourly runs 2 hours apart).
func TestDSTSequences(t *testing.T) {
	for _, tc := range []struct {
		zone, event, from string
		want              []string
	}{
		{"Europe/Berlin", "02:30", "2024-03-29 12:00", []string{
			"2024-03-30 02:30:00 CET", "2024-04-01 02:30:00 CEST", "2024-04-02 02:30:00 CEST"}},
		{"Europe/Berlin", "02:30", "2024-10-26 12:00", []string{
			"2024-10-27 02:30:00 CEST", "2024-10-28 02:30:00 CET"}},
		{"Europe/Berlin", "sun 02:30", "2025-03-24 00:00", []string{
			"2025-04-06 02:30:00 CEST"}},
		{"Europe/Berlin", "sun 02:30", "2025-10-20 00:00", []string{
			"2025-10-26 02:30:00 CEST", "2025-11-02 02:30:00 CET"}},
		{"Europe/Berlin", "*:0/15", "2024-03-31 01:30", []string{
			"2024-03-31 01:45:00 CET", "2024-03-31 03:00:00 CEST", "2024-03-31 03:15:00 CEST"}},
		{"Europe/Berlin", "*:0/15", "2024-10-27 01:50", []string{
			"2024-10-27 02:00:00 CEST", "2024-10-27 02:15:00 CEST", "2024-10-27 02:30:00 CEST", "2024-10-27 02:45:00 CEST", "2024-10-27 03:00:00 CET", "2024-10-27 03:15:00 CET"}},
		{"Europe/Berlin", "*/30", "2026-10-25 01:45", []string{
			"2026-10-25 02:00:00 CEST", "2026-10-25 02:30:00 CEST", "2026-10-25 03:00:00 CET"}},
		{"Europe/London", "01:30", "2024-10-26 12:00", []string{
			"2024-10-27 01:30:00 BST", "2024-10-28 01:30:00 GMT"}},
		{"Europe/London", "01:30", "2025-03-29 12:00", []string{
			"2025-03-31 01:30:00 BST"}},
		{"America/New_York", "01:30", "2024-11-02 12:00", []string{
			"2024-11-03 01:30:00 EDT", "2024-11-04 01:30:00 EST"}},
		{"America/New_York", "hourly", "2025-11-02 00:30", []string{
			"2025-11-02 01:00:00 EDT", "2025-11-02 02:00:00 EST"}},
		{"America/New_York", "2:30", "2026-03-07 12:00", []string{
			"2026-03-09 02:30:00 EDT"}},
		{"Australia/Sydney", "02:30", "2024-10-05 12:00", []string{
			"2024-10-07 02:30:00 AEDT"}},
		{"Australia/Sydney", "2:*/20", "2025-04-06 01:30", []string{
			"2025-04-06 02:00:00 AEDT", "2025-04-06 02:20:00 AEDT", "2025-04-06 02:40:00 AEDT", "2025-04-07 02:00:00 AEST"}},
		{"Pacific/Auckland", "02:30", "2026-09-26 12:00", []string{
			"2026-09-28 02:30:00 NZDT"}},
		{"Pacific/Auckland", "*:0/15", "2026-04-05 01:50", []string{
			"2026-04-05 02:00:00 NZDT", "2026-04-05 02:15:00 NZDT", "2026-04-05 02:30:00 NZDT", "2026-04-05 02:45:00 NZDT", "2026-04-05 03:00:00 NZST"}},
		// Without daylight saving time nothing is skipped.
		{"Asia/Tokyo", "02:30", "2024-03-30 12:00", []string{
			"2024-03-31 02:30:00 JST", "2024-04-01 02:30:00 JST"}},
		{"UTC", "*/30", "2024-10-27 01:45", []string{
			"2024-10-27 02:00:00 UTC", "2024-10-27 02:30:00 UTC", "2024-10-27 03:00:00 UTC"}},
	} {
		loc := mustLoad(t, tc.zone)
		from, err := time.ParseInLocation("2006-01-02 15:04", tc.from, loc)
		if err != nil {
			t.Fatal(err)
		}
		e := mustParse(t, tc.event)
		got := starts(e, from, len(tc.want))
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%s %q from %s:\n got %v\nwant %v", tc.zone, tc.event, tc.from, got, tc.want)
		}
		// Prev walks the same starts backward.
		at, _ := time.ParseInLocation("2006-01-02 15:04:05 MST", tc.want[len(tc.want)-1], loc)
		for i := len(tc.want) - 1; i >= 0; i-- {
			p, ok := e.Prev(at)
			if !ok || p.Format("2006-01-02 15:04:05 MST") != tc.want[i] {
				t.Errorf("%s %q: Prev(%v) = %v, want %s", tc.zone, tc.event, at, p, tc.want[i])
				break
			}
			at = p.Add(-time.Second)
		}
	}
}

// changes finds the instants in [from, to) where loc's offset changes.
func changes(loc *time.Location, from, to time.Time) []time.Time {
	var out []time.Time
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		_, a := t.In(loc).Zone()
		_, b := t.Add(time.Hour).In(loc).Zone()
		if a == b {
			continue
		}
		lo, hi := t.Unix(), t.Add(time.Hour).Unix()
		for hi-lo > 1 {
			mid := (lo + hi) / 2
			if _, o := time.Unix(mid, 0).In(loc).Zone(); o == a {
				lo = mid
			} else {
				hi = mid
			}
		}
		out = append(out, time.Unix(hi, 0))
	}
	return out
}

// Every change day of 2024 to 2026 in each zone. Two derivations must
// agree: the chain of compute_next_event results from a day before the
// change (what the scheduler runs), and Prev walked backward from a day
// after it, which for these events reads wall times and leaves out gaps and
// second passes of repeated intervals. The chain is also checked against
// that rule directly.
func TestDSTChangeDays(t *testing.T) {
	zones := []string{"Europe/Berlin", "Europe/London", "America/New_York", "Australia/Sydney",
		"Pacific/Auckland", "Australia/Lord_Howe", "Asia/Tokyo", "UTC"}
	events := []string{"02:30", "01:30", "*:0/15", "*/30", "hourly", "sun 02:30", "sun 01:30", "2,3:*/20", "daily", "0"}
	total, days := 0, 0
	for _, zone := range zones {
		loc := mustLoad(t, zone)
		from := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		list := changes(loc, from, from.AddDate(3, 0, 0))
		if zone == "Asia/Tokyo" || zone == "UTC" {
			if len(list) != 0 {
				t.Fatalf("%s changes offset", zone)
			}
			list = []time.Time{time.Date(2025, 3, 30, 1, 0, 0, 0, time.UTC)}
		} else if len(list) != 6 {
			t.Fatalf("%s: %d changes in 2024..2026, want 6", zone, len(list))
		}
		for _, change := range list {
			days++
			_, before := change.Add(-time.Second).In(loc).Zone()
			_, after := change.In(loc).Zone()
			// The second pass of a repeated interval: [change, change+before-after).
			secondPass := func(x int64) bool { return x >= change.Unix() && x < change.Unix()+int64(before-after) }
			lo, hi := change.Add(-4*time.Hour).Unix(), change.Add(4*time.Hour).Unix()
			for _, ev := range events {
				e := mustParse(t, ev)
				if e.carrySpan > 0 {
					t.Fatalf("%q carries", ev)
				}
				var chain []int64
				for x, ok := e.next(lo-7200, loc); ok && x <= hi; x, ok = e.next(x, loc) {
					if x >= lo {
						chain = append([]int64{x}, chain...)
					}
				}
				var rule []int64
				e.walkBack(&clock{loc: loc}, hi, func(x int64) bool {
					if x >= lo && !secondPass(x) {
						rule = append(rule, x)
					}
					return x >= lo
				})
				sortDesc(rule)
				var walk []int64
				at := time.Unix(hi, 0).In(loc)
				for {
					p, ok := e.Prev(at)
					if !ok || p.Unix() < lo {
						break
					}
					walk = append(walk, p.Unix())
					at = p.Add(-time.Second)
				}
				if fmt.Sprint(chain) != fmt.Sprint(walk) || fmt.Sprint(chain) != fmt.Sprint(rule) {
					t.Errorf("%s %q around %v:\nchain %v\n Prev %v\n rule %v", zone, ev, change.In(loc),
						fmtAll(chain, loc), fmtAll(walk, loc), fmtAll(rule, loc))
				}
				total += len(chain)
			}
		}
	}
	t.Logf("%d change days, %d starts checked", days, total)
}

// Prev's wall-clock reading of events without carries agrees with
// following the chain of compute_next_event results, across a year of DST
// changes, at random instants. Events that repeat within the minute are
// left out: see TestCarriedSecondInRepeatedHour.
func TestPrevAgreesWithChain(t *testing.T) {
	r := rand.New(rand.NewSource(9))
	events := []string{"02:30", "*:0/15", "*/30", "hourly", "sun 02:30", "mon..fri 1..3:*/20", "daily",
		"sat..mon 01:30", "*-*-1..7 2:0/30", "12:00 UTC", "*/20", "*/5"}
	for _, zone := range []string{"Europe/Berlin", "America/New_York", "Pacific/Auckland", "Australia/Lord_Howe"} {
		loc := mustLoad(t, zone)
		list := changes(loc, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
		for _, ev := range events {
			e := mustParse(t, ev)
			c := e.clock(loc)
			for k := 0; k < 24; k++ {
				at := list[k%len(list)].Add(time.Duration(r.Intn(8*3600)-4*3600) * time.Second)
				if k%3 == 0 {
					at = at.Add(time.Duration(r.Intn(30*86400)) * time.Second)
				}
				p, ok := e.Prev(at.In(loc))
				q, ok2 := e.prevByChain(c, at.Unix())
				if ok != ok2 || !p.Equal(q) {
					t.Errorf("%s %q at %v: Prev %v, chain %v", zone, ev, at.In(loc), p, q)
				}
			}
		}
	}
}

func sortDesc(x []int64) {
	for i := 1; i < len(x); i++ {
		for j := i; j > 0 && x[j] > x[j-1]; j-- {
			x[j], x[j-1] = x[j-1], x[j]
		}
	}
}

func fmtAll(x []int64, loc *time.Location) []string {
	out := make([]string, len(x))
	for i, v := range x {
		out[i] = time.Unix(v, 0).In(loc).Format("01-02 15:04 MST")
	}
	return out
}

// compute_next_event's find_next (date_time_value.rs,
// DateTimeValue::find_next) may name a value past the end of its unit;
// TmEditor hands it to mktime, which carries it into the next unit and so
// skips that unit's first values. These are PVE's starts, not a wall-clock
// reading of the event, and Prev must follow them.
func TestCarriedRepetitions(t *testing.T) {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		event string
		n     int
		want  []string
	}{
		// Minute 56+7 = 63 is minute 3 of the next hour: :00 never runs.
		{"*:0/7 UTC", 10, []string{"00:07", "00:14", "00:21", "00:28", "00:35", "00:42", "00:49", "00:56", "01:07", "01:14"}},
		// Hour 20+5 = 25 is 01:00 of the next day: midnight never runs.
		{"*/5:00 UTC", 6, []string{"05:00", "10:00", "15:00", "20:00", "(02) 05:00", "(02) 10:00"}},
	} {
		e := mustParse(t, tc.event)
		got := starts(e, from, tc.n)
		for i := range got {
			s, _ := time.Parse("2006-01-02 15:04:05 MST", got[i])
			got[i] = s.Format("15:04")
			if s.Day() != 1 {
				got[i] = s.Format("(02) 15:04")
			}
		}
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("%q: %v, want %v", tc.event, got, tc.want)
		}
	}
	// Prev does not report the skipped start.
	e := mustParse(t, "*/5:00 UTC")
	p, ok := e.Prev(time.Date(2026, 1, 2, 3, 0, 0, 0, time.UTC))
	if want := time.Date(2026, 1, 1, 20, 0, 0, 0, time.UTC); !ok || !p.Equal(want) {
		t.Errorf("Prev = %v, want %v", p, want)
	}
	// A day list whose next value lies past the month's end: from
	// 2025-02-16 the next day 30 is "February 30" = 2 March, so 1 March
	// is skipped.
	e = mustParse(t, "*-*-1,15,30 UTC")
	got := starts(e, time.Date(2025, 2, 15, 12, 0, 0, 0, time.UTC), 2)
	if want := []string{"2025-03-15 00:00:00 UTC", "2025-03-30 00:00:00 UTC"}; fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("*-*-1,15,30: %v, want %v", got, want)
	}
	// Days 1, 15 and 29: from 30 July the next day, 43, is 12 August, so
	// no start on 1 August, and Prev must look past it to 29 July.
	e = mustParse(t, "*-*-*/14 18:48 UTC")
	p, ok = e.Prev(time.Date(2025, 8, 10, 0, 0, 0, 0, time.UTC))
	if want := time.Date(2025, 7, 29, 18, 48, 0, 0, time.UTC); !ok || !p.Equal(want) {
		t.Errorf("*-*-*/14: Prev = %v, want %v", p, want)
	}
}

// The chain search ends for an event with no start before at.
func TestPrevByChainEnds(t *testing.T) {
	for _, ev := range []string{"2030-01-01", "2030-*/5-1 *:0/7", "*-02-30"} {
		e := mustParse(t, ev)
		if p, ok := e.prevByChain(e.clock(time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Unix()); ok {
			t.Errorf("%q: %v", ev, p)
		}
	}
}

// glibc's mktime probes with the seconds clamped to 59 and adds the rest
// afterwards (mktime.c, __mktime_internal, LEAP_SECONDS_POSSIBLE). When
// TmEditor::set_sec carries second 65 over the last minute of a repeated
// hour, the probe resolves in the first pass, one second on lands in the
// second pass, and the final mktime (into_epoch) reads that wall time in
// the first pass again: compute_next_event returns a start an hour before
// last. Checked on glibc 2.36. Only events that repeat within a minute can
// meet this; Prev ends such a chain rather than follow it backwards.
func TestCarriedSecondInRepeatedHour(t *testing.T) {
	ny := mustLoad(t, "America/New_York")
	e := mustParse(t, "*:*:5/20")
	last := time.Date(2025, 11, 2, 5, 59, 45, 0, time.UTC) // 01:59:45 EDT
	got, ok := e.next(last.Unix(), ny)
	if want := time.Date(2025, 11, 2, 5, 0, 5, 0, time.UTC); !ok || got != want.Unix() {
		t.Errorf("next(%v) = %v, want %v", last.In(ny), time.Unix(got, 0).In(ny), want.In(ny))
	}
	p, ok := e.Prev(time.Date(2025, 11, 2, 7, 30, 0, 0, time.UTC).In(ny)) // 02:30 EST
	if want := time.Date(2025, 11, 2, 7, 29, 45, 0, time.UTC); !ok || !p.Equal(want) {
		t.Errorf("Prev = %v, want %v", p, want.In(ny))
	}
}

func TestPrev(t *testing.T) {
	vienna := mustLoad(t, "Europe/Vienna")
	newYork := mustLoad(t, "America/New_York")
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		event string
		loc   *time.Location
		want  time.Time
	}{
		{"02:00", vienna, time.Date(2026, 11, 20, 2, 0, 0, 0, vienna)},
		{"02:00", newYork, time.Date(2026, 11, 20, 2, 0, 0, 0, newYork)},
		{"21:00", newYork, time.Date(2026, 11, 19, 21, 0, 0, 0, newYork)},
		{"sat 03:00", vienna, time.Date(2026, 11, 14, 3, 0, 0, 0, vienna)},
		{"11:00", time.UTC, time.Date(2026, 11, 19, 11, 0, 0, 0, time.UTC)},
		{"10:00", time.UTC, at}, // at is itself a start
		{"monthly", vienna, time.Date(2026, 11, 1, 0, 0, 0, 0, vienna)},
		{"2019-10-21", time.UTC, time.Date(2019, 10, 21, 0, 0, 0, 0, time.UTC)},
		{"02:00 UTC", vienna, time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)},
		{"sat 03:00 UTC", newYork, time.Date(2026, 11, 14, 3, 0, 0, 0, time.UTC)},
		{"*-02-29 12:00", time.UTC, time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)},
		{"*/30", newYork, time.Date(2026, 11, 20, 5, 0, 0, 0, newYork)},
		{"*:*:*", vienna, at},
		{"fri..mon 23:00", vienna, time.Date(2026, 11, 16, 23, 0, 0, 0, vienna)},
	} {
		got, ok := mustParse(t, tc.event).Prev(at.In(tc.loc))
		if !ok || !got.Equal(tc.want) {
			t.Errorf("%q in %s: Prev = %v (%v), want %v", tc.event, tc.loc, got, ok, tc.want)
		}
	}
	for _, never := range []string{"2030-01-01", "2000-01-01", "*-02-30", "0-1"} {
		if got, ok := mustParse(t, never).Prev(at); ok {
			t.Errorf("%q: no start within ten years before %v, got %v", never, at, got)
		}
	}
}

// matches reports whether an instant's wall time in loc matches every
// field of the event.
func (e *Event) matches(x int64, loc *time.Location) bool {
	w, _, _ := e.clock(loc).local(x)
	all := e.days == 0 || e.days == 0x7f
	ok := func(f field, v int) bool { return len(f) == 0 || f.has(uint32(v)) }
	return ok(e.year, w.year) && ok(e.month, w.mon) && ok(e.day, w.mday) && ok(e.hour, w.hour) &&
		ok(e.min, w.min) && ok(e.sec, w.sec) && (all || e.days&(1<<((w.wday+6)%7)) != 0)
}

func FuzzSchedule(f *testing.F) {
	for _, s := range []string{"02:00", "sat 03:00", "mon..fri 8..17,22:0/15", "*-05", "Sat *-1..7 15:00",
		"2015-10-21", "12/2:5", "*", "quarterly", "*:0/15", "*/30", "sat..mon 02:30", "0/6:00", "*:0/20",
		"daily UTC", "*/5:00", "*:0/7", "*-*-1,15,30", "*:*:*/7", "1..2/0:0", "-", ":", "..", "mon..",
		"*-*-*", "2199-12-31 23:59:59", "*/40"} {
		f.Add(s, int64(0))
	}
	berlin := mustLoad(f, "Europe/Berlin")
	base := time.Date(2025, 10, 26, 0, 0, 0, 0, time.UTC).Unix()
	f.Fuzz(func(t *testing.T, s string, offset int64) {
		e, err := Parse(s)
		if err != nil {
			if !strings.Contains(err.Error(), "calendar event") {
				t.Fatalf("%q: error %v", s, err)
			}
			return
		}
		// Around a change day, within about a year.
		at := time.Unix(base+offset%(400*86400), 0).In(berlin)
		p, ok := e.Prev(at)
		if !ok {
			return
		}
		loc := p.Location()
		switch {
		case p.After(at):
			t.Fatalf("%q: Prev(%v) = %v is later", s, at, p)
		case !e.matches(p.Unix(), loc):
			t.Fatalf("%q: Prev(%v) = %v does not match the event", s, at, p)
		}
		if n, ok := e.next(p.Unix(), loc); ok && n <= at.Unix() {
			t.Fatalf("%q: a start %v lies between Prev(%v) = %v and it", s, time.Unix(n, 0), at, p)
		}
		if q, ok := e.Prev(p); !ok || !q.Equal(p) {
			t.Fatalf("%q: Prev(Prev(%v)) = %v, want %v", s, at, q, p)
		}
		if q, ok := e.Prev(p.Add(-time.Second)); ok {
			if !q.Before(p) {
				t.Fatalf("%q: Prev(%v - 1s) = %v", s, p, q)
			}
			if n, ok := e.next(q.Unix(), loc); !ok || n != p.Unix() {
				t.Fatalf("%q: the start after %v is %v, want %v", s, q, time.Unix(n, 0).In(loc), p)
			}
		}
	})
}

func BenchmarkParse(b *testing.B) {
	for b.Loop() {
		if _, err := Parse("mon..fri 8..17,22:0/15"); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkPrev(b *testing.B) {
	loc := mustLoad(b, "Europe/Vienna")
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, loc)
	for _, ev := range []string{"sat 03:00", "daily", "*/30", "*:*"} {
		e := mustParse(b, ev)
		b.Run(ev, func(b *testing.B) {
			for b.Loop() {
				e.Prev(at)
			}
		})
	}
}

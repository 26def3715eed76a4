package calendar

import (
	"strings"
	"testing"
	"time"
)

func mustLoad(t testing.TB, name string) *time.Location {
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// The examples of the calendar event documentation, with the occurrences
// that follow a fixed start: Friday 2026-11-20 10:00 UTC.
func TestDocumentedExamples(t *testing.T) {
	start := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	at := func(s string) time.Time {
		v, err := time.Parse("2006-01-02 15:04:05", s)
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	for _, tc := range []struct {
		event string
		next  []string
	}{
		{"mon,tue,wed,thu,fri", []string{"2026-11-23 00:00:00", "2026-11-24 00:00:00"}},
		{"mon..fri", []string{"2026-11-23 00:00:00", "2026-11-24 00:00:00"}},
		{"sat,sun", []string{"2026-11-21 00:00:00", "2026-11-22 00:00:00", "2026-11-28 00:00:00"}},
		{"sat..sun", []string{"2026-11-21 00:00:00", "2026-11-22 00:00:00", "2026-11-28 00:00:00"}},
		{"mon,wed,fri", []string{"2026-11-23 00:00:00", "2026-11-25 00:00:00", "2026-11-27 00:00:00"}},
		{"12:05", []string{"2026-11-20 12:05:00", "2026-11-21 12:05:00"}},
		{"*:00/5", []string{"2026-11-20 10:05:00", "2026-11-20 10:10:00"}},
		{"0/1:0/5", []string{"2026-11-20 10:05:00", "2026-11-20 10:10:00"}},
		{"mon..wed *:30/10", []string{"2026-11-23 00:30:00", "2026-11-23 00:40:00", "2026-11-23 00:50:00", "2026-11-23 01:30:00"}},
		{"mon,tue,wed *:30/10", []string{"2026-11-23 00:30:00", "2026-11-23 00:40:00"}},
		{"mon..fri 8..17,22:0/15", []string{"2026-11-20 10:15:00", "2026-11-20 10:30:00"}},
		{"fri 12..13:5/20", []string{"2026-11-20 12:05:00", "2026-11-20 12:25:00", "2026-11-20 12:45:00", "2026-11-20 13:05:00", "2026-11-20 13:25:00", "2026-11-20 13:45:00", "2026-11-27 12:05:00"}},
		{"fri 12,13:5/20", []string{"2026-11-20 12:05:00", "2026-11-20 12:25:00"}},
		{"12,14,16,18,20,22:5", []string{"2026-11-20 12:05:00", "2026-11-20 14:05:00"}},
		{"12/2:5", []string{"2026-11-20 12:05:00", "2026-11-20 14:05:00", "2026-11-20 16:05:00", "2026-11-20 18:05:00", "2026-11-20 20:05:00", "2026-11-20 22:05:00", "2026-11-21 12:05:00"}},
		{"*", []string{"2026-11-20 10:01:00", "2026-11-20 10:02:00"}},
		{"*-05", []string{"2026-12-05 00:00:00", "2027-01-05 00:00:00"}},
		{"Sat *-1..7 15:00", []string{"2026-12-05 15:00:00", "2027-01-02 15:00:00"}},
		{"2015-10-21", nil},
		{"2027-10-21", []string{"2027-10-21 00:00:00"}},
		{"01,05..10,12/02:00", []string{"2026-11-20 12:00:00", "2026-11-20 14:00:00"}},
		{"minutely", []string{"2026-11-20 10:01:00"}},
		{"hourly", []string{"2026-11-20 11:00:00", "2026-11-20 12:00:00"}},
		{"daily", []string{"2026-11-21 00:00:00", "2026-11-22 00:00:00"}},
		{"weekly", []string{"2026-11-23 00:00:00", "2026-11-30 00:00:00"}},
		{"monthly", []string{"2026-12-01 00:00:00", "2027-01-01 00:00:00"}},
		{"yearly", []string{"2027-01-01 00:00:00", "2028-01-01 00:00:00"}},
		{"annually", []string{"2027-01-01 00:00:00"}},
		{"quarterly", []string{"2027-01-01 00:00:00", "2027-04-01 00:00:00", "2027-07-01 00:00:00"}},
		{"semiannually", []string{"2027-01-01 00:00:00", "2027-07-01 00:00:00"}},
		{"semi-annually", []string{"2027-01-01 00:00:00", "2027-07-01 00:00:00"}},
		{"02:00", []string{"2026-11-21 02:00:00"}},
		{"sat 03:00", []string{"2026-11-21 03:00:00", "2026-11-28 03:00:00"}},
		{"21:00:30", []string{"2026-11-20 21:00:30"}},
	} {
		e, err := Parse(tc.event)
		if err != nil {
			t.Errorf("Parse(%q): %v", tc.event, err)
			continue
		}
		if e.String() != tc.event {
			t.Errorf("String() = %q", e.String())
		}
		cur := start
		for i, want := range tc.next {
			got, ok := e.Next(cur)
			if !ok || !got.Equal(at(want)) {
				t.Errorf("%q: occurrence %d after %v = %v (%v), want %s", tc.event, i+1, cur, got, ok, want)
				break
			}
			cur = got
		}
		if tc.next == nil {
			if got, ok := e.Next(start); ok {
				t.Errorf("%q: a past date has no next occurrence, got %v", tc.event, got)
			}
		}
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
		{"10:00", time.UTC, at}, // at is itself an occurrence
		{"monthly", vienna, time.Date(2026, 11, 1, 0, 0, 0, 0, vienna)},
		{"2019-10-21", time.UTC, time.Date(2019, 10, 21, 0, 0, 0, 0, time.UTC)},
		{"02:00 UTC", vienna, time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)},
		{"sat 03:00 UTC", newYork, time.Date(2026, 11, 14, 3, 0, 0, 0, time.UTC)},
		{"*-02-29 12:00", time.UTC, time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)},
	} {
		e, err := Parse(tc.event)
		if err != nil {
			t.Fatal(err)
		}
		got, ok := e.Prev(at.In(tc.loc))
		if !ok || !got.Equal(tc.want) {
			t.Errorf("%q in %s: Prev = %v (%v), want %v", tc.event, tc.loc, got, ok, tc.want)
		}
	}
	e, _ := Parse("2030-01-01")
	if got, ok := e.Prev(at); ok {
		t.Errorf("a future date has no previous occurrence, got %v", got)
	}
}

// On the spring-forward day, 02:30 does not exist in Vienna; the occurrence
// is the instant that wall time normalizes to, 03:30 CEST (01:30 UTC). On
// the fall-back day 02:30 exists twice and the schedule fires once.
func TestDST(t *testing.T) {
	vienna := mustLoad(t, "Europe/Vienna")
	e, err := Parse("02:30")
	if err != nil {
		t.Fatal(err)
	}
	spring := time.Date(2026, 3, 29, 0, 0, 0, 0, vienna)
	got, ok := e.Next(spring)
	if !ok || got.UTC() != time.Date(2026, 3, 29, 1, 30, 0, 0, time.UTC) {
		t.Errorf("spring forward: Next = %v, want 01:30 UTC", got.UTC())
	}
	n2, _ := e.Next(got)
	if n2.Sub(got) < 23*time.Hour {
		t.Errorf("spring forward: two occurrences %v apart", n2.Sub(got))
	}
	fall := time.Date(2026, 10, 25, 0, 0, 0, 0, vienna)
	first, _ := e.Next(fall)
	second, _ := e.Next(first)
	if second.Sub(first) < 23*time.Hour {
		t.Errorf("fall back: fired at %v and again at %v", first, second)
	}
	hourly, _ := Parse("hourly")
	// Schedules are wall-clock times: across the fall-back hour every wall
	// time fires once, and time only moves forward.
	cur := time.Date(2026, 10, 25, 1, 30, 0, 0, vienna)
	seen := map[string]bool{}
	for i := 0; i < 4; i++ {
		next, _ := hourly.Next(cur)
		wall := next.In(vienna).Format("15:04")
		if d := next.Sub(cur); d <= 0 || d > 2*time.Hour || seen[wall] {
			t.Errorf("hourly after %v: %v (%v later)", cur, next, d)
		}
		seen[wall] = true
		cur = next
	}
}

func TestPrevNextConsistency(t *testing.T) {
	loc := mustLoad(t, "America/New_York")
	events := []string{"02:00", "sat 03:00", "mon..fri 8..17,22:0/15", "*-05", "quarterly", "fri 12..13:5/20", "*:0/7", "hourly"}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, loc)
	for _, ev := range events {
		e, err := Parse(ev)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 200; k++ {
			at := base.Add(time.Duration(k) * 37 * time.Hour / 10)
			prev, ok := e.Prev(at)
			if !ok {
				t.Fatalf("%q: no Prev at %v", ev, at)
			}
			if prev.After(at) {
				t.Fatalf("%q: Prev(%v) = %v is later", ev, at, prev)
			}
			// Nothing strictly between prev and at.
			if n, ok := e.Next(prev); ok && !n.After(at) {
				t.Fatalf("%q: Next(Prev(%v)) = %v is not after %v", ev, at, n, at)
			}
			next, ok := e.Next(at)
			if !ok {
				t.Fatalf("%q: no Next at %v", ev, at)
			}
			if p, _ := e.Prev(next); !p.Equal(next) {
				t.Fatalf("%q: Prev(Next(%v)) = %v, want %v", ev, at, p, next)
			}
		}
	}
}

func TestInvalid(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty"},
		{"   ", "empty"},
		{"foo", `"foo" is not a weekday`},
		{"mon..foo", `"foo" is not a weekday`},
		{"fri..mon", "runs backwards"},
		{"25:00", "25 is out of range 0..23"},
		{"12:60", "60 is out of range 0..59"},
		{"12:00:61", "61 is out of range 0..59"},
		{"1:2:3:4", "want HOURS:MINUTES[:SECONDS]"},
		{"*-13-01", "13 is out of range 1..12"},
		{"*-*-32", "32 is out of range 1..31"},
		{"1-2-3-4", "want [YEARS-]MONTHS-DAYS"},
		{"*/0:00", "bad repetition"},
		{"10..5:00", "runs backwards"},
		{"02:00 03:00", `unexpected "03:00"`},
		{"mon tue", `unexpected "tue"`},
		{"12:xx", `"xx" is not a number`},
		{strings.Repeat("1,", 200) + "1:00", "too long"},
	} {
		_, err := Parse(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want an error containing %q", tc.in, err, tc.want)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"02:00", "sat 03:00", "mon..fri 8..17,22:0/15", "*-05", "Sat *-1..7 15:00", "2015-10-21", "12/2:5", "*", "quarterly", "*:0/15", "1..2/0:0", "-", ":", "..", "mon..", "*-*-*", "9999-12-31 23:59:59"} {
		f.Add(s)
	}
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			return
		}
		if p, ok := e.Prev(at); ok && p.After(at) {
			t.Fatalf("%q: Prev after at", s)
		}
		if n, ok := e.Next(at); ok && !n.After(at) {
			t.Fatalf("%q: Next not after at", s)
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
	e, _ := Parse("sat 03:00")
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, mustLoad(b, "Europe/Vienna"))
	for b.Loop() {
		e.Prev(at)
	}
}

func BenchmarkNext(b *testing.B) {
	e, _ := Parse("sat 03:00")
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, mustLoad(b, "Europe/Vienna"))
	for b.Loop() {
		e.Next(at)
	}
}

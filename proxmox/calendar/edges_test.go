package calendar

import (
	"strings"
	"testing"
	"time"
)

// A month repetition without a year counts from January, as with one:
// proxmox-time parse_date_spec reads months with
// parse_date_time_comp_list(1, 13) in both branches, so "*/5" is January,
// June and November.
func TestMonthStepCountsFromJanuary(t *testing.T) {
	at := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for _, s := range []string{"*/5-1 02:00", "*-*/5-1 02:00", "*/2-1 02:00"} {
		got, ok := mustParse(t, s).Prev(at)
		if want := time.Date(2026, 11, 1, 2, 0, 0, 0, time.UTC); !ok || !got.Equal(want) {
			t.Errorf("%s: previous start %v (%v), want %v", s, got, ok, want)
		}
	}
	// A day step counts from the 1st: the 1st, 8th, 15th, 22nd, 29th.
	if got, _ := mustParse(t, "*-*/7 00:00").Prev(at); !got.Equal(time.Date(2026, 11, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("*-*/7: %v", got)
	}
}

// The error says where parsing stopped and why: text left after a
// complete event is "unexpected text"; an event that cannot start names
// what was expected there.
func TestParseErrorSaysWhy(t *testing.T) {
	for _, s := range []string{"mon 99:99", "mon 02:00 tue", "02:00 02:00"} {
		_, err := Parse(s)
		if err == nil || !strings.Contains(err.Error(), "unexpected text") {
			t.Errorf("Parse(%q): %v", s, err)
		}
	}
	for _, s := range []string{"daily x", "x"} {
		_, err := Parse(s)
		if err == nil || strings.Contains(err.Error(), "unexpected text") || strings.HasSuffix(err.Error(), ": ") {
			t.Errorf("Parse(%q): %v, want what was expected", s, err)
		}
	}
}

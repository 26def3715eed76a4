package config

import (
	"strings"
	"testing"
	"time"
)

const minimalPVE = "targets:\n  t1:\n    type: pve\n    url: https://h:8006\n    token_id: m@pve!e\n    token_secret: x\n"

// A readable, valid file loads: the read error path is not the only one.
func TestLoadFileValid(t *testing.T) {
	cfg, err := LoadFile(writeFile(t, "good.yml", minimalPVE))
	if err != nil {
		t.Fatal(err)
	}
	if tg := cfg.Targets["t1"]; tg == nil || tg.Type != TypePVE || tg.URL != "https://h:8006" {
		t.Errorf("loaded %+v", cfg.Targets)
	}
}

// The lookback bounds are inclusive: 1h and 366d are accepted, a second
// beyond either is not.
func TestTaskLookbackBounds(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"1h": time.Hour, "366d": 366 * 24 * time.Hour, "59m": 0, "366d1s": 0,
	} {
		cfg, err := Parse([]byte(minimalPVE + "    task_lookback: " + in + "\n"))
		if want == 0 {
			if err == nil || !strings.Contains(err.Error(), "out of range") {
				t.Errorf("task_lookback %s: %v, want out of range", in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("task_lookback %s: %v", in, err)
			continue
		}
		if got := time.Duration(cfg.Targets["t1"].TaskLookback); got != want {
			t.Errorf("task_lookback %s = %v", in, got)
		}
	}
}

// A proxy error names the field at fault: with a proxy_url set, no_proxy
// and proxy_connect_header are fine, and the conflict is proxy_url's
// (promconfig ProxyConfig.Validate: proxy_url and proxy_from_environment
// exclude each other).
func TestProxyErrorField(t *testing.T) {
	for in, want := range map[string]string{
		"    proxy_url: http://p:3128\n    proxy_from_environment: true\n    no_proxy: internal\n":                    `target "t1": proxy_url:`,
		"    proxy_url: http://p:3128\n    proxy_from_environment: true\n    proxy_connect_header:\n      X-A: [b]\n": `target "t1": proxy_url:`,
		"    no_proxy: internal\n":                                                      `target "t1": no_proxy:`,
		"    proxy_connect_header:\n      X-A: [b]\n":                                   `target "t1": proxy_connect_header:`,
		"    proxy_from_environment: true\n    proxy_connect_header:\n      X-A: [b]\n": "",
	} {
		_, err := Parse([]byte(minimalPVE + in))
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", in, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
}

// The checks that read the YAML tree before decoding find the targets
// wherever the key sits in the file, not only first.
func TestTargetsNotFirstKey(t *testing.T) {
	in := "x-defaults: &d 1\n" + minimalPVE + "    task_lookback: -1d\n"
	_, err := Parse([]byte(in))
	if err == nil || !strings.Contains(err.Error(), `target "t1": task_lookback: line 8: must not be negative`) {
		t.Errorf("%v", err)
	}
}

// Every target's durations are checked, not only the first's.
func TestSecondTargetDurations(t *testing.T) {
	in := minimalPVE + "  t2:\n    type: pve\n    url: https://h2:8006\n    token_id: m@pve!e\n    token_secret: x\n    task_lookback: -2d\n"
	_, err := Parse([]byte(in))
	if err == nil || !strings.Contains(err.Error(), `target "t2": task_lookback: line 12: must not be negative`) {
		t.Errorf("%v", err)
	}
}

// restore_lookback: 1d to 3660d inclusive, 400d by default, on both target
// types; a negative or unreadable value names target, field and line.
func TestRestoreLookback(t *testing.T) {
	for in, want := range map[string]time.Duration{
		"": 400 * 24 * time.Hour, "1d": 24 * time.Hour, "3660d": 3660 * 24 * time.Hour, "23h": 0, "3660d1s": 0,
	} {
		text := minimalPVE
		if in != "" {
			text += "    restore_lookback: " + in + "\n"
		}
		cfg, err := Parse([]byte(text))
		if want == 0 {
			if err == nil || !strings.Contains(err.Error(), `target "t1": restore_lookback: `+in+" is out of range: use 1d to 3660d") {
				t.Errorf("restore_lookback %s: %v, want out of range", in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("restore_lookback %s: %v", in, err)
			continue
		}
		if got := time.Duration(cfg.Targets["t1"].RestoreLookback); got != want {
			t.Errorf("restore_lookback %q = %v, want %v", in, got, want)
		}
	}
	pbs := strings.Replace(minimalPVE, "type: pve", "type: pbs", 1)
	cfg, err := Parse([]byte(pbs + "    restore_lookback: 30d\n"))
	if err != nil || time.Duration(cfg.Targets["t1"].RestoreLookback) != 30*24*time.Hour {
		t.Errorf("pbs restore_lookback: %v", err)
	}
	for in, want := range map[string]string{
		"-1d":  `target "t1": restore_lookback: line 7: must not be negative`,
		"soon": `target "t1": restore_lookback: line 7: "soon" is not a duration`,
	} {
		if _, err := Parse([]byte(minimalPVE + "    restore_lookback: " + in + "\n")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("restore_lookback %s: %v, want %s", in, err, want)
		}
	}
}

// The restore-test opt-in: a PVE tag (restore-test unless set), or every
// guest; neither applies to PBS, and a tag PVE would refuse is refused.
func TestRestoreTestOptIn(t *testing.T) {
	cfg, err := Parse([]byte(minimalPVE))
	if err != nil {
		t.Fatal(err)
	}
	if tg := cfg.Targets["t1"]; tg.RestoreTestTag != "restore-test" || tg.RestoreTestAll {
		t.Errorf("defaults: tag %q, all %v", tg.RestoreTestTag, tg.RestoreTestAll)
	}
	cfg, err = Parse([]byte(minimalPVE + "    restore_test_tag: DR.quarterly\n    restore_test_all: true\n"))
	if err != nil {
		t.Fatal(err)
	}
	if tg := cfg.Targets["t1"]; tg.RestoreTestTag != "DR.quarterly" || !tg.RestoreTestAll {
		t.Errorf("set: tag %q, all %v", tg.RestoreTestTag, tg.RestoreTestAll)
	}
	pbs := strings.Replace(minimalPVE, "type: pve", "type: pbs", 1)
	for in, want := range map[string]string{
		minimalPVE + "    restore_test_tag: a;b\n":   `target "t1": restore_test_tag: "a;b" is not a PVE tag`,
		minimalPVE + "    restore_test_tag: -x\n":    `target "t1": restore_test_tag: "-x" is not a PVE tag`,
		pbs + "    restore_test_all: true\n":         `target "t1": restore_test_tag: restore_test_tag and restore_test_all only apply to pve targets`,
		pbs + "    restore_test_tag: restore-test\n": "only apply to pve targets",
	} {
		if _, err := Parse([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want %s", in, err, want)
		}
	}
}

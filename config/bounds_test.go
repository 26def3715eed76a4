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

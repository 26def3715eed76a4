package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"
)

// TestDocumentedDefaults checks that a target without the optional keys
// gets the defaults the README's table of target keys documents.
func TestDocumentedDefaults(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join("..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	// | `key` | `default` ... | meaning |
	row := regexp.MustCompile("(?m)^\\| `([a-z_]+)` \\| `([^`]+)`")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(string(readme), -1) {
		documented[m[1]] = m[2]
	}
	c, err := Parse([]byte(pveTarget("    token_secret: x\n")))
	if err != nil {
		t.Fatal(err)
	}
	tg := c.Targets["c"]
	got := map[string]string{
		"timeout":            tg.Timeout.String(),
		"concurrency":        strconv.Itoa(tg.Concurrency),
		"max_response_bytes": strconv.FormatInt(tg.MaxResponseBytes, 10),
		"compression":        tg.Compression,
		"task_lookback":      tg.TaskLookback.String(),
	}
	for key, value := range got {
		doc, ok := documented[key]
		if !ok {
			t.Errorf("the README documents no default for %s", key)
			continue
		}
		if doc != value {
			// Durations may be written in another unit.
			if d1, e1 := model.ParseDuration(doc); e1 == nil {
				if d2, e2 := model.ParseDuration(value); e2 == nil && time.Duration(d1) == time.Duration(d2) {
					continue
				}
			}
			t.Errorf("%s: the README says %q, a target gets %q", key, doc, value)
		}
	}
}

// TestRangeEdges checks the timeout and URL port at their limits.
func TestRangeEdges(t *testing.T) {
	for _, tc := range []struct {
		extra, url string
		ok         bool
	}{
		{"    timeout: 100ms\n", "https://pve:8006", true},
		{"    timeout: 99ms\n", "https://pve:8006", false},
		{"    timeout: 10m\n", "https://pve:8006", true},
		{"", "https://pve:1", true},
		{"", "https://pve:65535", true},
		{"", "https://pve:0", false},
		{"", "https://pve:65536", false},
		{"", "https://pve:99999", false},
	} {
		cfg := strings.Replace(pveTarget("    token_secret: x\n"+tc.extra), "https://pve:8006", tc.url, 1)
		_, err := Parse([]byte(cfg))
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: error %v, want ok %v", tc.url, tc.extra, err, tc.ok)
		}
	}
}

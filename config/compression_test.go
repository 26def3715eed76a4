package config

import (
	"strings"
	"testing"
)

func TestCompressionSetting(t *testing.T) {
	base := "targets:\n  t:\n    type: pbs\n    url: https://pbs:8007\n    token_id: a@pbs!b\n    token_secret: s\n"
	for _, tc := range []struct{ line, want, err string }{
		{"", CompressionAuto, ""},
		{"    compression: auto\n", CompressionAuto, ""},
		{"    compression: none\n", CompressionNone, ""},
		{"    compression: gzip\n", "", `target "t": compression: "gzip" is not a compression setting: use "auto" or "none"`},
		{"    compression: None\n", "", `"None" is not a compression setting`},
	} {
		cfg, err := Parse([]byte(base + tc.line))
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("%q: error %v, want %q", tc.line, err, tc.err)
			}
			continue
		}
		if err != nil || cfg.Targets["t"].Compression != tc.want {
			t.Errorf("%q: %v, compression %+v", tc.line, err, cfg)
		}
	}
}

// Package testtools finds the real programs that tests run: promtool,
// prometheus, alertmanager and amtool, as scripts/fetch-tools.sh unpacks
// them from Debian's packages.
package testtools

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Root is the repository's root directory.
func Root() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Find returns the path of a tool: $<ENV> (e.g. $PROMTOOL), the
// repository's .tools/bin, or PATH. Without it the test is skipped, except
// in CI (CI=true), where every tool must be there.
func Find(t testing.TB, name, env string) string {
	t.Helper()
	candidates := []string{os.Getenv(env), filepath.Join(Root(), ".tools", "bin", name)}
	if p, err := exec.LookPath(name); err == nil {
		candidates = append(candidates, p)
	}
	for _, c := range candidates {
		if c == "" {
			continue
		}
		if _, err := os.Stat(c); err == nil {
			return c
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s not found: run scripts/fetch-tools.sh", name)
	}
	t.Skipf("%s not found: run scripts/fetch-tools.sh (make tools)", name)
	return ""
}

// Promtool finds promtool.
func Promtool(t testing.TB) string { return Find(t, "promtool", "PROMTOOL") }

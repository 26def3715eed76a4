// Package testtools finds the real programs that tests run: promtool,
// prometheus, alertmanager and amtool in two sets (the oldest supported
// versions, from Debian's packages, and the current releases, built from
// their Go modules), as scripts/fetch-tools.sh puts them in .tools/, and
// shellcheck, chromium and the packaging tools (dpkg, lintian, buildah).
//
// A missing program fails the test: it is never skipped, so that a green
// run has really exercised the rules, the scripts and the page. make check
// fetches what is missing first.
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

// Set is one set of Prometheus programs.
type Set struct {
	// Name is "debian" (the oldest supported versions) or "current".
	Name string
	dir  string
}

// SetNames are the sets every rule, config and end-to-end test runs on.
var SetNames = []string{"debian", "current"}

// Sets returns both sets, failing the test when a set is missing.
func Sets(t testing.TB) []Set {
	t.Helper()
	sets := make([]Set, 0, len(SetNames))
	for _, name := range SetNames {
		s := Set{Name: name, dir: filepath.Join(Root(), ".tools", name)}
		for _, tool := range []string{"promtool", "prometheus", "alertmanager", "amtool"} {
			if _, err := os.Stat(s.Path(tool)); err != nil {
				t.Fatalf("%s %s not found: run make tools (scripts/fetch-tools.sh)", name, tool)
			}
		}
		sets = append(sets, s)
	}
	return sets
}

// Path is the path of one program of the set.
func (s Set) Path(tool string) string { return filepath.Join(s.dir, "bin", tool) }

// AlertmanagerTemplates returns the directory that the set's Alertmanager
// must find as ./alertmanager-templates in its working directory, or ""
// when it needs none (the current release embeds its templates).
func (s Set) AlertmanagerTemplates() string {
	if s.Name != "debian" {
		return ""
	}
	return filepath.Join(s.dir, "alertmanager-templates")
}

// Find returns the path of a program that is not part of a set: $<ENV>
// (e.g. $SHELLCHECK), the debian set's bin directory, or PATH. A missing
// program fails the test.
func Find(t testing.TB, name, env string) string {
	t.Helper()
	candidates := []string{os.Getenv(env), filepath.Join(Root(), ".tools", "debian", "bin", name)}
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
	t.Fatalf("%s not found: run make tools (scripts/fetch-tools.sh); chromium, lintian and buildah come from Debian's packages (as root: apt-get install chromium lintian buildah uidmap)", name)
	return ""
}

// Promtool returns the promtool of the oldest supported set, for checks
// whose outcome does not depend on the version. Tests of the rules and the
// configs run on every set (Sets).
func Promtool(t testing.TB) string {
	t.Helper()
	return Sets(t)[0].Path("promtool")
}

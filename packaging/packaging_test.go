// Package packaging tests what `make package`, `make release` and
// `make image` build: the Debian packages (their control data, files,
// conffiles, the binary inside, lintian, and an install, upgrade, remove
// and purge into a scratch root directory), the release archives with
// their checksums, and the container image that buildah builds from the
// release binary. The targets run once per test binary, into a temporary
// directory (DIST), from the checkout as it is.
//
// Every tool is real and a missing one fails the test: dpkg and dpkg-deb,
// lintian, buildah (Debian's packages; .ci/run and scripts/fetch-tools.sh
// install them as root). Nothing needs root: dpkg installs into the scratch
// root with --force-not-root and runs the maintainer scripts outside a
// chroot with DPKG_ROOT set, and buildah runs rootless (newuidmap from
// Debian's uidmap and a range in /etc/subuid and /etc/subgid).
package packaging

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"debug/buildinfo"
	"debug/elf"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"proxmox_backup_exporter/internal/testtools"
)

const (
	pkgName = "proxmox-backup-exporter"
	binary  = "proxmox_backup_exporter"
	unit    = "proxmox_backup_exporter.service"
)

var arches = []string{"amd64", "arm64"}

var distDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "pbe-dist-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	distDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var (
	releaseOnce sync.Once
	releaseErr  error
)

// release runs `make release` (which makes the packages first) once.
func release(t *testing.T) string {
	t.Helper()
	releaseOnce.Do(func() {
		releaseErr = run(testtools.Root(), nil, "make", "--no-print-directory", "release", "DIST="+distDir)
	})
	if releaseErr != nil {
		t.Fatalf("make release: %v", releaseErr)
	}
	return distDir
}

func run(dir string, env []string, name string, args ...string) error {
	_, err := output(dir, env, name, args...)
	return err
}

func output(dir string, env []string, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("%s %s: %v\n%s%s", name, strings.Join(args, " "), err, out, stderr.Bytes())
	}
	return out, nil
}

func readRepo(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(testtools.Root(), name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// version is the VERSION file; debVersion the same in Debian's form, as
// nfpm writes it: a semver pre-release sorts before its release there
// only after a tilde.
func version(t *testing.T) string {
	return strings.TrimSpace(readRepo(t, "VERSION"))
}

func debVersion(v string) string {
	if i := strings.IndexByte(v, '-'); i >= 0 {
		meta := ""
		if j := strings.IndexByte(v, '+'); j > i {
			v, meta = v[:j], v[j:]
		}
		return v[:i] + "~" + v[i+1:] + meta
	}
	return v
}

func debFile(t *testing.T, arch string) string {
	t.Helper()
	return filepath.Join(release(t), fmt.Sprintf("%s_%s_%s.deb", pkgName, debVersion(version(t)), arch))
}

// revision and buildDate are what the Makefile stamps into a release.
func revision(t *testing.T) string {
	t.Helper()
	out, err := output(testtools.Root(), nil, "git", "rev-parse", "--short", "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// commitTime is the date of the last commit, which dates a release.
func commitTime(t *testing.T) time.Time {
	t.Helper()
	out, err := output(testtools.Root(), nil, "git", "log", "-1", "--format=%ct")
	if err != nil {
		t.Fatal(err)
	}
	epoch, err := strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
	if err != nil {
		t.Fatal(err)
	}
	return time.Unix(epoch, 0).UTC()
}

func buildDate(t *testing.T) string {
	return commitTime(t).Format("20060102-15:04:05")
}

// checkBinary checks a release binary for arch: the host's runs and
// reports the version, revision and build date; another's is an ELF binary
// for its architecture whose build settings name the same version.
func checkBinary(t *testing.T, path, arch string) {
	t.Helper()
	f, err := elf.Open(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	machine := f.Machine
	f.Close()
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[arch]
	if machine != want {
		t.Errorf("%s: ELF machine %v, want %v", path, machine, want)
	}
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if settings["GOARCH"] != arch || settings["GOOS"] != "linux" || settings["CGO_ENABLED"] != "0" || settings["-trimpath"] != "true" {
		t.Errorf("%s: built with GOOS=%s GOARCH=%s CGO_ENABLED=%s -trimpath=%s, want a static linux/%s build", path,
			settings["GOOS"], settings["GOARCH"], settings["CGO_ENABLED"], settings["-trimpath"], arch)
	}
	if arch != runtime.GOARCH {
		// Not runnable here: the stamped strings are in its data (-trimpath
		// keeps -ldflags out of the build settings).
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{version(t), revision(t), buildDate(t)} {
			if !bytes.Contains(b, []byte(want)) {
				t.Errorf("%s: %q is not stamped into the binary", path, want)
			}
		}
		return
	}
	// kingpin prints --version on standard error.
	out, err := exec.Command(path, "--version").CombinedOutput()
	if err != nil {
		t.Fatalf("%s --version: %v\n%s", path, err, out)
	}
	for _, want := range []string{
		"version " + version(t) + " ",
		"revision: " + revision(t) + ")",
		"build date:       " + buildDate(t) + "\n",
		"platform:         linux/" + arch + "\n",
	} {
		if !strings.Contains(string(out), want) {
			t.Errorf("%s --version lacks %q:\n%s", path, want, out)
		}
	}
}

// debEntry is one entry of a package's data archive.
type debEntry struct {
	mode  os.FileMode
	owner string
	link  string
	data  []byte
}

// debContents reads the data archive of a package with dpkg-deb.
func debContents(t *testing.T, deb string) map[string]debEntry {
	t.Helper()
	out, err := output("", nil, testtools.Find(t, "dpkg-deb", "DPKG_DEB"), "--fsys-tarfile", deb)
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]debEntry{}
	tr := tar.NewReader(bytes.NewReader(out))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		name := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
		entries[name] = debEntry{mode: h.FileInfo().Mode(), owner: fmt.Sprintf("%d:%d", h.Uid, h.Gid), link: h.Linkname, data: data}
	}
	return entries
}

func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestPackageControl(t *testing.T) {
	// VERSION in Debian's form is a valid Debian version.
	if err := run("", nil, testtools.Find(t, "dpkg", "DPKG"), "--validate-version", debVersion(version(t))); err != nil {
		t.Errorf("VERSION %q: %v", version(t), err)
	}
	for v, want := range map[string]string{"1.2.3": "1.2.3", "1.2.3-rc.1": "1.2.3~rc.1", "1.2.3-rc.1+git.5": "1.2.3~rc.1+git.5"} {
		if got := debVersion(v); got != want {
			t.Errorf("debVersion(%q) = %q, want %q", v, got, want)
		}
	}
	for _, arch := range arches {
		deb := debFile(t, arch)
		out, err := output("", nil, testtools.Find(t, "dpkg-deb", "DPKG_DEB"), "--field", deb)
		if err != nil {
			t.Fatal(err)
		}
		fields := map[string]string{}
		for _, line := range strings.Split(string(out), "\n") {
			if k, v, ok := strings.Cut(line, ": "); ok && !strings.HasPrefix(line, " ") {
				fields[k] = v
			}
		}
		for k, want := range map[string]string{
			"Package":      pkgName,
			"Version":      debVersion(version(t)),
			"Architecture": arch,
			"Section":      "net",
			"Priority":     "optional",
			"Description":  "Prometheus exporter for Proxmox VE and Proxmox Backup Server backups",
		} {
			if fields[k] != want {
				t.Errorf("%s: %s: %q, want %q", arch, k, fields[k], want)
			}
		}
		// A static binary: nothing to depend on, so it installs on any
		// Debian or Proxmox release.
		for _, k := range []string{"Depends", "Pre-Depends"} {
			if v, ok := fields[k]; ok {
				t.Errorf("%s: %s: %q, want none", arch, k, v)
			}
		}
		if m := fields["Maintainer"]; !strings.Contains(m, "<") || !strings.HasSuffix(m, ">") {
			t.Errorf("%s: Maintainer %q is not NAME <ADDRESS>", arch, m)
		}

		// The conffiles: exactly the two files in /etc, and nothing that
		// maintainer scripts would have to create.
		out, err = output("", nil, testtools.Find(t, "dpkg-deb", "DPKG_DEB"), "--info", deb, "conffiles")
		if err != nil {
			t.Fatal(err)
		}
		conffiles := strings.Fields(string(out))
		want := []string{"/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml", "/etc/proxmox_backup_exporter/web-config.yml.example"}
		if !slices.Equal(conffiles, want) {
			t.Errorf("%s: conffiles %q, want %q", arch, conffiles, want)
		}
	}
}

func TestPackageFiles(t *testing.T) {
	for _, arch := range arches {
		entries := debContents(t, debFile(t, arch))
		doc := "/usr/share/doc/" + pkgName
		share := "/usr/share/" + pkgName
		want := map[string]os.FileMode{
			"/usr/bin/" + binary:                                  0o755,
			"/lib/systemd/system/" + unit:                         0o644,
			"/etc/proxmox_backup_exporter/" + binary + ".yml":     0o644,
			"/etc/proxmox_backup_exporter/web-config.yml.example": 0o644,
			"/usr/share/man/man1/" + binary + ".1.gz":             0o644,
			"/usr/share/lintian/overrides/" + pkgName:             0o644,
			share + "/scripts/create-pve-token.sh":                0o755,
			share + "/scripts/create-pbs-token.sh":                0o755,
			doc + "/copyright":                                    0o644,
			doc + "/changelog.gz":                                 0o644,
			doc + "/README.md.gz":                                 0o644,
			doc + "/permissions.md":                               0o644,
			doc + "/runbook.md":                                   0o644,
			doc + "/examples/prometheus.yml":                      0o644,
			doc + "/examples/alertmanager.yml":                    0o644,
			doc + "/examples/grafana/dashboards.yml":              0o644,
		}
		for _, glob := range []struct{ src, dst string }{{"dashboards/*.json", share + "/dashboards/"}, {"alerts/*.yaml", share + "/alerts/"}} {
			files, err := filepath.Glob(filepath.Join(testtools.Root(), glob.src))
			if err != nil || len(files) == 0 {
				t.Fatalf("%s: %v %q", glob.src, err, files)
			}
			for _, f := range files {
				want[glob.dst+filepath.Base(f)] = 0o644
			}
		}
		var got []string
		for name, e := range entries {
			if e.mode.IsDir() {
				continue
			}
			got = append(got, name)
			if e.owner != "0:0" {
				t.Errorf("%s: %s is owned by %s, want root", arch, name, e.owner)
			}
			if m, ok := want[name]; ok && e.mode != m {
				t.Errorf("%s: %s has mode %v, want %v", arch, name, e.mode, m)
			}
		}
		var wantNames []string
		for name := range want {
			wantNames = append(wantNames, name)
		}
		slices.Sort(got)
		slices.Sort(wantNames)
		if !slices.Equal(got, wantNames) {
			t.Errorf("%s: files\n%s\nwant\n%s", arch, strings.Join(got, "\n"), strings.Join(wantNames, "\n"))
		}

		// The unit and the configuration are the documented examples.
		for path, src := range map[string]string{
			"/lib/systemd/system/" + unit:                         "examples/systemd/" + unit,
			"/etc/proxmox_backup_exporter/" + binary + ".yml":     "examples/" + binary + ".yml",
			"/etc/proxmox_backup_exporter/web-config.yml.example": "examples/web-config.yml",
			share + "/scripts/create-pve-token.sh":                "scripts/create-pve-token.sh",
			doc + "/copyright":                                    "packaging/copyright",
		} {
			if string(entries[path].data) != readRepo(t, src) {
				t.Errorf("%s: %s differs from %s", arch, path, src)
			}
		}
		unitText := string(entries["/lib/systemd/system/"+unit].data)
		if !strings.Contains(unitText, "\nExecStart=/usr/bin/"+binary+" ") {
			t.Errorf("%s: the unit does not run /usr/bin/%s", arch, binary)
		}
		if !strings.Contains(unitText, "\nDocumentation=man:"+binary+"(1)\n") {
			t.Errorf("%s: the unit does not name the packaged man page", arch)
		}
		// Installed disabled: no enablement link in the package.
		for name := range entries {
			if strings.Contains(name, ".wants/") {
				t.Errorf("%s: %s enables the unit", arch, name)
			}
		}

		// The changelog's newest entry is this version.
		changelog := string(gunzip(t, entries[doc+"/changelog.gz"].data))
		if head := fmt.Sprintf("%s (%s) ", pkgName, debVersion(version(t))); !strings.HasPrefix(changelog, head) {
			first, _, _ := strings.Cut(changelog, "\n")
			t.Errorf("%s: packaging/changelog starts with %q, want an entry for this version (%q...): add one when VERSION changes", arch, first, head)
		}
		// The man page is the binary's own --help-man, with a NAME that
		// whatis reads, and documents the commands.
		man := string(gunzip(t, entries["/usr/share/man/man1/"+binary+".1.gz"].data))
		for _, want := range []string{
			`.TH PROXMOX_BACKUP_EXPORTER 1 `,
			"\n.SH \"NAME\"\n" + binary + ` \- `,
			"--config.file", "hash-password", "--web.config.file",
		} {
			if !strings.Contains(man, want) {
				t.Errorf("%s: man page lacks %q", arch, want)
			}
		}
	}
}

func TestPackagedBinary(t *testing.T) {
	for _, arch := range arches {
		entries := debContents(t, debFile(t, arch))
		path := filepath.Join(t.TempDir(), binary)
		if err := os.WriteFile(path, entries["/usr/bin/"+binary].data, 0o755); err != nil {
			t.Fatal(err)
		}
		checkBinary(t, path, arch)
		release, err := os.ReadFile(filepath.Join(release(t), "build", "linux-"+arch, binary))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(release, entries["/usr/bin/"+binary].data) {
			t.Errorf("%s: the packaged binary is not the release binary", arch)
		}
	}
}

// lintian, Debian's package checker, finds no error and no warning.
func TestLintian(t *testing.T) {
	lintian := testtools.Find(t, "lintian", "LINTIAN")
	args := []string{"--fail-on", "error,warning"}
	for _, arch := range arches {
		args = append(args, debFile(t, arch))
	}
	cmd := exec.Command(lintian, args...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Errorf("lintian: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "E: ") || strings.HasPrefix(line, "W: ") {
			t.Errorf("lintian: %s", line)
		}
	}
	t.Logf("lintian:\n%s", out)
}

func TestMaintainerScriptsShellcheck(t *testing.T) {
	tool := testtools.Find(t, "shellcheck", "SHELLCHECK")
	var files []string
	for _, s := range []string{"postinst", "prerm", "postrm"} {
		files = append(files, filepath.Join(testtools.Root(), "packaging", s))
	}
	if out, err := exec.Command(tool, append([]string{"--severity=style", "--shell=sh"}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

// scratchRoot is a root directory with an empty dpkg database, in which
// dpkg installs without root and without a chroot: the maintainer scripts
// run here with DPKG_ROOT set to the root directory, as Debian's
// bootstrapping tools run them.
type scratchRoot struct {
	t    *testing.T
	dir  string
	dpkg string
}

func newScratchRoot(t *testing.T) *scratchRoot {
	t.Helper()
	dir := t.TempDir()
	admin := filepath.Join(dir, "var", "lib", "dpkg")
	for _, d := range []string{"info", "updates", "triggers"} {
		if err := os.MkdirAll(filepath.Join(admin, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, f := range []string{"status", "available"} {
		if err := os.WriteFile(filepath.Join(admin, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return &scratchRoot{t: t, dir: dir, dpkg: testtools.Find(t, "dpkg", "DPKG")}
}

func (r *scratchRoot) dpkgRun(args ...string) string {
	r.t.Helper()
	args = append([]string{"--root=" + r.dir, "--force-not-root", "--force-script-chrootless", "--log=/dev/null"}, args...)
	// dpkg looks for ldconfig and start-stop-daemon in PATH.
	out, err := output("", []string{"PATH=" + os.Getenv("PATH") + ":/usr/sbin:/sbin"}, r.dpkg, args...)
	if err != nil {
		r.t.Fatal(err)
	}
	return string(out)
}

func (r *scratchRoot) path(name string) string { return filepath.Join(r.dir, name) }

func (r *scratchRoot) read(name string) (string, bool) {
	b, err := os.ReadFile(r.path(name))
	return string(b), err == nil
}

func (r *scratchRoot) write(name, text string) {
	r.t.Helper()
	if err := os.MkdirAll(filepath.Dir(r.path(name)), 0o755); err != nil {
		r.t.Fatal(err)
	}
	if err := os.WriteFile(r.path(name), []byte(text), 0o600); err != nil {
		r.t.Fatal(err)
	}
}

func (r *scratchRoot) status() string {
	r.t.Helper()
	out, err := output("", nil, r.dpkg, "--root="+r.dir, "--status", pkgName)
	if err != nil {
		return "not installed"
	}
	for _, line := range strings.Split(string(out), "\n") {
		if s, ok := strings.CutPrefix(line, "Status: "); ok {
			return s
		}
	}
	return ""
}

// upgradePackage builds the host's package again as version v, with the
// example configuration and web configuration replaced by the given texts
// where they are not empty: what a later release would ship.
func upgradePackage(t *testing.T, v, config, webConfig string) string {
	t.Helper()
	dir := t.TempDir()
	spec := readRepo(t, "packaging/nfpm.yaml")
	for src, text := range map[string]string{"examples/proxmox_backup_exporter.yml": config, "examples/web-config.yml": webConfig} {
		if text == "" {
			continue
		}
		file := filepath.Join(dir, filepath.Base(src))
		if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(spec, "src: "+src+"\n") {
			t.Fatalf("packaging/nfpm.yaml has no src: %s", src)
		}
		spec = strings.Replace(spec, "src: "+src+"\n", "src: "+file+"\n", 1)
	}
	specFile := filepath.Join(dir, "nfpm.yaml")
	if err := os.WriteFile(specFile, []byte(spec), 0o644); err != nil {
		t.Fatal(err)
	}
	env := []string{"ARCH=" + runtime.GOARCH, "VERSION=" + v, "DIST=" + release(t), "MAINTAINER=test <test@example.org>"}
	if err := run(testtools.Root(), env, "go", "tool", "nfpm", "package", "--config", specFile, "--packager", "deb", "--target", dir+"/"); err != nil {
		t.Fatal(err)
	}
	return filepath.Join(dir, fmt.Sprintf("%s_%s_%s.deb", pkgName, v, runtime.GOARCH))
}

// Install, upgrade, remove and purge as Debian policy wants them: the
// configuration is a conffile that an upgrade never overwrites once the
// administrator edited it, remove keeps it, purge deletes it; what the
// administrator added (token secrets, the web configuration) is never
// touched; the maintainer scripts act on the root they are given, not on
// the machine that runs dpkg.
func TestInstallUpgradePurge(t *testing.T) {
	r := newScratchRoot(t)
	config := "etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"
	example := "etc/proxmox_backup_exporter/web-config.yml.example"
	secret := "etc/proxmox_backup_exporter/cluster1.secret"
	webConfig := "etc/proxmox_backup_exporter/web-config.yml"
	wants := "etc/systemd/system/multi-user.target.wants/" + unit

	r.dpkgRun("--install", debFile(t, runtime.GOARCH))
	if s := r.status(); s != "install ok installed" {
		t.Fatalf("after install: status %q", s)
	}
	if text, _ := r.read(config); text != readRepo(t, "examples/proxmox_backup_exporter.yml") {
		t.Errorf("installed %s is not the example", config)
	}
	checkBinary(t, r.path("usr/bin/"+binary), runtime.GOARCH)
	// Installed disabled: nothing enables or starts the unit.
	if _, err := os.Lstat(r.path(wants)); err == nil {
		t.Errorf("install enabled the unit (%s)", wants)
	}

	// The administrator configures the exporter and enables the unit.
	edited := readRepo(t, "examples/proxmox_backup_exporter.yml") + "# edited by the administrator\n"
	r.write(config, edited)
	r.write(secret, "secret\n")
	r.write(webConfig, "basic_auth_users: {}\n")
	if err := os.MkdirAll(filepath.Dir(r.path(wants)), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/lib/systemd/system/"+unit, r.path(wants)); err != nil {
		t.Fatal(err)
	}

	// An upgrade that ships the same configuration keeps the edited file
	// as it is, without asking.
	r.dpkgRun("--install", upgradePackage(t, "99.0.0", "", ""))
	if text, _ := r.read(config); text != edited {
		t.Errorf("upgrade with an unchanged conffile overwrote the edited %s", config)
	}
	if _, ok := r.read(config + ".dpkg-dist"); ok {
		t.Errorf("upgrade with an unchanged conffile left %s.dpkg-dist", config)
	}

	// An upgrade that ships a new configuration keeps the edited file
	// (--force-confold, as unattended upgrades run) and puts the new one
	// beside it; the unedited example is replaced by the new one.
	newConfig := "# the configuration of 99.1.0\ntargets: {}\n"
	newExample := "# the web configuration example of 99.1.0\n"
	r.dpkgRun("--force-confdef", "--force-confold", "--install", upgradePackage(t, "99.1.0", newConfig, newExample))
	if s := r.status(); s != "install ok installed" {
		t.Fatalf("after upgrade: status %q", s)
	}
	if text, _ := r.read(config); text != edited {
		t.Errorf("upgrade overwrote the edited %s", config)
	}
	if text, _ := r.read(config + ".dpkg-dist"); text != newConfig {
		t.Errorf("upgrade: %s.dpkg-dist is %q, want the new configuration", config, text)
	}
	if text, _ := r.read(example); text != newExample {
		t.Errorf("upgrade did not replace the unedited %s: %q", example, text)
	}
	for _, f := range []string{secret, webConfig} {
		if _, ok := r.read(f); !ok {
			t.Errorf("upgrade removed the administrator's %s", f)
		}
	}

	// Remove: the program goes, the configuration stays.
	r.dpkgRun("--remove", pkgName)
	if s := r.status(); s != "deinstall ok config-files" {
		t.Errorf("after remove: status %q", s)
	}
	for _, gone := range []string{"usr/bin/" + binary, "lib/systemd/system/" + unit} {
		if _, err := os.Lstat(r.path(gone)); err == nil {
			t.Errorf("remove left %s", gone)
		}
	}
	for _, kept := range []string{config, example, secret, webConfig} {
		if _, ok := r.read(kept); !ok {
			t.Errorf("remove deleted %s", kept)
		}
	}

	// Purge: the conffiles and the enablement go, the administrator's own
	// files stay (dpkg warns that the directory is not empty).
	r.dpkgRun("--purge", pkgName)
	if s := r.status(); s != "not installed" {
		t.Errorf("after purge: status %q", s)
	}
	for _, gone := range []string{config, config + ".dpkg-dist", example, wants} {
		if _, err := os.Lstat(r.path(gone)); err == nil {
			t.Errorf("purge left %s", gone)
		}
	}
	for _, kept := range []string{secret, webConfig} {
		if _, ok := r.read(kept); !ok {
			t.Errorf("purge deleted the administrator's %s", kept)
		}
	}
}

// The release archives hold the binary, the README, the licence and the
// examples, owned by root, and SHA256SUMS lists every archive and package
// with its right checksum.
func TestReleaseArchives(t *testing.T) {
	dist := release(t)
	sums := map[string]string{}
	text, err := os.ReadFile(filepath.Join(dist, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(text)), "\n") {
		sum, name, ok := strings.Cut(line, "  ")
		if !ok {
			t.Fatalf("SHA256SUMS: bad line %q", line)
		}
		sums[name] = sum
	}
	var want []string
	for _, arch := range arches {
		want = append(want, fmt.Sprintf("%s-%s.linux-%s.tar.gz", binary, version(t), arch), filepath.Base(debFile(t, arch)))
	}
	var names []string
	for name := range sums {
		names = append(names, name)
	}
	slices.Sort(names)
	slices.Sort(want)
	if !slices.Equal(names, want) {
		t.Errorf("SHA256SUMS lists %q, want %q", names, want)
	}
	for name, sum := range sums {
		b, err := os.ReadFile(filepath.Join(dist, name))
		if err != nil {
			t.Error(err)
			continue
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: SHA256SUMS says %s, the file is %x", name, sum, got)
		}
	}

	for _, arch := range arches {
		top := fmt.Sprintf("%s-%s.linux-%s", binary, version(t), arch)
		b, err := os.ReadFile(filepath.Join(dist, top+".tar.gz"))
		if err != nil {
			t.Fatal(err)
		}
		tr := tar.NewReader(bytes.NewReader(gunzip(t, b)))
		files := map[string][]byte{}
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(h.Name, top+"/") && h.Name != top+"/" && h.Name != top {
				t.Errorf("%s: %s is outside %s/", arch, h.Name, top)
			}
			if h.Uid != 0 || h.Gid != 0 || h.FileInfo().Mode().Perm()&0o022 != 0 {
				t.Errorf("%s: %s: owner %d:%d mode %v, want root and not group- or world-writable", arch, h.Name, h.Uid, h.Gid, h.FileInfo().Mode())
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			if h.Typeflag == tar.TypeReg {
				files[strings.TrimPrefix(h.Name, top+"/")] = data
			}
		}
		for _, name := range []string{"README.md", "LICENSE", "examples/" + binary + ".yml", "examples/web-config.yml",
			"examples/prometheus.yml", "examples/systemd/" + unit} {
			if string(files[name]) != readRepo(t, name) {
				t.Errorf("%s: %s is missing or differs from the checkout", arch, name)
			}
		}
		path := filepath.Join(t.TempDir(), binary)
		if err := os.WriteFile(path, files[binary], 0o755); err != nil {
			t.Fatal(err)
		}
		checkBinary(t, path, arch)
	}
}

// ociImage reads an image that buildah pushed to an OCI layout directory:
// its regular files and directories, merged over its layers.
func ociImage(t *testing.T, dir string) map[string]debEntry {
	t.Helper()
	readJSON := func(name string, v any) {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
	}
	blob := func(digest string) string {
		algo, hash, _ := strings.Cut(digest, ":")
		return filepath.Join("blobs", algo, hash)
	}
	type descriptor struct {
		MediaType string `json:"mediaType"`
		Digest    string `json:"digest"`
	}
	var index struct {
		Manifests []descriptor `json:"manifests"`
	}
	readJSON("index.json", &index)
	if len(index.Manifests) != 1 {
		t.Fatalf("index.json: %d manifests, want 1", len(index.Manifests))
	}
	var manifest struct {
		Layers []descriptor `json:"layers"`
	}
	readJSON(blob(index.Manifests[0].Digest), &manifest)
	files := map[string]debEntry{}
	for _, layer := range manifest.Layers {
		b, err := os.ReadFile(filepath.Join(dir, blob(layer.Digest)))
		if err != nil {
			t.Fatal(err)
		}
		if strings.HasSuffix(layer.MediaType, "+gzip") {
			b = gunzip(t, b)
		}
		tr := tar.NewReader(bytes.NewReader(b))
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(tr)
			if err != nil {
				t.Fatal(err)
			}
			name := "/" + strings.TrimSuffix(strings.TrimPrefix(h.Name, "./"), "/")
			files[name] = debEntry{mode: h.FileInfo().Mode(), owner: fmt.Sprintf("%d:%d", h.Uid, h.Gid), link: h.Linkname, data: data}
		}
	}
	return files
}

// make image builds the container image with buildah from the release
// binary, from scratch and without pulling anything: the registries
// configuration is empty, so any pull would fail. The image runs the
// release binary as a non-root user, with the port, the configuration
// volume, the labels, and nothing else but the CA certificates.
func TestImage(t *testing.T) {
	buildah := testtools.Find(t, "buildah", "BUILDAH")
	dist := release(t)
	store, err := os.MkdirTemp("", "pbe-buildah-")
	if err != nil {
		t.Fatal(err)
	}
	// Rootless buildah leaves files owned by the user namespace's ids,
	// which only a command inside that namespace can remove.
	t.Cleanup(func() {
		if os.Geteuid() == 0 {
			os.RemoveAll(store)
			return
		}
		if out, err := exec.Command(buildah, "unshare", "rm", "-rf", store).CombinedOutput(); err != nil {
			t.Errorf("removing %s: %v\n%s", store, err, out)
		}
	})
	registries := filepath.Join(store, "registries.conf")
	if err := os.WriteFile(registries, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	opts := fmt.Sprintf("--root %s/storage --runroot %s/run --storage-driver vfs", store, store)
	image := "localhost/proxmox_backup_exporter-test:" + version(t)
	sourceURL := "https://example.org/proxmox_backup_exporter.git"
	env := []string{"BUILDAH_OPTS=" + opts, "CONTAINERS_REGISTRIES_CONF=" + registries}
	if err := run(testtools.Root(), env, "make", "--no-print-directory", "image", "DIST="+dist, "IMAGE="+image, "SOURCE_URL="+sourceURL); err != nil {
		t.Fatal(err)
	}
	b := func(args ...string) []byte {
		t.Helper()
		out, err := output("", env, buildah, append(strings.Fields(opts), args...)...)
		if err != nil {
			t.Fatal(err)
		}
		return out
	}

	var inspect struct {
		OCIv1 struct {
			Created string `json:"created"`
			Config  struct {
				User         string              `json:"User"`
				ExposedPorts map[string]struct{} `json:"ExposedPorts"`
				Entrypoint   []string            `json:"Entrypoint"`
				Cmd          []string            `json:"Cmd"`
				Volumes      map[string]struct{} `json:"Volumes"`
				Labels       map[string]string   `json:"Labels"`
			} `json:"config"`
		} `json:"OCIv1"`
	}
	if err := json.Unmarshal(b("inspect", "--type", "image", image), &inspect); err != nil {
		t.Fatal(err)
	}
	cfg := inspect.OCIv1.Config
	if cfg.User != "65534:65534" {
		t.Errorf("user %q, want 65534:65534", cfg.User)
	}
	if _, ok := cfg.ExposedPorts["10049/tcp"]; !ok || len(cfg.ExposedPorts) != 1 {
		t.Errorf("exposed ports %v, want 10049/tcp", cfg.ExposedPorts)
	}
	if want := []string{"/bin/" + binary, "--config.file=/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"}; !slices.Equal(cfg.Entrypoint, want) || len(cfg.Cmd) != 0 {
		t.Errorf("entrypoint %q cmd %q, want %q and no cmd", cfg.Entrypoint, cfg.Cmd, want)
	}
	if _, ok := cfg.Volumes["/etc/proxmox_backup_exporter"]; !ok || len(cfg.Volumes) != 1 {
		t.Errorf("volumes %v, want /etc/proxmox_backup_exporter", cfg.Volumes)
	}
	for k, want := range map[string]string{
		"org.opencontainers.image.version":  version(t),
		"org.opencontainers.image.revision": revision(t),
		"org.opencontainers.image.source":   sourceURL,
		"org.opencontainers.image.title":    binary,
	} {
		if cfg.Labels[k] != want {
			t.Errorf("label %s=%q, want %q", k, cfg.Labels[k], want)
		}
	}
	// Dated by the commit, like the rest of the release.
	if created, err := time.Parse(time.RFC3339Nano, inspect.OCIv1.Created); err != nil || !created.Equal(commitTime(t)) {
		t.Errorf("created %s, want the commit's date %s", inspect.OCIv1.Created, commitTime(t))
	}

	oci := filepath.Join(store, "oci")
	b("push", "--quiet", image, "oci:"+oci)
	files := ociImage(t, oci)
	var regular []string
	for name, e := range files {
		if e.mode.IsRegular() {
			regular = append(regular, name)
		} else if !e.mode.IsDir() {
			t.Errorf("%s: %v, want only files and directories", name, e.mode)
		}
	}
	slices.Sort(regular)
	if want := []string{"/bin/" + binary, "/etc/ssl/certs/ca-certificates.crt"}; !slices.Equal(regular, want) {
		t.Errorf("files %q, want %q", regular, want)
	}
	if e := files["/etc/proxmox_backup_exporter"]; !e.mode.IsDir() || e.owner != "65534:65534" {
		t.Errorf("/etc/proxmox_backup_exporter: %v owned by %s, want a directory of 65534:65534", e.mode, e.owner)
	}
	if e := files["/bin/"+binary]; e.mode.Perm() != 0o755 || e.owner != "0:0" {
		t.Errorf("/bin/%s: %v owned by %s, want 0755 root", binary, e.mode, e.owner)
	}
	certs, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["/etc/ssl/certs/ca-certificates.crt"].data, certs) {
		t.Error("the image's CA certificates are not Debian's")
	}
	releaseBinary, err := os.ReadFile(filepath.Join(dist, "build", "linux-"+runtime.GOARCH, binary))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(files["/bin/"+binary].data, releaseBinary) {
		t.Error("the image's binary is not the release binary")
	}
	path := filepath.Join(t.TempDir(), binary)
	if err := os.WriteFile(path, files["/bin/"+binary].data, 0o755); err != nil {
		t.Fatal(err)
	}
	checkBinary(t, path, runtime.GOARCH)
}

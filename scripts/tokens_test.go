// Package scripts tests the token scripts against stand-in pveum, pvenode, pvesh,
// proxmox-backup-manager and hostname commands (testdata/standin.sh) that
// record their arguments and keep users, tokens, roles and ACLs in files,
// answering like the real tools. It also checks the shell scripts with
// shellcheck and the packaging: the Dockerfile and the systemd unit.
package scripts

import (
	"context"
	"crypto/sha256"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/internal/testtools"
)

const (
	pveScript = "create-pve-token.sh"
	pbsScript = "create-pbs-token.sh"
	pveUser   = "monitor@pve"
	pveToken  = "monitor@pve!exporter"
	pbsUser   = "monitor@pbs"
	pbsToken  = "monitor@pbs!exporter"
)

// The secrets the stand-in hands out, in order.
const (
	firstSecret  = "7a3c0001-5eed-4c0d-9e11-000000000001"
	secondSecret = "7a3c0002-5eed-4c0d-9e11-000000000002"
)

// fingerprint is a certificate fingerprint written the way PVE shows it.
func fingerprint(seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return config.FormatFingerprint(sum[:])
}

// env is a directory of stand-in commands and the state they share.
type env struct {
	t     *testing.T
	bin   string
	state string
	seen  int // calls already returned by run
}

func newEnv(t *testing.T) *env {
	t.Helper()
	dir := t.TempDir()
	e := &env{t: t, bin: filepath.Join(dir, "bin"), state: filepath.Join(dir, "state")}
	for _, d := range []string{e.bin, e.state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	standin, err := filepath.Abs(filepath.Join("testdata", "standin.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"pveum", "pvenode", "pvesh", "proxmox-backup-manager", "hostname"} {
		if err := os.Symlink(standin, filepath.Join(e.bin, name)); err != nil {
			t.Fatal(err)
		}
	}
	e.write("cert-pve-root-ca.pem", fingerprint("pve-root-ca"))
	e.write("cert-pve-ssl.pem", fingerprint("pve-ssl"))
	e.write("pbs-fingerprint", strings.ToLower(fingerprint("pbs")))
	e.write("storages", "local|dir|backup,iso,vztmpl\nlocal-lvm|lvmthin|images,rootdir\npbs-main|pbs|backup")
	return e
}

// write sets a file of the stand-ins' state.
func (e *env) write(name, content string) {
	e.t.Helper()
	path := filepath.Join(e.state, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		e.t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content+"\n"), 0o644); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) read(name string) string {
	e.t.Helper()
	b, err := os.ReadFile(filepath.Join(e.state, name))
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// result is one run of a script.
type result struct {
	code   int
	stdout string
	stderr string
	calls  [][]string // each stand-in call of this run: command name, then arguments
}

func (r result) String() string {
	var b strings.Builder
	for _, c := range r.calls {
		b.WriteString(strings.Join(c, " ") + "\n")
	}
	return "exit " + strconv.Itoa(r.code) + "\ncalls:\n" + b.String() + "stderr:\n" + r.stderr + "stdout:\n" + r.stdout
}

// run runs a script with the stand-ins first on PATH.
func (e *env) run(script string, args ...string) result {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", append([]string{filepath.Join(testtools.Root(), "scripts", script)}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+e.bin+string(os.PathListSeparator)+os.Getenv("PATH"), "STATE="+e.state, "LC_ALL=C")
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var r result
	if err := cmd.Run(); err != nil {
		var exit *exec.ExitError
		if !errors.As(err, &exit) || ctx.Err() != nil {
			e.t.Fatalf("%s %q: %v (%v)\n%s", script, args, err, ctx.Err(), stderr.String())
		}
		r.code = exit.ExitCode()
	}
	r.stdout, r.stderr = stdout.String(), stderr.String()
	b, err := os.ReadFile(filepath.Join(e.state, "calls"))
	if err != nil && !os.IsNotExist(err) {
		e.t.Fatal(err)
	}
	var all [][]string
	for line := range strings.SplitSeq(strings.TrimSuffix(string(b), "\n"), "\n") {
		if line != "" {
			all = append(all, strings.Split(line, "\x1f"))
		}
	}
	r.calls = all[e.seen:]
	e.seen = len(all)
	return r
}

// mustRun runs a script that must succeed.
func (e *env) mustRun(script string, args ...string) result {
	e.t.Helper()
	r := e.run(script, args...)
	if r.code != 0 {
		e.t.Fatalf("%s %q failed:\n%v", script, args, r)
	}
	return r
}

// acls lists the ACL entries as "PATH ROLE UGID PROPAGATE", sorted.
func (e *env) acls() []string {
	e.t.Helper()
	var out []string
	for line := range strings.SplitSeq(e.read("acls"), "\n") {
		if f := strings.Split(line, "|"); len(f) == 5 {
			out = append(out, f[0]+" "+f[1]+" "+f[3]+" "+f[4])
		}
	}
	slices.Sort(out)
	return out
}

// called reports whether a call starts with want.
func called(calls [][]string, want ...string) bool {
	return slices.ContainsFunc(calls, func(c []string) bool {
		return len(c) >= len(want) && slices.Equal(c[:len(want)], want)
	})
}

// changes returns the calls that change users, tokens, roles or ACLs.
func changes(calls [][]string) []string {
	var out []string
	for _, c := range calls {
		line := strings.Join(c, " ")
		for _, verb := range []string{
			"pveum role add", "pveum role modify", "pveum user add", "pveum user modify",
			"pveum user token add", "pveum user token remove", "pveum user token modify",
			"pveum acl modify", "pveum acl delete",
			"proxmox-backup-manager user create", "proxmox-backup-manager user generate-token",
			"proxmox-backup-manager user delete-token", "proxmox-backup-manager acl update",
		} {
			if strings.HasPrefix(line, verb+" ") {
				out = append(out, line)
			}
		}
	}
	return out
}

func sorted(s ...string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}

// pveGrants is the ACL set the PVE script makes: the read role on / and the
// backup-volume role on /vms and on the given storage paths.
func pveGrants(storagePaths ...string) []string {
	var out []string
	for _, id := range []string{pveUser, pveToken} {
		out = append(out, "/ BackupMonitor "+id+" 1")
		for _, p := range append([]string{"/vms"}, storagePaths...) {
			out = append(out, p+" BackupMonitorVolumes "+id+" 1")
		}
	}
	return sorted(out...)
}

// defaultStorages are the storages of newEnv that hold backups.
var defaultStorages = []string{"/storage/local", "/storage/pbs-main"}

var pbsGrants = sorted(
	"/datastore DatastoreAudit "+pbsUser+" true", "/datastore DatastoreAudit "+pbsToken+" true",
	"/remote RemoteAudit "+pbsUser+" true", "/remote RemoteAudit "+pbsToken+" true",
	"/tape TapeAudit "+pbsUser+" true", "/tape TapeAudit "+pbsToken+" true",
	"/system/tasks Audit "+pbsUser+" true", "/system/tasks Audit "+pbsToken+" true",
)

// checkPVELeastPrivilege fails when the monitor user or token holds a role
// other than the two custom ones, or a role holds any privilege beyond the
// four the exporter needs.
func checkPVELeastPrivilege(t *testing.T, e *env) {
	t.Helper()
	if got := e.read("roles/BackupMonitor"); got != "Sys.Audit,VM.Audit" {
		t.Errorf("role BackupMonitor has %q, want Sys.Audit,VM.Audit", got)
	}
	if _, err := os.Stat(filepath.Join(e.state, "roles", "BackupMonitorVolumes")); err == nil {
		if got := e.read("roles/BackupMonitorVolumes"); got != "Datastore.AllocateSpace,VM.Audit,VM.Backup" {
			t.Errorf("role BackupMonitorVolumes has %q, want Datastore.AllocateSpace,VM.Audit,VM.Backup", got)
		}
	}
	for _, acl := range e.acls() {
		f := strings.Fields(acl)
		if (f[2] == pveUser || f[2] == pveToken) && f[1] != "BackupMonitor" && f[1] != "BackupMonitorVolumes" {
			t.Errorf("ACL %q grants a role beyond the exporter's", acl)
		}
	}
}

// parseSnippet checks the printed configuration with the exporter's own
// parser, its token_secret_file pointed at a real file.
func parseSnippet(t *testing.T, stdout, name, secretPath string) *config.Target {
	t.Helper()
	var raw struct {
		Targets map[string]map[string]string `yaml:"targets"`
	}
	if err := yaml.Unmarshal([]byte(stdout), &raw); err != nil {
		t.Fatalf("the printed configuration is not YAML: %v\n%s", err, stdout)
	}
	if got := raw.Targets[name]["token_secret_file"]; got != secretPath {
		t.Fatalf("token_secret_file %q, want %q\n%s", got, secretPath, stdout)
	}
	file := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(file, []byte("0e6a5b43-7d1c-4a5e-9f00-1b2c3d4e5f60\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Parse([]byte(strings.ReplaceAll(stdout, secretPath, file)))
	if err != nil {
		t.Fatalf("the exporter refuses the printed configuration: %v\n%s", err, stdout)
	}
	tg := cfg.Targets[name]
	if tg == nil || len(cfg.Targets) != 1 {
		t.Fatalf("want one target %q, got %v", name, cfg.TargetNames())
	}
	return tg
}

// checkSecretShownOnce: the secret is on standard error once, never on
// standard output (the configuration) nor on any command line.
func checkSecretShownOnce(t *testing.T, r result, secret string) {
	t.Helper()
	if n := strings.Count(r.stderr, secret); n != 1 {
		t.Errorf("the secret appears %d times on stderr, want 1:\n%s", n, r.stderr)
	}
	if strings.Contains(r.stdout, secret) {
		t.Error("the secret is in the printed configuration")
	}
	for _, c := range r.calls {
		if slices.Contains(c, secret) {
			t.Errorf("the secret is on a command line: %q", c)
		}
	}
}

func TestPVETokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)

	r := e.mustRun(pveScript)
	for _, want := range [][]string{
		{"pveum", "role", "add", "BackupMonitor", "--privs", "Sys.Audit,VM.Audit"},
		{"pveum", "role", "add", "BackupMonitorVolumes", "--privs", "Datastore.AllocateSpace,VM.Audit,VM.Backup"},
		{"pveum", "user", "add", pveUser},
		{"pveum", "user", "token", "add", pveUser, "exporter", "--privsep", "1"},
		{"pveum", "acl", "modify", "/", "--roles", "BackupMonitor", "--users", pveUser, "--tokens", pveToken},
	} {
		if !called(r.calls, want...) {
			t.Errorf("missing call %q in\n%v", want, r)
		}
	}
	if got := e.read("tokens/" + pveToken); got != "1" {
		t.Errorf("token privsep = %s, want 1", got)
	}
	if got := e.acls(); !slices.Equal(got, pveGrants(defaultStorages...)) {
		t.Errorf("ACLs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(pveGrants(defaultStorages...), "\n"))
	}
	checkPVELeastPrivilege(t, e)
	checkSecretShownOnce(t, r, firstSecret)
	tg := parseSnippet(t, r.stdout, "pve1", "/etc/proxmox_backup_exporter/pve1.secret")
	if tg.Type != "pve" || tg.URL != "https://pve1.example.com:8006" || tg.TokenID != pveToken {
		t.Errorf("target: type %q url %q token_id %q", tg.Type, tg.URL, tg.TokenID)
	}
	if got := config.FormatFingerprint(tg.FingerprintBytes()); got != fingerprint("pve-ssl") {
		t.Errorf("fingerprint %s, want pve-ssl.pem's %s", got, fingerprint("pve-ssl"))
	}

	// Again: everything exists and is right, so nothing changes.
	r = e.mustRun(pveScript)
	if c := changes(r.calls); len(c) != 0 {
		t.Errorf("the second run changed:\n%s", strings.Join(c, "\n"))
	}
	if !strings.Contains(r.stderr, "keeping it") || strings.Contains(r.stderr, firstSecret) {
		t.Errorf("the second run must keep the token and show no secret:\n%s", r.stderr)
	}
	if got := e.acls(); !slices.Equal(got, pveGrants(defaultStorages...)) {
		t.Errorf("ACLs after the second run:\n%s", strings.Join(got, "\n"))
	}
	parseSnippet(t, r.stdout, "pve1", "/etc/proxmox_backup_exporter/pve1.secret")

	// --secret-file without a new secret leaves the file alone.
	secretFile := filepath.Join(t.TempDir(), "pve1.secret")
	if err := os.WriteFile(secretFile, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r = e.mustRun(pveScript, "--secret-file", secretFile)
	if b, _ := os.ReadFile(secretFile); string(b) != "old\n" || !strings.Contains(r.stderr, "was not written") {
		t.Errorf("a kept token must not touch the secret file: %q\n%s", b, r.stderr)
	}

	// --rotate replaces the token; its ACLs come back; the new secret goes
	// to the file, mode 0600, and nowhere else.
	r = e.mustRun(pveScript, "--rotate", "--secret-file="+secretFile)
	c := changes(r.calls)
	remove := slices.IndexFunc(c, func(s string) bool { return strings.HasPrefix(s, "pveum user token remove "+pveUser+" exporter") })
	add := slices.IndexFunc(c, func(s string) bool { return strings.HasPrefix(s, "pveum user token add "+pveUser+" exporter") })
	if remove < 0 || add < remove {
		t.Errorf("--rotate must remove, then add the token:\n%s", strings.Join(c, "\n"))
	}
	if b, err := os.ReadFile(secretFile); err != nil || string(b) != secondSecret+"\n" {
		t.Errorf("secret file: %q %v, want the new secret", b, err)
	}
	if fi, err := os.Stat(secretFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode: %v %v, want 0600", fi.Mode().Perm(), err)
	}
	if strings.Contains(r.stderr+r.stdout, secondSecret) {
		t.Error("with --secret-file the secret must not be printed")
	}
	if got := e.acls(); !slices.Equal(got, pveGrants(defaultStorages...)) {
		t.Errorf("ACLs after --rotate:\n%s", strings.Join(got, "\n"))
	}
	checkPVELeastPrivilege(t, e)
}

func TestPVETokenConverges(t *testing.T) {
	t.Parallel()
	defaultRun := func(e *env) { e.mustRun(pveScript) }
	for _, tc := range []struct {
		name      string
		setup     func(*env)
		args      []string
		wantACLs  []string
		wantCalls [][]string
		stderr    string
	}{
		{
			name: "volume access on every storage narrowed to the backup storages",
			setup: func(e *env) {
				e.mustRun(pveScript)
				e.write("acls", e.read("acls")+"\n/storage|BackupMonitorVolumes|user|"+pveUser+"|1\n/storage|BackupMonitorVolumes|token|"+pveToken+"|1")
			},
			wantACLs: pveGrants(defaultStorages...),
			wantCalls: [][]string{
				{"pveum", "acl", "delete", "/storage", "--roles", "BackupMonitorVolumes", "--users", pveUser, "--tokens", pveToken},
			},
		},
		{
			name:     "backup storages named",
			setup:    defaultRun,
			args:     []string{"--storage", "pbs-main", "--storage=nfs1"},
			wantACLs: pveGrants("/storage/pbs-main", "/storage/nfs1"),
			wantCalls: [][]string{
				{"pveum", "acl", "delete", "/storage/local", "--roles", "BackupMonitorVolumes", "--users", pveUser, "--tokens", pveToken},
				{"pveum", "acl", "modify", "/storage/nfs1", "--roles", "BackupMonitorVolumes"},
			},
		},
		{
			name: "a new backup storage",
			setup: func(e *env) {
				e.mustRun(pveScript)
				e.write("storages", e.read("storages")+"\nnfs2|nfs|backup,images")
			},
			wantACLs:  pveGrants(append(slices.Clone(defaultStorages), "/storage/nfs2")...),
			wantCalls: [][]string{{"pveum", "acl", "modify", "/storage/nfs2", "--roles", "BackupMonitorVolumes"}},
			stderr:    "Backup storages: local pbs-main nfs2.",
		},
		{
			name:     "no backup storage",
			setup:    func(e *env) { e.write("storages", "local-lvm|lvmthin|images,rootdir") },
			wantACLs: pveGrants(),
			stderr:   "Warning: no storage holds backups",
		},
		{
			name:  "volume access revoked",
			setup: defaultRun,
			args:  []string{"--no-volume-access"},
			wantACLs: sorted(
				"/ BackupMonitor "+pveUser+" 1", "/ BackupMonitor "+pveToken+" 1",
			),
			wantCalls: [][]string{
				{"pveum", "acl", "delete", "/vms", "--roles", "BackupMonitorVolumes"},
				{"pveum", "acl", "delete", "/storage/local", "--roles", "BackupMonitorVolumes"},
			},
		},
		{
			name:      "role with a privilege too many",
			setup:     func(e *env) { e.write("roles/BackupMonitor", "Sys.Audit,Sys.Modify,VM.Audit") },
			wantACLs:  pveGrants(defaultStorages...),
			wantCalls: [][]string{{"pveum", "role", "modify", "BackupMonitor", "--privs", "Sys.Audit,VM.Audit"}},
			stderr:    "Role BackupMonitor had 'Sys.Audit,Sys.Modify,VM.Audit'",
		},
		{
			// Earlier versions left VM.Audit out of the volume role, and
			// its grant on /vms hid every guest from the token.
			name: "volume role without VM.Audit",
			setup: func(e *env) {
				e.mustRun(pveScript)
				e.write("roles/BackupMonitorVolumes", "Datastore.AllocateSpace,VM.Backup")
			},
			wantACLs:  pveGrants(defaultStorages...),
			wantCalls: [][]string{{"pveum", "role", "modify", "BackupMonitorVolumes", "--privs", "Datastore.AllocateSpace,VM.Audit,VM.Backup"}},
			stderr:    "Role BackupMonitorVolumes had 'Datastore.AllocateSpace,VM.Backup'",
		},
		{
			name: "token without privilege separation",
			setup: func(e *env) {
				e.write("users/"+pveUser, "1")
				e.write("tokens/"+pveToken, "0")
			},
			wantACLs:  pveGrants(defaultStorages...),
			wantCalls: [][]string{{"pveum", "user", "token", "modify", pveUser, "exporter", "--privsep", "1"}},
			stderr:    "Turned on privilege separation",
		},
		{
			name: "ACL that does not propagate",
			setup: func(e *env) {
				e.mustRun(pveScript)
				acls := strings.Replace(e.read("acls"), "/|BackupMonitor|token|"+pveToken+"|1", "/|BackupMonitor|token|"+pveToken+"|0", 1)
				e.write("acls", acls)
			},
			wantACLs:  pveGrants(defaultStorages...),
			wantCalls: [][]string{{"pveum", "acl", "modify", "/", "--roles", "BackupMonitor", "--users", pveUser, "--tokens", pveToken, "--propagate", "1"}},
		},
		{
			name: "a role from elsewhere is reported, not removed",
			setup: func(e *env) {
				e.mustRun(pveScript)
				e.write("acls", e.read("acls")+"\n/storage/local|PVEDatastoreAdmin|token|"+pveToken+"|1")
			},
			wantACLs: sorted(append(pveGrants(defaultStorages...), "/storage/local PVEDatastoreAdmin "+pveToken+" 1")...),
			stderr:   "Warning: " + pveToken + " also has role PVEDatastoreAdmin on /storage/local",
		},
		{
			name:     "disabled user",
			setup:    func(e *env) { e.write("users/"+pveUser, "0") },
			wantACLs: pveGrants(defaultStorages...),
			stderr:   "user " + pveUser + " is disabled",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tc.setup(e)
			r := e.mustRun(pveScript, tc.args...)
			for _, want := range tc.wantCalls {
				if !called(r.calls, want...) {
					t.Errorf("missing call %q in\n%v", want, r)
				}
			}
			if got := e.acls(); !slices.Equal(got, tc.wantACLs) {
				t.Errorf("ACLs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantACLs, "\n"))
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
			if got := e.read("roles/BackupMonitor"); got != "Sys.Audit,VM.Audit" {
				t.Errorf("role BackupMonitor has %q", got)
			}
			// Converged: one more run changes nothing.
			if c := changes(e.mustRun(pveScript, tc.args...).calls); len(c) != 0 {
				t.Errorf("the run after changed again:\n%s", strings.Join(c, "\n"))
			}
		})
	}
}

func TestPVEFingerprint(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		setup func(*env)
		want  string // "" for none
	}{
		{"self-signed certificate", func(*env) {}, fingerprint("pve-ssl")},
		{"custom certificate served by pveproxy", func(e *env) { e.write("cert-pveproxy-ssl.pem", fingerprint("acme")) }, fingerprint("acme")},
		{"certificate unreadable", func(e *env) { os.Remove(filepath.Join(e.state, "cert-pve-ssl.pem")) }, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tc.setup(e)
			r := e.mustRun(pveScript, "--target", "cluster-a")
			tg := parseSnippet(t, r.stdout, "cluster-a", "/etc/proxmox_backup_exporter/cluster-a.secret")
			got := ""
			if fp := tg.FingerprintBytes(); fp != nil {
				got = config.FormatFingerprint(fp)
			}
			if got != tc.want {
				t.Errorf("fingerprint %q, want %q", got, tc.want)
			}
			if tc.want == "" && !strings.Contains(r.stdout, "# fingerprint: unknown") {
				t.Errorf("a missing fingerprint must be explained:\n%s", r.stdout)
			}
		})
	}
}

func TestPBSTokenLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.write("hostname", "pbs1.example.com")

	r := e.mustRun(pbsScript)
	for _, want := range [][]string{
		{"proxmox-backup-manager", "user", "create", pbsUser},
		{"proxmox-backup-manager", "user", "generate-token", pbsUser, "exporter"},
		{"proxmox-backup-manager", "acl", "update", "/datastore", "DatastoreAudit", "--auth-id", pbsToken},
		{"proxmox-backup-manager", "acl", "update", "/remote", "RemoteAudit", "--auth-id", pbsUser},
	} {
		if !called(r.calls, want...) {
			t.Errorf("missing call %q in\n%v", want, r)
		}
	}
	if got := e.acls(); !slices.Equal(got, pbsGrants) {
		t.Errorf("ACLs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(pbsGrants, "\n"))
	}
	checkSecretShownOnce(t, r, firstSecret)
	tg := parseSnippet(t, r.stdout, "pbs1", "/etc/proxmox_backup_exporter/pbs1.secret")
	if tg.Type != "pbs" || tg.URL != "https://pbs1.example.com:8007" || tg.TokenID != pbsToken {
		t.Errorf("target: type %q url %q token_id %q", tg.Type, tg.URL, tg.TokenID)
	}
	if got := config.FormatFingerprint(tg.FingerprintBytes()); got != fingerprint("pbs") {
		t.Errorf("fingerprint %s, want %s", got, fingerprint("pbs"))
	}

	r = e.mustRun(pbsScript)
	if c := changes(r.calls); len(c) != 0 {
		t.Errorf("the second run changed:\n%s", strings.Join(c, "\n"))
	}
	if strings.Contains(r.stderr, firstSecret) || !strings.Contains(r.stderr, "keeping it") {
		t.Errorf("the second run must keep the token and show no secret:\n%s", r.stderr)
	}

	// --rotate: a new token, whose ACLs come back (deleting a token drops them).
	r = e.mustRun(pbsScript, "--rotate")
	for _, want := range [][]string{
		{"proxmox-backup-manager", "user", "delete-token", pbsUser, "exporter"},
		{"proxmox-backup-manager", "user", "generate-token", pbsUser, "exporter"},
		{"proxmox-backup-manager", "acl", "update", "/tape", "TapeAudit", "--auth-id", pbsToken},
	} {
		if !called(r.calls, want...) {
			t.Errorf("--rotate: missing call %q in\n%v", want, r)
		}
	}
	if called(r.calls, "proxmox-backup-manager", "user", "create") {
		t.Error("--rotate must keep the user")
	}
	checkSecretShownOnce(t, r, secondSecret)
	if got := e.acls(); !slices.Equal(got, pbsGrants) {
		t.Errorf("ACLs after --rotate:\n%s", strings.Join(got, "\n"))
	}
}

func TestPBSTokenWarnings(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name     string
		setup    func(*env)
		wantACLs []string
		stderr   string
	}{
		{
			name: "broad role left from an earlier setup",
			setup: func(e *env) {
				e.write("users/"+pbsUser, "true")
				e.write("acls", "/|Audit|user|"+pbsUser+"|true")
			},
			wantACLs: sorted(append(slices.Clone(pbsGrants), "/ Audit "+pbsUser+" true")...),
			stderr:   "Warning: " + pbsUser + " also has role Audit on /",
		},
		{
			name:     "disabled user",
			setup:    func(e *env) { e.write("users/"+pbsUser, "false") },
			wantACLs: pbsGrants,
			stderr:   "user " + pbsUser + " is disabled",
		},
		{
			name: "disabled token",
			setup: func(e *env) {
				e.write("users/"+pbsUser, "true")
				e.write("tokens/"+pbsToken, "false")
			},
			wantACLs: pbsGrants,
			stderr:   "token " + pbsToken + " is disabled",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			tc.setup(e)
			r := e.mustRun(pbsScript, "--target", "backup1")
			if got := e.acls(); !slices.Equal(got, tc.wantACLs) {
				t.Errorf("ACLs:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tc.wantACLs, "\n"))
			}
			if !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("stderr lacks %q:\n%s", tc.stderr, r.stderr)
			}
			parseSnippet(t, r.stdout, "backup1", "/etc/proxmox_backup_exporter/backup1.secret")
		})
	}
}

// Whatever the options, the scripts grant only the exporter's privileges
// and roles: never an administrator role, never a Modify privilege.
func TestGrantsOnlyWhatTheExporterNeeds(t *testing.T) {
	t.Parallel()
	pvePrivs := []string{"Sys.Audit", "VM.Audit", "Datastore.AllocateSpace", "VM.Backup"}
	pveRoles := []string{"BackupMonitor", "BackupMonitorVolumes"}
	pbsRoles := []string{"DatastoreAudit", "RemoteAudit", "TapeAudit", "Audit"}
	for _, tc := range []struct {
		script string
		runs   [][]string
	}{
		{pveScript, [][]string{nil, {"--rotate"}, {"--storage", "backup"}, {"--no-volume-access"}}},
		{pbsScript, [][]string{nil, {"--rotate"}, {"--user", "scraper@pbs", "--token", "prom"}}},
	} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			var calls [][]string
			for _, args := range tc.runs {
				calls = append(calls, e.mustRun(tc.script, args...).calls...)
			}
			for _, c := range calls {
				line := strings.Join(c, " ")
				if strings.Contains(line, "Admin") || strings.Contains(line, ".Modify") {
					t.Errorf("call grants too much: %q", c)
				}
				switch {
				case called([][]string{c}, "pveum", "role", "add"), called([][]string{c}, "pveum", "role", "modify"):
					for p := range strings.SplitSeq(c[slices.Index(c, "--privs")+1], ",") {
						if !slices.Contains(pvePrivs, p) {
							t.Errorf("role gets privilege %s: %q", p, c)
						}
					}
				case called([][]string{c}, "pveum", "acl", "modify"):
					path, role := c[3], c[slices.Index(c, "--roles")+1]
					switch {
					case !slices.Contains(pveRoles, role):
						t.Errorf("ACL grants role %s: %q", role, c)
					case role == "BackupMonitor" && path != "/",
						role == "BackupMonitorVolumes" && path != "/vms" && !strings.HasPrefix(path, "/storage/"):
						t.Errorf("role %s granted on %s: %q", role, path, c)
					}
				case called([][]string{c}, "proxmox-backup-manager", "acl", "update"):
					if !slices.Contains(pbsRoles, c[4]) {
						t.Errorf("ACL grants role %s: %q", c[4], c)
					}
					if c[4] == "Audit" && c[3] != "/system/tasks" {
						t.Errorf("Audit (Sys.Audit and Datastore.Audit) granted on %s: %q", c[3], c)
					}
				}
			}
		})
	}
}

func TestScriptsRejectBadInput(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, tc := range []struct {
		script   string
		args     []string
		stderr   string
		hostname string // what hostname -f prints, if not the default
	}{
		{pveScript, []string{"--user"}, "option --user needs a value", ""},
		{pveScript, []string{"--user", ""}, "option --user needs a value", ""},
		{pveScript, []string{"--user", "monitor"}, "--user 'monitor' is not USER@REALM", ""},
		{pveScript, []string{"--user", "mon itor@pve"}, "is not USER@REALM", ""},
		{pveScript, []string{"--token", "x;reboot"}, "--token 'x;reboot' must start with a letter", ""},
		{pveScript, []string{"--token=1st"}, "must start with a letter", ""},
		{pveScript, []string{"--storage", "../etc"}, "--storage '../etc' is not a storage ID", ""},
		{pveScript, []string{"--storage", "local", "--no-volume-access"}, "exclude each other", ""},
		{pveScript, []string{"--secret-file", "/nonexistent/dir/x"}, "directory /nonexistent/dir does not exist", ""},
		{pveScript, []string{"--secret-file", dir}, "is a directory", ""},
		{pveScript, []string{"--target", "two words"}, "target name 'two words' is not valid", ""},
		{pveScript, []string{"--force"}, "unknown argument '--force'", ""},
		{pbsScript, []string{"--token"}, "option --token needs a value", ""},
		{pbsScript, []string{"--user", "monitor@"}, "is not USER@REALM", ""},
		{pbsScript, []string{"--token", "a"}, "must start with a letter and hold at least two", ""},
		{pbsScript, []string{"--storage", "x"}, "unknown argument '--storage'", ""},
		{pbsScript, []string{"--target", "-x"}, "is not valid for the exporter", ""},
		{pbsScript, []string{"extra"}, "unknown argument 'extra'", ""},
		{pveScript, nil, "'hostname -f' printed 'not a host', not a host name", "not a host"},
		{pbsScript, []string{"--target", "b1"}, "'hostname -f' printed 'pbs_1.example.com', not a host name", "pbs_1.example.com"},
	} {
		t.Run(tc.script+" "+strings.Join(tc.args, " "), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			if tc.hostname != "" {
				e.write("hostname", tc.hostname)
			}
			r := e.run(tc.script, tc.args...)
			if r.code != 2 || !strings.Contains(r.stderr, tc.stderr) {
				t.Errorf("exit %d, stderr %q; want 2 and %q", r.code, r.stderr, tc.stderr)
			}
			for _, c := range r.calls {
				if c[0] != "hostname" {
					t.Errorf("bad input must stop before any change or query: %q", c)
				}
			}
			if r.stdout != "" {
				t.Errorf("no configuration on bad input:\n%s", r.stdout)
			}
		})
	}
}

func TestScriptsHelp(t *testing.T) {
	t.Parallel()
	for _, script := range []string{pveScript, pbsScript} {
		for _, flag := range []string{"-h", "--help"} {
			e := newEnv(t)
			r := e.mustRun(script, flag)
			if !strings.HasPrefix(r.stdout, "Usage: "+script) || !strings.Contains(r.stdout, "--rotate") || len(r.calls) != 0 {
				t.Errorf("%s %s: %v", script, flag, r)
			}
		}
	}
}

// A failing command stops the script with its reason and prints no
// configuration.
func TestScriptsStopOnFailure(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		fail   string
	}{
		{pveScript, "pveum role list"},
		{pveScript, "pveum user token add"},
		{pveScript, "pveum acl modify"},
		{pbsScript, "proxmox-backup-manager user generate-token"},
		{pbsScript, "proxmox-backup-manager acl update"},
	} {
		t.Run(tc.fail, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			e.write("fail", tc.fail)
			r := e.run(tc.script)
			if r.code == 0 || !strings.Contains(r.stderr, "simulated failure: "+tc.fail) || !strings.Contains(r.stderr, tc.script+": line ") {
				t.Errorf("want a failure naming the command and the line:\n%v", r)
			}
			if strings.Contains(r.stdout, "targets:") {
				t.Errorf("a failed run printed a configuration:\n%s", r.stdout)
			}
		})
	}
}

func TestShellcheck(t *testing.T) {
	t.Parallel()
	tool := testtools.Find(t, "shellcheck", "SHELLCHECK")
	files, err := filepath.Glob(filepath.Join(testtools.Root(), "scripts", "*.sh"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{pveScript, pbsScript} {
		if !slices.Contains(files, filepath.Join(testtools.Root(), "scripts", want)) {
			t.Fatalf("%s not found among %q", want, files)
		}
	}
	files = append(files, filepath.Join(testtools.Root(), "scripts", "testdata", "standin.sh"))
	if ci := filepath.Join(testtools.Root(), ".ci", "run"); fileExists(ci) {
		files = append(files, ci)
	}
	if out, err := exec.Command(tool, append([]string{"--severity=style"}, files...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// The Dockerfile, for building the image with docker on one's own machine,
// builds the binary with the Makefile's release target (the one `make
// image` takes its binary from), passes every build argument that target's
// version stamp reads, and makes the image scripts/build-image.sh makes:
// empty base, non-root user, the port, the configuration volume.
func TestDockerfile(t *testing.T) {
	t.Parallel()
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(testtools.Root(), name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	dockerfile, makefile, buildah := read("Dockerfile"), read("Makefile"), read("scripts/build-image.sh")
	stages := strings.Split(dockerfile, "\nFROM ")
	final := stages[len(stages)-1]
	for _, line := range strings.Split(dockerfile, "\n") {
		if from, ok := strings.CutPrefix(line, "FROM "); ok && strings.Contains(strings.Fields(from)[0], ".") {
			t.Errorf("%q names a registry host: use plain image names", line)
		}
	}
	for _, tc := range []struct {
		what, in, want string
	}{
		{"an empty base image", final, "scratch\n"},
		{"a non-root user", final, "\nUSER 65534:65534\n"},
		{"the exporter's port", final, "\nEXPOSE 10049\n"},
		{"the configuration volume", final, `VOLUME ["/etc/proxmox_backup_exporter"]`},
		{"the configuration file", final, `ENTRYPOINT ["/bin/proxmox_backup_exporter", "--config.file=/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"]`},
		{"CA certificates", final, "/etc/ssl/certs/ca-certificates.crt"},
		{"the release build", dockerfile, `make "dist/build/linux-$(go env GOARCH)/proxmox_backup_exporter"`},
		{"a static release build", makefile, "CGO_ENABLED=0 GOOS=linux GOARCH=$* $(GO) build -trimpath -ldflags '$(LDFLAGS)'"},
		// The buildah image has the same layout.
		{"buildah: a non-root user", buildah, "--user 65534:65534"},
		{"buildah: the port", buildah, "--port 10049/tcp"},
		{"buildah: the volume", buildah, "--volume /etc/proxmox_backup_exporter"},
		{"buildah: the configuration file", buildah, `--entrypoint '["/bin/proxmox_backup_exporter", "--config.file=/etc/proxmox_backup_exporter/proxmox_backup_exporter.yml"]'`},
		{"buildah: CA certificates", buildah, "/etc/ssl/certs/ca-certificates.crt"},
	} {
		if !strings.Contains(tc.in, tc.want) {
			t.Errorf("want %s (%q)", tc.what, tc.want)
		}
	}
	// Each variable the version stamp reads that git would give outside
	// docker comes in as a build argument and is passed to make.
	for _, v := range []string{"REVISION", "BRANCH", "BUILDUSER", "SOURCE_DATE_EPOCH"} {
		if !strings.Contains(makefile, "$("+v+")") {
			t.Errorf("the Makefile does not use %s", v)
		}
		if !strings.Contains(dockerfile, "\nARG "+v+"=") || !regexp.MustCompile(v+`="\$\{`).MatchString(dockerfile) {
			t.Errorf("the Dockerfile does not take %s as a build argument and pass it to make", v)
		}
	}
	if strings.Contains(final, "USER root") || strings.Contains(final, "USER 0") {
		t.Error("the image must not run as root")
	}
}

// The systemd unit is valid and keeps its sandbox: systemd's own exposure
// score stays low.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	analyze := testtools.Find(t, "systemd-analyze", "SYSTEMD_ANALYZE")
	unit, err := os.ReadFile(filepath.Join(testtools.Root(), "examples", "systemd", "proxmox_backup_exporter.service"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"DynamicUser=yes", "ProtectSystem=strict", "CapabilityBoundingSet=\n", "NoNewPrivileges=yes",
		"LoadCredential=cluster1.secret:/etc/proxmox_backup_exporter/cluster1.secret",
		"ExecReload=/bin/kill -HUP $MAINPID",
	} {
		if !strings.Contains(string(unit), want) {
			t.Errorf("unit lacks %q", want)
		}
	}
	// verify needs the binary to exist.
	path := filepath.Join(t.TempDir(), "proxmox_backup_exporter.service")
	text := strings.ReplaceAll(string(unit), "/usr/bin/proxmox_backup_exporter", "/bin/true")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	// --man=no: the man page the unit names comes with the package
	// (packaging/ checks that it is there).
	if out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput(); err != nil {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err := exec.Command(analyze, "security", "--offline=yes", path).CombinedOutput()
	m := regexp.MustCompile(`Overall exposure level for \S+: ([0-9.]+)`).FindSubmatch(out)
	if err != nil || m == nil {
		t.Fatalf("systemd-analyze security --offline (systemd 250 or later, Debian 12 has 252): %v\n%s", err, out)
	}
	if score, err := strconv.ParseFloat(string(m[1]), 64); err != nil || score > 2.0 {
		t.Errorf("exposure level %s, want at most 2.0:\n%s", m[1], out)
	}
}

// effective computes what an id holds on path from the stand-ins' ACLs, as
// both products do: walking from the root, a level with grants for the id
// replaces what the levels above gave, and a grant reaches below its path
// only when it propagates (pve-access-control PVE/AccessControl.pm roles;
// proxmox-backup pbs-config/src/acl.rs AclTree::roles). roles maps a role
// to its privileges.
func effective(acls []string, roles func(string) []string, id, path string) map[string]bool {
	levels := []string{"/"}
	parts := strings.Split(strings.Trim(path, "/"), "/")
	for i := range parts {
		if parts[0] != "" {
			levels = append(levels, "/"+strings.Join(parts[:i+1], "/"))
		}
	}
	held := map[string]bool{}
	for i, level := range levels {
		var next map[string]bool
		for _, acl := range acls {
			f := strings.Fields(acl) // PATH ROLE UGID PROPAGATE
			propagates := f[3] == "1" || f[3] == "true"
			if f[0] != level || f[2] != id || (i < len(levels)-1 && !propagates) {
				continue
			}
			if next == nil {
				next = map[string]bool{}
			}
			for _, p := range roles(f[1]) {
				next[p] = true
			}
		}
		if next != nil {
			held = next
		}
	}
	return held
}

// tokenHolds: a token holds a privilege only where its user holds it too
// (pve-access-control PVE/RPCEnvironment.pm compile_acl_path for
// privilege-separated tokens; pbs-config/src/cached_user_info.rs
// lookup_privs_details for every token).
func tokenHolds(acls []string, roles func(string) []string, user, token, path, priv string) bool {
	return effective(acls, roles, user, path)[priv] && effective(acls, roles, token, path)[priv]
}

// The scripts' grants give the token every privilege the exporter's calls
// check (collector/permissions.go lists them with their sources), on the
// objects those calls check. This is what a grant on /vms without VM.Audit
// got wrong: it replaced the VM.Audit of / for every guest.
func TestTokensHoldWhatTheExporterNeeds(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.mustRun(pveScript)
	pveRoles := func(role string) []string { return strings.Split(e.read("roles/"+role), ",") }
	for _, need := range [][2]string{
		{"/vms/100", "VM.Audit"}, {"/vms/100", "VM.Backup"},
		{"/storage/pbs-main", "Datastore.AllocateSpace"}, {"/storage/local", "Datastore.AllocateSpace"},
		{"/", "Sys.Audit"}, {"/nodes/pve1", "Sys.Audit"},
	} {
		if !tokenHolds(e.acls(), pveRoles, pveUser, pveToken, need[0], need[1]) {
			t.Errorf("PVE token lacks %s on %s", need[1], need[0])
		}
	}
	// The user alone is not enough: the token must be granted too.
	acls := slices.DeleteFunc(e.acls(), func(a string) bool { return strings.Fields(a)[2] == pveToken })
	if tokenHolds(acls, pveRoles, pveUser, pveToken, "/vms/100", "VM.Audit") {
		t.Error("the evaluation ignores the token's own grants")
	}
	// --no-volume-access: guests stay visible, backups do not.
	e2 := newEnv(t)
	e2.mustRun(pveScript, "--no-volume-access")
	roles2 := func(role string) []string { return strings.Split(e2.read("roles/"+role), ",") }
	if !tokenHolds(e2.acls(), roles2, pveUser, pveToken, "/vms/100", "VM.Audit") ||
		tokenHolds(e2.acls(), roles2, pveUser, pveToken, "/vms/100", "VM.Backup") {
		t.Error("--no-volume-access: want VM.Audit and no VM.Backup on guests")
	}

	e.mustRun(pbsScript)
	// Built-in PBS roles (pbs-api-types src/acl.rs).
	pbsRoles := func(role string) []string {
		return map[string][]string{
			"DatastoreAudit": {"Datastore.Audit"}, "RemoteAudit": {"Remote.Audit"},
			"TapeAudit": {"Tape.Audit"}, "Audit": {"Sys.Audit", "Datastore.Audit"},
		}[role]
	}
	for _, need := range [][2]string{
		{"/datastore/main", "Datastore.Audit"}, {"/remote/offsite", "Remote.Audit"},
		{"/tape/job/weekly", "Tape.Audit"}, {"/system/tasks", "Sys.Audit"},
	} {
		if !tokenHolds(e.acls(), pbsRoles, pbsUser, pbsToken, need[0], need[1]) {
			t.Errorf("PBS token lacks %s on %s", need[1], need[0])
		}
	}
}

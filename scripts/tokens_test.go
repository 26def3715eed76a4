// Package scripts tests the token scripts against stand-in pveum,
// pvenode and proxmox-backup-manager commands that record their arguments.
package scripts

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/internal/testtools"
)

// standIn writes a fake command that logs its arguments and answers from
// the state directory, so that a second run sees what the first created.
const standIn = `#!/usr/bin/env bash
set -eu
state="$STATE"
echo "$(basename "$0") $*" >> "$state/calls"
case "$(basename "$0") $*" in
  "pveum role list"*) if [ -e "$state/role" ]; then echo '[{"roleid":"PVEBackupMonitor","privs":"x"}]'; else echo '[]'; fi ;;
  "pveum role add"*|"pveum role modify"*) touch "$state/role" ;;
  "pveum user list"*) if [ -e "$state/user" ]; then echo '[{"userid":"monitor@pve","enable":1}]'; else echo '[]'; fi ;;
  "pveum user add"*) touch "$state/user" ;;
  "pveum user token"*)
    case "$3" in
      list) if [ -e "$state/token" ]; then echo '[{"tokenid":"exporter","privsep":1}]'; else echo '[]'; fi ;;
      add) touch "$state/token"; echo '{"full-tokenid":"monitor@pve!exporter","info":{"privsep":"1"},"value":"1b2c3d4e-pve-secret"}' ;;
      remove) rm -f "$state/token" ;;
    esac ;;
  "pveum acl"*) ;;
  "pvenode cert"*) echo '[{"filename":"pve-root-ca.pem","fingerprint":"00:11"},{"filename":"pve-ssl.pem","fingerprint":"AA:BB:CC"}]' ;;
  "proxmox-backup-manager user"*)
    case "$2" in
      list) if [ -e "$state/user" ]; then echo '[{"userid":"monitor@pbs","enable":true}]'; else echo '[]'; fi ;;
      create) touch "$state/user" ;;
      list-tokens) if [ -e "$state/token" ]; then echo '[{"tokenid":"monitor@pbs!exporter","enable":true}]'; else echo '[]'; fi ;;
      generate-token) touch "$state/token"; echo '{"tokenid":"monitor@pbs!exporter","value":"9f8e7d6c-pbs-secret"}' ;;
      delete-token) rm -f "$state/token" ;;
    esac ;;
  "proxmox-backup-manager acl"*) ;;
  "proxmox-backup-manager cert"*) printf 'Subject: CN=pbs\nFingerprint (sha256): dd:ee:ff\n' ;;
  "hostname -f"*) echo pbs1.example.com ;;
  "hostname -s"*) echo node1 ;;
  *) echo "unexpected call: $*" >&2; exit 1 ;;
esac
`

type run struct {
	calls  []string
	stdout string
	stderr string
}

func runScript(t *testing.T, bin, state, script string, args ...string) run {
	t.Helper()
	cmd := exec.Command("bash", append([]string{filepath.Join(testtools.Root(), "scripts", script)}, args...)...)
	cmd.Env = append(os.Environ(), "PATH="+bin+":"+os.Getenv("PATH"), "STATE="+state)
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	before := readCalls(t, state)
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %v: %v\n%s", script, args, err, errb.String())
	}
	all := readCalls(t, state)
	return run{calls: all[len(before):], stdout: out.String(), stderr: errb.String()}
}

func readCalls(t *testing.T, state string) []string {
	b, err := os.ReadFile(filepath.Join(state, "calls"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(string(b)), "\n")
}

func setup(t *testing.T) (bin, state string) {
	dir := t.TempDir()
	bin, state = filepath.Join(dir, "bin"), filepath.Join(dir, "state")
	for _, d := range []string{bin, state} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	for _, name := range []string{"pveum", "pvenode", "proxmox-backup-manager", "hostname"} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(standIn), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return bin, state
}

func has(calls []string, prefix string) bool {
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			return true
		}
	}
	return false
}

type snippet struct {
	Targets map[string]map[string]string `yaml:"targets"`
}

func TestPVEToken(t *testing.T) {
	bin, state := setup(t)
	r := runScript(t, bin, state, "create-pve-token.sh")
	for _, want := range []string{
		"pveum role add PVEBackupMonitor --privs Sys.Audit,VM.Audit,Pool.Audit,Datastore.Audit,Datastore.AllocateSpace,VM.Backup",
		"pveum user add monitor@pve",
		"pveum user token add monitor@pve exporter --privsep 1",
		"pveum acl modify / --tokens monitor@pve!exporter --roles PVEBackupMonitor",
	} {
		if !has(r.calls, want) {
			t.Errorf("missing call %q in:\n%s", want, strings.Join(r.calls, "\n"))
		}
	}
	for _, c := range r.calls {
		if strings.Contains(c, "Administrator") || strings.Contains(c, "Sys.Modify") || strings.Contains(c, "VM.Allocate") {
			t.Errorf("a call grants too much: %s", c)
		}
	}
	var s snippet
	if err := yaml.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	tg := s.Targets["node1"]
	if tg["type"] != "pve" || tg["url"] != "https://pbs1.example.com:8006" || tg["token_id"] != "monitor@pve!exporter" || tg["fingerprint"] != "AA:BB:CC" {
		t.Errorf("config snippet: %v", tg)
	}
	if !strings.Contains(r.stderr, "1b2c3d4e-pve-secret") || strings.Contains(r.stdout, "1b2c3d4e-pve-secret") {
		t.Error("the secret is shown once, on stderr, outside the config snippet")
	}

	// Idempotent: the second run creates nothing new.
	r = runScript(t, bin, state, "create-pve-token.sh")
	if has(r.calls, "pveum user add") || has(r.calls, "pveum role add") || has(r.calls, "pveum user token add") {
		t.Errorf("second run created again:\n%s", strings.Join(r.calls, "\n"))
	}
	if !has(r.calls, "pveum role modify PVEBackupMonitor") {
		t.Error("second run must bring the role's privileges up to date")
	}

	// --rotate replaces the token and can write the secret to a file.
	secretFile := filepath.Join(state, "pve.secret")
	r = runScript(t, bin, state, "create-pve-token.sh", "--rotate", "--secret-file", secretFile)
	if !has(r.calls, "pveum user token remove monitor@pve exporter") || !has(r.calls, "pveum user token add") {
		t.Errorf("--rotate:\n%s", strings.Join(r.calls, "\n"))
	}
	if b, err := os.ReadFile(secretFile); err != nil || strings.TrimSpace(string(b)) != "1b2c3d4e-pve-secret" {
		t.Errorf("secret file: %q %v", b, err)
	} else if fi, _ := os.Stat(secretFile); fi.Mode().Perm() != 0o600 {
		t.Errorf("secret file mode %v", fi.Mode().Perm())
	}
}

func TestPBSToken(t *testing.T) {
	bin, state := setup(t)
	r := runScript(t, bin, state, "create-pbs-token.sh")
	for _, want := range []string{
		"proxmox-backup-manager user create monitor@pbs",
		"proxmox-backup-manager user generate-token monitor@pbs exporter",
		"proxmox-backup-manager acl update / Audit --auth-id monitor@pbs",
		"proxmox-backup-manager acl update /remote RemoteAudit --auth-id monitor@pbs",
		"proxmox-backup-manager acl update / Audit --auth-id monitor@pbs!exporter",
		"proxmox-backup-manager acl update /remote RemoteAudit --auth-id monitor@pbs!exporter",
	} {
		if !has(r.calls, want) {
			t.Errorf("missing call %q in:\n%s", want, strings.Join(r.calls, "\n"))
		}
	}
	for _, c := range r.calls {
		if strings.Contains(c, "Admin") && !strings.Contains(c, "Audit") {
			t.Errorf("a call grants Admin: %s", c)
		}
	}
	var s snippet
	if err := yaml.Unmarshal([]byte(r.stdout), &s); err != nil {
		t.Fatalf("%v\n%s", err, r.stdout)
	}
	if tg := s.Targets["node1"]; tg["type"] != "pbs" || tg["url"] != "https://pbs1.example.com:8007" || tg["fingerprint"] != "dd:ee:ff" || tg["token_id"] != "monitor@pbs!exporter" {
		t.Errorf("config snippet: %v", tg)
	}
	r = runScript(t, bin, state, "create-pbs-token.sh")
	if has(r.calls, "proxmox-backup-manager user create") || has(r.calls, "proxmox-backup-manager user generate-token") {
		t.Errorf("second run created again:\n%s", strings.Join(r.calls, "\n"))
	}
	r = runScript(t, bin, state, "create-pbs-token.sh", "--rotate")
	if !has(r.calls, "proxmox-backup-manager user delete-token monitor@pbs exporter") || !has(r.calls, "proxmox-backup-manager user generate-token") {
		t.Errorf("--rotate:\n%s", strings.Join(r.calls, "\n"))
	}
}

func TestShellcheck(t *testing.T) {
	tool := testtools.Find(t, "shellcheck", "SHELLCHECK")
	scripts, _ := filepath.Glob(filepath.Join(testtools.Root(), "scripts", "*.sh"))
	if len(scripts) < 4 {
		t.Fatalf("found %d scripts", len(scripts))
	}
	if out, err := exec.Command(tool, append([]string{"--severity=style"}, scripts...)...).CombinedOutput(); err != nil {
		t.Errorf("shellcheck: %v\n%s", err, out)
	}
	if out, err := exec.Command(tool, filepath.Join(testtools.Root(), ".ci", "run")).CombinedOutput(); err != nil {
		t.Errorf("shellcheck .ci/run: %v\n%s", err, out)
	}
}

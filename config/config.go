// Package config loads and validates the exporter's configuration file.
//
// The file lists the Proxmox VE and Proxmox Backup Server targets that the
// exporter may query. A /probe request names one of them; nothing in a request
// can point the exporter, or the target's credentials, at another host.
package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/model"
	"gopkg.in/yaml.v3"
)

// Target types.
const (
	TypePBS = "pbs"
	TypePVE = "pve"
)

// Defaults applied to every target that does not set the field.
var (
	DefaultTimeout      = model.Duration(30 * time.Second)
	DefaultTaskLookback = model.Duration(8 * 24 * time.Hour)
	// DefaultRestoreLookback: restore tests are rare, a quarterly test
	// must still be seen a year later.
	DefaultRestoreLookback = model.Duration(400 * 24 * time.Hour)
	// DefaultRestoreTestTag is the guest tag that opts a guest in to
	// restore tests.
	DefaultRestoreTestTag = "restore-test"
	DefaultConcurrency    = 4
	// DefaultMaxResponseBytes bounds one API response after decompression.
	// A PBS snapshot listing takes about 400 bytes per snapshot (more with
	// many disks and comments): 1 GiB holds a listing of 1,000,000
	// snapshots with room to spare.
	DefaultMaxResponseBytes int64 = 1 << 30
	// MinMaxResponseBytes and MaxMaxResponseBytes bound the option: below
	// 1 MiB an ordinary task log fails, above 16 GiB it bounds nothing.
	MinMaxResponseBytes int64 = 1 << 20
	MaxMaxResponseBytes int64 = 16 << 30
)

// DefaultRecentBackupWindow is how young a guest's newest backup on a
// storage must be for that storage to count as holding a recent copy: the
// mixin's critical backup age (tooOldCritical), beyond which a backup is too
// old anyway.
var DefaultRecentBackupWindow = model.Duration(48 * time.Hour)

// The values of a target's compression.
const (
	CompressionAuto = "auto"
	CompressionNone = "none"
)

// Ranges of the numeric fields. A value outside them is a configuration
// error, caught by --config.check and by every load alike.
const (
	MaxConcurrency  = 64
	MinTimeout      = 100 * time.Millisecond
	MaxTimeout      = 10 * time.Minute
	MinTaskLookback = time.Hour
	MaxTaskLookback = 366 * 24 * time.Hour
	// The recent-backup window's range: from an hourly copy to a yearly
	// one.
	MinRecentBackupWindow = time.Hour
	MaxRecentBackupWindow = 366 * 24 * time.Hour
	// PVE keeps its task index (and PBS its task archive) for a limited
	// number of tasks, rarely more than a few years.
	MinRestoreLookback = 24 * time.Hour
	MaxRestoreLookback = 3660 * 24 * time.Hour
)

// Config is the whole configuration file.
type Config struct {
	Targets map[string]*Target `yaml:"targets"`
}

// Target is one Proxmox VE cluster or Proxmox Backup Server.
type Target struct {
	// Name is the key under `targets`, the NAME of /probe?target=NAME.
	Name string `yaml:"-"`

	Type            string               `yaml:"type"`
	URL             string               `yaml:"url"`
	TokenID         string               `yaml:"token_id"`
	TokenSecret     promconfig.Secret    `yaml:"token_secret,omitempty"`
	TokenSecretFile string               `yaml:"token_secret_file,omitempty"`
	TLSConfig       promconfig.TLSConfig `yaml:"tls_config,omitempty"`
	// Fingerprint pins the SHA-256 fingerprint of the server's certificate,
	// written as Proxmox shows it (AA:BB:...). When set, it replaces the CA
	// check: Proxmox hosts usually run with a self-signed certificate.
	Fingerprint string `yaml:"fingerprint,omitempty"`
	// Timeout bounds a probe of this target; the scrape timeout header can
	// only shorten it.
	Timeout model.Duration `yaml:"timeout,omitempty"`
	// Concurrency bounds the API requests in flight to this target.
	Concurrency int `yaml:"concurrency,omitempty"`
	// MaxResponseBytes bounds the bytes read from one API response, after
	// decompression; a larger response fails its collector.
	MaxResponseBytes int64 `yaml:"max_response_bytes,omitempty"`
	// Compression is what the exporter asks the server to compress its
	// responses with: "auto" (the default) asks for what the product
	// offers, gzip from PVE and deflate from PBS; "none" asks for none,
	// which saves the exporter's CPU where the link is fast.
	Compression string `yaml:"compression,omitempty"`

	// Datastores limits a PBS target to these datastores (default: all).
	Datastores []string `yaml:"datastores,omitempty"`
	// TaskLookback bounds how far back a PVE target's vzdump tasks are read.
	TaskLookback model.Duration `yaml:"task_lookback,omitempty"`
	// RecentBackupWindow (PVE) is how young a guest's newest backup on a
	// storage must be for the storage to count in
	// proxmox_backup_guest_recent_backup_storages. Raise it above the
	// longest interval of the jobs that write the second copy (a weekly
	// job: 8d).
	RecentBackupWindow model.Duration `yaml:"recent_backup_window,omitempty"`
	// Offsite (PBS) names the PBS target of this file that holds copies of
	// this server's backup groups, made by PBS sync jobs (pull or push).
	// The probe of this target then says so (proxmox_backup_offsite_info),
	// and ProxmoxBackupOffsiteCopyLagging compares the two servers' groups.
	Offsite string `yaml:"offsite,omitempty"`
	// RestoreLookback bounds how far back restore tasks (PVE qmrestore and
	// vzrestore, PBS reader) are read.
	RestoreLookback model.Duration `yaml:"restore_lookback,omitempty"`
	// RestoreTestTag is the PVE guest tag that requires a guest to pass
	// restore tests; RestoreTestAll requires it of every guest of the
	// target. The exporter exports the requirement per guest
	// (guest_restore_test_required), which the alert joins on.
	RestoreTestTag string `yaml:"restore_test_tag,omitempty"`
	RestoreTestAll bool   `yaml:"restore_test_all,omitempty"`

	promconfig.ProxyConfig `yaml:",inline"`

	baseURL     *url.URL
	fingerprint []byte
}

// BaseURL is the parsed `url`, set by validation.
func (t *Target) BaseURL() *url.URL {
	u := *t.baseURL
	return &u
}

// FingerprintBytes is the parsed `fingerprint`, or nil when none is pinned.
func (t *Target) FingerprintBytes() []byte { return t.fingerprint }

// TargetNames returns the configured target names, sorted.
func (c *Config) TargetNames() []string {
	names := make([]string, 0, len(c.Targets))
	for n := range c.Targets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// LoadFile reads, parses and validates a configuration file.
func LoadFile(filename string) (*Config, error) {
	content, err := os.ReadFile(filename)
	if err != nil {
		return nil, fmt.Errorf("config file %q: %w", filename, pathError(err))
	}
	cfg, err := Parse(content)
	if err != nil {
		return nil, fmt.Errorf("config file %q: %w", filename, err)
	}
	return cfg, nil
}

// Parse parses and validates configuration text. Unknown keys are errors
// that name the key, its line and the target it belongs to.
func Parse(content []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(content, &root); err != nil {
		return nil, err
	}
	idx := indexTargets(&root)
	if err := idx.checkDurations(); err != nil {
		return nil, err
	}

	cfg := &Config{}
	dec := yaml.NewDecoder(bytes.NewReader(content))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return nil, idx.annotate(err)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// validate checks every target and collects all problems at once.
func (c *Config) validate() error {
	if len(c.Targets) == 0 {
		return errors.New("no targets configured: add at least one under `targets`")
	}
	var errs []error
	for _, name := range c.TargetNames() {
		t := c.Targets[name]
		if t == nil {
			errs = append(errs, fmt.Errorf("target %q: empty definition", name))
			continue
		}
		t.Name = name
		if err := t.validate(); err != nil {
			errs = append(errs, err)
		}
	}
	for _, name := range c.TargetNames() {
		t := c.Targets[name]
		if t == nil || t.Offsite == "" {
			continue
		}
		switch o := c.Targets[t.Offsite]; {
		case t.Offsite == name:
			errs = append(errs, fmt.Errorf("target %q: offsite: names the target itself: name the PBS target that holds its copies", name))
		case o == nil:
			errs = append(errs, fmt.Errorf("target %q: offsite: %q is not a target of this file: add the PBS that holds the copies as a target", name, t.Offsite))
		case o.Type != TypePBS:
			errs = append(errs, fmt.Errorf("target %q: offsite: %q is a %s target, not a pbs one", name, t.Offsite, o.Type))
		}
	}
	return errors.Join(errs...)
}

var (
	targetNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]*$`)
	// USER@REALM!TOKENID, as both products write token ids.
	// A PVE tag, as pve-common's PVE::JSONSchema pve-tag format has it.
	restoreTagRE = regexp.MustCompile(`^(?i)[a-z0-9_][a-z0-9_\-+.]*$`)
	tokenIDRE    = regexp.MustCompile(`^[^\s@!:=]+@[A-Za-z0-9._-]+![A-Za-z][A-Za-z0-9._-]*$`)
)

func (t *Target) validate() error {
	var errs []error
	fail := func(field, format string, args ...any) {
		errs = append(errs, fmt.Errorf("target %q: %s: %s", t.Name, field, fmt.Sprintf(format, args...)))
	}

	if !targetNameRE.MatchString(t.Name) {
		fail("name", "must start with a letter or digit and contain only letters, digits, '_', '.', ':' and '-'")
	}

	switch t.Type {
	case TypePBS, TypePVE:
	case "":
		fail("type", "missing: set it to %q or %q", TypePBS, TypePVE)
	default:
		fail("type", "%q is not a target type: use %q or %q", t.Type, TypePBS, TypePVE)
	}

	if t.URL == "" {
		fail("url", "missing: set it to the API address, e.g. https://pbs.example.com:8007")
	} else if u, err := parseBaseURL(t.URL); err != nil {
		fail("url", "%v", err)
	} else {
		t.baseURL = u
	}

	if t.TokenID == "" {
		fail("token_id", "missing: set it to the API token id, USER@REALM!TOKENID")
	} else if !tokenIDRE.MatchString(t.TokenID) {
		if user, _, hasToken := strings.Cut(t.TokenID, "!"); !hasToken && strings.Contains(user, "@") {
			fail("token_id", "%q is a user, not an API token id: append the token's name, as in %s!exporter (USER@REALM!TOKENID)", t.TokenID, t.TokenID)
		} else {
			fail("token_id", "%q is not an API token id of the form USER@REALM!TOKENID", t.TokenID)
		}
	}

	switch {
	case t.TokenSecret != "" && t.TokenSecretFile != "":
		fail("token_secret", "token_secret and token_secret_file are mutually exclusive: set only one")
	case t.TokenSecret == "" && t.TokenSecretFile == "":
		fail("token_secret", "missing: set token_secret or token_secret_file")
	case t.TokenSecret != "":
		if _, err := cleanSecret(string(t.TokenSecret)); err != nil {
			fail("token_secret", "%v", err)
		}
	}
	// A token_secret_file is read at probe time, not here: a missing or
	// unreadable file fails its own target only (see ReadSecretContext).

	if t.Fingerprint != "" {
		fp, err := ParseFingerprint(t.Fingerprint)
		if err != nil {
			fail("fingerprint", "%v", err)
		}
		t.fingerprint = fp
	}

	if t.Timeout == 0 {
		t.Timeout = DefaultTimeout
	} else if d := time.Duration(t.Timeout); d < MinTimeout || d > MaxTimeout {
		fail("timeout", "%s is out of range: use %s to %s", t.Timeout, model.Duration(MinTimeout), model.Duration(MaxTimeout))
	}
	if t.Concurrency == 0 {
		t.Concurrency = DefaultConcurrency
	} else if t.Concurrency < 1 || t.Concurrency > MaxConcurrency {
		fail("concurrency", "%d is out of range: use 1 to %d", t.Concurrency, MaxConcurrency)
	}
	if t.MaxResponseBytes == 0 {
		t.MaxResponseBytes = DefaultMaxResponseBytes
	} else if t.MaxResponseBytes < MinMaxResponseBytes || t.MaxResponseBytes > MaxMaxResponseBytes {
		fail("max_response_bytes", "%d is out of range: use %d (1 MiB) to %d (16 GiB)", t.MaxResponseBytes, int64(MinMaxResponseBytes), int64(MaxMaxResponseBytes))
	}

	switch t.Compression {
	case "":
		t.Compression = CompressionAuto
	case CompressionAuto, CompressionNone:
	default:
		fail("compression", "%q is not a compression setting: use %q or %q", t.Compression, CompressionAuto, CompressionNone)
	}

	if t.Type == TypePVE && len(t.Datastores) > 0 {
		fail("datastores", "only applies to pbs targets")
	}
	for i, d := range t.Datastores {
		if strings.TrimSpace(d) == "" {
			fail("datastores", "entry %d is empty", i+1)
		}
	}
	if t.Type == TypePBS && t.TaskLookback != 0 {
		fail("task_lookback", "only applies to pve targets")
	}
	if t.TaskLookback == 0 {
		if t.Type == TypePVE {
			t.TaskLookback = DefaultTaskLookback
		}
	} else if d := time.Duration(t.TaskLookback); d < MinTaskLookback || d > MaxTaskLookback {
		fail("task_lookback", "%s is out of range: use %s to %s", t.TaskLookback, model.Duration(MinTaskLookback), model.Duration(MaxTaskLookback))
	}

	if t.Type == TypePBS && t.RecentBackupWindow != 0 {
		fail("recent_backup_window", "only applies to pve targets")
	}
	if t.RecentBackupWindow == 0 {
		if t.Type == TypePVE {
			t.RecentBackupWindow = DefaultRecentBackupWindow
		}
	} else if d := time.Duration(t.RecentBackupWindow); d < MinRecentBackupWindow || d > MaxRecentBackupWindow {
		fail("recent_backup_window", "%s is out of range: use %s to %s", t.RecentBackupWindow, model.Duration(MinRecentBackupWindow), model.Duration(MaxRecentBackupWindow))
	}
	if t.Type == TypePVE && t.Offsite != "" {
		fail("offsite", "only applies to pbs targets: name the PBS target that holds copies of this PBS's groups")
	}
	if t.RestoreLookback == 0 {
		t.RestoreLookback = DefaultRestoreLookback
	} else if d := time.Duration(t.RestoreLookback); d < MinRestoreLookback || d > MaxRestoreLookback {
		fail("restore_lookback", "%s is out of range: use %s to %s", t.RestoreLookback, model.Duration(MinRestoreLookback), model.Duration(MaxRestoreLookback))
	}
	if t.Type == TypePBS && (t.RestoreTestTag != "" || t.RestoreTestAll) {
		fail("restore_test_tag", "restore_test_tag and restore_test_all only apply to pve targets")
	}
	if t.RestoreTestTag == "" {
		if t.Type == TypePVE {
			t.RestoreTestTag = DefaultRestoreTestTag
		}
	} else if !restoreTagRE.MatchString(t.RestoreTestTag) {
		fail("restore_test_tag", "%q is not a PVE tag: use letters, digits, '_', '-', '+' and '.'", t.RestoreTestTag)
	}

	if err := t.TLSConfig.Validate(); err != nil {
		fail("tls_config", "%v", err)
	}
	if err := t.ProxyConfig.Validate(); err != nil {
		fail(proxyField(&t.ProxyConfig), "%v", err)
	} else if u := t.ProxyURL.URL; u != nil {
		switch {
		case u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "socks5" && u.Scheme != "socks5h":
			fail("proxy_url", "%q: scheme must be http, https, socks5 or socks5h", u.Redacted())
		case u.Hostname() == "":
			fail("proxy_url", "%q has no host", u.Redacted())
		}
	}
	return errors.Join(errs...)
}

// proxyField names the proxy field that promconfig's validation objects to.
func proxyField(p *promconfig.ProxyConfig) string {
	switch {
	case p.NoProxy != "" && p.ProxyURL.URL == nil:
		return "no_proxy"
	case len(p.ProxyConnectHeader) > 0 && p.ProxyURL.URL == nil && !p.ProxyFromEnvironment:
		return "proxy_connect_header"
	}
	return "proxy_url"
}

func parseBaseURL(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.Contains(raw, "@") {
			// The text may hold a password; do not echo it.
			return nil, errors.New("cannot parse the URL, and it seems to hold user information: use token_id and token_secret")
		}
		return nil, fmt.Errorf("cannot parse %q: %v", raw, unwrapURLError(err))
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return nil, fmt.Errorf("%q: scheme must be https or http", raw)
	}
	if u.Host == "" || u.Hostname() == "" {
		return nil, fmt.Errorf("%q has no host", raw)
	}
	if u.User != nil {
		return nil, fmt.Errorf("%q must not hold user information: use token_id and token_secret", u.Redacted())
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("%q must not have a query or fragment", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %q is out of range", raw, p)
		}
	}
	// The API lives under /api2/json; accept it written out or not.
	u.Path = strings.TrimSuffix(strings.TrimSuffix(u.Path, "/"), "/api2/json")
	u.RawPath = ""
	return u, nil
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// ParseFingerprint parses a SHA-256 certificate fingerprint written as 32
// hex bytes, with or without colons, in either case.
func ParseFingerprint(s string) ([]byte, error) {
	hexs := strings.ReplaceAll(strings.TrimSpace(s), ":", "")
	b, err := hex.DecodeString(hexs)
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("%q is not a SHA-256 fingerprint: want 32 hex bytes such as AA:BB:...:FF", s)
	}
	return b, nil
}

// FormatFingerprint writes a fingerprint the way Proxmox shows it.
func FormatFingerprint(b []byte) string {
	parts := make([]string, len(b))
	for i, c := range b {
		parts[i] = fmt.Sprintf("%02X", c)
	}
	return strings.Join(parts, ":")
}

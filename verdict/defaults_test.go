package verdict

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	jsonnet "github.com/google/go-jsonnet"

	"proxmox_backup_exporter/internal/testtools"
)

// TestDefaultsAreTheMixins evaluates mixin/config.libsonnet and checks that
// every threshold the verdict applies has the mixin's default value.
func TestDefaultsAreTheMixins(t *testing.T) {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Join(testtools.Root(), "mixin")}})
	out, err := vm.EvaluateAnonymousSnippet("config", `(import "config.libsonnet")._config`)
	if err != nil {
		t.Fatalf("evaluating the mixin's config: %v", err)
	}
	var c map[string]any
	if err := json.Unmarshal([]byte(out), &c); err != nil {
		t.Fatal(err)
	}
	d := Defaults()
	secs := func(v time.Duration) float64 { return v.Seconds() }
	for key, want := range map[string]any{
		"missedGracePeriod":    secs(d.MissedGracePeriod),
		"tooOldWarning":        secs(d.TooOldWarning),
		"tooOldCritical":       secs(d.TooOldCritical),
		"notVerifiedWindow":    secs(d.NotVerifiedWindow),
		"sizeAnomalyRatio":     d.SizeAnomalyRatio,
		"sizeAnomalyWindow":    secs(d.SizeAnomalyWindow),
		"fillPredictionWindow": secs(d.FillPredictionWindow),
		"almostFullRatio":      d.AlmostFullRatio,
		"gcMaxAge":             secs(d.GCMaxAge),
		"scheduleGracePeriod":  secs(d.ScheduleGracePeriod),
		"restoreTestInterval":  secs(d.RestoreTestInterval),
		"optOutTag":            d.OptOutTag,
		"optOutComment":        d.OptOutComment,
		"singleCopyTag":        d.SingleCopyTag,
		"offsiteCopyMaxLag":    secs(d.OffsiteMaxLag),
	} {
		got, ok := c[key]
		if !ok {
			t.Errorf("the mixin's _config has no %s", key)
			continue
		}
		if got != want {
			t.Errorf("_config.%s is %v in the mixin, %v in the verdict's defaults", key, got, want)
		}
	}
}

// TestRulesMirrorTheAlerts checks that every rule names a distinct problem
// and one of the mixin's alerts, and that every alert has its rule.
func TestRulesMirrorTheAlerts(t *testing.T) {
	vm := jsonnet.MakeVM()
	vm.Importer(&jsonnet.FileImporter{JPaths: []string{filepath.Join(testtools.Root(), "mixin")}})
	out, err := vm.EvaluateAnonymousSnippet("alerts", `(import "mixin.libsonnet").prometheusAlerts`)
	if err != nil {
		t.Fatal(err)
	}
	var alerts struct {
		Groups []struct {
			Rules []struct {
				Alert  string
				Labels map[string]string
			}
		}
	}
	if err := json.Unmarshal([]byte(out), &alerts); err != nil {
		t.Fatal(err)
	}
	sev := map[string]map[string]bool{}
	for _, g := range alerts.Groups {
		for _, r := range g.Rules {
			if sev[r.Alert] == nil {
				sev[r.Alert] = map[string]bool{}
			}
			sev[r.Alert][r.Labels["severity"]] = true
		}
	}
	ids := map[string]bool{}
	mirrored := map[string]bool{}
	for _, r := range Rules {
		if ids[r.ID] || r.ID == "" {
			t.Errorf("rule ID %q is empty or not unique", r.ID)
		}
		ids[r.ID] = true
		s, ok := sev[r.Alert]
		if !ok {
			t.Errorf("rule %s mirrors %s, which the mixin does not have", r.ID, r.Alert)
			continue
		}
		mirrored[r.Alert] = true
		if r.Severity != "" && (len(s) != 1 || !s[string(r.Severity)]) {
			t.Errorf("rule %s has severity %s, alert %s has %v", r.ID, r.Severity, r.Alert, s)
		}
	}
	for a := range sev {
		if !mirrored[a] {
			t.Errorf("alert %s has no rule in the verdict", a)
		}
	}
}

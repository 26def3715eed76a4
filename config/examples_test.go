package config

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

// credentials is where systemd hands the unit's credentials to the service.
const credentials = "/run/credentials/proxmox_backup_exporter.service/"

func readExample(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "examples", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// The examples describe one installation: Prometheus probes only targets
// the exporter's example defines, every secret the configuration names is
// a credential the systemd unit loads, the unit serves TLS through the
// example web config with its key as a credential, and the scrape interval
// leaves Prometheus a sample in every 5-minute look-back.
func TestExamplesAgree(t *testing.T) {
	var exporter struct {
		Targets map[string]struct {
			TokenSecretFile string `yaml:"token_secret_file"`
			Offsite         string `yaml:"offsite"`
		} `yaml:"targets"`
	}
	if err := yaml.Unmarshal([]byte(readExample(t, "proxmox_backup_exporter.yml")), &exporter); err != nil {
		t.Fatal(err)
	}
	var prom struct {
		ScrapeConfigs []struct {
			JobName        string `yaml:"job_name"`
			MetricsPath    string `yaml:"metrics_path"`
			ScrapeInterval string `yaml:"scrape_interval"`
			ScrapeTimeout  string `yaml:"scrape_timeout"`
			StaticConfigs  []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	if err := yaml.Unmarshal([]byte(readExample(t, "prometheus.yml")), &prom); err != nil {
		t.Fatal(err)
	}
	unit := readExample(t, filepath.Join("systemd", "proxmox_backup_exporter.service"))
	loaded := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^LoadCredential=([^:]+):`).FindAllStringSubmatch(unit, -1) {
		loaded[m[1]] = true
	}

	probes := 0
	// The offsite alert compares a primary with its offsite target within
	// one job: both must be probed by the same one.
	jobOf := map[string]string{}
	for _, sc := range prom.ScrapeConfigs {
		if sc.MetricsPath != "/probe" {
			continue
		}
		probes++
		for _, st := range sc.StaticConfigs {
			for _, target := range st.Targets {
				jobOf[target] = sc.JobName
				if _, ok := exporter.Targets[target]; !ok {
					t.Errorf("examples/prometheus.yml probes %q, which examples/proxmox_backup_exporter.yml does not define", target)
				}
			}
		}
		interval, err1 := time.ParseDuration(sc.ScrapeInterval)
		timeout, err2 := time.ParseDuration(sc.ScrapeTimeout)
		if err1 != nil || err2 != nil || interval > 2*time.Minute || timeout >= interval {
			t.Errorf("job %s: scrape_interval %q and scrape_timeout %q: want an interval of at most 2m and a timeout below it", sc.JobName, sc.ScrapeInterval, sc.ScrapeTimeout)
		}
	}
	if probes == 0 {
		t.Error("examples/prometheus.yml has no /probe job")
	}

	offsites := 0
	for name, tg := range exporter.Targets {
		if tg.Offsite == "" {
			continue
		}
		offsites++
		if jobOf[name] == "" || jobOf[name] != jobOf[tg.Offsite] {
			t.Errorf("target %s has offsite %s: examples/prometheus.yml must probe both in one job (jobs %q and %q)", name, tg.Offsite, jobOf[name], jobOf[tg.Offsite])
		}
	}
	if offsites == 0 {
		t.Error("examples/proxmox_backup_exporter.yml shows no offsite setting")
	}

	for name, tg := range exporter.Targets {
		file, ok := strings.CutPrefix(tg.TokenSecretFile, credentials)
		if !ok {
			t.Errorf("target %s: token_secret_file %q is not a systemd credential (%s...)", name, tg.TokenSecretFile, credentials)
			continue
		}
		if !loaded[file] {
			t.Errorf("target %s: the unit has no LoadCredential=%s:...", name, file)
		}
	}
	if flag := "--web.config.file=%d/web-config.yml"; !strings.Contains(unit, flag) || !loaded["web-config.yml"] {
		t.Errorf("the unit does not load the web config as a credential and pass %s", flag)
	}
	var web struct {
		TLS struct {
			KeyFile string `yaml:"key_file"`
		} `yaml:"tls_server_config"`
	}
	if err := yaml.Unmarshal([]byte(readExample(t, "web-config.yml")), &web); err != nil {
		t.Fatal(err)
	}
	if key, ok := strings.CutPrefix(web.TLS.KeyFile, credentials); !ok || !loaded[key] {
		t.Errorf("examples/web-config.yml key_file %q is not a credential the unit loads", web.TLS.KeyFile)
	}
}

// Package exporter serves the exporter's HTTP surface: /probe for one
// configured target, the exporter's own /metrics, /config, reloads, health
// checks and the landing page.
package exporter

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/verdict"
)

// Options configure an Exporter.
type Options struct {
	ConfigFile string
	Logger     *slog.Logger
	// TimeoutOffset is subtracted from Prometheus' scrape timeout header.
	TimeoutOffset time.Duration
	// Registry receives the exporter's own metrics (served on /metrics).
	Registry prometheus.Registerer
	// Now is the clock of probes; tests fix it. Default: time.Now.
	Now func() time.Time
	// DisableStatusPage turns /status and /status.json off.
	DisableStatusPage bool
	// Thresholds judge the backups on /status and in Check; zero means
	// the mixin's defaults (verdict.Defaults).
	Thresholds verdict.Thresholds
	// StatusCacheTTL is how long /status reuses a target's probe.
	StatusCacheTTL time.Duration
}

// Exporter holds the current configuration and one API client per target.
type Exporter struct {
	opts   Options
	logger *slog.Logger

	mu      sync.RWMutex
	cfg     *config.Config
	clients map[string]*targetClient
	landing http.Handler
	// Set by Server; 0 leaves the deadlines alone.
	writeMargin, bodyTimeout time.Duration

	statusProbes statusProbes

	reloadSuccess   prometheus.Gauge
	reloadTimestamp prometheus.Gauge
	probes          *prometheus.CounterVec
	probeDuration   *prometheus.HistogramVec
}

// New loads the configuration file and builds the exporter. It fails when
// the first load fails; later reloads keep the old configuration instead.
func New(opts Options) (*Exporter, error) {
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Thresholds == (verdict.Thresholds{}) {
		opts.Thresholds = verdict.Defaults()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	e := &Exporter{
		opts:   opts,
		logger: opts.Logger,
		reloadSuccess: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "proxmox_backup_exporter_config_last_reload_successful",
			Help: "1 if the last configuration load succeeded, 0 if it failed.",
		}),
		reloadTimestamp: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "proxmox_backup_exporter_config_last_reload_success_timestamp_seconds",
			Help: "When the configuration was last loaded successfully.",
		}),
		probes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "proxmox_backup_exporter_probes_total",
			Help: "Probes by target and outcome: success when the target was up and every collector succeeded, failure otherwise.",
		}, []string{"target", "outcome"}),
		probeDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "proxmox_backup_exporter_probe_duration_seconds",
			Help:    "How long probes took, by target.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2.5, 5, 10, 20, 30, 60},
		}, []string{"target"}),
	}
	for _, c := range []prometheus.Collector{e.reloadSuccess, e.reloadTimestamp, e.probes, e.probeDuration} {
		if err := opts.Registry.Register(c); err != nil {
			return nil, err
		}
	}
	if err := e.Reload(); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload reads the configuration file again. On failure the running
// configuration stays in place and the error is returned and logged. A
// target whose client cannot be built or whose secret file cannot be read
// is only warned about: it fails its own probes, not the load.
func (e *Exporter) Reload() error {
	cfg, clients, warnings, err := load(e.opts.ConfigFile)
	if err == nil {
		var landing http.Handler
		landing, err = landingPage(cfg, !e.opts.DisableStatusPage)
		if err == nil {
			e.mu.Lock()
			e.cfg, e.clients, e.landing = cfg, clients, landing
			e.mu.Unlock()
			e.reloadSuccess.Set(1)
			e.reloadTimestamp.SetToCurrentTime()
			for _, w := range warnings {
				e.logger.Warn("A target will fail its probes until this is fixed", "err", w)
			}
			e.logger.Info("Loaded configuration", "file", e.opts.ConfigFile, "targets", len(cfg.Targets), "warnings", len(warnings))
			return nil
		}
	}
	e.reloadSuccess.Set(0)
	e.logger.Error("Failed to load configuration; keeping the previous one", "file", e.opts.ConfigFile, "err", err)
	return err
}

// CheckConfig does what a load does, for --config.check: it returns an
// error where a start or reload would fail, and the warnings about targets
// that would fail their probes.
func CheckConfig(filename string) (warnings []error, err error) {
	_, _, warnings, err = load(filename)
	return warnings, err
}

// targetClient is one target's API client, or why it could not be built.
type targetClient struct {
	mu     sync.Mutex
	client *proxmox.Client
	err    error
}

// load reads and validates the file, builds the clients and tries every
// secret file, each within config.SecretReadTimeout and all at once.
func load(filename string) (*config.Config, map[string]*targetClient, []error, error) {
	cfg, err := config.LoadFile(filename)
	if err != nil {
		return nil, nil, nil, err
	}
	names := cfg.TargetNames()
	clients := make(map[string]*targetClient, len(names))
	problems := make([]error, len(names))
	var wg sync.WaitGroup
	for i, name := range names {
		t := cfg.Targets[name]
		c, err := proxmox.New(t)
		clients[name] = &targetClient{client: c, err: err}
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, serr := t.ReadSecret()
			problems[i] = errors.Join(err, serr)
		}()
	}
	wg.Wait()
	var warnings []error
	for _, p := range problems {
		if p != nil {
			warnings = append(warnings, p)
		}
	}
	return cfg, clients, warnings, nil
}

// get returns the client, building it again if it failed before (a CA file
// that was missing may be there now).
func (tc *targetClient) get(t *config.Target) (*proxmox.Client, error) {
	tc.mu.Lock()
	defer tc.mu.Unlock()
	if tc.client == nil {
		tc.client, tc.err = proxmox.New(t)
	}
	return tc.client, tc.err
}

// current returns the configuration and clients in force.
func (e *Exporter) current() (*config.Config, map[string]*targetClient) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.cfg, e.clients
}

// Handler returns the exporter's routes. metrics serves /metrics.
func (e *Exporter) Handler(metrics http.Handler) http.Handler {
	mux := http.NewServeMux()
	mux.Handle("/metrics", metrics)
	mux.HandleFunc("/probe", e.serveProbe)
	mux.HandleFunc("/config", e.serveConfig)
	mux.HandleFunc("/-/reload", e.serveReload)
	if !e.opts.DisableStatusPage {
		mux.HandleFunc("/status", e.serveStatus)
		mux.HandleFunc("/status.json", e.serveStatus)
		mux.Handle("/static/", e.serveStatic())
	}
	mux.HandleFunc("/-/healthy", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Healthy.")
	})
	mux.HandleFunc("/-/ready", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintln(w, "Ready.")
	})
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		e.mu.RLock()
		landing := e.landing
		e.mu.RUnlock()
		landing.ServeHTTP(w, r)
	})
	return referrerPolicy(e.guard(mux))
}

// referrerPolicy sends Referrer-Policy: no-referrer. The web config's
// http_server_config.headers sets the other security headers, but
// exporter-toolkit's list of allowed headers does not include this one.
func referrerPolicy(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}

func (e *Exporter) serveConfig(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	cfg, _ := e.current()
	// config.Secret marshals as <secret>.
	out, err := yaml.Marshal(cfg)
	if err != nil {
		http.Error(w, "cannot marshal the configuration: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write(out)
}

func (e *Exporter) serveReload(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodPost, http.MethodPut) {
		return
	}
	if err := e.Reload(); err != nil {
		http.Error(w, "failed to reload the configuration: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprintln(w, "Configuration reloaded.")
}

func allowMethods(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	for _, m := range methods {
		if r.Method == m {
			return true
		}
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	http.Error(w, fmt.Sprintf("method %s not allowed: use %s", r.Method, strings.Join(methods, " or ")), http.StatusMethodNotAllowed)
	return false
}

func landingPage(cfg *config.Config, status bool) (http.Handler, error) {
	var links []web.LandingLinks
	if status {
		links = append(links, web.LandingLinks{Address: "status", Text: "Backup status", Description: "every guest and backup group, problems first (also as status.json)"})
	}
	links = append(links, []web.LandingLinks{
		{Address: "metrics", Text: "Metrics", Description: "the exporter's own metrics"},
		{Address: "config", Text: "Configuration", Description: "the loaded configuration, secrets hidden"},
	}...)
	for _, name := range cfg.TargetNames() {
		t := cfg.Targets[name]
		links = append(links, web.LandingLinks{
			Address:     "probe?target=" + name,
			Text:        "Probe " + name,
			Description: fmt.Sprintf("%s target %s", strings.ToUpper(t.Type), t.BaseURL().Host),
		})
	}
	return web.NewLandingPage(web.LandingConfig{
		Name:        "Proxmox Backup Exporter",
		Description: "Are all Proxmox guests really backed up? Backup state of Proxmox VE guests and Proxmox Backup Server groups, for Prometheus.",
		Version:     version.Info(),
		Links:       links,
		Profiling:   "false",
	})
}

package exporter

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/common/expfmt"

	"proxmox_backup_exporter/collector"
	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
)

func (e *Exporter) serveProbe(w http.ResponseWriter, r *http.Request) {
	if !allowMethods(w, r, http.MethodGet, http.MethodHead) {
		return
	}
	name, err := targetParam(r)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	timeout, err := scrapeTimeout(r, e.opts.TimeoutOffset)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	res, err := e.ProbeTarget(r.Context(), name, timeout)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	writeMetrics(w, r, res, e.logger)
}

// writeMetrics streams a probe's metrics in the format the scraper asked
// for, gzipped when it accepts that, family by family (see
// collector.WriteMetrics).
func writeMetrics(w http.ResponseWriter, r *http.Request, res *collector.Result, logger *slog.Logger) {
	format := expfmt.Negotiate(r.Header)
	w.Header().Set("Content-Type", string(format))
	var out io.Writer = w
	if gzipAccepted(r) {
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		gz := gzip.NewWriter(w)
		defer gz.Close()
		out = gz
	}
	enc := expfmt.NewEncoder(out, format)
	err := collector.WriteMetrics(enc, res)
	if closer, ok := enc.(expfmt.Closer); ok && err == nil {
		err = closer.Close()
	}
	if err != nil {
		logger.Error("Cannot write the probe's metrics", "target", res.Target, "err", err)
	}
}

func gzipAccepted(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if name, _, _ := strings.Cut(strings.TrimSpace(part), ";"); strings.EqualFold(strings.TrimSpace(name), "gzip") {
			return true
		}
	}
	return false
}

// ProbeTarget probes the named target. A timeout of 0 means the target's
// own timeout; a shorter one (from the scrape timeout header) wins. An error
// is returned only for an unknown target: a target that fails to answer
// still gives a Result, with Up false.
func (e *Exporter) ProbeTarget(ctx context.Context, name string, timeout time.Duration) (*collector.Result, error) {
	cfg, clients := e.current()
	t, ok := cfg.Targets[name]
	if !ok {
		return nil, fmt.Errorf("unknown target %s", quoteParam(name))
	}
	client := clients[name]

	if limit := time.Duration(t.Timeout); timeout <= 0 || timeout > limit {
		timeout = limit
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	var res *collector.Result
	secret, err := t.ReadSecret()
	// What the server sends may echo the secret: it is redacted from every
	// log line and page of this probe.
	red := proxmox.NewRedactor(secret)
	probeLogger := redactingLogger(e.logger, red)
	logger := probeLogger.With("target", name)
	if err != nil {
		logger.Error("Cannot read the token secret", "err", err)
		res = &collector.Result{
			Target: name, Product: t.Type, Now: e.opts.Now(),
			Collectors: []collector.CollectorStatus{{Name: "version", Err: err}},
		}
	} else {
		res = collector.Probe(ctx, t, client.Session(secret), collector.Options{Logger: probeLogger, Now: e.opts.Now})
	}
	redactResult(res, red)
	elapsed := time.Since(start)

	outcome := "success"
	if !res.Up || len(res.Failed()) > 0 {
		outcome = "failure"
	}
	e.probes.WithLabelValues(name, outcome).Inc()
	e.probeDuration.WithLabelValues(name).Observe(elapsed.Seconds())
	logger.Debug("Probe finished", "outcome", outcome, "duration_seconds", elapsed.Seconds(), "failed_collectors", res.Failed())
	return res, nil
}

// targetParam returns the one target parameter of a probe request.
func targetParam(r *http.Request) (string, error) {
	values, ok := r.URL.Query()["target"]
	switch {
	case !ok || len(values) == 0 || values[0] == "":
		return "", errors.New("missing target parameter: use /probe?target=NAME with a target from the configuration file")
	case len(values) > 1:
		return "", errors.New("more than one target parameter: give exactly one")
	}
	return values[0], nil
}

// quoteParam quotes a request value for an error message, shortened so that
// a huge parameter does not become a huge response.
func quoteParam(s string) string {
	const max = 64
	if len(s) > max {
		return strconv.Quote(s[:max]) + "..."
	}
	return strconv.Quote(s)
}

// scrapeTimeout reads Prometheus' scrape timeout header and subtracts the
// offset. 0 means no header.
func scrapeTimeout(r *http.Request, offset time.Duration) (time.Duration, error) {
	h := r.Header.Get("X-Prometheus-Scrape-Timeout-Seconds")
	if h == "" {
		return 0, nil
	}
	secs, err := strconv.ParseFloat(h, 64)
	if err != nil || secs <= 0 || secs != secs || secs > 24*3600 {
		return 0, fmt.Errorf("bad X-Prometheus-Scrape-Timeout-Seconds header %s: want a positive number of seconds", quoteParam(h))
	}
	d := time.Duration(secs*float64(time.Second)) - offset
	if d <= 0 {
		// The offset leaves nothing; use most of what Prometheus allows.
		d = time.Duration(secs * float64(time.Second) * 0.9)
	}
	return d, nil
}

// Config returns the configuration in force.
func (e *Exporter) Config() *config.Config {
	cfg, _ := e.current()
	return cfg
}

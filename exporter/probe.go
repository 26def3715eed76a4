package exporter

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
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
	if err := collector.WriteMetrics(out, format, res); err != nil {
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

// probeFunc runs the collectors; tests replace it with one that hangs.
var probeFunc = collector.Probe

// probeGrace is how long past its deadline a probe may take before it is
// given up and reported failed. collector.Probe returns by then on its own;
// this is the exporter's guarantee that a scrape gets an answer even if a
// collector never returns.
var probeGrace = 2 * time.Second

// ProbeTarget probes the named target. A timeout of 0 means the target's
// own timeout; a shorter one (from the scrape timeout header) wins. An error
// is returned only for an unknown target: a target that fails to answer,
// whose secret file cannot be read or whose client cannot be built still
// gives a Result, with Up false and the reason on the version collector.
func (e *Exporter) ProbeTarget(ctx context.Context, name string, timeout time.Duration) (*collector.Result, error) {
	cfg, clients := e.current()
	t, ok := cfg.Targets[name]
	if !ok {
		return nil, fmt.Errorf("unknown target %s", quoteParam(name))
	}

	if limit := time.Duration(t.Timeout); timeout <= 0 || timeout > limit {
		timeout = limit
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	start := time.Now()
	failed := func(coll string, err error) *collector.Result {
		return &collector.Result{
			Target: name, Product: t.Type, Now: e.opts.Now(),
			Collectors: []collector.CollectorStatus{{Name: coll, Err: err, Duration: time.Since(start)}},
		}
	}
	// What the server sends may echo the secret: it is redacted from every
	// log line and page of this probe.
	secret, secretErr := t.ReadSecretContext(ctx)
	red := proxmox.NewRedactor(secret)
	probeLogger := redactingLogger(e.logger, red)
	logger := probeLogger.With("target", name)
	var res *collector.Result
	client, err := clients[name].get(t)
	switch {
	case err != nil:
		logger.Error("Cannot build the API client", "err", err)
		res = failed("version", err)
	case secretErr != nil:
		logger.Error("Cannot read the token secret", "err", secretErr)
		res = failed("version", secretErr)
	default:
		done := make(chan *collector.Result, 1)
		probe := probeFunc
		go func() {
			done <- probe(ctx, t, client.Session(secret), collector.Options{Logger: probeLogger, Now: e.opts.Now})
		}()
		grace := time.NewTimer(timeout + probeGrace - time.Since(start))
		defer grace.Stop()
		select {
		case res = <-done:
		case <-grace.C:
			err := fmt.Errorf("the probe did not end within %v of its %v deadline", probeGrace, timeout)
			logger.Error("Probe given up", "err", err)
			res = failed("version", err)
		}
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

// Bounds of the probe deadline taken from the scrape timeout header.
const (
	// minDeadline is the deadline of the smallest positive header value.
	minDeadline = 10 * time.Millisecond
	// maxHeaderSeconds stands for "no limit from Prometheus": the target's
	// own timeout (at most config.MaxTimeout) applies.
	maxHeaderSeconds = float64(config.MaxTimeout / time.Second)
)

// scrapeTimeout reads Prometheus' scrape timeout header and turns it into a
// probe deadline. 0 means no header: the target's timeout applies.
//
// The mapping is monotonic: a longer scrape timeout never gives a shorter
// deadline. The offset leaves time to send the response, but never takes
// more than half of what Prometheus allows, and every positive value gives
// at least minDeadline. A value past maxHeaderSeconds, +Inf included, is
// capped there (the target's own timeout is shorter still). NaN, zero,
// negative numbers and text are a bad request.
func scrapeTimeout(r *http.Request, offset time.Duration) (time.Duration, error) {
	values := r.Header.Values("X-Prometheus-Scrape-Timeout-Seconds")
	if len(values) == 0 {
		return 0, nil
	}
	h := strings.TrimSpace(values[0])
	secs, err := strconv.ParseFloat(h, 64)
	if errors.Is(err, strconv.ErrRange) {
		err = nil // too large: ±Inf
	}
	if err == nil && secs == 0 && !math.Signbit(secs) && underflowed(h) {
		secs = math.SmallestNonzeroFloat64 // positive, if too small for a float64
	}
	if len(values) > 1 || err != nil || math.IsNaN(secs) || secs <= 0 {
		return 0, fmt.Errorf("bad X-Prometheus-Scrape-Timeout-Seconds header %s: want one positive number of seconds", quoteParam(h))
	}
	secs = min(secs, maxHeaderSeconds)
	scrape := time.Duration(secs * float64(time.Second))
	return max(scrape-offset, scrape/2, minDeadline), nil
}

// underflowed reports whether a number that parsed as +0 was written with a
// nonzero digit, like 1e-400.
func underflowed(h string) bool {
	m := strings.ToLower(strings.TrimPrefix(h, "+"))
	if hex, ok := strings.CutPrefix(m, "0x"); ok {
		mant, _, _ := strings.Cut(hex, "p")
		return strings.ContainsAny(mant, "123456789abcdef")
	}
	mant, _, _ := strings.Cut(m, "e")
	return strings.ContainsAny(mant, "123456789")
}

// Config returns the configuration in force.
func (e *Exporter) Config() *config.Config {
	cfg, _ := e.current()
	return cfg
}

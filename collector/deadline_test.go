package collector

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
)

// A collector still busy at the probe deadline fails with an error that
// names the deadline; it names API calls it waits for only when there are
// some, and a collector that finished in time keeps its success.
func TestDeadlineWithNothingInFlight(t *testing.T) {
	cfg, err := config.Parse([]byte("targets:\n  t:\n    type: pbs\n    url: https://192.0.2.1:8007\n    token_id: a@pbs!b\n    token_secret: x\n"))
	if err != nil {
		t.Fatal(err)
	}
	tg := cfg.Targets["t"]
	c, err := proxmox.New(tg)
	if err != nil {
		t.Fatal(err)
	}
	p := &prober{target: tg, session: c.Session("x"), logger: slog.New(slog.DiscardHandler)}
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	r := &Result{Now: time.Now()}
	p.runTasks(ctx, r, func(dst, src *Result) {},
		task{"stuck", func(context.Context, *Result) error { <-release; return nil }},
		task{"quick", func(context.Context, *Result) error { return nil }},
	)
	if len(r.Collectors) != 2 {
		t.Fatalf("collectors %+v", r.Collectors)
	}
	for _, st := range r.Collectors {
		switch st.Name {
		case "quick":
			if !st.Success {
				t.Errorf("quick: %v", st.Err)
			}
		case "stuck":
			if st.Success || st.Err == nil || !errors.Is(st.Err, context.DeadlineExceeded) ||
				!strings.HasPrefix(st.Err.Error(), "did not finish before the probe deadline: ") {
				t.Errorf("stuck: %v", st.Err)
			}
		}
	}
}

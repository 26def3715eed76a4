// Command proxmox_backup_exporter exports the backup state of Proxmox VE
// guests and Proxmox Backup Server groups to Prometheus.
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"slices"
	"syscall"
	_ "time/tzdata" // node time zones must load in minimal containers too

	"github.com/alecthomas/kingpin/v2"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	versioncollector "github.com/prometheus/client_golang/prometheus/collectors/version"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/common/promslog"
	"github.com/prometheus/common/promslog/flag"
	"github.com/prometheus/common/version"
	"github.com/prometheus/exporter-toolkit/web"
	"github.com/prometheus/exporter-toolkit/web/kingpinflag"

	"proxmox_backup_exporter/exporter"
)

const (
	exporterName = "proxmox_backup_exporter"
	// defaultAddress is the exporter's own port: neither the PVE exporter's
	// 9221 nor the PBS exporter's 10019.
	defaultAddress = ":10049"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	app := kingpin.New(exporterName, "Exports the backup state of Proxmox VE guests and Proxmox Backup Server groups to Prometheus.")
	var (
		configFile    = app.Flag("config.file", "Configuration file.").Default("proxmox_backup_exporter.yml").String()
		configCheck   = app.Flag("config.check", "Validate the configuration file, print the result and exit (0 valid, 1 invalid).").Bool()
		timeoutOffset = app.Flag("timeout-offset", "Subtracted from Prometheus' scrape timeout to leave time for the response.").Default("0.5s").Duration()
		noStatusPage  = app.Flag("web.disable-status-page", "Turn off the /status page and /status.json.").Bool()
		statusTTL     = app.Flag("web.status-cache-ttl", "How long /status reuses a target's probe; concurrent views always share one probe per target (0 for a new probe per view).").Default("10s").Duration()
		toolkitFlags  = kingpinflag.AddFlags(app, defaultAddress)
	)
	serveCmd := app.Command("serve", "Run the exporter (the default).").Default()
	hashCmd := app.Command("hash-password", "Read a password from standard input and print its bcrypt hash for the web config's basic_auth_users.")
	checkCmd, checkFlags := addCheckFlags(app)
	promslogConfig := &promslog.Config{}
	flag.AddFlags(app, promslogConfig)
	app.Version(version.Print(exporterName))
	app.HelpFlag.Short('h')
	cmd, err := app.Parse(args)
	if err == nil && *timeoutOffset < 0 {
		err = fmt.Errorf("--timeout-offset=%v: must not be negative", *timeoutOffset)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s: %v\n", exporterName, err)
		if slices.Contains(args, checkCmd.FullCommand()) {
			fmt.Printf("UNKNOWN - %v\n", err) // a plugin's usage error
			return pluginUnknown
		}
		return 2
	}
	switch cmd {
	case hashCmd.FullCommand():
		if err := hashPassword(os.Stdin, os.Stdout, os.Stderr); err != nil {
			fmt.Fprintf(os.Stderr, "%s hash-password: %v\n", exporterName, err)
			return 1
		}
		return 0
	case checkCmd.FullCommand():
		return runCheck(context.Background(), *configFile, checkFlags, os.Stdout, os.Stderr)
	case serveCmd.FullCommand():
	}
	logger := promslog.New(promslogConfig)

	if *configCheck {
		// The same load as start-up and reload: what one accepts, the
		// other does.
		warnings, err := exporter.CheckConfig(*configFile)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s is not valid:\n%v\n", *configFile, err)
			return 1
		}
		for _, w := range warnings {
			fmt.Fprintf(os.Stderr, "warning: %v\n", w)
		}
		if len(warnings) > 0 {
			fmt.Printf("%s is valid; %d target(s) will fail their probes until the warnings above are fixed.\n", *configFile, len(warnings))
			return 0
		}
		fmt.Printf("%s is valid.\n", *configFile)
		return 0
	}

	logger.Info("Starting "+exporterName, "version", version.Info(), "build_context", version.BuildContext())

	reg := prometheus.NewRegistry()
	reg.MustRegister(
		versioncollector.NewCollector("proxmox_backup_exporter"),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	exp, err := exporter.New(exporter.Options{
		ConfigFile:        *configFile,
		Logger:            logger,
		TimeoutOffset:     *timeoutOffset,
		Registry:          reg,
		DisableStatusPage: *noStatusPage,
		StatusCacheTTL:    *statusTTL,
	})
	if err != nil {
		logger.Error("Cannot start without a valid configuration", "err", err)
		return 1
	}

	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			_ = exp.Reload() // logged; the old configuration stays on failure
		}
	}()

	srv := exp.Server(promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelError),
	}), exporter.DefaultServerTimeouts)
	if err := web.ListenAndServe(srv, toolkitFlags, logger); err != nil {
		logger.Error("HTTP server failed", "err", err)
		return 1
	}
	return 0
}

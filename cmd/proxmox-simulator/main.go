// Command proxmox-simulator serves a simulated Proxmox VE cluster and a
// simulated Proxmox Backup Server on loopback ports, from a built-in preset
// or a scenario file, for trying the exporter without Proxmox.
package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/alecthomas/kingpin/v2"
	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/simulator"
)

func main() {
	os.Exit(run(os.Args[1:]))
}

// scenarioFile is the YAML form of a scenario.
type scenarioFile struct {
	PVE *simulator.PVE `yaml:"pve"`
	PBS *simulator.PBS `yaml:"pbs"`
}

func run(args []string) int {
	app := kingpin.New("proxmox-simulator", "Serves a simulated Proxmox VE cluster and Proxmox Backup Server for trying proxmox_backup_exporter.")
	var (
		scenario    = app.Flag("scenario", "A preset ("+strings.Join(simulator.Presets, ", ")+") or a scenario YAML file.").Default("demo").String()
		pveListen   = app.Flag("pve.listen-address", "Where the PVE API listens (empty: no PVE).").Default("127.0.0.1:18006").String()
		pbsListen   = app.Flag("pbs.listen-address", "Where the PBS API listens (empty: no PBS).").Default("127.0.0.1:18007").String()
		offListen   = app.Flag("pbs-offsite.listen-address", "Where the offsite PBS of the demo preset listens, the server that keeps copies of the PBS's groups (empty: none).").Default("127.0.0.1:18008").String()
		plain       = app.Flag("plain-http", "Serve plain HTTP instead of HTTPS.").Bool()
		expired     = app.Flag("expired-cert", "Serve HTTPS with an expired certificate.").Bool()
		writeConfig = app.Flag("write-config", "Write an exporter configuration for the simulated targets to this file, with the certificate pinned.").String()
		faults      = app.Flag("fault", "Inject a fault: TARGET:PATH=KIND[:ARG], e.g. pve:/cluster/resources=latency:5s, pbs:/admin/gc=status:500 (repeatable). Kinds: "+strings.Join(simulator.FaultKinds, ", ")+".").Strings()
	)
	sizes := simulator.Sizes{}
	app.Flag("nodes", "small/large: cluster nodes.").IntVar(&sizes.Nodes)
	app.Flag("guests", "small/large: guests.").IntVar(&sizes.Guests)
	app.Flag("backups-per-guest", "small/large: backups per guest.").IntVar(&sizes.BackupsPerGuest)
	app.Flag("datastores", "small/large: PBS datastores.").IntVar(&sizes.Datastores)
	app.Flag("namespaces", "small/large: namespaces per datastore, root included.").IntVar(&sizes.Namespaces)
	app.Flag("groups", "small/large: backup groups per namespace.").IntVar(&sizes.GroupsPerNS)
	app.Flag("snapshots", "small/large: snapshots per group.").IntVar(&sizes.SnapshotsPerGrp)
	app.HelpFlag.Short('h')
	if _, err := app.Parse(args); err != nil {
		fmt.Fprintf(os.Stderr, "proxmox-simulator: %v\n", err)
		return 2
	}

	pve, pbs, err := loadScenario(*scenario, mergeSizes(simulator.DefaultSizes(*scenario), sizes))
	if err != nil {
		fmt.Fprintf(os.Stderr, "proxmox-simulator: %v\n", err)
		return 1
	}
	var offsite *simulator.PBS
	if *scenario == "demo" && pbs != nil {
		offsite = simulator.DemoOffsite(time.Now(), pbs)
	}
	injected, err := simulator.ParseFaults(*faults)
	if err != nil {
		fmt.Fprintf(os.Stderr, "proxmox-simulator: %v\n", err)
		return 2
	}

	var cert tls.Certificate
	if !*plain {
		from, until := time.Now().Add(-time.Hour), time.Now().AddDate(10, 0, 0)
		if *expired {
			from, until = time.Now().AddDate(-2, 0, 0), time.Now().AddDate(-1, 0, 0)
		}
		if cert, err = simulator.SelfSignedCert(from, until); err != nil {
			fmt.Fprintf(os.Stderr, "proxmox-simulator: certificate: %v\n", err)
			return 1
		}
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 3)
	var targets []target
	serve := func(name, typ, addr string, h http.Handler) {
		if addr == "" || h == nil {
			return
		}
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			errc <- fmt.Errorf("%s: %w", name, err)
			return
		}
		scheme := "http"
		if !*plain {
			ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12})
			scheme = "https"
		}
		url := scheme + "://" + ln.Addr().String()
		targets = append(targets, target{name: name, typ: typ, url: url})
		srv := &http.Server{Handler: simulator.WithFaults(name, injected, h), ReadHeaderTimeout: 10 * time.Second}
		go func() { errc <- srv.Serve(ln) }()
		go func() { <-ctx.Done(); _ = srv.Close() }()
		fmt.Printf("%s API: %s/api2/json\n", strings.ToUpper(name), url)
	}
	if pve != nil {
		serve("pve", "pve", *pveListen, pve.Handler())
	}
	if pbs != nil {
		serve("pbs", "pbs", *pbsListen, pbs.Handler())
	}
	if offsite != nil {
		serve("pbs-offsite", "pbs", *offListen, offsite.Handler())
	}
	if len(targets) == 0 {
		fmt.Fprintln(os.Stderr, "proxmox-simulator: nothing to serve")
		return 1
	}
	if !*plain {
		fmt.Printf("Certificate SHA-256 fingerprint: %s\n", simulator.Fingerprint(cert))
	}
	fmt.Printf("PVE token: %s  PBS token: %s (secrets in the written config)\n", simulator.TestPVETokenID, simulator.TestPBSTokenID)
	if *writeConfig != "" {
		fp := ""
		if !*plain {
			fp = simulator.Fingerprint(cert)
		}
		if err := os.WriteFile(*writeConfig, []byte(exporterConfig(targets, fp)), 0o600); err != nil {
			fmt.Fprintf(os.Stderr, "proxmox-simulator: %v\n", err)
			return 1
		}
		fmt.Printf("Exporter configuration written to %s\n", *writeConfig)
	}

	select {
	case <-ctx.Done():
		return 0
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return 0
		}
		fmt.Fprintf(os.Stderr, "proxmox-simulator: %v\n", err)
		return 1
	}
}

type target struct{ name, typ, url string }

func mergeSizes(def, set simulator.Sizes) simulator.Sizes {
	pick := func(d, s int) int {
		if s > 0 {
			return s
		}
		return d
	}
	return simulator.Sizes{
		Nodes: pick(def.Nodes, set.Nodes), Guests: pick(def.Guests, set.Guests), BackupsPerGuest: pick(def.BackupsPerGuest, set.BackupsPerGuest),
		Datastores: pick(def.Datastores, set.Datastores), Namespaces: pick(def.Namespaces, set.Namespaces),
		GroupsPerNS: pick(def.GroupsPerNS, set.GroupsPerNS), SnapshotsPerGrp: pick(def.SnapshotsPerGrp, set.SnapshotsPerGrp),
	}
}

func loadScenario(name string, sizes simulator.Sizes) (*simulator.PVE, *simulator.PBS, error) {
	if !strings.HasSuffix(name, ".yml") && !strings.HasSuffix(name, ".yaml") {
		return simulator.Preset(name, time.Now(), sizes)
	}
	b, err := os.ReadFile(name)
	if err != nil {
		return nil, nil, err
	}
	var f scenarioFile
	dec := yaml.NewDecoder(strings.NewReader(string(b)))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		return nil, nil, fmt.Errorf("scenario %s: %w", name, err)
	}
	if f.PVE != nil && f.PVE.TokenID == "" {
		f.PVE.TokenID, f.PVE.TokenSecret = simulator.TestPVETokenID, simulator.TestPVETokenSecret
	}
	if f.PBS != nil && f.PBS.TokenID == "" {
		f.PBS.TokenID, f.PBS.TokenSecret = simulator.TestPBSTokenID, simulator.TestPBSTokenSecret
	}
	return f.PVE, f.PBS, nil
}

func exporterConfig(targets []target, fingerprint string) string {
	var b strings.Builder
	b.WriteString("# Written by proxmox-simulator: the simulated targets, with the simulator's\n# self-signed certificate pinned by its fingerprint.\ntargets:\n")
	offsite := slices.ContainsFunc(targets, func(t target) bool { return t.name == "pbs-offsite" })
	for _, t := range targets {
		id, secret := simulator.TestPVETokenID, simulator.TestPVETokenSecret
		if t.typ == "pbs" {
			id, secret = simulator.TestPBSTokenID, simulator.TestPBSTokenSecret
		}
		fmt.Fprintf(&b, "  demo-%s:\n    type: %s\n    url: %s\n    token_id: %q\n    token_secret: %q\n", t.name, t.typ, t.url, id, secret)
		if fingerprint != "" {
			fmt.Fprintf(&b, "    fingerprint: %q\n", fingerprint)
		}
		if t.name == "pbs" && offsite {
			b.WriteString("    # Its groups are copied to the offsite PBS (a sync job there pulls them).\n    offsite: demo-pbs-offsite\n")
		}
	}
	return b.String()
}

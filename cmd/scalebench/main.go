// Command scalebench measures the exporter at scale against the simulator:
// for each size it reports the API calls and bytes of the first scrape and
// of a steady-state one (the exporter keeps finished task logs between
// scrapes), the median steady-state scrape latency, the exporter process's
// peak RSS and allocations per scrape, and the transfer floor: the time to
// fetch the steady-state scrape's API responses with the same concurrency
// and discard them. It prints a Markdown table (see docs/performance.md).
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"proxmox_backup_exporter/simulator"
)

type size struct {
	name string
	pve  *simulator.PVEGenOptions
	pbs  *simulator.PBSGenOptions
}

func main() {
	exporterBin := flag.String("exporter", "./proxmox_backup_exporter", "the exporter binary to measure")
	scrapes := flag.Int("scrapes", 7, "scrapes per size (the median is reported)")
	quick := flag.Bool("quick", false, "only the smallest sizes")
	only := flag.String("only", "", "only the sizes whose name contains this")
	throughput := flag.Duration("throughput", 0, "instead: measure probes per second for this long against the large preset, with many targets scraped concurrently")
	flag.Parse()
	if *throughput > 0 {
		if err := measureThroughput(*exporterBin, *throughput); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		return
	}

	now := time.Now()
	sizes := []size{
		{name: "PBS 1k snapshots, 100 groups", pbs: &simulator.PBSGenOptions{Datastores: 2, Namespaces: 5, Groups: 10, Snapshots: 10, Now: now}},
		{name: "PBS 10k snapshots, 1,000 groups", pbs: &simulator.PBSGenOptions{Datastores: 2, Namespaces: 5, Groups: 100, Snapshots: 10, Now: now}},
		{name: "PBS 100k snapshots, 1,000 groups", pbs: &simulator.PBSGenOptions{Datastores: 2, Namespaces: 5, Groups: 100, Snapshots: 100, Now: now}},
		{name: "PBS 100k snapshots, 3,000 groups", pbs: &simulator.PBSGenOptions{Datastores: 2, Namespaces: 5, Groups: 300, Snapshots: 33, Now: now}},
		{name: "PBS 100k snapshots, 10,000 groups", pbs: &simulator.PBSGenOptions{Datastores: 2, Namespaces: 5, Groups: 1000, Snapshots: 10, Now: now}},
		// PVE: every node keeps 8 days of the daily job's tasks (the
		// default lookback) and 1% of the guests are in no job.
		pveSize(20, 100, now),
		pveSize(20, 1000, now),
		pveSize(20, 3000, now),
		pveSize(20, 5000, now),
	}
	if *quick {
		sizes = []size{sizes[0], sizes[5]}
	}
	if *only != "" {
		sizes = slices.DeleteFunc(sizes, func(s size) bool { return !strings.Contains(s.name, *only) })
	}
	if *only != "" {
		var keep []size
		for _, s := range sizes {
			if strings.Contains(s.name, *only) {
				keep = append(keep, s)
			}
		}
		sizes = keep
	}
	fmt.Printf("Machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Println("| size | API calls first / steady | bytes first / steady | task logs first / steady | first scrape | scrape p50 | floor p50 | ratio | peak RSS | allocs/scrape |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|")
	for _, s := range sizes {
		r, err := measure(*exporterBin, s, *scrapes)
		if err != nil {
			fmt.Fprintf(os.Stderr, "%s: %v\n", s.name, err)
			os.Exit(1)
		}
		fmt.Printf("| %s | %d / %d | %s / %s | %d / %d | %s | %s | %s | %.1fx | %.1f MiB | %.0f |\n", s.name,
			r.first.Calls, r.steady.Calls, mib(r.first.Bytes), mib(r.steady.Bytes), r.first.TaskLogCalls, r.steady.TaskLogCalls,
			r.firstScrape.Round(time.Millisecond), r.scrape.Round(time.Millisecond), r.floor.Round(time.Millisecond),
			float64(r.scrape)/float64(r.floor), float64(r.rss)/(1<<20), r.allocs)
	}
}

func pveSize(nodes, guests int, now time.Time) size {
	unscheduled := guests / 100
	if unscheduled < nodes {
		unscheduled = nodes
	}
	return size{
		name: fmt.Sprintf("PVE %s guests x 30 backups, %d nodes", thousands(guests), nodes),
		pve:  &simulator.PVEGenOptions{Nodes: nodes, Guests: guests, BackupsPerGuest: 30, TaskDays: 8, Unscheduled: unscheduled, Now: now},
	}
}

func thousands(n int) string {
	if n < 1000 {
		return strconv.Itoa(n)
	}
	return fmt.Sprintf("%d,%03d", n/1000, n%1000)
}

func mib(b int64) string {
	if b < 1<<20 {
		return fmt.Sprintf("%.0f KiB", float64(b)/(1<<10))
	}
	return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20))
}

type result struct {
	firstScrape   time.Duration
	scrape, floor time.Duration
	rss           int64
	allocs        float64
	// first and steady are the API calls and bytes (as sent, compressed)
	// of the first scrape and of the second.
	first, steady simulator.Counts
}

// recorder remembers the API requests of one scrape, for the floor.
type recorder struct {
	mu   sync.Mutex
	on   bool
	reqs []*http.Request
}

func (rc *recorder) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		if rc.on {
			rc.reqs = append(rc.reqs, r.Clone(context.Background()))
		}
		rc.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func measure(bin string, s size, scrapes int) (result, error) {
	var res result
	rec := &recorder{}
	var h http.Handler
	typ, id, secret := "pbs", simulator.TestPBSTokenID, simulator.TestPBSTokenSecret
	if s.pve != nil {
		h = simulator.GeneratePVE(*s.pve).Handler()
		typ, id, secret = "pve", simulator.TestPVETokenID, simulator.TestPVETokenSecret
	} else {
		h = simulator.GeneratePBS(*s.pbs).Handler()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	counter := &simulator.Counter{}
	srv := &http.Server{Handler: rec.wrap(counter.Wrap(h))}
	go srv.Serve(ln)
	defer srv.Close()

	dir, err := os.MkdirTemp("", "scalebench")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)
	cfg := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(cfg, []byte(fmt.Sprintf("targets:\n  t:\n    type: %s\n    url: http://%s\n    token_id: %q\n    token_secret: %q\n    timeout: 120s\n", typ, ln.Addr(), id, secret)), 0o600); err != nil {
		return res, err
	}
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return res, err
	}
	addr := eln.Addr().String()
	eln.Close()
	cmd := exec.Command(bin, "--config.file="+cfg, "--web.listen-address="+addr, "--log.level=error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return res, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	base := "http://" + addr
	for i := 0; ; i++ {
		if resp, err := http.Get(base + "/-/ready"); err == nil {
			resp.Body.Close()
			break
		}
		if i > 100 {
			return res, fmt.Errorf("the exporter did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}

	get := func(path string) (string, error) {
		resp, err := http.Get(base + path)
		if err != nil {
			return "", err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			return "", fmt.Errorf("%s: %d", path, resp.StatusCode)
		}
		return string(b), err
	}
	mallocs := func() float64 {
		body, _ := get("/metrics")
		for _, l := range strings.Split(body, "\n") {
			if v, ok := strings.CutPrefix(l, "go_memstats_mallocs_total "); ok {
				f, _ := strconv.ParseFloat(v, 64)
				return f
			}
		}
		return 0
	}

	// The first scrape reads every task log it needs; the second, recorded
	// for the floor, only those of tasks that were running or are new.
	counter.Take()
	start := time.Now()
	body, err := get("/probe?target=t")
	res.firstScrape = time.Since(start)
	res.first = counter.Take()
	if err != nil {
		return res, err
	}
	if !strings.Contains(body, "proxmox_backup_up 1") || strings.Contains(body, "collector_success{collector=\"groups\"} 0") {
		return res, fmt.Errorf("the first scrape failed")
	}
	rec.mu.Lock()
	rec.on = true
	rec.mu.Unlock()
	_, err = get("/probe?target=t")
	rec.mu.Lock()
	rec.on = false
	rec.mu.Unlock()
	res.steady = counter.Take()
	if err != nil {
		return res, err
	}

	var lat []time.Duration
	m0 := mallocs()
	for i := 0; i < scrapes; i++ {
		start := time.Now()
		if _, err := get("/probe?target=t"); err != nil {
			return res, err
		}
		lat = append(lat, time.Since(start))
	}
	m1 := mallocs()
	res.allocs = (m1 - m0) / float64(scrapes)
	res.scrape = median(lat)
	res.rss = peakRSS(cmd.Process.Pid)

	var floors []time.Duration
	for i := 0; i < scrapes; i++ {
		floors = append(floors, replay(rec.reqs, ln.Addr().String(), 4))
	}
	res.floor = median(floors)
	return res, nil
}

// replay fetches the recorded requests with the exporter's concurrency
// bound and its headers (token, Accept-Encoding), discarding the bodies.
func replay(reqs []*http.Request, addr string, concurrency int) time.Duration {
	tr := &http.Transport{DisableCompression: true, MaxIdleConnsPerHost: concurrency}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr}
	start := time.Now()
	work := make(chan *http.Request)
	var wg sync.WaitGroup
	for i := 0; i < concurrency; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range work {
				req, _ := http.NewRequest(http.MethodGet, "http://"+addr+r.URL.RequestURI(), nil)
				req.Header = r.Header.Clone()
				resp, err := client.Do(req)
				if err == nil {
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
				}
			}
		}()
	}
	for _, r := range reqs {
		work <- r
	}
	close(work)
	wg.Wait()
	return time.Since(start)
}

func median(d []time.Duration) time.Duration {
	sort.Slice(d, func(i, j int) bool { return d[i] < d[j] })
	return d[len(d)/2]
}

// peakRSS reads the process's high-water mark of resident memory.
func peakRSS(pid int) int64 {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb << 10
		}
	}
	return 0
}

func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return "unknown CPU"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "model name"); ok {
			return strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), ":"))
		}
	}
	return "unknown CPU"
}

// measureThroughput scrapes 20 targets (10 PVE clusters of 1,000 guests and
// 10 backup servers of 10,000 snapshots, all served by one simulator) at
// rising concurrency and reports probes per second and where the CPU went.
func measureThroughput(bin string, d time.Duration) error {
	now := time.Now()
	pve := simulator.GeneratePVE(simulator.PVEGenOptions{Nodes: 20, Guests: 1000, BackupsPerGuest: 30, Now: now}).Handler()
	pbs := simulator.GeneratePBS(simulator.PBSGenOptions{Datastores: 2, Namespaces: 5, Groups: 100, Snapshots: 10, Now: now}).Handler()
	var addrs []string
	for _, h := range []http.Handler{pve, pbs} {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: h}
		go srv.Serve(ln)
		defer srv.Close()
		addrs = append(addrs, ln.Addr().String())
	}
	dir, err := os.MkdirTemp("", "scalebench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	var cfg strings.Builder
	cfg.WriteString("targets:\n")
	var names []string
	for i := 0; i < 10; i++ {
		fmt.Fprintf(&cfg, "  pve%d:\n    type: pve\n    url: http://%s\n    token_id: %q\n    token_secret: %q\n    timeout: 120s\n", i, addrs[0], simulator.TestPVETokenID, simulator.TestPVETokenSecret)
		fmt.Fprintf(&cfg, "  pbs%d:\n    type: pbs\n    url: http://%s\n    token_id: %q\n    token_secret: %q\n    timeout: 120s\n", i, addrs[1], simulator.TestPBSTokenID, simulator.TestPBSTokenSecret)
		names = append(names, fmt.Sprintf("pve%d", i), fmt.Sprintf("pbs%d", i))
	}
	path := filepath.Join(dir, "config.yml")
	if err := os.WriteFile(path, []byte(cfg.String()), 0o600); err != nil {
		return err
	}
	eln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	addr := eln.Addr().String()
	eln.Close()
	cmd := exec.Command(bin, "--config.file="+path, "--web.listen-address="+addr, "--log.level=error")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	time.Sleep(300 * time.Millisecond)

	fmt.Printf("Machine: %s/%s, %d CPUs, %s\n\n", runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), cpuModel())
	fmt.Println("| concurrent scrapes | probes/s | p50 latency | exporter CPU | simulator CPU | exporter peak RSS |")
	fmt.Println("|---|---|---|---|---|---|")
	client := &http.Client{Timeout: 2 * time.Minute}
	for _, conc := range []int{1, 4, 16, 32} {
		cpu0, self0 := cpuSeconds(cmd.Process.Pid), cpuSeconds(os.Getpid())
		start := time.Now()
		var mu sync.Mutex
		var lat []time.Duration
		var wg sync.WaitGroup
		for w := 0; w < conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; time.Since(start) < d; i++ {
					t0 := time.Now()
					resp, err := client.Get("http://" + addr + "/probe?target=" + names[i%len(names)])
					if err != nil {
						continue
					}
					_, _ = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					mu.Lock()
					lat = append(lat, time.Since(t0))
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		elapsed := time.Since(start).Seconds()
		cpu := (cpuSeconds(cmd.Process.Pid) - cpu0) / elapsed
		self := (cpuSeconds(os.Getpid()) - self0) / elapsed
		fmt.Printf("| %d | %.1f | %s | %.0f%% | %.0f%% | %.1f MiB |\n", conc, float64(len(lat))/elapsed, median(lat).Round(time.Millisecond), cpu*100, self*100, float64(peakRSS(cmd.Process.Pid))/(1<<20))
	}
	return nil
}

// cpuSeconds is a process's user and system CPU time so far.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	fields := strings.Fields(s[strings.LastIndex(s, ")")+2:])
	if len(fields) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(fields[11], 64)
	st, _ := strconv.ParseFloat(fields[12], 64)
	return (ut + st) / 100 // clock ticks; 100 per second on Linux
}

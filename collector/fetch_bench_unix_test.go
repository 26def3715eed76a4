//go:build unix

package collector

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"proxmox_backup_exporter/config"
	"proxmox_backup_exporter/proxmox"
)

// throttled writes a body at a link's pace: perMiB for every MiB.
func throttled(w io.Writer, body []byte, perMiB time.Duration) {
	const chunk = 64 << 10
	for len(body) > 0 {
		n := min(chunk, len(body))
		if _, err := w.Write(body[:n]); err != nil {
			return
		}
		body = body[n:]
		if perMiB > 0 {
			w.(http.Flusher).Flush()
			time.Sleep(perMiB * time.Duration(n) / (1 << 20))
		}
	}
}

// BenchmarkSnapshotFetch fetches and decodes the listing of 100k snapshots
// in 3,000 groups through the client, with compression: none and auto
// (deflate), over loopback and over a link of 120 ms per MiB (about
// 70 Mbit/s), against the floor of fetching the same bytes undecoded. The
// server's bodies are compressed ahead: only the exporter's side is
// measured. cpu-ms/op is the process's CPU time per fetch, the server's
// included.
func BenchmarkSnapshotFetch(b *testing.B) {
	plain := snapshotListing(b, 3000, 33, "")
	deflated := snapshotListing(b, 3000, 33, "deflate")
	for _, link := range []struct {
		name   string
		perMiB time.Duration
	}{{"loopback", 0}, {"120ms-per-MiB", 120 * time.Millisecond}} {
		// The floor: the same bytes fetched and discarded, undecoded.
		for _, enc := range []string{"identity", "deflate"} {
			b.Run("link="+link.name+"/floor="+enc, func(b *testing.B) {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body := plain
					if enc == "deflate" {
						body = deflated
					}
					throttled(w, body, link.perMiB)
				}))
				defer srv.Close()
				hc := &http.Client{Transport: &http.Transport{DisableCompression: true}}
				cpu0 := cpuTime()
				for b.Loop() {
					resp, err := hc.Get(srv.URL)
					if err != nil {
						b.Fatal(err)
					}
					_, err = io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
			})
		}
		for _, compression := range []string{"none", "auto"} {
			b.Run("link="+link.name+"/compression="+compression, func(b *testing.B) {
				var wire int
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					body := plain
					if r.Header.Get("Accept-Encoding") == "deflate" {
						w.Header().Set("Content-Encoding", "deflate")
						body = deflated
					}
					wire = len(body)
					throttled(w, body, link.perMiB)
				}))
				defer srv.Close()
				cfg, err := config.Parse(fmt.Appendf(nil, "targets:\n  t:\n    type: pbs\n    url: %s\n    token_id: a@pbs!b\n    token_secret: s\n    compression: %s\n", srv.URL, compression))
				if err != nil {
					b.Fatal(err)
				}
				c, err := proxmox.New(cfg.Targets["t"])
				if err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuTime()
				for b.Loop() {
					agg := newSnapshotAgg("store1", "")
					if err := c.Session("s").EachRaw(context.Background(), "/admin/datastore/store1/snapshots", nil, agg.addRaw); err != nil {
						b.Fatal(err)
					}
					if len(agg.groups) != 3000 {
						b.Fatalf("%d groups", len(agg.groups))
					}
				}
				b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
				b.ReportMetric(float64(wire), "wire-bytes")
			})
		}
	}
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

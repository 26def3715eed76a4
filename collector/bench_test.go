package collector

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/prometheus/common/expfmt"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/simulator"
)

// TestPBSMemoryGrowsWithGroups probes 60,000 snapshots in 1,000 groups:
// the result holds one aggregate per group, never the snapshots.
func TestPBSMemoryGrowsWithGroups(t *testing.T) {
	if testing.Short() {
		t.Skip("large listing")
	}
	p := simulator.GeneratePBS(simulator.PBSGenOptions{Datastores: 2, Namespaces: 5, Groups: 100, Snapshots: 60, Now: testNow})
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	r := probeSim(t, "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, "")
	runtime.GC()
	runtime.ReadMemStats(&after)
	if len(r.PBS.Groups) != 1000 {
		t.Fatalf("%d groups", len(r.PBS.Groups))
	}
	total := 0
	for _, g := range r.PBS.Groups {
		total += g.Snapshots
	}
	if total != 60000 {
		t.Fatalf("%d snapshots counted", total)
	}
	retained := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	// 1,000 groups take well under a kilobyte each; 60,000 snapshots
	// kept as structs would take tens of megabytes.
	t.Logf("retained %d bytes", retained)
	if retained > 4<<20 {
		t.Errorf("the result retains %d bytes for 1,000 groups", retained)
	}
	runtime.KeepAlive(r)
}

func benchmarkPBS(b *testing.B, groups, snapshots int) {
	p := simulator.GeneratePBS(simulator.PBSGenOptions{Datastores: 1, Namespaces: 1, Groups: groups, Snapshots: snapshots, Now: testNow})
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	b.ReportAllocs()
	for b.Loop() {
		r := probeSim(b, "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, "")
		if !r.Up || len(r.Failed()) > 0 {
			b.Fatalf("probe failed: %v", r.Failed())
		}
	}
}

func BenchmarkPBSProbe(b *testing.B) {
	for _, size := range []struct{ groups, snapshots int }{{100, 10}, {100, 100}, {1000, 100}} {
		b.Run(fmt.Sprintf("groups=%d/snapshots=%d", size.groups, size.groups*size.snapshots), func(b *testing.B) {
			benchmarkPBS(b, size.groups, size.snapshots)
		})
	}
}

func BenchmarkPVEProbe(b *testing.B) {
	srv := httptest.NewServer(simulator.PVETestScenario(testNow).Handler())
	defer srv.Close()
	b.ReportAllocs()
	for b.Loop() {
		probeSim(b, "pve", srv.URL, simulator.TestPVETokenID, simulator.TestPVETokenSecret, "")
	}
}

// BenchmarkSnapshotStream decodes a 10,000-snapshot listing held in memory:
// the decoder and aggregation alone, without HTTP.
func BenchmarkSnapshotStream(b *testing.B) {
	p := simulator.GeneratePBS(simulator.PBSGenOptions{Datastores: 1, Namespaces: 1, Groups: 100, Snapshots: 100, Now: testNow})
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api2/json/admin/datastore/store1/snapshots", nil)
	req.Header.Set("Authorization", "PBSAPIToken="+simulator.TestPBSTokenID+":"+simulator.TestPBSTokenSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		agg := newSnapshotAgg("store1", "")
		if err := proxmox.DecodeEachRaw(bytes.NewReader(body), agg.addRaw); err != nil {
			b.Fatal(err)
		}
		if len(agg.groups) != 100 {
			b.Fatal("wrong group count")
		}
	}
}

// BenchmarkWriteMetrics writes the metrics of 1,000 groups in OpenMetrics,
// the format Prometheus asks for, and in the protobuf format, which goes
// through expfmt's encoder.
func BenchmarkWriteMetrics(b *testing.B) {
	p := simulator.GeneratePBS(simulator.PBSGenOptions{Datastores: 1, Namespaces: 1, Groups: 1000, Snapshots: 2, Now: testNow})
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	r := probeSim(b, "pbs", srv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, "")
	for name, format := range map[string]expfmt.FormatType{"openmetrics": expfmt.TypeOpenMetrics, "protobuf": expfmt.TypeProtoDelim} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := WriteMetrics(io.Discard, expfmt.NewFormat(format), r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

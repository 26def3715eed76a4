package collector

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"proxmox_backup_exporter/proxmox"
	"proxmox_backup_exporter/simulator"
)

// snapshotListing fetches the snapshot listing of a generated datastore of
// groups x perGroup snapshots, as the simulator sends it with the given
// Accept-Encoding ("" for none).
func snapshotListing(tb testing.TB, groups, perGroup int, encoding string) []byte {
	tb.Helper()
	p := simulator.GeneratePBS(simulator.PBSGenOptions{Datastores: 1, Namespaces: 1, Groups: groups, Snapshots: perGroup, Now: testNow})
	srv := httptest.NewServer(p.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api2/json/admin/datastore/store1/snapshots", nil)
	req.Header.Set("Authorization", "PBSAPIToken="+simulator.TestPBSTokenID+":"+simulator.TestPBSTokenSecret)
	if encoding != "" {
		req.Header.Set("Accept-Encoding", encoding)
	}
	tr := &http.Transport{DisableCompression: true}
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	if got := resp.Header.Get("Content-Encoding"); got != encoding {
		tb.Fatalf("Content-Encoding %q, want %q", got, encoding)
	}
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.Fatal(err)
	}
	return body
}

// BenchmarkSnapshotListing decodes a whole snapshot listing held in memory
// into group aggregates, at the sizes of docs/performance.md: the decoder
// and the aggregation alone, without HTTP.
func BenchmarkSnapshotListing(b *testing.B) {
	for _, size := range []struct{ groups, perGroup int }{{100, 10}, {3000, 33}, {10000, 10}} {
		body := snapshotListing(b, size.groups, size.perGroup, "")
		b.Run(fmt.Sprintf("groups=%d/snapshots=%d", size.groups, size.groups*size.perGroup), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				agg := newSnapshotAgg("store1", "")
				if err := proxmox.DecodeEachRaw(bytes.NewReader(body), agg.addRaw); err != nil {
					b.Fatal(err)
				}
				if len(agg.groups) != size.groups {
					b.Fatalf("%d groups", len(agg.groups))
				}
			}
		})
	}
}

// BenchmarkSnapshotListingDeflate is BenchmarkSnapshotListing at 100k
// snapshots in 3,000 groups with the body as PBS deflates it: the cost of
// inflating on top of decoding.
func BenchmarkSnapshotListingDeflate(b *testing.B) {
	body := snapshotListing(b, 3000, 33, "deflate")
	b.ReportAllocs()
	for b.Loop() {
		zr, err := zlib.NewReader(bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		agg := newSnapshotAgg("store1", "")
		if err := proxmox.DecodeEachRaw(zr, agg.addRaw); err != nil {
			b.Fatal(err)
		}
		if len(agg.groups) != 3000 {
			b.Fatalf("%d groups", len(agg.groups))
		}
	}
	b.ReportMetric(float64(len(body)), "wire-bytes")
}

// BenchmarkSnapshotListingReference is the simple way to read a listing,
// for comparison: unmarshal the whole body into structs, then group them.
func BenchmarkSnapshotListingReference(b *testing.B) {
	for _, size := range []struct{ groups, perGroup int }{{100, 10}, {3000, 33}} {
		body := snapshotListing(b, size.groups, size.perGroup, "")
		b.Run(fmt.Sprintf("groups=%d/snapshots=%d", size.groups, size.groups*size.perGroup), func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				var env struct {
					Data []struct {
						BackupType string `json:"backup-type"`
						BackupID   string `json:"backup-id"`
						BackupTime int64  `json:"backup-time"`
						Size       *int64 `json:"size"`
					} `json:"data"`
				}
				if err := json.Unmarshal(body, &env); err != nil {
					b.Fatal(err)
				}
				last := map[[2]string]int64{}
				for _, s := range env.Data {
					k := [2]string{s.BackupType, s.BackupID}
					if s.Size != nil && s.BackupTime > last[k] {
						last[k] = s.BackupTime
					}
				}
				if len(last) != size.groups {
					b.Fatalf("%d groups", len(last))
				}
			}
		})
	}
}

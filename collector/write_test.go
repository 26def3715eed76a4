package collector

import (
	"bytes"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"proxmox_backup_exporter/simulator"
)

// WriteMetrics writes, family by family, what a registry would: the same
// bytes in every exposition format a scraper can negotiate, for PBS and PVE
// probes, and for a generated server whose families have different series
// counts, so that buffers kept from one family to the next are reused with
// other sizes. Group metrics declare their labels out of name order
// (datastore, namespace, backup_type, backup_id), which exercises the sort.
func TestWriteMetricsMatchesRegistry(t *testing.T) {
	gen := simulator.GeneratePBS(simulator.PBSGenOptions{Datastores: 2, Namespaces: 2, Groups: 40, Snapshots: 3, Now: testNow})
	genSrv := httptest.NewServer(gen.Handler())
	defer genSrv.Close()
	results := map[string]*Result{
		"pbs":       probePBS(t, simulator.PBSTestScenario(testNow), ""),
		"pve":       probePVE(t, simulator.PVEHealthyScenario(testNow)),
		"generated": probeSim(t, "pbs", genSrv.URL, simulator.TestPBSTokenID, simulator.TestPBSTokenSecret, ""),
	}
	formats := []expfmt.Format{
		expfmt.NewFormat(expfmt.TypeTextPlain),
		expfmt.NewFormat(expfmt.TypeOpenMetrics),
		expfmt.FmtOpenMetrics_0_0_1,
		expfmt.NewFormat(expfmt.TypeProtoDelim),
		expfmt.NewFormat(expfmt.TypeProtoText),
	}
	for name, r := range results {
		for _, format := range formats {
			streamed, gathered := encodeBoth(t, r, format)
			if !bytes.Equal(streamed, gathered) {
				t.Errorf("%s, %s: WriteMetrics differs from the registry:\n%s", name, format, lineDiffText(string(gathered), string(streamed)))
			}
			if len(streamed) < 1000 {
				t.Errorf("%s, %s: %d bytes only", name, format, len(streamed))
			}
		}
	}
}

func encodeBoth(t *testing.T, r *Result, format expfmt.Format) (streamed, gathered []byte) {
	t.Helper()
	var s bytes.Buffer
	if err := WriteMetrics(&s, format, r); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(NewMetrics(r))
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var g bytes.Buffer
	enc := expfmt.NewEncoder(&g, format)
	for _, mf := range mfs {
		if err := enc.Encode(mf); err != nil {
			t.Fatal(err)
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	return s.Bytes(), g.Bytes()
}

// A label value that is not UTF-8 (which JSON decoding never yields, but a
// future source might) is written with replacement characters, where a
// const metric would panic the probe.
func TestWriteMetricsInvalidUTF8(t *testing.T) {
	r := &Result{Target: "t", Up: true, Collectors: []CollectorStatus{{Name: "a\xffb", Success: true}}}
	var out bytes.Buffer
	if err := WriteMetrics(&out, expfmt.NewFormat(expfmt.TypeTextPlain), r); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "collector_success{collector=\"a\uFFFDb\"} 1") {
		t.Errorf("want the collector name with a replacement character:\n%s", out.String())
	}
}

// A metric emitted with the wrong number of label values is an error of
// the write, naming the metric, not a panic.
func TestWriteMetricsLabelCount(t *testing.T) {
	b := &familyBuf{}
	b.reset(families[collectorSuccessDesc])
	b.add(1, []string{"a", "b"})
	if b.err == nil || !strings.Contains(b.err.Error(), "proxmox_backup_collector_success") {
		t.Errorf("err = %v, want one naming the metric", b.err)
	}
	if len(b.values) != 0 {
		t.Errorf("the bad series was kept")
	}
}

func lineDiffText(want, got string) string {
	w := map[string]bool{}
	for _, l := range bytes.Split([]byte(want), []byte("\n")) {
		w[string(l)] = true
	}
	var b bytes.Buffer
	for _, l := range bytes.Split([]byte(got), []byte("\n")) {
		if !w[string(l)] {
			b.WriteString("+ " + string(l) + "\n")
		}
	}
	return b.String()
}

// FuzzWriteMetrics holds the text writer to expfmt's on what it must
// escape and how it spells numbers: label values and HELP-free strings
// with quotes, backslashes and line breaks, and durations that make any
// float (tiny, huge, negative, zero) in every format WriteMetrics writes
// itself.
func FuzzWriteMetrics(f *testing.F) {
	f.Add("a\"b\\c\nd", "store", int64(1500), 3)
	f.Add("", "", int64(0), 0)
	f.Add("ÿ\x00", "x\\\\\"", int64(-1), -7)
	f.Add("1e21", "\n", int64(1)<<62, 1<<40)
	f.Fuzz(func(t *testing.T, comment, store string, dur int64, count int) {
		if !utf8.ValidString(comment) || !utf8.ValidString(store) {
			// The registry panics on these; TestWriteMetricsInvalidUTF8
			// covers them.
			t.Skip()
		}
		r := &Result{
			Target: "t", Up: true,
			Collectors: []CollectorStatus{{Name: comment, Success: true, Duration: time.Duration(dur)}, {Name: store, Duration: -time.Duration(dur)}},
			PBS: &PBSData{Groups: []Group{
				{Datastore: store, Namespace: comment, BackupType: "vm", BackupID: "100", Comment: comment, Snapshots: count},
				{Datastore: store, Namespace: "", BackupType: "ct", BackupID: comment, Owner: store, Snapshots: -count},
			}},
		}
		if comment == store {
			// Two collectors of one name make a duplicate series, which the
			// registry refuses; the probe never names two alike.
			r.Collectors = r.Collectors[:1]
		}
		if comment == "" || comment == "100" {
			r.PBS.Groups = r.PBS.Groups[:1]
		}
		for _, format := range []expfmt.Format{expfmt.NewFormat(expfmt.TypeTextPlain), expfmt.NewFormat(expfmt.TypeOpenMetrics)} {
			streamed, gathered := encodeBoth(t, r, format)
			if !bytes.Equal(streamed, gathered) {
				t.Fatalf("%s: WriteMetrics differs from the registry:\n%s", format, lineDiffText(string(gathered), string(streamed)))
			}
		}
	})
}

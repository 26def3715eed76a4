package collector

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"mime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
)

// familyOrder lists the metric families sorted by name, as a registry
// writes them.
var familyOrder = func() []*prometheus.Desc {
	descs := make([]*prometheus.Desc, 0, len(families))
	for d := range families {
		descs = append(descs, d)
	}
	sort.Slice(descs, func(i, j int) bool { return families[descs[i]].name < families[descs[j]].name })
	return descs
}()

// WriteMetrics writes a probe's metrics to w in the format, one family at a
// time, as a registry's Gather and expfmt's encoder would write them (the
// same families, series, order and bytes; TestWriteMetricsMatchesRegistry
// holds it to that). Only one family is held at once, in buffers the next
// family reuses, so that a probe of tens of thousands of groups neither
// holds its whole output nor builds a prometheus.Metric for every series.
// The text formats (Prometheus text and OpenMetrics 1.0, which Prometheus
// asks for) are written straight from those buffers; the other formats get
// dto messages lent the same storage and go through expfmt's encoder.
func WriteMetrics(w io.Writer, format expfmt.Format, r *Result) error {
	om, direct := textStyle(format)
	if !direct {
		return writeEncoded(w, format, r)
	}
	bw := bufio.NewWriterSize(w, 32<<10)
	buf := &familyBuf{}
	e := &emitter{out: buf}
	for _, d := range familyOrder {
		if err := buf.collect(e, d, r); err != nil {
			return err
		}
		if len(buf.values) == 0 {
			continue
		}
		buf.sort()
		buf.writeText(bw, om)
		// One flush per family stops a scrape whose client went away.
		if err := bw.Flush(); err != nil {
			return err
		}
	}
	if om {
		_, _ = bw.WriteString("# EOF\n")
	}
	return bw.Flush()
}

// textStyle tells whether WriteMetrics writes the format itself, and
// whether it is OpenMetrics (1.0 or 0.0.1; a later version goes through the
// encoder).
func textStyle(format expfmt.Format) (om, direct bool) {
	switch format.FormatType() {
	case expfmt.TypeTextPlain:
		return false, true
	case expfmt.TypeOpenMetrics:
		_, params, err := mime.ParseMediaType(string(format))
		if err != nil {
			return false, false
		}
		switch params["version"] {
		case "", expfmt.OpenMetricsVersion_1_0_0, expfmt.OpenMetricsVersion_0_0_1:
			return true, true
		}
	}
	return false, false
}

// writeEncoded writes the metrics through expfmt's encoder.
func writeEncoded(w io.Writer, format expfmt.Format, r *Result) error {
	enc := expfmt.NewEncoder(w, format)
	buf := &familyBuf{}
	e := &emitter{out: buf}
	gauge := dto.MetricType_GAUGE
	for _, d := range familyOrder {
		if err := buf.collect(e, d, r); err != nil {
			return err
		}
		if len(buf.values) == 0 {
			continue
		}
		buf.sort()
		f := buf.f
		mf := &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: &gauge, Metric: buf.build()}
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	if c, ok := enc.(expfmt.Closer); ok {
		return c.Close()
	}
	return nil
}

// familyBuf collects the series of one family as flat slices of values and
// label values, then lends them to dto messages whose storage is kept from
// family to family.
type familyBuf struct {
	f      *family
	values []float64
	labels []string // len(f.labels) per series, in the emitter's order
	err    error

	order   []int
	metrics []dto.Metric
	ptrs    []*dto.Metric
	gauges  []dto.Gauge
	pairs   []dto.LabelPair
	pairPtr []*dto.LabelPair
}

// collect gathers the series of family d.
func (b *familyBuf) collect(e *emitter, d *prometheus.Desc, r *Result) error {
	b.reset(families[d])
	e.only = d
	e.emit(r)
	return b.err
}

func (b *familyBuf) reset(f *family) {
	b.f = f
	b.values = b.values[:0]
	clear(b.labels) // let the strings of the previous family go
	b.labels = b.labels[:0]
}

// add records one series. The emitter passes the label values in the
// order the family's Desc was declared with.
func (b *familyBuf) add(v float64, labels []string) {
	if len(labels) != len(b.f.labels) {
		if b.err == nil {
			b.err = fmt.Errorf("metric %s: %d label values for %d labels", b.f.name, len(labels), len(b.f.labels))
		}
		return
	}
	b.values = append(b.values, v)
	if cap(b.labels)-len(b.labels) < len(labels) {
		// Double rather than let append grow a large slice by a quarter
		// at a time, which allocates five times the final size.
		grown := make([]string, len(b.labels), max(2*cap(b.labels), 1024))
		copy(grown, b.labels)
		b.labels = grown
	}
	for _, l := range labels {
		if !utf8.ValidString(l) {
			l = strings.ToValidUTF8(l, "\uFFFD")
		}
		b.labels = append(b.labels, l)
	}
}

// sort orders the series by their label values taken in label-name order,
// as the registry sorts them.
func (b *familyBuf) sort() {
	n, k := len(b.values), len(b.f.labels)
	b.order = slices.Grow(b.order[:0], n)[:n]
	for i := range b.order {
		b.order[i] = i
	}
	byName := b.f.byName
	slices.SortFunc(b.order, func(x, y int) int {
		lx, ly := b.labels[x*k:x*k+k], b.labels[y*k:y*k+k]
		for _, j := range byName {
			if c := strings.Compare(lx[j], ly[j]); c != 0 {
				return c
			}
		}
		return 0
	})
}

// writeText writes the sorted family in the Prometheus text format or in
// OpenMetrics: the same lines but for the escaping of HELP and the
// spelling of numbers.
func (b *familyBuf) writeText(w *bufio.Writer, om bool) {
	f, k := b.f, len(b.f.labels)
	w.WriteString("# HELP ")
	w.WriteString(f.name)
	w.WriteByte(' ')
	if om {
		writeEscaped(w, f.help, quotedEscaper)
	} else {
		writeEscaped(w, f.help, helpEscaper)
	}
	w.WriteString("\n# TYPE ")
	w.WriteString(f.name)
	w.WriteString(" gauge\n")
	var num [32]byte
	for _, s := range b.order {
		w.WriteString(f.name)
		if k > 0 {
			for j, li := range f.byName {
				if j == 0 {
					w.WriteByte('{')
				} else {
					w.WriteByte(',')
				}
				w.WriteString(f.names[j])
				w.WriteString(`="`)
				writeEscaped(w, b.labels[s*k+li], quotedEscaper)
				w.WriteByte('"')
			}
			w.WriteByte('}')
		}
		w.WriteByte(' ')
		w.Write(appendSampleValue(num[:0], b.values[s], om))
		w.WriteByte('\n')
	}
}

var (
	helpEscaper   = strings.NewReplacer("\\", `\\`, "\n", `\n`)
	quotedEscaper = strings.NewReplacer("\\", `\\`, "\n", `\n`, "\"", `\"`)
)

// writeEscaped writes s escaped; most strings need no escaping and are
// written as they are.
func writeEscaped(w *bufio.Writer, s string, r *strings.Replacer) {
	if strings.ContainsAny(s, "\\\n\"") {
		r.WriteString(w, s)
		return
	}
	w.WriteString(s)
}

// appendSampleValue spells a sample value as the text format does (the
// shortest representation that reads back the same float), and as
// OpenMetrics does: always with a decimal point or an exponent.
func appendSampleValue(dst []byte, v float64, om bool) []byte {
	switch {
	case math.IsNaN(v):
		return append(dst, "NaN"...)
	case math.IsInf(v, 1):
		return append(dst, "+Inf"...)
	case math.IsInf(v, -1):
		return append(dst, "-Inf"...)
	case v == 0: // and -0, which expfmt writes as 0 too
		v = 0
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, v, 'g', -1, 64)
	if om && !bytes.ContainsAny(dst[start:], "e.") {
		dst = append(dst, '.', '0')
	}
	return dst
}

// build returns the sorted family's series as dto messages.
func (b *familyBuf) build() []*dto.Metric {
	n, k := len(b.values), len(b.f.labels)
	byName := b.f.byName

	if cap(b.metrics) < n {
		b.metrics = make([]dto.Metric, n)
		b.ptrs = make([]*dto.Metric, n)
		b.gauges = make([]dto.Gauge, n)
	}
	if cap(b.pairs) < n*k {
		b.pairs = make([]dto.LabelPair, n*k)
		b.pairPtr = make([]*dto.LabelPair, n*k)
	}
	for i, s := range b.order {
		g := &b.gauges[i]
		g.Value = &b.values[s]
		m := &b.metrics[i]
		m.Gauge = g
		m.Label = b.pairPtr[i*k : i*k+k : i*k+k]
		for j, li := range byName {
			p := &b.pairs[i*k+j]
			p.Name = &b.f.names[j]
			p.Value = &b.labels[s*k+li]
			m.Label[j] = p
		}
		b.ptrs[i] = m
	}
	return b.ptrs[:n]
}

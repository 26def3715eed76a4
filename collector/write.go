package collector

import (
	"cmp"
	"slices"
	"sort"

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

// WriteMetrics encodes a probe's metrics one family at a time: only one
// family's metrics are ever built at once, so a probe of tens of thousands
// of groups or guests does not hold its whole output in memory, as a
// registry's Gather would. The output is what a registry would write.
func WriteMetrics(enc expfmt.Encoder, r *Result) error {
	e := &emitter{}
	for _, d := range familyOrder {
		e.only, e.out = d, e.out[:0]
		e.emit(r)
		if len(e.out) == 0 {
			continue
		}
		f := families[d]
		gauge := dto.MetricType_GAUGE
		mf := &dto.MetricFamily{Name: &f.name, Help: &f.help, Type: &gauge, Metric: make([]*dto.Metric, len(e.out))}
		for i, m := range e.out {
			mf.Metric[i] = &dto.Metric{}
			if err := m.Write(mf.Metric[i]); err != nil {
				return err
			}
		}
		slices.SortFunc(mf.Metric, compareLabels)
		if err := enc.Encode(mf); err != nil {
			return err
		}
	}
	return nil
}

// compareLabels orders metrics by their label values, as the registry does.
func compareLabels(a, b *dto.Metric) int {
	la, lb := a.GetLabel(), b.GetLabel()
	for i := range min(len(la), len(lb)) {
		if c := cmp.Compare(la[i].GetValue(), lb[i].GetValue()); c != 0 {
			return c
		}
	}
	return cmp.Compare(len(la), len(lb))
}

package collector

import (
	"bytes"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/common/expfmt"

	"proxmox_backup_exporter/simulator"
)

// WriteMetrics writes, family by family, what a registry would: the same
// text for a PBS and a PVE probe.
func TestWriteMetricsMatchesRegistry(t *testing.T) {
	for name, r := range map[string]*Result{
		"pbs": probePBS(t, simulator.PBSTestScenario(testNow), ""),
		"pve": probePVE(t, simulator.PVEHealthyScenario(testNow)),
	} {
		format := expfmt.NewFormat(expfmt.TypeTextPlain)
		var streamed bytes.Buffer
		if err := WriteMetrics(expfmt.NewEncoder(&streamed, format), r); err != nil {
			t.Fatal(err)
		}
		reg := prometheus.NewPedanticRegistry()
		reg.MustRegister(NewMetrics(r))
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		var gathered bytes.Buffer
		enc := expfmt.NewEncoder(&gathered, format)
		for _, mf := range mfs {
			if err := enc.Encode(mf); err != nil {
				t.Fatal(err)
			}
		}
		if streamed.String() != gathered.String() {
			t.Errorf("%s: WriteMetrics differs from the registry:\n%s", name, lineDiffText(gathered.String(), streamed.String()))
		}
		if streamed.Len() < 1000 {
			t.Errorf("%s: %d bytes only", name, streamed.Len())
		}
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

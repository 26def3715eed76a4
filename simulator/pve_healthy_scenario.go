package simulator

import "time"

// PVEHealthyScenario is PVETestScenario with every node reachable: pve3 is
// online in Europe/Vienna, so every API call succeeds and every collector
// reports success. The golden files are recorded on it; the offline node
// has its own case.
func PVEHealthyScenario(now time.Time) *PVE {
	p := PVETestScenario(now)
	for i := range p.Nodes {
		if p.Nodes[i].Name == "pve3" {
			p.Nodes[i].Offline = false
			p.Nodes[i].Timezone = "Europe/Vienna"
		}
	}
	return p
}

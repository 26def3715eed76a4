package collector

import "context"

// PVEData is what a Proxmox VE target exports.
type PVEData struct{}

// probePVE collects a Proxmox VE cluster.
func (p *prober) probePVE(ctx context.Context, r *Result) {
	p.version(ctx, r)
}

func (e emitter) pve(r *Result) {}

package collector

import (
	"testing"

	"proxmox_backup_exporter/simulator"
)

// TestPVEBackupEncryption checks how a PVE backup listing says a backup is
// encrypted: PVE sets "encrypted" to the key's fingerprint, or to "1" when
// the snapshot's files are encrypted without one, and leaves it out
// otherwise (pve-storage src/PVE/Storage/PBSPlugin.pm, list_volumes and
// snapshot_files_encrypted).
func TestPVEBackupEncryption(t *testing.T) {
	p := simulator.PVETestScenario(testNow)
	vols := p.Storages[0].Volumes
	for i := range vols {
		if vols[i].VMID == 102 {
			vols[i].Encrypted = "1"
		}
	}
	r := probePVE(t, p)
	for vmid, want := range map[int]bool{
		100: false, // no "encrypted" key
		102: true,  // "1"
		105: true,  // a fingerprint
	} {
		g := guest(t, r, vmid)
		if g.Last == nil || g.Last.Storage != "pbs" {
			t.Fatalf("%d: last backup %+v, want one on pbs", vmid, g.Last)
		}
		if g.Last.Encrypted != want {
			t.Errorf("%d: encrypted %v, want %v", vmid, g.Last.Encrypted, want)
		}
	}
}

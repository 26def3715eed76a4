package simulator

import (
	"net/url"
	"strings"
	"testing"

	"proxmox_backup_exporter/proxmox/tasklog"
)

// Restore tasks look as PVE lists them: type qmrestore or vzrestore
// (qemu-server PVE/API2/Qemu.pm and pve-container PVE/API2/LXC.pm
// create_vm fork_worker), the guest restored into as the id, in the UPID
// too; typefilter matches the whole type (pve-manager PVE/API2/Tasks.pm);
// and each log names the archive the way tasklog reads it.
func TestPVERestoreTasks(t *testing.T) {
	srv, p := pveServer(t)
	seen := map[string]bool{}
	for _, node := range []string{"pve1", "pve2"} {
		for _, typ := range []string{"qmrestore", "vzrestore", "restore", "vzdump"} {
			_, env := pveGet(t, srv, "/nodes/"+node+"/tasks?source=all&limit=0&typefilter="+typ, pveAuth)
			for _, row := range env["data"].([]any) {
				m := row.(map[string]any)
				if m["type"] != typ {
					t.Errorf("typefilter %s listed a %v task", typ, m["type"])
					continue
				}
				if typ == "vzdump" {
					continue
				}
				upid := m["upid"].(string)
				u, err := tasklog.ParsePVEUPID(upid)
				if err != nil || u.Type != typ || u.ID != m["id"] || u.Node != node {
					t.Errorf("UPID %s (%+v, %v) does not match the row %v", upid, u, err, m)
				}
				seen[typ+":"+u.ID] = true
				_, logEnv := pveGet(t, srv, "/nodes/"+node+"/tasks/"+url.PathEscape(upid)+"/log?limit=0", pveAuth)
				parser := tasklog.NewRestoreParser(p.location(node))
				var last string
				for _, l := range logEnv["data"].([]any) {
					last = l.(map[string]any)["t"].(string)
					parser.Line(last)
				}
				r := parser.Result()
				task := &p.Tasks[p.taskIdx[upid]]
				if r.VMID != task.Restore.Source || !r.BackupTime.Equal(task.Restore.BackupTime) || r.Live != task.Restore.Live {
					t.Errorf("%s: the log says %+v, the task is %+v", upid, r, task.Restore)
				}
				status, _ := m["status"].(string)
				switch {
				case task.End.IsZero():
					if status != "RUNNING" || strings.HasPrefix(last, "TASK") {
						t.Errorf("%s: running, status %q, last line %q", upid, status, last)
					}
				case task.Restore.Error == "":
					if status != "OK" || last != "TASK OK" {
						t.Errorf("%s: status %q, last line %q", upid, status, last)
					}
				default:
					if !tasklog.StatusIsError(status) || last != "TASK ERROR: "+status {
						t.Errorf("%s: status %q, last line %q", upid, status, last)
					}
				}
			}
		}
	}
	for _, want := range []string{"qmrestore:9100", "vzrestore:9103", "qmrestore:9102"} {
		if !seen[want] {
			t.Errorf("no %s task listed (%v)", want, seen)
		}
	}
	if seen["restore:9100"] {
		t.Error("typefilter matched part of a type")
	}
}

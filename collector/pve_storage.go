package collector

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"
	"sync"

	"proxmox_backup_exporter/proxmox"
)

// nodeStorage is a backup storage as one node sees it.
type nodeStorage struct {
	Node     string
	Name     string
	Type     string
	Shared   bool
	Active   bool
	Enabled  bool
	HasUsage bool
	Total    uint64
	Used     uint64
	Avail    uint64
}

// storageConfig is an item of GET /storage.
type storageConfig struct {
	Storage string       `json:"storage"`
	Type    string       `json:"type"`
	Content string       `json:"content"`
	Shared  proxmox.Bool `json:"shared"`
	Disable proxmox.Bool `json:"disable"`
	// Where the storage keeps its backups, which restore logs name
	// instead of the storage: a directory's path, a PBS server,
	// datastore and namespace.
	Path      string `json:"path"`
	Server    string `json:"server"`
	Datastore string `json:"datastore"`
	Namespace string `json:"namespace"`
}

// fetchStorageConfigs reads the cluster's storage configuration, once per
// probe for every collector that needs it.
func (v *pveView) fetchStorageConfigs(ctx context.Context) ([]storageConfig, error) {
	var out []storageConfig
	err := v.p.session.Get(ctx, "/storage", nil, &out)
	return out, err
}

// nodeStorageItem is an item of GET /nodes/{node}/storage.
type nodeStorageItem struct {
	Storage string       `json:"storage"`
	Type    string       `json:"type"`
	Content string       `json:"content"`
	Active  proxmox.Bool `json:"active"`
	Enabled proxmox.Bool `json:"enabled"`
	Shared  proxmox.Bool `json:"shared"`
	Total   *proxmox.Int `json:"total"`
	Used    *proxmox.Int `json:"used"`
	Avail   *proxmox.Int `json:"avail"`
}

func hasContent(content, want string) bool {
	return slices.Contains(strings.Split(content, ","), want)
}

// fetchStorages lists every enabled backup storage on every online node.
// The cluster-wide configuration (GET /storage) names the backup storages;
// each node's listing gives their state and usage there.
func (v *pveView) fetchStorages(ctx context.Context) ([]nodeStorage, error) {
	var errs errList
	var configs []storageConfig
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		var err error
		configs, err = v.storageConfigs.get(ctx, v.fetchStorageConfigs)
		errs.add(err)
	}()
	nodes, err := v.onlineNodes(ctx)
	errs.add(err)

	var mu sync.Mutex
	var out []nodeStorage
	for _, n := range nodes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var items []nodeStorageItem
			err := v.p.session.Get(ctx, "/nodes/"+url.PathEscape(n.Name)+"/storage", url.Values{"content": {"backup"}}, &items)
			if err != nil {
				errs.add(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				if !hasContent(it.Content, "backup") {
					continue
				}
				s := nodeStorage{
					Node: n.Name, Name: it.Storage, Type: it.Type, Shared: bool(it.Shared),
					Active: bool(it.Active), Enabled: bool(it.Enabled),
				}
				if s.Active && it.Total != nil && *it.Total > 0 && it.Used != nil && it.Avail != nil {
					s.HasUsage = true
					s.Total, s.Used, s.Avail = nonNeg(*it.Total), nonNeg(*it.Used), nonNeg(*it.Avail)
				}
				out = append(out, s)
			}
		}()
	}
	wg.Wait()

	// Drop what the cluster configuration disables or does not hold
	// backups; when /storage could not be read, trust the nodes.
	if len(configs) > 0 {
		backup := map[string]storageConfig{}
		for _, c := range configs {
			if hasContent(c.Content, "backup") && !bool(c.Disable) {
				backup[c.Storage] = c
			}
		}
		out = slices.DeleteFunc(out, func(s nodeStorage) bool {
			_, ok := backup[s.Name]
			return !ok
		})
		for i := range out {
			if c := backup[out[i].Name]; bool(c.Shared) {
				out[i].Shared = true
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Name != out[j].Name {
			return out[i].Name < out[j].Name
		}
		return out[i].Node < out[j].Node
	})
	return out, errs.err()
}

// readPlan returns the (node, storage) listings to read: a shared storage
// once, from the first node where it is active; a local storage on every
// node that has it. Inactive storages are reported as errors.
func readPlan(storages []nodeStorage, target string) ([]nodeStorage, error) {
	var plan []nodeStorage
	var problems []string
	sharedDone := map[string]bool{}
	sharedSeen := map[string][]string{}
	for _, s := range storages {
		if !s.Enabled {
			continue
		}
		if s.Shared {
			if sharedDone[s.Name] {
				continue
			}
			if s.Active {
				sharedDone[s.Name] = true
				plan = append(plan, s)
			} else {
				sharedSeen[s.Name] = append(sharedSeen[s.Name], s.Node)
			}
			continue
		}
		if !s.Active {
			problems = append(problems, fmt.Sprintf("storage %s is not active on node %s", s.Name, s.Node))
			continue
		}
		plan = append(plan, s)
	}
	for name, nodes := range sharedSeen {
		if !sharedDone[name] {
			problems = append(problems, fmt.Sprintf("shared storage %s is not active on any node (%s)", name, strings.Join(nodes, ", ")))
		}
	}
	sort.Strings(problems)
	if len(problems) > 0 {
		return plan, fmt.Errorf("target %q: %s", target, strings.Join(problems, "; "))
	}
	return plan, nil
}

// collectStorages exports every backup storage's state and usage: a shared
// storage once (without a node), a local one per node.
func (v *pveView) collectStorages(ctx context.Context, out *PVEData) error {
	storages, err := v.storages.get(ctx, v.fetchStorages)
	seen := map[string]bool{}
	for _, s := range storages {
		node := s.Node
		if s.Shared {
			if seen[s.Name] {
				// Prefer the view of a node where the storage is active.
				if i := slices.IndexFunc(out.Storages, func(o Storage) bool { return o.Name == s.Name && o.Node == "" }); i >= 0 && !out.Storages[i].Active && s.Active {
					out.Storages[i] = storageOf(s, "")
				}
				continue
			}
			seen[s.Name] = true
			node = ""
		}
		out.Storages = append(out.Storages, storageOf(s, node))
	}
	if nodes, nerr := v.nodes.get(ctx, v.fetchNodes); nerr == nil {
		out.Nodes = append(out.Nodes, nodes...)
	}
	return err
}

func storageOf(s nodeStorage, node string) Storage {
	return Storage{
		Name: s.Name, Node: node, Type: s.Type, Shared: s.Shared, Active: s.Active, Enabled: s.Enabled,
		HasUsage: s.HasUsage, Total: s.Total, Used: s.Used, Avail: s.Avail,
	}
}

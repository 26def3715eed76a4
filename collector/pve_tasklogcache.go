package collector

import (
	"container/list"
	"sync"
	"time"

	"proxmox_backup_exporter/proxmox/tasklog"
)

// TaskLogCache keeps what the logs of finished vzdump and restore tasks said, for the
// life of the process: a finished task's log never changes, so a probe
// reads only the logs of tasks that ended since the previous one (and of
// running tasks, which are never kept). It holds nothing else and nothing
// that can change: the key is the target, the node, the UPID and the time
// zone the log's local times were read in; the value is the parse.
//
// It is bounded by entries and by an estimate of the bytes it holds; the
// least recently used entries go first, and so do those of tasks that
// started before their target's lookback, which no probe reads again. A
// restart empties it, which costs one full read of the logs in the
// lookback.
type TaskLogCache struct {
	maxEntries int
	maxBytes   int64

	mu    sync.Mutex
	bytes int64
	lru   *list.List // of *taskLogEntry, most recently used first
	items map[taskLogKey]*list.Element

	hits, misses, evictions uint64
}

// Default bounds of the process's cache. An entry of a job over 150 guests
// takes about 7 KiB, so 32 MiB is roughly 4,500 such logs, far more than
// steady-state probes of dozens of large clusters touch.
const (
	DefaultTaskLogCacheEntries = 20000
	DefaultTaskLogCacheBytes   = 32 << 20
)

var defaultTaskLogCache = NewTaskLogCache(DefaultTaskLogCacheEntries, DefaultTaskLogCacheBytes)

// NewTaskLogCache returns a cache of at most maxEntries entries and about
// maxBytes bytes.
func NewTaskLogCache(maxEntries int, maxBytes int64) *TaskLogCache {
	return &TaskLogCache{maxEntries: maxEntries, maxBytes: maxBytes, lru: list.New(), items: map[taskLogKey]*list.Element{}}
}

type taskLogKey struct {
	target string // the target's name and URL
	node   string
	upid   string
	zone   string // "" when the node's zone was unknown
}

type taskLogEntry struct {
	key   taskLogKey
	facts logFacts
	size  int64
	// expires is when the task leaves the target's lookback.
	expires time.Time
}

// logFacts is a compact parse of a finished task's log.
type logFacts struct {
	// full: the whole log was read, not only its first line.
	full     bool
	cmdline  string
	jobError string
	attempts []factAttempt
	// restore is what a restore task's log names, nil for vzdump logs.
	restore *tasklog.Restore
}

// factAttempt keeps the parts of a tasklog.Attempt the collector uses.
type factAttempt struct {
	start    int64 // Unix nanoseconds; 0 when the log gave no start
	duration time.Duration
	vmid     int32
	flags    uint8
	err      string
}

const (
	factSuccess uint8 = 1 << iota
	factRunning
	factSkipped
)

// entryOverhead approximates the bytes of an entry besides its strings and
// attempts: list element, map slot, key and value headers.
const entryOverhead = 256

func newLogFacts(res tasklog.Log, cmdline string, full bool) logFacts {
	f := logFacts{full: full, cmdline: cmdline, jobError: res.JobError, attempts: make([]factAttempt, len(res.Attempts))}
	for i, a := range res.Attempts {
		fa := factAttempt{duration: a.Duration, vmid: int32(a.VMID), err: a.Error}
		if !a.Start.IsZero() {
			fa.start = a.Start.UnixNano()
		}
		if a.Success {
			fa.flags |= factSuccess
		}
		if a.Running {
			fa.flags |= factRunning
		}
		if a.Skipped {
			fa.flags |= factSkipped
		}
		f.attempts[i] = fa
	}
	return f
}

// log rebuilds the parse, its times in the node's zone.
func (f *logFacts) log(loc *time.Location) tasklog.Log {
	out := tasklog.Log{JobError: f.jobError, Attempts: make([]tasklog.Attempt, len(f.attempts))}
	for i, fa := range f.attempts {
		a := tasklog.Attempt{VMID: int(fa.vmid), Duration: fa.duration, Error: fa.err,
			Success: fa.flags&factSuccess != 0, Running: fa.flags&factRunning != 0, Skipped: fa.flags&factSkipped != 0}
		if fa.start != 0 {
			a.Start = time.Unix(0, fa.start)
			if loc != nil {
				a.Start = a.Start.In(loc)
			}
		}
		out.Attempts[i] = a
	}
	return out
}

func (e *taskLogEntry) estimate() int64 {
	n := int64(entryOverhead + len(e.key.target) + len(e.key.node) + len(e.key.upid) + len(e.key.zone) +
		len(e.facts.cmdline) + len(e.facts.jobError))
	for _, a := range e.facts.attempts {
		n += 48 + int64(len(a.err))
	}
	if r := e.facts.restore; r != nil {
		n += 128 + int64(len(r.Archive)+len(r.Storage)+len(r.Repository)+len(r.Namespace)+len(r.GuestType))
	}
	return n
}

// get returns the facts of a key; a first-line read is answered by a full
// one too.
func (c *TaskLogCache) get(k taskLogKey, firstLine bool) (logFacts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	el, ok := c.items[k]
	if !ok || !(el.Value.(*taskLogEntry).facts.full || firstLine) {
		c.misses++
		return logFacts{}, false
	}
	c.hits++
	c.lru.MoveToFront(el)
	return el.Value.(*taskLogEntry).facts, true
}

// put stores the facts of a finished task, never replacing a full read by
// a first-line one, and evicts the least recently used entries beyond the
// bounds.
func (c *TaskLogCache) put(k taskLogKey, f logFacts, expires, now time.Time) {
	e := &taskLogEntry{key: k, facts: f, expires: expires}
	e.size = e.estimate()
	c.mu.Lock()
	defer c.mu.Unlock()
	if el, ok := c.items[k]; ok {
		old := el.Value.(*taskLogEntry)
		c.lru.MoveToFront(el)
		if old.facts.full || !f.full {
			return
		}
		c.bytes += e.size - old.size
		el.Value = e
	} else {
		c.items[k] = c.lru.PushFront(e)
		c.bytes += e.size
	}
	for c.lru.Len() > 0 {
		last := c.lru.Back()
		old := last.Value.(*taskLogEntry)
		if c.lru.Len() <= c.maxEntries && c.bytes <= c.maxBytes && now.Before(old.expires) {
			break
		}
		c.lru.Remove(last)
		delete(c.items, old.key)
		c.bytes -= old.size
		c.evictions++
	}
}

// TaskLogCacheStats describes a cache's content and use.
type TaskLogCacheStats struct {
	Entries                 int
	Bytes                   int64 // estimated
	Hits, Misses, Evictions uint64
}

// Stats returns the cache's figures.
func (c *TaskLogCache) Stats() TaskLogCacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return TaskLogCacheStats{Entries: c.lru.Len(), Bytes: c.bytes, Hits: c.hits, Misses: c.misses, Evictions: c.evictions}
}

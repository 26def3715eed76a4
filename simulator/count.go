package simulator

import (
	"net/http"
	"strings"
	"sync"
)

// Counter counts the API calls a simulator answers and the body bytes it
// sends (after compression: what went over the wire), in total and for
// task logs, so that tests and benchmarks can tell what a scrape cost.
type Counter struct {
	mu sync.Mutex
	c  Counts
}

// Counts are a Counter's figures.
type Counts struct {
	Calls, Bytes               int64
	TaskLogCalls, TaskLogBytes int64
	// TaskLogs counts the calls per task log path.
	TaskLogs map[string]int
}

// Wrap counts what h answers.
func (c *Counter) Wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		cw := &countingWriter{ResponseWriter: w}
		h.ServeHTTP(cw, r)
		isLog := strings.Contains(r.URL.Path, "/tasks/") && strings.HasSuffix(r.URL.Path, "/log")
		c.mu.Lock()
		defer c.mu.Unlock()
		c.c.Calls++
		c.c.Bytes += cw.n
		if isLog {
			c.c.TaskLogCalls++
			c.c.TaskLogBytes += cw.n
			if c.c.TaskLogs == nil {
				c.c.TaskLogs = map[string]int{}
			}
			c.c.TaskLogs[r.URL.Path]++
		}
	})
}

// Take returns the figures since the last Take and starts again from zero.
func (c *Counter) Take() Counts {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.c
	c.c = Counts{}
	return out
}

type countingWriter struct {
	http.ResponseWriter
	n int64
}

func (w *countingWriter) Write(b []byte) (int, error) {
	n, err := w.ResponseWriter.Write(b)
	w.n += int64(n)
	return n, err
}

func (w *countingWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

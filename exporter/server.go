package exporter

import (
	"io/fs"
	"net/http"
	"time"

	"proxmox_backup_exporter/config"
)

// ServerTimeouts bound what a client can hold on the exporter's HTTP server.
type ServerTimeouts struct {
	// ReadHeader bounds reading a request's headers (a slowloris client).
	ReadHeader time.Duration
	// Idle bounds how long a keep-alive connection waits for the next
	// request. Prometheus reuses its connection between scrapes, so it is
	// longer than the usual scrape interval.
	Idle time.Duration
	// WriteMargin is added to the largest target timeout of the current
	// configuration to give each request's write deadline: a client that
	// does not read its response is dropped then.
	WriteMargin time.Duration
}

// DefaultServerTimeouts are the timeouts of the exporter's server.
var DefaultServerTimeouts = ServerTimeouts{
	ReadHeader:  10 * time.Second,
	Idle:        2 * time.Minute,
	WriteMargin: 30 * time.Second,
}

// Server returns the exporter's HTTP server, ready for web.ListenAndServe.
//
// There is no ReadTimeout on purpose: requests carry no body we read, and a
// read deadline that passes while a probe runs cancels the probe's context.
// WriteTimeout is the ceiling (config.MaxTimeout plus the margin); each
// request's own write deadline is set from the current configuration's
// largest timeout (see writeDeadline).
func (e *Exporter) Server(metrics http.Handler, t ServerTimeouts) *http.Server {
	e.writeMargin, e.bodyTimeout = t.WriteMargin, t.ReadHeader
	return &http.Server{
		Handler:           e.Handler(metrics),
		ReadHeaderTimeout: t.ReadHeader,
		IdleTimeout:       t.Idle,
		WriteTimeout:      config.MaxTimeout + t.WriteMargin,
	}
}

// writeLimit is the time a response may take to be sent in full: the
// longest probe of the current configuration (the status page probes all
// targets at once, so the same bound holds) plus the margin.
func (e *Exporter) writeLimit() time.Duration {
	cfg, _ := e.current()
	var longest time.Duration
	for _, t := range cfg.Targets {
		longest = max(longest, time.Duration(t.Timeout))
	}
	return longest + e.writeMargin
}

// guard wraps every route: it sets the request's write deadline, allows
// only GET and HEAD except on /-/reload, and closes the connection after a
// request that came with a body, so that a body sent slowly or never cannot
// keep it open after the handler returned.
func (e *Exporter) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc := http.NewResponseController(w)
		if e.writeMargin > 0 {
			_ = rc.SetWriteDeadline(time.Now().Add(e.writeLimit()))
		}
		if r.ContentLength != 0 {
			// No handler reads a body, but the server drains what is left
			// of it (up to 256 KiB) after the response, without a deadline.
			// Give that drain one, and do not reuse the connection. (The
			// deadline is safe here: the server's background read, whose
			// timeout would cancel the request, only starts once the body
			// is read to its end.)
			w.Header().Set("Connection", "close")
			if e.bodyTimeout > 0 {
				_ = rc.SetReadDeadline(time.Now().Add(e.bodyTimeout))
			}
		}
		if r.URL.Path != "/-/reload" && !allowMethods(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		next.ServeHTTP(w, r)
	})
}

// noDirs serves files only: a directory is not found, so the file server
// shows no listing.
type noDirs struct{ fs.FS }

func (d noDirs) Open(name string) (fs.File, error) {
	f, err := d.FS.Open(name)
	if err != nil {
		return nil, err
	}
	if st, err := f.Stat(); err != nil || st.IsDir() {
		f.Close()
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return f, nil
}

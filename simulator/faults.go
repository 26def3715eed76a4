package simulator

import (
	"bytes"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"time"
)

// FaultKinds are the misbehaviours a fault can inject.
var FaultKinds = []string{"latency:DURATION", "status:CODE", "reset", "truncate", "malformed", "slowbody", "redirect:URL"}

// Fault makes the simulator misbehave on the API paths under Path.
type Fault struct {
	Target string // pve, pbs or * for both
	Path   string // an API path prefix such as /cluster/resources; "/" for all
	Kind   string // latency, status, reset, truncate, malformed, slowbody, redirect
	Delay  time.Duration
	Status int
	URL    string
}

// ParseFaults reads specs of the form TARGET:PATH=KIND[:ARG].
func ParseFaults(specs []string) ([]Fault, error) {
	var out []Fault
	for _, spec := range specs {
		where, what, ok := strings.Cut(spec, "=")
		target, path, ok2 := strings.Cut(where, ":")
		if !ok || !ok2 || !strings.HasPrefix(path, "/") {
			return nil, fmt.Errorf("fault %q: want TARGET:PATH=KIND[:ARG], e.g. pve:/cluster/resources=status:500", spec)
		}
		if target != "pve" && target != "pbs" && target != "*" {
			return nil, fmt.Errorf("fault %q: target %q is not pve, pbs or *", spec, target)
		}
		kind, arg, _ := strings.Cut(what, ":")
		f := Fault{Target: target, Path: path, Kind: kind}
		switch kind {
		case "latency":
			d, err := time.ParseDuration(arg)
			if err != nil || d < 0 {
				return nil, fmt.Errorf("fault %q: latency needs a duration such as 2s", spec)
			}
			f.Delay = d
		case "status":
			code, err := strconv.Atoi(arg)
			if err != nil || code < 400 || code > 599 {
				return nil, fmt.Errorf("fault %q: status needs an HTTP error code such as 500", spec)
			}
			f.Status = code
		case "redirect":
			if !strings.HasPrefix(arg, "http://") && !strings.HasPrefix(arg, "https://") {
				return nil, fmt.Errorf("fault %q: redirect needs a URL", spec)
			}
			f.URL = arg
		case "reset", "truncate", "malformed", "slowbody":
		default:
			return nil, fmt.Errorf("fault %q: unknown kind %q (kinds: %s)", spec, kind, strings.Join(FaultKinds, ", "))
		}
		out = append(out, f)
	}
	return out, nil
}

func (f *Fault) applies(target, path string) bool {
	return (f.Target == "*" || f.Target == target) && strings.HasPrefix(strings.TrimPrefix(path, "/api2/json"), f.Path)
}

// WithFaults wraps a simulated API with the faults meant for target.
func WithFaults(target string, faults []Fault, next http.Handler) http.Handler {
	if len(faults) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		for i := range faults {
			f := &faults[i]
			if !f.applies(target, r.URL.Path) {
				continue
			}
			switch f.Kind {
			case "latency":
				select {
				case <-time.After(f.Delay):
				case <-r.Context().Done():
					return
				}
				continue
			case "status":
				msg := map[int]string{401: "authentication failure", 403: "Permission check failed (/, Sys.Audit)"}[f.Status]
				if msg == "" {
					msg = "internal error"
				}
				pveError(w, f.Status, msg)
			case "redirect":
				http.Redirect(w, r, f.URL+r.URL.Path, http.StatusFound)
			case "malformed":
				w.Header().Set("Content-Type", "application/json;charset=UTF-8")
				fmt.Fprint(w, `{"data":[{"broken": tru`+"\x00"+`}`)
			case "reset":
				hijackAndClose(w, true)
			case "truncate":
				rec := httptest.NewRecorder()
				next.ServeHTTP(rec, r)
				body := rec.Body.Bytes()
				for k, v := range rec.Header() {
					w.Header()[k] = v
				}
				w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				w.WriteHeader(rec.Code)
				_, _ = w.Write(body[:len(body)/2])
				if fl, ok := w.(http.Flusher); ok {
					fl.Flush()
				}
				hijackAndClose(w, false)
			case "slowbody":
				w.Header().Set("Content-Type", "application/json;charset=UTF-8")
				_, _ = w.Write([]byte(`{"data":[`))
				for {
					if fl, ok := w.(http.Flusher); ok {
						fl.Flush()
					}
					select {
					case <-r.Context().Done():
						return
					case <-time.After(100 * time.Millisecond):
					}
					if _, err := w.Write(bytes.Repeat([]byte(" "), 1)); err != nil {
						return
					}
				}
			}
			return
		}
		next.ServeHTTP(w, r)
	})
}

// hijackAndClose drops the connection; with reset, as a TCP reset.
func hijackAndClose(w http.ResponseWriter, reset bool) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok && reset {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

package simulator

import (
	"crypto/subtle"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
)

// apiFunc answers one API call: the data for the envelope, or an HTTP error
// status and message. A handler that writes the body itself returns
// skipBody; one that builds the whole envelope (with "total") returns it
// with the message "envelope".
type apiFunc func(w http.ResponseWriter, r *http.Request) (data any, status int, msg string)

// skipBody tells route that the handler wrote the body itself.
var skipBody = &struct{}{}

// route registers a GET endpoint under /api2/json with Proxmox's envelope
// and error bodies.
func route(mux *http.ServeMux, pattern string, f apiFunc) {
	mux.HandleFunc("GET /api2/json"+pattern, func(w http.ResponseWriter, r *http.Request) {
		data, status, msg := f(w, r)
		switch {
		case status != 0 && status != http.StatusOK:
			pveError(w, status, msg)
		case data == skipBody:
		case msg == "envelope":
			w.Header().Set("Content-Type", "application/json;charset=UTF-8")
			_ = json.NewEncoder(w).Encode(data)
		default:
			pveJSON(w, data)
		}
	})
}

func pveJSON(w http.ResponseWriter, data any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	_ = json.NewEncoder(w).Encode(map[string]any{"data": data})
}

// pveError writes an error as both products do: {"data":null,"message":...}.
func pveError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"data": nil, "message": msg + "\n"})
}

// tokenAuth answers 401 with failMsg unless the Authorization header, as
// re extracts it, holds "ID<sep>SECRET" (split at the last sep) with the
// scenario's token. The secret is compared in constant time.
func tokenAuth(next http.Handler, re *regexp.Regexp, sep, id, secret, failMsg string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ok := false
		if m := re.FindStringSubmatch(r.Header.Get("Authorization")); m != nil {
			if i := strings.LastIndex(m[1], sep); i > 0 {
				ok = m[1][:i] == id && subtle.ConstantTimeCompare([]byte(m[1][i+len(sep):]), []byte(secret)) == 1
			}
		}
		if !ok {
			pveError(w, http.StatusUnauthorized, failMsg)
			return
		}
		next.ServeHTTP(w, r)
	})
}

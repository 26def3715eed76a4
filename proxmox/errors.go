package proxmox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Error is a failed API call. Its message names the target, the endpoint,
// the HTTP status and, for 401 and 403, what to check.
type Error struct {
	Target   string
	Product  Product
	Endpoint string
	Status   int // 0 when no HTTP response arrived
	Err      error
}

func (e *Error) Error() string {
	where := fmt.Sprintf("target %q: GET %s", e.Target, e.Endpoint)
	if e.Status == 0 {
		return fmt.Sprintf("%s: %v", where, e.Err)
	}
	msg := fmt.Sprintf("%s: HTTP %d: %v", where, e.Status, e.Err)
	if hint := e.hint(); hint != "" {
		msg += " (" + hint + ")"
	}
	return msg
}

func (e *Error) Unwrap() error { return e.Err }

func (e *Error) hint() string {
	switch e.Status {
	case http.StatusUnauthorized:
		return "the API token was rejected: check token_id and the token secret, and that the token is neither expired nor deleted"
	case http.StatusForbidden:
		return "the API token lacks a privilege: " + privilegeFor(e.Product, e.Endpoint)
	}
	return ""
}

// privilegeFor names the privilege an endpoint needs, for error messages.
func privilegeFor(p Product, endpoint string) string {
	if p == PBS {
		switch {
		case strings.HasPrefix(endpoint, "/admin/sync"):
			return "Datastore.Audit on /datastore and Remote.Audit on /remote (role Audit plus RemoteAudit)"
		case strings.HasPrefix(endpoint, "/tape"):
			return "Tape.Audit on /tape (role Audit)"
		case strings.HasPrefix(endpoint, "/nodes"):
			return "Sys.Audit on /system (role Audit)"
		default:
			return "Datastore.Audit on /datastore (role Audit on /)"
		}
	}
	switch {
	case strings.HasPrefix(endpoint, "/nodes/") && strings.Contains(endpoint, "/storage/"):
		return "Datastore.Audit on /storage, plus Datastore.AllocateSpace on the storage and VM.Backup on /vms to see backup volumes"
	case strings.HasPrefix(endpoint, "/storage"):
		return "Datastore.Audit on /storage"
	default:
		return "Sys.Audit on / (role PVEAuditor)"
	}
}

// IsAuthError reports whether err is a rejected token (401).
func IsAuthError(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Status == http.StatusUnauthorized
}

// StatusCode returns the HTTP status of a failed call, or 0.
func StatusCode(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// IsDeadline reports whether err came from the probe's deadline.
func IsDeadline(err error) bool {
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled)
}

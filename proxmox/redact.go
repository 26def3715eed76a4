package proxmox

import (
	"regexp"
	"strings"
)

// Redacted replaces a secret in text that came from a server.
const Redacted = "<redacted>"

// authHeaderRE matches an echoed Authorization header, to the end of its
// line; authValueRE the credentials of one as a server may echo them alone:
// Proxmox API tokens in either product's form (PVEAPIToken=USER@REALM!ID=SECRET,
// PBSAPIToken=ID:SECRET, or with a space), and Bearer or Basic credentials.
var (
	authHeaderRE = regexp.MustCompile(`(?i)(\bAuthorization"?\s*[:=]\s*"?)[^\r\n"]+`)
	authValueRE  = regexp.MustCompile(`(?i)(\b(?:PVEAPIToken|PBSAPIToken)\s*[=:\s]\s*|\bBearer\s+|\bBasic\s+)([^\s"'<>,;}\]]+)`)
)

// Redactor removes a target's token secret, and any Authorization value,
// from text that comes from its server, before it is logged or shown: a
// broken server may echo the request's headers in an error.
type Redactor struct {
	secrets []string
}

// NewRedactor redacts the given secrets (empty ones are ignored) and every
// Authorization value.
func NewRedactor(secrets ...string) *Redactor {
	r := &Redactor{}
	for _, s := range secrets {
		if s = strings.TrimSpace(s); s != "" {
			r.secrets = append(r.secrets, s)
		}
	}
	return r
}

// String returns s with the secrets and Authorization values replaced by
// <redacted>.
func (r *Redactor) String(s string) string {
	if r == nil || s == "" {
		return s
	}
	for _, sec := range r.secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, Redacted)
		}
	}
	if !mayHoldAuth(s) {
		return s
	}
	s = authHeaderRE.ReplaceAllString(s, "${1}"+Redacted)
	s = authValueRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := authValueRE.FindStringSubmatch(m)
		// "Basic" and "Bearer" are English words too: only a credential
		// of eight or more characters is one.
		if lower := strings.ToLower(strings.TrimSpace(sub[1])); (lower == "basic" || lower == "bearer") && len(sub[2]) < 8 {
			return m
		}
		return sub[1] + Redacted
	})
	return s
}

// Error returns err with its message redacted, keeping the error chain for
// errors.Is and errors.As. It returns err itself when nothing was redacted.
func (r *Redactor) Error(err error) error {
	if err == nil || r == nil {
		return err
	}
	msg := err.Error()
	red := r.String(msg)
	if red == msg {
		return err
	}
	return &redactedError{msg: red, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// mayHoldAuth is the cheap test that spares most texts (names, comments)
// the regular expressions: every pattern starts with one of these words.
func mayHoldAuth(s string) bool {
	l := strings.ToLower(s) // no copy when s has no upper case letter
	return strings.Contains(l, "apitoken") || strings.Contains(l, "bearer") ||
		strings.Contains(l, "basic") || strings.Contains(l, "authorization")
}

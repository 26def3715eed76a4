//go:build !unix

package config

// openFlags: no non-blocking open here; the read still gives up after
// SecretReadTimeout.
const openFlags = 0

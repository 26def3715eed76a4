package config

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// Bounds on reading a token secret file. A secret is a UUID in practice; the
// size bound only keeps a wrong path (a log file, a device) from being read
// into memory. The time bound keeps a FIFO without a writer or a hung network
// file system from stalling a probe or a reload.
const (
	MaxSecretBytes    = 4096
	SecretReadTimeout = 5 * time.Second
)

// ReadSecret returns the API token secret, waiting at most SecretReadTimeout
// for a secret file.
func (t *Target) ReadSecret() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), SecretReadTimeout)
	defer cancel()
	return t.ReadSecretContext(ctx)
}

// ReadSecretContext returns the API token secret. A secret file is read at
// every call so that a rotated token needs no restart; the read gives up when
// ctx ends or after SecretReadTimeout. Errors name the target, the field and
// the path, never the content.
func (t *Target) ReadSecretContext(ctx context.Context) (string, error) {
	if t.TokenSecretFile == "" {
		s, err := cleanSecret(string(t.TokenSecret))
		if err != nil {
			return "", fmt.Errorf("target %q: token_secret: %v", t.Name, err)
		}
		return s, nil
	}
	ctx, cancel := context.WithTimeout(ctx, SecretReadTimeout)
	defer cancel()
	b, err := readSecretFile(ctx, t.TokenSecretFile)
	if err == nil {
		var s string
		if s, err = cleanSecret(string(b)); err == nil {
			return s, nil
		}
	}
	return "", fmt.Errorf("target %q: token_secret_file %q: %v", t.Name, t.TokenSecretFile, err)
}

// cleanSecret drops one final line break and surrounding blanks and rejects
// what cannot be a token secret. Its errors never quote the secret.
func cleanSecret(s string) (string, error) {
	s = strings.TrimSuffix(s, "\n")
	s = strings.TrimSuffix(s, "\r")
	if strings.ContainsAny(s, "\r\n") {
		return "", errors.New("the secret spans more than one line: write it on a single line (one final newline is fine)")
	}
	s = strings.Trim(s, " \t")
	if s == "" {
		return "", errors.New("is empty")
	}
	for _, c := range s {
		if c < 0x20 || c == 0x7f {
			return "", errors.New("the secret holds a control character: write only the secret, on one line")
		}
	}
	if len(s) > MaxSecretBytes {
		return "", fmt.Errorf("the secret is longer than %d bytes: is this the right file?", MaxSecretBytes)
	}
	return s, nil
}

// secretRead is one read of a secret file in progress. Callers that ask for
// the same file while a read hangs wait for that read instead of starting
// another, so a hung file costs one goroutine, not one per probe.
type secretRead struct {
	done chan struct{}
	b    []byte
	err  error
}

var (
	secretReadsMu sync.Mutex
	secretReads   = map[string]*secretRead{}
)

func readSecretFile(ctx context.Context, path string) ([]byte, error) {
	secretReadsMu.Lock()
	r := secretReads[path]
	if r == nil {
		r = &secretRead{done: make(chan struct{})}
		secretReads[path] = r
		go func() {
			b, err := readSecretBytes(path)
			secretReadsMu.Lock()
			delete(secretReads, path)
			secretReadsMu.Unlock()
			r.b, r.err = b, err
			close(r.done)
		}()
	}
	secretReadsMu.Unlock()
	select {
	case <-r.done:
		return r.b, r.err
	case <-ctx.Done():
		return nil, errors.New("cannot read: the file did not answer in time (a FIFO, or a hung network file system?)")
	}
}

// readSecretBytes reads a secret file; tests replace it with a read that hangs.
var readSecretBytes = readBounded

// readBounded reads a regular file of at most MaxSecretBytes. It opens the
// file without blocking (openFlags), so that a FIFO without a writer is
// refused rather than waited on.
func readBounded(path string) ([]byte, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|openFlags, 0)
	if err != nil {
		return nil, pathError(err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, pathError(err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("is not a regular file (%s): point it at a file holding only the secret", fi.Mode().Type())
	}
	if fi.Size() > MaxSecretBytes {
		return nil, fmt.Errorf("is %d bytes, more than the %d a secret file may have: is this the right file?", fi.Size(), MaxSecretBytes)
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxSecretBytes+1))
	if err != nil {
		return nil, pathError(err)
	}
	if len(b) > MaxSecretBytes {
		return nil, fmt.Errorf("holds more than the %d bytes a secret file may have: is this the right file?", MaxSecretBytes)
	}
	return b, nil
}

// pathError keeps the operating system's reason and drops the rest:
// *os.PathError never carries file content, and the callers name the path.
func pathError(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot read: %v", pe.Err)
	}
	return err
}

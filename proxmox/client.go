// Package proxmox is a small read-only client for the Proxmox VE and Proxmox
// Backup Server REST APIs, made for scrape-time use: one reusable HTTP client
// per target, bounded concurrency, streaming decoding of large listings, and
// errors that name the target, endpoint and what to do about them.
package proxmox

import (
	"bufio"
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	promconfig "github.com/prometheus/common/config"
	"github.com/prometheus/common/version"

	"proxmox_backup_exporter/config"
)

// Product is the kind of Proxmox server behind a target.
type Product string

// The two products.
const (
	PVE Product = config.TypePVE
	PBS Product = config.TypePBS
)

// Client talks to one configured target. It is safe for concurrent use and is
// meant to live as long as the configuration it was built from, so that
// connections are kept alive across scrapes.
type Client struct {
	target  string
	product Product
	base    *url.URL
	tokenID string
	hc      *http.Client
	sem     chan struct{}
	// maxBytes bounds one response body after decompression.
	maxBytes int64
	// acceptEncoding is the Accept-Encoding header of every request.
	acceptEncoding string
}

// New builds the client of a validated target.
func New(t *config.Target) (*Client, error) {
	httpCfg := promconfig.HTTPClientConfig{
		TLSConfig:       t.TLSConfig,
		ProxyConfig:     t.ProxyConfig,
		FollowRedirects: false, // credentials never follow a redirect
		EnableHTTP2:     true,
	}
	opts := []promconfig.HTTPClientOption{
		promconfig.WithUserAgent("proxmox_backup_exporter/" + version.Version),
		promconfig.WithIdleConnTimeout(90 * time.Second),
	}
	if fp := t.FingerprintBytes(); fp != nil {
		opts = append(opts, promconfig.WithNewTLSConfigFunc(pinnedTLSConfig(fp)))
	}
	hc, err := promconfig.NewClientFromConfig(httpCfg, "proxmox_"+t.Name, opts...)
	if err != nil {
		return nil, fmt.Errorf("target %q: http client: %w", t.Name, err)
	}
	return &Client{
		target:         t.Name,
		product:        Product(t.Type),
		base:           t.BaseURL(),
		tokenID:        t.TokenID,
		hc:             hc,
		sem:            make(chan struct{}, t.Concurrency),
		maxBytes:       maxBytes(t.MaxResponseBytes),
		acceptEncoding: acceptEncoding(Product(t.Type), t.Compression),
	}, nil
}

// acceptEncoding is what a target's requests ask for. By default, what each
// server offers: PVE gzips large responses, PBS only deflates. "none" asks
// for the body as it is, explicitly, so that no transport asks for gzip.
func acceptEncoding(p Product, compression string) string {
	switch {
	case compression == config.CompressionNone:
		return "identity"
	case p == PBS:
		return "deflate"
	default:
		return "gzip"
	}
}

func maxBytes(n int64) int64 {
	if n <= 0 {
		return config.DefaultMaxResponseBytes
	}
	return n
}

// pinnedTLSConfig accepts exactly the server certificate with the given
// SHA-256 fingerprint, the way Proxmox's own clients pin a self-signed
// certificate. The CA chain is not consulted.
func pinnedTLSConfig(want []byte) promconfig.NewTLSConfigFunc {
	return func(ctx context.Context, cfg *promconfig.TLSConfig, o ...promconfig.TLSConfigOption) (*tls.Config, error) {
		tc, err := promconfig.NewTLSConfigWithContext(ctx, cfg, o...)
		if err != nil {
			return nil, err
		}
		tc.InsecureSkipVerify = true // replaced by the check below
		tc.VerifyConnection = func(cs tls.ConnectionState) error {
			if len(cs.PeerCertificates) == 0 {
				return errors.New("server sent no certificate")
			}
			got := sha256.Sum256(cs.PeerCertificates[0].Raw)
			if subtle.ConstantTimeCompare(got[:], want) != 1 {
				return fmt.Errorf("certificate fingerprint %s does not match the configured fingerprint", config.FormatFingerprint(got[:]))
			}
			return nil
		}
		return tc, nil
	}
}

// Target is the configured name of the client's target.
func (c *Client) Target() string { return c.target }

// Product is the client's product.
func (c *Client) Product() Product { return c.product }

// Session binds a secret to the client for one probe. The secret is read
// once per probe (the file may have been rotated) and never logged.
func (c *Client) Session(secret string) *Session {
	var auth string
	if c.product == PBS {
		auth = "PBSAPIToken=" + c.tokenID + ":" + secret
	} else {
		auth = "PVEAPIToken=" + c.tokenID + "=" + secret
	}
	return &Session{c: c, auth: auth, red: NewRedactor(secret), inflight: map[uint64]string{}}
}

// Session issues authenticated requests for one probe.
type Session struct {
	c    *Client
	auth string
	red  *Redactor

	mu       sync.Mutex
	next     uint64
	inflight map[uint64]string
}

// InFlight lists the requests still waiting for an answer, for the log of a
// probe that ran out of time.
func (s *Session) InFlight() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.inflight))
	for _, e := range s.inflight {
		out = append(out, "GET "+e)
	}
	sort.Strings(out)
	return out
}

func (s *Session) track(endpoint string) func() {
	s.mu.Lock()
	id := s.next
	s.next++
	s.inflight[id] = endpoint
	s.mu.Unlock()
	return func() {
		s.mu.Lock()
		delete(s.inflight, id)
		s.mu.Unlock()
	}
}

// Target is the configured name of the session's target.
func (s *Session) Target() string { return s.c.target }

// Product is the session's product.
func (s *Session) Product() Product { return s.c.product }

// Get fetches path (relative to /api2/json) and decodes the envelope's data
// into v. A listing decoded into a slice is read element by element and
// holds at most MaxElements elements; any other data is one value of at most
// MaxValueBytes.
func (s *Session) Get(ctx context.Context, path string, query url.Values, v any) error {
	return s.do(ctx, path, query, func(st *stream) error {
		return st.data(func() error { return st.into(v) })
	})
}

// Each streams the array in the envelope's data: it calls fn once per
// element, with the decoder positioned at the element. fn must consume
// exactly one JSON value (for example with dec.Decode). Memory stays bounded
// by one element (at most MaxValueBytes), whatever the length of the
// listing; what fn keeps is fn's to bound (see MaxElements). A null data is
// an empty listing.
func (s *Session) Each(ctx context.Context, path string, query url.Values, fn func(dec *json.Decoder) error) error {
	return s.do(ctx, path, query, func(st *stream) error {
		return st.data(func() error { return st.each(fn) })
	})
}

// EachRaw streams the array in the envelope's data like Each, but hands fn
// the bytes of each element, a checked JSON value of at most MaxValueBytes
// (read it with Fields, Elements, AppendString). fn must not keep the
// slice. It reads large listings several times faster than Each.
func (s *Session) EachRaw(ctx context.Context, path string, query url.Values, fn func(elem []byte) error) error {
	return s.do(ctx, path, query, func(st *stream) error {
		return st.data(func() error { return st.eachRaw(fn) })
	})
}

// DecodeEachRaw is DecodeEach for an EachRaw callback.
func DecodeEachRaw(r io.Reader, fn func(elem []byte) error) error {
	st := newStream(r, config.DefaultMaxResponseBytes)
	return st.data(func() error { return st.eachRaw(fn) })
}

// DecodeEach streams the array in the {"data": ...} envelope of a response
// body, like Session.Each does for a live request, within the default
// bounds.
func DecodeEach(r io.Reader, fn func(dec *json.Decoder) error) error {
	st := newStream(r, config.DefaultMaxResponseBytes)
	return st.data(func() error { return st.each(fn) })
}

// drainTimeout bounds the read of what follows a decoded body. A server
// that sends its whole answer and then stalls costs at most this, not the
// probe: the connection is then dropped instead of reused.
const drainTimeout = 250 * time.Millisecond

func (s *Session) do(ctx context.Context, path string, query url.Values, decode func(*stream) error) error {
	endpoint := path
	u := s.c.base.JoinPath("api2", "json", path)
	if len(query) > 0 {
		u.RawQuery = query.Encode()
		endpoint += "?" + u.RawQuery
	}
	// Paths may hold names from earlier responses (a UPID, a store).
	endpoint = s.red.String(endpoint)
	defer s.track(endpoint)()

	select {
	case s.c.sem <- struct{}{}:
		defer func() { <-s.c.sem }()
	case <-ctx.Done():
		return s.fail(endpoint, 0, fmt.Errorf("waiting for a free connection slot: %w", context.Cause(ctx)))
	}

	// The request has a context of its own so that a stalled drain can
	// abort it without waiting for the probe's deadline.
	reqCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := http.NewRequestWithContext(reqCtx, http.MethodGet, u.String(), nil)
	if err != nil {
		return s.fail(endpoint, 0, err)
	}
	req.Header.Set("Authorization", s.auth)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Accept-Encoding", s.c.acceptEncoding)

	resp, err := s.c.hc.Do(req)
	if err != nil {
		return s.fail(endpoint, 0, cleanTransportError(err))
	}
	defer drain(resp.Body, cancel)

	body, err := decodedBody(resp)
	if err != nil {
		return s.fail(endpoint, resp.StatusCode, err)
	}
	if resp.StatusCode != http.StatusOK {
		msg := errorMessage(body)
		if ctxErr := context.Cause(ctx); ctxErr != nil && ctx.Err() != nil {
			msg += fmt.Sprintf(" (the error body stalled: %v)", ctxErr)
		}
		return s.fail(endpoint, resp.StatusCode, errors.New(msg))
	}
	st := newStream(body, s.c.maxBytes)
	st.br.ctx = ctx
	if err := decode(st); err != nil {
		if ctxErr := context.Cause(ctx); ctxErr != nil && ctx.Err() != nil {
			err = fmt.Errorf("%w (while reading the response: %v)", ctxErr, err)
		}
		return s.fail(endpoint, resp.StatusCode, fmt.Errorf("bad response body: %w", err))
	}
	return nil
}

// drain reads a little of what follows the decoded body, so that the
// connection can be reused, then closes the body. A read that does not
// finish within drainTimeout is aborted through the request's context.
func drain(body io.ReadCloser, cancel context.CancelFunc) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = io.CopyN(io.Discard, body, 4096)
	}()
	t := time.NewTimer(drainTimeout)
	select {
	case <-done:
		t.Stop()
	case <-t.C:
		cancel()
		<-done
	}
	body.Close()
}

func decodedBody(resp *http.Response) (io.Reader, error) {
	switch strings.ToLower(strings.TrimSpace(resp.Header.Get("Content-Encoding"))) {
	case "", "identity":
		return resp.Body, nil
	case "gzip":
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			return nil, fmt.Errorf("bad gzip response: %w", err)
		}
		return zr, nil
	case "deflate":
		return flateReader(resp.Body), nil
	default:
		return nil, fmt.Errorf("unsupported Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
}

// flateReader reads an HTTP "deflate" body. The standard says zlib framing;
// PBS sends it that way, but some servers send raw deflate, so both are
// accepted.
func flateReader(r io.Reader) io.Reader {
	br := bufio.NewReader(r)
	hdr, _ := br.Peek(2)
	if len(hdr) == 2 && hdr[0]&0x0f == 8 && (uint16(hdr[0])<<8|uint16(hdr[1]))%31 == 0 {
		if zr, err := zlib.NewReader(br); err == nil {
			return zr
		}
	}
	return flate.NewReader(br)
}

// errorMessage extracts the "message" of a Proxmox error body, or a short
// excerpt of whatever the body was.
func errorMessage(body io.Reader) string {
	b, _ := io.ReadAll(io.LimitReader(body, 8192))
	var e struct {
		Message string            `json:"message"`
		Errors  map[string]string `json:"errors"`
	}
	if json.Unmarshal(b, &e) == nil && e.Message != "" {
		msg := strings.TrimSpace(e.Message)
		for k, v := range e.Errors {
			msg += fmt.Sprintf("; %s: %s", k, strings.TrimSpace(v))
		}
		return msg
	}
	b = bytes.TrimSpace(b)
	if len(b) > 200 {
		b = append(b[:200], "..."...)
	}
	if len(b) == 0 {
		return "empty response body"
	}
	return strings.ToValidUTF8(string(b), "?")
}

// cleanTransportError drops the URL from url.Error: the message already
// names the endpoint, and a URL could one day carry something private.
func cleanTransportError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

func (s *Session) fail(endpoint string, status int, err error) error {
	return &Error{Target: s.c.target, Product: s.c.product, Endpoint: endpoint, Status: status, Err: s.red.Error(err)}
}

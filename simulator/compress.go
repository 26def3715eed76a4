package simulator

import (
	"bytes"
	"compress/gzip"
	"compress/zlib"
	"net/http"
	"strings"
)

// gzipOver1K compresses responses larger than 1 KiB for clients that accept
// gzip, the way PVE's pveproxy does; smaller ones go out as they are.
func gzipOver1K(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsEncoding(r, "gzip") {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w, status: http.StatusOK}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

func acceptsEncoding(r *http.Request, enc string) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.EqualFold(strings.TrimSpace(name), enc) && !strings.Contains(strings.ReplaceAll(params, " ", ""), "q=0") {
			return true
		}
	}
	return false
}

// gzipWriter holds back the first KiB to decide whether to compress, with
// gzip or, for PBS, zlib-framed deflate.
type gzipWriter struct {
	http.ResponseWriter
	status int
	buf    bytes.Buffer
	zw     interface {
		Write([]byte) (int, error)
		Flush() error
		Close() error
	}
	deflate bool
	decided bool
}

func (g *gzipWriter) WriteHeader(status int) { g.status = status }

func (g *gzipWriter) Write(p []byte) (int, error) {
	if g.decided {
		if g.zw != nil {
			return g.zw.Write(p)
		}
		return g.ResponseWriter.Write(p)
	}
	g.buf.Write(p)
	if g.buf.Len() > 1024 {
		g.decide(true)
	}
	return len(p), nil
}

func (g *gzipWriter) decide(compress bool) {
	g.decided = true
	h := g.ResponseWriter.Header()
	if compress {
		if g.deflate {
			h.Set("Content-Encoding", "deflate")
			g.zw = zlib.NewWriter(g.ResponseWriter)
		} else {
			h.Set("Content-Encoding", "gzip")
			g.zw = gzip.NewWriter(g.ResponseWriter)
		}
		h.Add("Vary", "Accept-Encoding")
		h.Del("Content-Length")
		g.ResponseWriter.WriteHeader(g.status)
		_, _ = g.zw.Write(g.buf.Bytes())
	} else {
		g.ResponseWriter.WriteHeader(g.status)
		_, _ = g.ResponseWriter.Write(g.buf.Bytes())
	}
	g.buf.Reset()
}

// Flush passes through, so that slow streaming bodies stay slow.
func (g *gzipWriter) Flush() {
	if !g.decided {
		g.decide(g.buf.Len() > 1024)
	}
	if g.zw != nil {
		_ = g.zw.Flush()
	}
	if f, ok := g.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (g *gzipWriter) close() {
	if !g.decided {
		g.decide(g.buf.Len() > 1024)
	}
	if g.zw != nil {
		_ = g.zw.Close()
	}
}

// deflateOver1K compresses responses larger than 1 KiB with zlib-framed
// deflate for clients that accept it: PBS offers deflate, not gzip.
func deflateOver1K(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsEncoding(r, "deflate") {
			next.ServeHTTP(w, r)
			return
		}
		cw := &gzipWriter{ResponseWriter: w, status: http.StatusOK, deflate: true}
		defer cw.close()
		next.ServeHTTP(cw, r)
	})
}

package proxmox

import (
	"bytes"
	"compress/gzip"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
)

// compression: none asks every server for the body as it is, and a body
// compressed anyway is still read.
func TestCompressionNone(t *testing.T) {
	body := []byte(`{"data":[{"n":1},{"n":2}]}`)
	var zipped bytes.Buffer
	zw := gzip.NewWriter(&zipped)
	zw.Write(body)
	zw.Close()
	for _, typ := range []string{"pve", "pbs"} {
		for _, ignore := range []bool{false, true} {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if got := r.Header.Get("Accept-Encoding"); got != "identity" {
					t.Errorf("%s: Accept-Encoding = %q, want identity", typ, got)
				}
				if ignore {
					w.Header().Set("Content-Encoding", "gzip")
					w.Write(zipped.Bytes())
					return
				}
				w.Write(body)
			}))
			s := newSession(t, typ, srv.URL, "    compression: none\n")
			var got []struct{ N int }
			err := s.Get(context.Background(), "/x", nil, &got)
			srv.Close()
			if err != nil || len(got) != 2 || got[1].N != 2 {
				t.Errorf("%s (server compresses anyway: %v): %v, %+v", typ, ignore, err, got)
			}
		}
	}
}

func TestAcceptEncoding(t *testing.T) {
	for _, tc := range []struct{ typ, compression, want string }{
		{"pve", "", "gzip"},
		{"pve", "    compression: auto\n", "gzip"},
		{"pbs", "", "deflate"},
		{"pbs", "    compression: auto\n", "deflate"},
		{"pbs", "    compression: none\n", "identity"},
		{"pve", "    compression: none\n", "identity"},
	} {
		c, err := New(target(t, tc.typ, "http://127.0.0.1:1", tc.compression))
		if err != nil {
			t.Fatal(err)
		}
		if c.acceptEncoding != tc.want {
			t.Errorf("%s %q: Accept-Encoding %q, want %q", tc.typ, tc.compression, c.acceptEncoding, tc.want)
		}
	}
}

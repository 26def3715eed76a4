package simulator

import (
	"compress/zlib"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

const pbsAuth = "PBSAPIToken=" + TestPBSTokenID + ":" + TestPBSTokenSecret

func pbsServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(PBSTestScenario(testNow).Handler())
	t.Cleanup(srv.Close)
	return srv
}

func TestPBSAuth(t *testing.T) {
	srv := pbsServer(t)
	for _, tc := range []struct {
		auth string
		want int
	}{
		{pbsAuth, 200},
		{"PBSAPIToken " + TestPBSTokenID + ":" + TestPBSTokenSecret, 200}, // the official client's form
		{"PBSAPIToken=" + TestPBSTokenID + ":nope", 401},
		{"PVEAPIToken=" + TestPBSTokenID + "=" + TestPBSTokenSecret, 401},
		{"", 401},
	} {
		if status, _ := pveGet(t, srv, "/version", tc.auth); status != tc.want {
			t.Errorf("%q: %d, want %d", tc.auth, status, tc.want)
		}
	}
}

func TestPBSShapes(t *testing.T) {
	srv := pbsServer(t)
	_, env := pveGet(t, srv, "/admin/datastore", pbsAuth)
	stores := rows(t, env)
	if len(stores) != 2 || stores[0]["store"] != "main" {
		t.Fatalf("stores %v", stores)
	}
	if c, has := stores[1]["comment"]; !has || c != nil {
		t.Errorf("an unset comment is null: %v", stores[1])
	}

	_, env = pveGet(t, srv, "/admin/datastore/main/namespace", pbsAuth)
	ns := rows(t, env)
	if len(ns) != 3 || ns[0]["ns"] != "" || ns[1]["ns"] != "prod" || ns[2]["ns"] != "prod/db" {
		t.Errorf("namespaces %v: want the root first", ns)
	}

	_, env = pveGet(t, srv, "/admin/datastore/main/snapshots", pbsAuth)
	snaps := rows(t, env)
	if len(snaps) != 6 {
		t.Errorf("root namespace: %d snapshots, want 6 (no recursion)", len(snaps))
	}
	var noSize, encrypted int
	for _, s := range snaps {
		if _, ok := s["backup-id"].(string); !ok {
			t.Errorf("backup-id is %T, want a string", s["backup-id"])
		}
		if _, ok := s["protected"].(bool); !ok {
			t.Errorf("protected is %T, want a boolean", s["protected"])
		}
		if _, has := s["ns"]; has {
			t.Error("snapshot items carry no ns")
		}
		if _, has := s["size"]; !has {
			noSize++
			if _, has := s["verification"]; has {
				t.Error("a snapshot without a manifest has no verification")
			}
		}
	}
	_, env = pveGet(t, srv, "/admin/datastore/main/snapshots?ns=prod", pbsAuth)
	for _, s := range rows(t, env) {
		for _, f := range s["files"].([]any) {
			file := f.(map[string]any)
			switch file["filename"] {
			case "index.json.blob":
				if file["crypt-mode"] != "sign-only" {
					t.Errorf("index.json.blob of an encrypted snapshot: %v", file)
				}
			case "client.log.blob":
				if _, has := file["crypt-mode"]; has {
					t.Errorf("client.log.blob has no crypt mode: %v", file)
				}
			default:
				if file["crypt-mode"] == "encrypt" {
					encrypted++
				}
			}
		}
	}
	if noSize != 1 || encrypted == 0 {
		t.Errorf("without size %d, encrypted files %d", noSize, encrypted)
	}

	_, env = pveGet(t, srv, "/admin/datastore/main/snapshots?backup-type=vm&backup-id=100", pbsAuth)
	if n := len(rows(t, env)); n != 3 {
		t.Errorf("filtered listing: %d snapshots, want 3", n)
	}

	_, env = pveGet(t, srv, "/admin/gc", pbsAuth)
	for _, g := range rows(t, env) {
		if g["store"] == "archive" {
			if g["upid"] != nil {
				t.Errorf("GC that never ran has a null upid: %v", g)
			}
			if _, has := g["last-run-state"]; has {
				t.Errorf("GC that never ran has no state: %v", g)
			}
		}
	}

	_, env = pveGet(t, srv, "/admin/sync", pbsAuth)
	for _, j := range rows(t, env) {
		if j["id"] == "s-offsite" {
			_, hasUPID := j["last-run-upid"]
			_, hasState := j["last-run-state"]
			if !hasUPID || hasState {
				t.Errorf("running sync job: %v", j)
			}
		}
	}
	_, env = pveGet(t, srv, "/admin/prune", pbsAuth)
	for _, j := range rows(t, env) {
		if _, has := j["last-run-upid"]; has {
			t.Errorf("a prune job that never ran: %v", j)
		}
	}

	status, env := pveGet(t, srv, "/admin/datastore/nope/snapshots", pbsAuth)
	if status != 400 || env["data"] != nil {
		t.Errorf("unknown store: %d %v", status, env)
	}
	status, _ = pveGet(t, srv, "/admin/datastore/main/snapshots?ns=missing", pbsAuth)
	if status != 400 {
		t.Errorf("unknown namespace: %d", status)
	}
}

func TestPBSDeflate(t *testing.T) {
	srv := pbsServer(t)
	req, _ := http.NewRequest("GET", srv.URL+"/api2/json/status/datastore-usage", nil)
	req.Header.Set("Authorization", pbsAuth)
	req.Header.Set("Accept-Encoding", "deflate")
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "deflate" {
		t.Fatalf("Content-Encoding %q, want deflate", resp.Header.Get("Content-Encoding"))
	}
	zr, err := zlib.NewReader(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(zr)
	var env map[string]any
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatal(err)
	}
	if h := rows(t, env)[0]["history"].([]any); len(h) != 1440 {
		t.Errorf("history has %d points, want 1440", len(h))
	}
}

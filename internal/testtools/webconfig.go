package testtools

import (
	"crypto/x509"
	"encoding/pem"
	"os"
	"path/filepath"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"proxmox_backup_exporter/simulator"
)

// ExamplePassword is the password whose bcrypt hash examples/web-config.yml
// holds.
const ExamplePassword = "change-me-now"

// WebConfig writes examples/web-config.yml into dir with its certificate
// and key pointed at a fresh self-signed certificate for the loopback
// addresses, and returns the file and the certificate.
func WebConfig(t testing.TB, dir string) (string, *x509.Certificate) {
	t.Helper()
	cert, err := simulator.SelfSignedCert(time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certPath, keyPath := filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	write := func(path, typ string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(certPath, "CERTIFICATE", cert.Certificate[0])
	write(keyPath, "PRIVATE KEY", keyDER)

	raw, err := os.ReadFile(filepath.Join(Root(), "examples", "web-config.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var wc map[string]any
	if err := yaml.Unmarshal(raw, &wc); err != nil {
		t.Fatal(err)
	}
	tc := wc["tls_server_config"].(map[string]any)
	tc["cert_file"], tc["key_file"] = certPath, keyPath
	out, err := yaml.Marshal(wc)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "web-config.yml")
	if err := os.WriteFile(path, out, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, cert.Leaf
}

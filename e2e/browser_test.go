package e2e

import (
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"proxmox_backup_exporter/internal/testtools"
	"proxmox_backup_exporter/simulator"
)

// TestStatusPageInChromium loads /status of the exporter binary, behind TLS
// and basic auth from the example web config, with the demo scenario, in
// Debian's headless Chromium; it checks the rendered table and saves a
// screenshot in .test-output/.
func TestStatusPageInChromium(t *testing.T) {
	if os.Getenv("E2E") == "" {
		t.Skip("end-to-end test: run make e2e (E2E=1)")
	}
	chromium := testtools.Find(t, "chromium", "CHROMIUM")
	root := testtools.Root()
	dir := t.TempDir()

	pve, pbs := simulator.DemoScenario(time.Now())
	pveSrv, pbsSrv := httptest.NewServer(pve.Handler()), httptest.NewServer(pbs.Handler())
	defer pveSrv.Close()
	defer pbsSrv.Close()
	writeFile(t, filepath.Join(dir, "exporter.yml"), targetsConfig("demo-pve", pveSrv.URL, "demo-pbs", pbsSrv.URL))

	webConfig, _ := testtools.WebConfig(t, dir)

	bin := exporterBinary(t)
	addr := freeAddr(t)
	start(t, bin, "--config.file="+filepath.Join(dir, "exporter.yml"), "--web.listen-address="+addr, "--web.config.file="+webConfig)
	time.Sleep(500 * time.Millisecond)

	url := "https://prometheus:" + testtools.ExamplePassword + "@" + addr + "/status"
	browser := func(args ...string) string {
		base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
			"--disable-background-networking", "--disable-component-update", "--disable-sync",
			"--ignore-certificate-errors", "--user-data-dir=" + filepath.Join(dir, "profile")}
		cmd := exec.Command(chromium, append(base, args...)...)
		var stdout strings.Builder
		cmd.Stdout = &stdout
		done := make(chan error, 1)
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		go func() { done <- cmd.Wait() }()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("chromium: %v", err)
			}
		case <-time.After(90 * time.Second):
			_ = cmd.Process.Kill()
			t.Fatal("chromium did not finish")
		}
		return stdout.String()
	}

	dom := browser("--dump-dom", url)
	for _, want := range []string{`<table id="backups">`, "web03", "last attempt failed", "never backed up", "verification failed", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(dom, want) {
			t.Errorf("the rendered page lacks %q", want)
		}
	}
	if strings.Contains(dom, "<script>alert(1)</script>") {
		t.Error("the hostile guest name was rendered as HTML")
	}
	if strings.Count(dom, `<tr class="critical">`) < 3 {
		t.Errorf("want problems first, marked critical:\n%.2000s", dom)
	}

	outDir := filepath.Join(root, ".test-output")
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(outDir, "status.png")
	browser("--window-size=1600,1200", "--screenshot="+shot, url)
	if fi, err := os.Stat(shot); err != nil || fi.Size() < 10000 {
		t.Errorf("no screenshot at %s: %v", shot, err)
	}
	t.Logf("screenshot: %s", shot)
}

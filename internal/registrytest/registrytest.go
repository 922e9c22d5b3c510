// Package registrytest runs a real OCI registry for tests: Debian's
// docker-registry (github.com/docker/distribution 2.8) as a child process on
// 127.0.0.1, storing blobs in a test temp directory. Tests that need it call
// Start, which skips the test when docker-registry is not installed (or fails
// it when RELKIT_INTEROP=1, see testenv.Tool).
package registrytest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/relkit/relkit/internal/testenv"
)

// StartTimeout bounds how long Start waits for the registry to answer.
const StartTimeout = 20 * time.Second

// Registry is a running docker-registry process.
type Registry struct {
	// Host is the registry's host:port ("127.0.0.1:41234"), the registry
	// part of an image reference.
	Host string
	// Root is the registry's storage directory.
	Root string
	cmd  *exec.Cmd
	log  *syncBuffer
}

// syncBuffer is the process output, written by exec's copying goroutines
// and read by wait.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start starts docker-registry on a free loopback port and stops it when the
// test ends. It fails the test when the registry does not answer
// GET /v2/ within StartTimeout.
func Start(t testing.TB) *Registry {
	t.Helper()
	return start(t, "")
}

// StartAuth starts a registry like Start that requires HTTP basic
// authentication as user with password (an htpasswd file with a bcrypt
// hash, docker-registry's htpasswd backend).
func StartAuth(t testing.TB, user, password string) *Registry {
	t.Helper()
	hash, err := bcrypt.GenerateFromPassword([]byte(password), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	htpasswd := filepath.Join(t.TempDir(), "htpasswd")
	if err := os.WriteFile(htpasswd, []byte(user+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return start(t, htpasswd)
}

func start(t testing.TB, htpasswd string) *Registry {
	t.Helper()
	bin := testenv.Tool(t, "docker-registry")
	dir := t.TempDir()
	root := filepath.Join(dir, "data")
	if err := os.Mkdir(root, 0o755); err != nil {
		t.Fatal(err)
	}
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			t.Fatal(err)
		}
		host := "127.0.0.1:" + strconv.Itoa(port)
		cfg := filepath.Join(dir, "config.yml")
		if err := os.WriteFile(cfg, []byte(config(root, host, htpasswd)), 0o644); err != nil {
			t.Fatal(err)
		}
		r := &Registry{Host: host, Root: root, log: new(syncBuffer)}
		r.cmd = exec.Command(bin, "serve", cfg)
		r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
		if err := r.cmd.Start(); err != nil {
			t.Fatalf("start docker-registry: %v", err)
		}
		exited := make(chan error, 1)
		go func() { exited <- r.cmd.Wait() }()
		if lastErr = r.wait(exited); lastErr == nil {
			t.Cleanup(func() {
				_ = r.cmd.Process.Kill()
				<-exited
			})
			return r
		}
		_ = r.cmd.Process.Kill()
		<-exited
	}
	t.Fatalf("docker-registry did not start: %v", lastErr)
	return nil
}

func (r *Registry) wait(exited <-chan error) error {
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+r.Host+"/v2/", nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited (%v): %s", err, r.log.String())
		case <-ctx.Done():
			return fmt.Errorf("no answer on %s: %v; log: %s", r.Host, err, r.log.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// URL returns the registry's base URL ("http://127.0.0.1:41234").
func (r *Registry) URL() string { return "http://" + r.Host }

func config(root, addr, htpasswd string) string {
	auth := ""
	if htpasswd != "" {
		auth = fmt.Sprintf(`auth:
  htpasswd:
    realm: relkit-test
    path: %s
`, htpasswd)
	}
	return fmt.Sprintf(`version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: %s
  delete:
    enabled: true
http:
  addr: %s
  secret: relkit-test-only
%s`, root, addr, auth)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

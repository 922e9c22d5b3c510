package oci_test

import (
	"context"
	"errors"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-containerregistry/pkg/registry"

	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/sign"
)

func TestIsLoopback(t *testing.T) {
	for host, want := range map[string]bool{
		"127.0.0.1:5000": true, "127.1.2.3": true, "[::1]:5000": true, "::1": true,
		"localhost:5000": true, "LOCALHOST": true, "localhost": true,
		"10.0.0.1:5000": false, "192.168.1.10": false, "172.16.0.1:443": false,
		"registry.local:5000": false, "ghcr.io": false, "localhost.example.com:5000": false, "registry.localhost:5000": false,
		"[::2]:5000": false, "0.0.0.0:5000": false,
	} {
		if got := oci.IsLoopback(host); got != want {
			t.Errorf("IsLoopback(%q) = %v, want %v", host, got, want)
		}
	}
}

// recorder is a transport that records the requests that reach it and
// fails them all, so no test ever dials a non-loopback address.
type recorder struct {
	mu   sync.Mutex
	seen []string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	r.mu.Lock()
	r.seen = append(r.seen, req.URL.Scheme+"://"+req.URL.Host)
	r.mu.Unlock()
	return nil, errors.New("recorder: no network in tests")
}

// TestInsecureRefused pushes to private-network and *.localhost
// registries, which go-containerregistry would also try over plain HTTP:
// the plain-HTTP requests never reach the transport and the error wraps
// ErrInsecureRegistry.
func TestInsecureRefused(t *testing.T) {
	for _, host := range []string{"10.1.2.3:5000", "192.168.0.7", "172.20.0.1:443", "registry.localhost:5000"} {
		rec := &recorder{}
		c := newClient(t, oci.WithTransport(rec))
		_, err := c.Push(context.Background(), testSpec(t, host+"/hello", "1.0.0", 1))
		if !errors.Is(err, oci.ErrInsecureRegistry) {
			t.Errorf("%s: err = %v, want ErrInsecureRegistry", host, err)
		}
		for _, u := range rec.seen {
			if strings.HasPrefix(u, "http://") {
				t.Errorf("%s: a plain-HTTP request reached the transport: %s", host, u)
			}
		}
	}
}

// TestInProcessRegistry is an extra check against go-containerregistry's
// in-memory registry (the real-registry tests use docker-registry): the
// push and the idempotent re-push behave the same.
func TestInProcessRegistry(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	signer, _ := testKey(t)
	c := newClient(t, oci.WithSigner(signer))
	spec := testSpec(t, host+"/hello", "1.0.0", 1)
	first := push(t, c, spec)
	again := push(t, c, spec)
	if again.Digest != first.Digest || again.Stats.BlobUploads != 0 || again.Stats.ManifestPuts != 0 || again.Signed {
		t.Errorf("re-push: %s vs %s, stats %+v, signed %v", again.Digest, first.Digest, again.Stats, again.Signed)
	}
	if first.Stats.BlobUploads == 0 || first.Stats.ManifestPuts == 0 || first.Stats.BytesSent == 0 {
		t.Errorf("first push stats %+v", first.Stats)
	}
}

func TestOptions(t *testing.T) {
	for name, o := range map[string]oci.Option{
		"nil keychain":  oci.WithKeychain(nil),
		"nil transport": oci.WithTransport(nil),
		"nil signer":    oci.WithSigner(nil),
		"zero jobs":     oci.WithJobs(0),
		"nil logger":    oci.WithLogger(nil),
	} {
		if _, err := oci.New(o); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
	kp, err := sign.GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	ed, err := sign.ParseSigner(kp.PrivatePEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := oci.New(oci.WithSigner(ed)); !errors.Is(err, oci.ErrUnsupportedSigner) {
		t.Errorf("ed25519 signer: err = %v, want ErrUnsupportedSigner", err)
	}
}

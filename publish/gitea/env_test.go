package gitea_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/gitea"
	"github.com/relkit/relkit/publish/gitea/giteatest"
	"github.com/relkit/relkit/publish/publishtest"
)

// authRecorder records the Authorization header of every request it
// forwards.
type authRecorder struct {
	mu    sync.Mutex
	auths []string
	n     int
}

func (a *authRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	a.mu.Lock()
	a.n++
	if v := r.Header.Get("Authorization"); v != "" {
		a.auths = append(a.auths, r.Method+" "+r.URL.Path+": "+v)
	}
	a.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

// TestEmptyTokenIgnoresEnvironment: the library reads no environment. With
// GITEA_TOKEN set, a Store built without WithToken makes anonymous
// requests: no Authorization header reaches the server.
func TestEmptyTokenIgnoresEnvironment(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.CreateRepo("example", "hello", false)
	t.Setenv("GITEA_TOKEN", srv.Token)
	rec := &authRecorder{}
	// No WithToken: New must not find one elsewhere.
	s, err := gitea.New(srv.URL, "example", "hello", gitea.WithHTTPClient(&http.Client{Transport: rec}))
	if err != nil {
		t.Fatalf("New without a token: %v", err)
	}
	ctx := context.Background()
	_, _ = s.Stat(ctx, "manifest.json")
	_, _ = s.Stat(ctx, "1.0.0/SHA256SUMS")
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.n == 0 {
		t.Fatal("no request reached the server")
	}
	for _, a := range rec.auths {
		t.Errorf("a token from the environment was sent: %s", a)
	}
}

// TestAnonymousPublishRefused: a Store with no token publishes nothing;
// the server's 401 is an *APIError whose advice names the token.
func TestAnonymousPublishRefused(t *testing.T) {
	srv := giteatest.NewServer(t)
	repo := "anonymous"
	srv.CreateRepo("example", repo, false)
	s, err := gitea.New(srv.URL, "example", repo)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	publishtest.StageRelease(t, dir, publishtest.Release{})
	p, err := publish.New(s, publish.WithRetry(publishtest.FastRetry))
	if err != nil {
		t.Fatal(err)
	}
	_, err = p.Publish(context.Background(), dir)
	var ae *gitea.APIError
	if !errors.As(err, &ae) || ae.StatusCode != http.StatusUnauthorized || !strings.Contains(ae.Advice(), "TokenFromEnv") {
		t.Fatalf("Publish without a token: %v, want a 401 *APIError", err)
	}
	if rels := srv.Releases("example", repo); len(rels) != 0 {
		t.Errorf("an anonymous publish made releases: %v", rels)
	}
}

// TestTokenFromEnv: the explicit helper reads GITEA_TOKEN and returns
// ErrNoToken when it is empty or unset.
func TestTokenFromEnv(t *testing.T) {
	t.Setenv("GITEA_TOKEN", "")
	if tok, err := gitea.TokenFromEnv(); !errors.Is(err, gitea.ErrNoToken) || tok != "" {
		t.Errorf("TokenFromEnv with GITEA_TOKEN empty: %q, %v; want ErrNoToken", tok, err)
	}
	t.Setenv("GITEA_TOKEN", "from-env")
	if tok, err := gitea.TokenFromEnv(); err != nil || tok != "from-env" {
		t.Errorf("TokenFromEnv: %q, %v", tok, err)
	}
}

// TestStoreString: a Store used as a verify.Location (release's remote
// verification) prints as the repository's releases page in errors.
func TestStoreString(t *testing.T) {
	s, err := gitea.New("https://git.example.com/gitea", "acme", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(s), "https://git.example.com/gitea/acme/hello/releases"; got != want {
		t.Errorf("fmt.Sprint(Store) = %q, want %q", got, want)
	}
}

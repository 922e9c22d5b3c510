package github_test

import (
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/github/githubtest"
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
// GITHUB_TOKEN and GH_TOKEN set, a Store, Repo or Contents built without
// WithToken makes anonymous requests: no Authorization header reaches the
// server. (The token reaches it only through WithToken, for example from
// TokenFromEnv.)
func TestEmptyTokenIgnoresEnvironment(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", githubtest.Token)
	t.Setenv("GH_TOKEN", githubtest.Token)
	srv := githubtest.NewServer(t)
	rec := &authRecorder{}
	// No WithToken: the constructors must not find one elsewhere.
	opts := []github.Option{github.WithBaseURL(srv.URL), github.WithHTTPClient(&http.Client{Transport: rec})}
	ctx := context.Background()

	s, err := github.New("acme", "hello", "v1.0.0", opts...)
	if err != nil {
		t.Fatalf("New without a token: %v", err)
	}
	_, _ = s.Stat(ctx, "manifest.json") // the server refuses anonymous requests; only the header matters
	r, err := github.NewRepo("acme", "hello", opts...)
	if err != nil {
		t.Fatalf("NewRepo without a token: %v", err)
	}
	_, _ = r.Stat(ctx, "manifest.json")
	c, err := github.NewContents("acme", "hello", "", opts...)
	if err != nil {
		t.Fatalf("NewContents without a token: %v", err)
	}
	_, _, _ = c.WriteFile(ctx, "Casks/hello.rb", []byte("cask"), "update hello")

	rec.mu.Lock()
	defer rec.mu.Unlock()
	if rec.n < 3 {
		t.Fatalf("%d requests reached the server, want at least 3", rec.n)
	}
	for _, a := range rec.auths {
		t.Errorf("a token from the environment was sent: %s", a)
	}
}

// TestAnonymousPublishRefused: a Store with no token publishes nothing;
// the server's 401 is the error, as documented on WithToken.
func TestAnonymousPublishRefused(t *testing.T) {
	srv := githubtest.NewServer(t)
	dir, _ := stage(t)
	s, err := github.New("acme", "hello", "v1.0.0", github.WithBaseURL(srv.URL))
	if err != nil {
		t.Fatal(err)
	}
	_, err = newPub(t, s).Publish(context.Background(), dir)
	var se *publish.StatusError
	if !errors.As(err, &se) || se.StatusCode != http.StatusUnauthorized {
		t.Fatalf("Publish without a token: %v, want HTTP 401", err)
	}
	if rels := srv.Releases("acme", "hello"); len(rels) != 0 {
		t.Errorf("an anonymous publish made releases: %v", rels)
	}
}

// TestTokenFromEnv: the explicit helper reads GITHUB_TOKEN, then GH_TOKEN,
// and returns ErrNoToken when both are empty or unset.
func TestTokenFromEnv(t *testing.T) {
	t.Setenv("GITHUB_TOKEN", "")
	t.Setenv("GH_TOKEN", "")
	if tok, err := github.TokenFromEnv(); !errors.Is(err, github.ErrNoToken) || tok != "" {
		t.Errorf("TokenFromEnv with neither set: %q, %v; want ErrNoToken", tok, err)
	}
	t.Setenv("GH_TOKEN", "gh")
	if tok, err := github.TokenFromEnv(); err != nil || tok != "gh" {
		t.Errorf("TokenFromEnv with GH_TOKEN: %q, %v", tok, err)
	}
	t.Setenv("GITHUB_TOKEN", "github")
	if tok, err := github.TokenFromEnv(); err != nil || tok != "github" {
		t.Errorf("TokenFromEnv with both: %q, %v; want GITHUB_TOKEN's", tok, err)
	}
}

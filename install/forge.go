package install

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// forgeRetryWait is the wait before the one retry of a missing
// manifest.json on a forge (a variable for tests).
var forgeRetryWait = verify.DefaultForgeRetryWait

// forgeFetcher reads a release published to a forge repository (see
// verify.Forge for the layout and the URLs) with the installer's client,
// so downloads resume, are bounded and report progress exactly as from
// a release root URL.
type forgeFetcher struct {
	f      *verify.Forge
	client *http.Client
	agent  string
}

// newForgeFetcher returns a fetcher for the forge repository r.
func newForgeFetcher(r verify.ForgeRepo, token string, client *http.Client, agent string) (*forgeFetcher, error) {
	f, err := verify.NewForgeRepo(r, verify.ForgeOptions{Token: token, RetryWait: forgeRetryWait, HTTP: []verify.HTTPOption{verify.WithHTTPClient(client)}})
	if err != nil {
		return nil, err
	}
	// The forge's redirect policy (verify.CheckRedirect, and no token
	// after a redirect to another host), then the caller's own, if any.
	c := *client
	prev := client.CheckRedirect
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if err := f.CheckRedirect(req, via); err != nil {
			return err
		}
		if prev != nil {
			return prev(req, via)
		}
		return nil
	}
	return &forgeFetcher{f: f, client: &c, agent: agent}, nil
}

func (g *forgeFetcher) name(rel string) string { return g.f.URL(rel) }

// UseManifest implements verify.ManifestUser: version files are read
// from the releases the verified manifest names.
func (g *forgeFetcher) UseManifest(m *manifest.Manifest) { g.f.UseManifest(m) }

func (g *forgeFetcher) get(ctx context.Context, rel string, offset int64, validator string) (io.ReadCloser, fetchInfo, error) {
	if err := checkRel(rel); err != nil {
		return nil, fetchInfo{}, err
	}
	body, info, err := g.try(ctx, rel, offset, validator)
	if rel != manifest.File || !notFound(err) {
		return body, info, err
	}
	// A publisher replaces manifest.json by a delete and an upload: ask
	// once more after a short wait, then say why it is missing.
	if w := g.f.RetryWait(); w > 0 {
		t := time.NewTimer(w)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fetchInfo{}, ctx.Err()
		case <-t.C:
		}
		if body, info, err = g.try(ctx, rel, offset, validator); !notFound(err) {
			return body, info, err
		}
	}
	return nil, fetchInfo{}, g.f.Explain(ctx, rel, err)
}

// notFound reports a plain 404 (not one already explained).
func notFound(err error) bool {
	var fe *verify.ForgeError
	return errors.Is(err, verify.ErrNotFound) && !errors.As(err, &fe)
}

func (g *forgeFetcher) try(ctx context.Context, rel string, offset int64, validator string) (io.ReadCloser, fetchInfo, error) {
	req, err := g.f.NewRequest(ctx, rel)
	if err != nil {
		return nil, fetchInfo{}, err
	}
	req.Header.Set("Accept-Encoding", "identity")
	if g.agent != "" {
		req.Header.Set("User-Agent", g.agent)
	}
	if offset > 0 {
		req.Header.Set("Range", "bytes="+strconv.FormatInt(offset, 10)+"-")
		if validator != "" {
			req.Header.Set("If-Range", validator)
		}
	}
	return do(g.client, req, offset, g.f.URL(rel), g.f.ResponseError)
}

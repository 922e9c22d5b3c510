package githubtest_test

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/publish/github/githubtest"
)

// client talks to the fake with plain net/http, as the REST documentation
// describes, so that the fake is checked independently of go-github.
type client struct {
	t   *testing.T
	srv *githubtest.Server
}

func (c client) do(method, url, body, ctype string) (*http.Response, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	if !strings.HasPrefix(url, "http") {
		url = c.srv.URL + url
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+githubtest.Token)
	req.Header.Set("Accept", "application/vnd.github+json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	cl := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := cl.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	return resp, data
}

func decode[T any](t *testing.T, data []byte) T {
	t.Helper()
	var v T
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("decode %s: %v", data, err)
	}
	return v
}

type rel struct {
	ID        int64  `json:"id"`
	TagName   string `json:"tag_name"`
	Draft     bool   `json:"draft"`
	UploadURL string `json:"upload_url"`
	HTMLURL   string `json:"html_url"`
}

type asset struct {
	ID                 int64  `json:"id"`
	Name               string `json:"name"`
	Size               int    `json:"size"`
	Digest             string `json:"digest"`
	BrowserDownloadURL string `json:"browser_download_url"`
}

func TestReleaseLifecycle(t *testing.T) {
	srv := githubtest.NewServer(t)
	c := client{t, srv}
	api := "/api/v3/repos/acme/hello/releases"

	resp, data := c.do("POST", api, `{"tag_name":"v1.0.0","name":"1.0.0","draft":true}`, "application/json")
	if resp.StatusCode != 201 {
		t.Fatalf("create: %d %s", resp.StatusCode, data)
	}
	r := decode[rel](t, data)
	if !r.Draft || !strings.HasSuffix(r.UploadURL, "/assets{?name,label}") || !strings.Contains(r.HTMLURL, "untagged-") {
		t.Errorf("created release: %+v", r)
	}
	for _, h := range []string{"X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "X-RateLimit-Used", "X-RateLimit-Resource"} {
		if resp.Header.Get(h) == "" {
			t.Errorf("missing %s header", h)
		}
	}
	// A draft is not found by its tag.
	if resp, _ := c.do("GET", api+"/tags/v1.0.0", "", ""); resp.StatusCode != 404 {
		t.Errorf("draft by tag: %d, want 404", resp.StatusCode)
	}

	// Upload through the template.
	up := strings.TrimSuffix(r.UploadURL, "{?name,label}") + "?name=a.tar.gz"
	resp, data = c.do("POST", up, "hello bytes", "application/gzip")
	if resp.StatusCode != 201 {
		t.Fatalf("upload: %d %s", resp.StatusCode, data)
	}
	a := decode[asset](t, data)
	sum := sha256.Sum256([]byte("hello bytes"))
	if a.Size != 11 || a.Digest != "sha256:"+hex.EncodeToString(sum[:]) {
		t.Errorf("asset: %+v", a)
	}
	// Duplicate name: 422 already_exists.
	resp, data = c.do("POST", up, "other", "application/gzip")
	e := decode[struct {
		Message string              `json:"message"`
		Errors  []map[string]string `json:"errors"`
	}](t, data)
	if resp.StatusCode != 422 || len(e.Errors) != 1 || e.Errors[0]["code"] != "already_exists" || e.Errors[0]["resource"] != "ReleaseAsset" {
		t.Errorf("duplicate upload: %d %s", resp.StatusCode, data)
	}

	// Download: 302 to a URL that needs no token.
	resp, _ = c.do("GET", fmt.Sprintf("/api/v3/repos/acme/hello/releases/assets/%d", a.ID), "", "")
	if resp.StatusCode != 200 {
		t.Errorf("asset metadata: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest("GET", srv.URL+fmt.Sprintf("/api/v3/repos/acme/hello/releases/assets/%d", a.ID), nil)
	req.Header.Set("Authorization", "Bearer "+githubtest.Token)
	req.Header.Set("Accept", "application/octet-stream")
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	dl, err := noFollow.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	dl.Body.Close()
	if dl.StatusCode != 302 {
		t.Fatalf("download: %d, want 302", dl.StatusCode)
	}
	got, err := http.Get(dl.Header.Get("Location")) // no token
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(got.Body)
	got.Body.Close()
	if string(body) != "hello bytes" {
		t.Errorf("downloaded %q", body)
	}

	// A draft's asset has no public URL.
	if resp, err := http.Get(srv.URL + "/acme/hello/releases/download/v1.0.0/a.tar.gz"); err != nil || resp.StatusCode != 404 {
		t.Errorf("public URL of a draft asset: %v %v", resp.Status, err)
	}

	// Publish the draft: found by tag, URLs use the tag.
	resp, data = c.do("PATCH", fmt.Sprintf("%s/%d", api, r.ID), `{"draft":false}`, "application/json")
	if resp.StatusCode != 200 || decode[rel](t, data).Draft {
		t.Fatalf("publish: %d %s", resp.StatusCode, data)
	}
	resp, _ = c.do("GET", api+"/tags/v1.0.0", "", "")
	if resp.StatusCode != 200 {
		t.Fatalf("published by tag: %d", resp.StatusCode)
	}
	_, data = c.do("GET", fmt.Sprintf("%s/%d/assets", api, r.ID), "", "")
	as := decode[[]asset](t, data)
	if len(as) != 1 || as[0].BrowserDownloadURL != srv.URL+"/acme/hello/releases/download/v1.0.0/a.tar.gz" {
		t.Errorf("assets after publishing: %+v", as)
	}
	if resp, err := http.Get(as[0].BrowserDownloadURL); err != nil || resp.StatusCode != 200 {
		t.Errorf("public URL of a published asset: %v %v", resp.Status, err)
	} else if b, _ := io.ReadAll(resp.Body); string(b) != "hello bytes" {
		t.Errorf("public URL served %q", b)
	}
	// A second published release with the same tag is refused.
	if resp, _ := c.do("POST", api, `{"tag_name":"v1.0.0"}`, "application/json"); resp.StatusCode != 422 {
		t.Errorf("second release for a tag: %d, want 422", resp.StatusCode)
	}

	// Immutable: no uploads or deletions on the published release.
	srv.Immutable = true
	if resp, data := c.do("POST", up+"x", "more", "text/plain"); resp.StatusCode != 422 || !strings.Contains(string(data), "immutable") {
		t.Errorf("upload to an immutable release: %d %s", resp.StatusCode, data)
	}
	if resp, _ := c.do("DELETE", fmt.Sprintf("/api/v3/repos/acme/hello/releases/assets/%d", a.ID), "", ""); resp.StatusCode != 422 {
		t.Errorf("delete from an immutable release: %d", resp.StatusCode)
	}
	srv.Immutable = false
	if resp, _ := c.do("DELETE", fmt.Sprintf("/api/v3/repos/acme/hello/releases/assets/%d", a.ID), "", ""); resp.StatusCode != 204 {
		t.Errorf("delete: %d", resp.StatusCode)
	}
}

func TestPaginationLinks(t *testing.T) {
	srv := githubtest.NewServer(t)
	for i := range 5 {
		srv.CreateRelease("acme", "hello", githubtest.Release{Tag: fmt.Sprintf("v1.%d.0", i)})
	}
	c := client{t, srv}
	url := "/api/v3/repos/acme/hello/releases?per_page=2"
	var tags []string
	for pages := 0; url != ""; pages++ {
		if pages > 5 {
			t.Fatal("pagination does not end")
		}
		resp, data := c.do("GET", url, "", "")
		for _, r := range decode[[]rel](t, data) {
			tags = append(tags, r.TagName)
		}
		url = ""
		for _, part := range strings.Split(resp.Header.Get("Link"), ",") {
			if strings.Contains(part, `rel="next"`) {
				url = strings.Trim(strings.TrimSpace(strings.Split(part, ";")[0]), "<>")
			}
		}
	}
	want := "v1.4.0 v1.3.0 v1.2.0 v1.1.0 v1.0.0" // newest first
	if strings.Join(tags, " ") != want {
		t.Errorf("paginated tags %v, want %s", tags, want)
	}
}

func TestRateLimits(t *testing.T) {
	srv := githubtest.NewServer(t)
	c := client{t, srv}
	srv.SetRateLimit(10, 1, time.Hour)
	resp, _ := c.do("GET", "/api/v3/repos/acme/hello/releases", "", "")
	if resp.StatusCode != 200 || resp.Header.Get("X-RateLimit-Remaining") != "0" {
		t.Errorf("last request in budget: %d, remaining %q", resp.StatusCode, resp.Header.Get("X-RateLimit-Remaining"))
	}
	resp, data := c.do("GET", "/api/v3/repos/acme/hello/releases", "", "")
	reset, _ := strconv.ParseInt(resp.Header.Get("X-RateLimit-Reset"), 10, 64)
	if resp.StatusCode != 403 || resp.Header.Get("X-RateLimit-Remaining") != "0" || reset < time.Now().Unix() ||
		!strings.Contains(string(data), "rate limit") {
		t.Errorf("over budget: %d %v %s", resp.StatusCode, resp.Header, data)
	}
	srv.SetRateLimit(10, 10, time.Hour)
	srv.SecondaryLimit(1, 7)
	resp, data = c.do("GET", "/api/v3/repos/acme/hello/releases", "", "")
	if resp.StatusCode != 403 || resp.Header.Get("Retry-After") != "7" || !strings.Contains(string(data), "secondary-rate-limits") {
		t.Errorf("secondary limit: %d %v %s", resp.StatusCode, resp.Header, data)
	}
	if resp, _ := c.do("GET", "/api/v3/repos/acme/hello/releases", "", ""); resp.StatusCode != 200 {
		t.Errorf("after the secondary limit: %d", resp.StatusCode)
	}
}

func TestAuth(t *testing.T) {
	srv := githubtest.NewServer(t)
	resp, err := http.Get(srv.URL + "/api/v3/repos/acme/hello/releases")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("no token: %d, want 401", resp.StatusCode)
	}
}

// TestShortUploadStoresNothing: an upload whose body ends before its
// Content-Length (the client gave up) stores nothing. The body is cut by
// half-closing the connection, so the server's answer, read before the
// check, says that the handler has decided.
func TestShortUploadStoresNothing(t *testing.T) {
	srv := githubtest.NewServer(t)
	id := srv.CreateRelease("acme", "hello", githubtest.Release{Tag: "v1", Draft: true})
	u, err := url.Parse(fmt.Sprintf("%s/api/uploads/repos/acme/hello/releases/%d/assets?name=x", srv.URL, id))
	if err != nil {
		t.Fatal(err)
	}
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: %s\r\nAuthorization: token %s\r\nContent-Type: application/octet-stream\r\nContent-Length: 100\r\n\r\nonly part",
		u.RequestURI(), u.Host, githubtest.Token)
	if err := conn.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to a short upload: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("short upload: %s, want 400", resp.Status)
	}
	if n := len(srv.Releases("acme", "hello")[0].Assets); n != 0 {
		t.Errorf("a short upload stored %d assets", n)
	}
}

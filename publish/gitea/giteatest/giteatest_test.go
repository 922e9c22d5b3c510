package giteatest_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/relkit/relkit/publish/gitea/giteatest"
)

func client(t *testing.T, srv *giteatest.Server, token string) *sdk.Client {
	t.Helper()
	opts := []sdk.ClientOption{sdk.SetGiteaVersion("")}
	if token != "" {
		opts = append(opts, sdk.SetToken(token))
	}
	c, err := sdk.NewClient(srv.URL, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func code(resp *sdk.Response) int {
	if resp == nil || resp.Response == nil {
		return 0
	}
	return resp.StatusCode
}

func get(t *testing.T, url, token string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "token "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// TestReleaseCRUD walks a release through the SDK: create a draft, find it
// by tag and ID with write access only, upload, publish, delete.
func TestReleaseCRUD(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.CreateRepo("o", "r", false)
	w, anon, ro := client(t, srv, srv.Token), client(t, srv, ""), client(t, srv, srv.ReadToken)

	if v, _, err := w.ServerVersion(); err != nil || v != "1.25.0" {
		t.Fatalf("version: %q, %v", v, err)
	}
	rel, resp, err := w.CreateRelease("o", "r", sdk.CreateReleaseOption{TagName: "v1.0.0", Title: "v1.0.0", IsDraft: true})
	if err != nil || code(resp) != 201 || !rel.IsDraft {
		t.Fatalf("create draft: %+v, %d, %v", rel, code(resp), err)
	}
	if _, resp, _ := w.CreateRelease("o", "r", sdk.CreateReleaseOption{TagName: "v1.0.0", Title: "again"}); code(resp) != 409 {
		t.Errorf("second release with the tag: %d, want 409", code(resp))
	}
	if _, resp, _ := w.CreateRelease("o", "r", sdk.CreateReleaseOption{TagName: " ", Title: "x"}); code(resp) != 422 {
		t.Errorf("release without a tag: %d, want 422", code(resp))
	}
	if _, resp, _ := w.CreateRelease("o", "r", sdk.CreateReleaseOption{TagName: "v1..0", Title: "x"}); code(resp) != 422 {
		t.Errorf("release with a tag git refuses: %d, want 422", code(resp))
	}
	if _, resp, _ := anon.CreateRelease("o", "r", sdk.CreateReleaseOption{TagName: "v9", Title: "x"}); code(resp) != 401 {
		t.Errorf("create without a token: %d, want 401", code(resp))
	}
	if _, resp, _ := ro.CreateRelease("o", "r", sdk.CreateReleaseOption{TagName: "v9", Title: "x"}); code(resp) != 403 {
		t.Errorf("create with a read token: %d, want 403", code(resp))
	}
	if _, resp, _ := client(t, srv, "bogus").ListReleases("o", "r", sdk.ListReleasesOptions{}); code(resp) != 401 {
		t.Errorf("unknown token: %d, want 401", code(resp))
	}
	if _, resp, _ := w.ListReleases("o", "missing", sdk.ListReleasesOptions{}); code(resp) != 404 {
		t.Errorf("missing repository: %d, want 404", code(resp))
	}

	// Drafts are visible to the writer only.
	if got, _, err := w.GetReleaseByTag("o", "r", "v1.0.0"); err != nil || got.ID != rel.ID {
		t.Fatalf("writer by tag: %+v, %v", got, err)
	}
	for name, c := range map[string]*sdk.Client{"anonymous": anon, "reader": ro} {
		if _, resp, _ := c.GetReleaseByTag("o", "r", "v1.0.0"); code(resp) != 404 {
			t.Errorf("%s reads the draft by tag: %d, want 404", name, code(resp))
		}
		if _, resp, _ := c.GetRelease("o", "r", rel.ID); code(resp) != 404 {
			t.Errorf("%s reads the draft by ID: %d, want 404", name, code(resp))
		}
		if l, _, _ := c.ListReleases("o", "r", sdk.ListReleasesOptions{}); len(l) != 0 {
			t.Errorf("%s lists the draft: %d releases", name, len(l))
		}
		if _, resp, _ := c.ListReleaseAttachments("o", "r", rel.ID, sdk.ListReleaseAttachmentsOptions{}); code(resp) != 404 {
			t.Errorf("%s lists the draft's assets: %d, want 404", name, code(resp))
		}
	}

	// Multipart upload (the SDK's "attachment" field), duplicates kept.
	a1, resp, err := w.CreateReleaseAttachment("o", "r", rel.ID, strings.NewReader("one"), "a.txt")
	if err != nil || code(resp) != 201 || a1.Name != "a.txt" || a1.Size != 3 {
		t.Fatalf("upload: %+v, %d, %v", a1, code(resp), err)
	}
	a2, _, err := w.CreateReleaseAttachment("o", "r", rel.ID, strings.NewReader("second"), "a.txt")
	if err != nil || a2.ID <= a1.ID {
		t.Fatalf("duplicate upload: %+v, %v (Gitea accepts it)", a2, err)
	}
	if list, _, err := w.ListReleaseAttachments("o", "r", rel.ID, sdk.ListReleaseAttachmentsOptions{}); err != nil || len(list) != 2 {
		t.Fatalf("list: %d assets, %v; want both", len(list), err)
	}
	dl := srv.URL + "/o/r/releases/download/v1.0.0/a.txt"
	if c, _ := get(t, dl, ""); c != 404 {
		t.Errorf("anonymous download from a draft: %d, want 404", c)
	}
	if c, _ := get(t, a1.DownloadURL, ""); c != 404 {
		t.Errorf("anonymous download of a draft's attachment URL: %d, want 404", c)
	}
	if c, b := get(t, a1.DownloadURL, srv.Token); c != 200 || string(b) != "one" {
		t.Errorf("writer download of the attachment URL: %d %q", c, b)
	}

	// Publish.
	f := false
	pub, _, err := w.EditRelease("o", "r", rel.ID, sdk.EditReleaseOption{IsDraft: &f})
	if err != nil || pub.IsDraft || pub.Title != "v1.0.0" {
		t.Fatalf("publish: %+v, %v", pub, err)
	}
	if c, b := get(t, dl, ""); c != 200 || string(b) != "one" {
		t.Errorf("public download: %d %q, want the lowest-ID asset", c, b)
	}
	if latest, _, err := anon.GetLatestRelease("o", "r"); err != nil || latest.ID != rel.ID {
		t.Errorf("latest: %+v, %v", latest, err)
	}
	if c, _ := get(t, srv.URL+"/o/r/releases/download/latest/a.txt", ""); c != 200 {
		t.Errorf("download via latest: %d", c)
	}

	// Rename and delete assets, then the release.
	if got, _, err := w.EditReleaseAttachment("o", "r", rel.ID, a2.ID, sdk.EditAttachmentOptions{Name: "b.txt"}); err != nil || got.Name != "b.txt" {
		t.Errorf("rename: %+v, %v", got, err)
	}
	if resp, err := w.DeleteReleaseAttachment("o", "r", rel.ID, a1.ID); err != nil || code(resp) != 204 {
		t.Errorf("delete asset: %d, %v", code(resp), err)
	}
	if resp, _ := w.DeleteReleaseAttachment("o", "r", rel.ID, a1.ID); code(resp) != 404 {
		t.Errorf("delete a deleted asset: %d, want 404", code(resp))
	}
	if resp, _ := ro.DeleteReleaseAttachment("o", "r", rel.ID, a2.ID); code(resp) != 403 {
		t.Errorf("delete with a read token: %d, want 403", code(resp))
	}
	if resp, err := w.DeleteReleaseByTag("o", "r", "v1.0.0"); err != nil || code(resp) != 204 {
		t.Errorf("delete release: %d, %v", code(resp), err)
	}
	if rs := srv.Releases("o", "r"); len(rs) != 0 {
		t.Errorf("releases after delete: %+v", rs)
	}
}

// TestPagination: page and limit, X-Total-Count, Link headers, the draft
// and pre-release filters, the limit capped at 50.
func TestPagination(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.CreateRepo("o", "r", false)
	for i := range 7 {
		srv.AddRelease("o", "r", giteatest.Release{Tag: fmt.Sprintf("v1.%d.0", i), Title: "t", Draft: i == 6, Prerelease: i == 5})
	}
	w := client(t, srv, srv.Token)
	var tags []string
	for page := 1; page <= 10; page++ {
		l, resp, err := w.ListReleases("o", "r", sdk.ListReleasesOptions{ListOptions: sdk.ListOptions{Page: page, PageSize: 3}})
		if err != nil {
			t.Fatal(err)
		}
		if got := resp.Header.Get("X-Total-Count"); got != "7" {
			t.Errorf("X-Total-Count = %q, want 7", got)
		}
		for _, r := range l {
			tags = append(tags, r.TagName)
		}
		if page == 1 && (resp.NextPage != 2 || resp.LastPage != 3) {
			t.Errorf("page 1 links: next %d last %d, want 2 and 3", resp.NextPage, resp.LastPage)
		}
		if resp.NextPage == 0 {
			break
		}
	}
	if want := "v1.6.0 v1.5.0 v1.4.0 v1.3.0 v1.2.0 v1.1.0 v1.0.0"; strings.Join(tags, " ") != want {
		t.Errorf("pages give %v, want newest first %s", tags, want)
	}
	yes, no := true, false
	if l, _, _ := w.ListReleases("o", "r", sdk.ListReleasesOptions{IsDraft: &yes}); len(l) != 1 || l[0].TagName != "v1.6.0" {
		t.Errorf("draft=true: %d releases", len(l))
	}
	if l, _, _ := w.ListReleases("o", "r", sdk.ListReleasesOptions{IsPreRelease: &no, IsDraft: &no}); len(l) != 5 {
		t.Errorf("no drafts, no pre-releases: %d releases, want 5", len(l))
	}
	if l, _, _ := client(t, srv, "").ListReleases("o", "r", sdk.ListReleasesOptions{}); len(l) != 6 {
		t.Errorf("anonymous list: %d releases, want 6 (no draft)", len(l))
	}
	for range 60 {
		srv.AddRelease("o", "r", giteatest.Release{Tag: fmt.Sprintf("x%d", len(srv.Releases("o", "r"))), Title: "t"})
	}
	if l, _, _ := w.ListReleases("o", "r", sdk.ListReleasesOptions{ListOptions: sdk.ListOptions{Page: 1, PageSize: 100}}); len(l) != 50 {
		t.Errorf("limit=100 gave %d releases, want 50 (MAX_RESPONSE_ITEMS)", len(l))
	}
}

// TestUploadAnswers: a missing name is 400, an upload above MaxFileSize
// 413, a raw octet-stream body is accepted with ?name=, and Fail injects
// 5xx and 429 with Retry-After.
func TestUploadAnswers(t *testing.T) {
	srv := giteatest.NewServer(t)
	id := srv.AddRelease("o", "r", giteatest.Release{Tag: "v1", Title: "v1"})
	w := client(t, srv, srv.Token)
	if _, resp, _ := w.CreateReleaseAttachment("o", "r", id, strings.NewReader("x"), ""); code(resp) != 400 {
		t.Errorf("upload without a name: %d, want 400", code(resp))
	}
	srv.MaxFileSize = 4
	if _, resp, _ := w.CreateReleaseAttachment("o", "r", id, strings.NewReader("too long"), "big"); code(resp) != 413 {
		t.Errorf("upload above MaxFileSize: %d, want 413", code(resp))
	}
	srv.MaxFileSize = 0
	req, _ := http.NewRequest(http.MethodPost, fmt.Sprintf("%s/api/v1/repos/o/r/releases/%d/assets?name=raw.bin", srv.URL, id), bytes.NewReader([]byte("raw")))
	req.Header.Set("Content-Type", "application/octet-stream")
	req.Header.Set("Authorization", "token "+srv.Token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 201 {
		t.Fatalf("octet-stream upload: %v %v", resp, err)
	}
	resp.Body.Close()
	if r, _ := srv.ReleaseByTag("o", "r", "v1"); len(r.Assets) != 1 || r.Assets[0].Name != "raw.bin" {
		t.Errorf("assets: %v", r.Names())
	}
	srv.Fail = func(r *http.Request) (int, int) { return 429, 3 }
	_, sresp, _ := w.ListReleases("o", "r", sdk.ListReleasesOptions{})
	if code(sresp) != 429 || sresp.Header.Get("Retry-After") != "3" {
		t.Errorf("injected 429: %d, Retry-After %q", code(sresp), sresp.Header.Get("Retry-After"))
	}
	srv.Fail = nil
}

// TestPrivateRepository: anonymous readers get 404 for everything of a
// private repository, the read token reads it.
func TestPrivateRepository(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.AddRelease("o", "p", giteatest.Release{Tag: "v1", Title: "v1", Assets: []giteatest.Asset{{Name: "f", Data: []byte("d")}}})
	srv.CreateRepo("o", "p", true)
	if _, resp, _ := client(t, srv, "").GetReleaseByTag("o", "p", "v1"); code(resp) != 404 {
		t.Errorf("anonymous API read: %d, want 404", code(resp))
	}
	if c, _ := get(t, srv.URL+"/o/p/releases/download/v1/f", ""); c != 404 {
		t.Errorf("anonymous download: %d, want 404", c)
	}
	if c, b := get(t, srv.URL+"/o/p/releases/download/v1/f", srv.ReadToken); c != 200 || string(b) != "d" {
		t.Errorf("download with the read token: %d %q", c, b)
	}
}

// TestServeDirect: the download paths redirect to the object storage,
// which serves the bytes without a token.
func TestServeDirect(t *testing.T) {
	srv := giteatest.NewServer(t)
	srv.ServeDirect = true
	srv.AddRelease("o", "r", giteatest.Release{Tag: "v1", Title: "v1", Assets: []giteatest.Asset{{Name: "f", Data: []byte("data")}}})
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(srv.URL + "/o/r/releases/download/v1/f")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusFound || !strings.HasPrefix(loc, srv.StorageURL()+"/") {
		t.Fatalf("download with ServeDirect: %d to %q, want 302 to the storage", resp.StatusCode, loc)
	}
	if c, b := get(t, srv.URL+"/o/r/releases/download/v1/f", ""); c != 200 || string(b) != "data" {
		t.Errorf("following the redirect: %d %q", c, b)
	}
	if rs := srv.StorageRequests(); len(rs) != 1 || rs[0].Authorization != "" {
		t.Errorf("storage requests: %+v", rs)
	}
}

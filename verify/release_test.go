package verify

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// fixture is a release tree in memory: file path (relative to the root) ->
// bytes.
type fixture struct {
	version string
	key     *testKey
	files   map[string][]byte
}

func (f *fixture) p(name string) string { return path.Join(f.version, name) }

// newFixture builds a complete, correctly signed release of hello 1.2.0.
func newFixture(t testing.TB, k *testKey) *fixture {
	t.Helper()
	f := &fixture{version: "1.2.0", key: k, files: map[string][]byte{}}
	sums := &manifest.Checksums{}
	rel := manifest.Release{Version: f.version, Tag: "v" + f.version, Date: testNow.Add(-time.Hour), Commit: "4f9c2e0d1b2a39485766a5b4c3d2e1f001234567"}
	type subj struct {
		Name   string            `json:"name"`
		Digest map[string]string `json:"digest"`
	}
	var subjects []subj
	var pkgs []map[string]any
	for _, pl := range []string{"linux/amd64", "linux/arm64", "darwin/arm64"} {
		os, arch, _ := strings.Cut(pl, "/")
		name, body := testArtifact(f.version, os, arch)
		f.files[f.p(name)] = body
		h := sha256hex(body)
		if err := sums.Add(name, h); err != nil {
			t.Fatal(err)
		}
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: name, Path: f.p(name), Kind: manifest.KindArchive, OS: os, Arch: arch, Size: int64(len(body)), SHA256: h})
		subjects = append(subjects, subj{Name: name, Digest: map[string]string{"sha256": h}})
		pkgs = append(pkgs, map[string]any{"name": "hello", "SPDXID": "SPDXRef-" + os + "-" + arch, "packageFileName": name,
			"checksums": []map[string]string{{"algorithm": "SHA256", "checksumValue": h}}})
	}
	pkgs = append(pkgs, map[string]any{"name": "golang.org/x/mod", "SPDXID": "SPDXRef-dep",
		"checksums": []map[string]string{{"algorithm": "SHA256", "checksumValue": strings.Repeat("ab", 32)}}})
	sbom, _ := json.MarshalIndent(map[string]any{"spdxVersion": "SPDX-2.3", "SPDXID": "SPDXRef-DOCUMENT", "name": "hello", "packages": pkgs}, "", "  ")
	prov, _ := json.MarshalIndent(map[string]any{"_type": StatementType, "subject": subjects, "predicateType": "https://slsa.dev/provenance/v1", "predicate": map[string]any{}}, "", "  ")
	f.files[f.p(manifest.SBOMFile)] = sbom
	f.files[f.p(manifest.ProvenanceFile)] = prov
	sumsData := sums.Marshal()
	f.files[f.p(manifest.ChecksumsFile)] = sumsData
	rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: manifest.ChecksumsFile, Path: f.p(manifest.ChecksumsFile), Kind: manifest.KindChecksums, Size: int64(len(sumsData)), SHA256: sha256hex(sumsData)})
	m := manifest.New("hello")
	if _, err := m.Add(rel); err != nil {
		t.Fatal(err)
	}
	m.Updated, m.Expires = testNow.Add(-time.Hour), testNow.Add(24*time.Hour)
	mdata, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	f.files[manifest.File] = mdata
	f.sign(t, f.p(manifest.ChecksumsFile))
	f.sign(t, manifest.File)
	return f
}

// sign (re)writes the detached signature of name with the fixture's key.
func (f *fixture) sign(t testing.TB, name string) {
	f.files[name+SignatureSuffix] = EncodeSignature(f.key.sign(t, f.files[name]))
}

func (f *fixture) write(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	for name, data := range f.files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func checkStatus(t *testing.T, rep *Report, name string, want CheckStatus) {
	t.Helper()
	for _, c := range rep.Checks {
		if c.Name == name {
			if c.Status != want {
				t.Fatalf("check %q is %s (%s), want %s", name, c.Status, c.Detail, want)
			}
			return
		}
	}
	t.Fatalf("no check %q in report:\n%s", name, rep.Markdown())
}

func TestVerifyReleaseDir(t *testing.T) {
	k := newKey(t, "p256")
	f := newFixture(t, k)
	v := verifier(t, ring(t, k))
	rep, err := v.VerifyRelease(bg, Dir(f.write(t)), ReleaseOptions{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Markdown())
	}
	if !rep.OK || rep.Version != "1.2.0" || rep.Project != "hello" {
		t.Fatalf("report %+v", rep)
	}
	for _, n := range []string{"signature manifest.json", "signature SHA256SUMS", "checksum hello-1.2.0-linux-amd64.tar.gz",
		"manifest agrees: SHA256SUMS", "sbom agrees: hello-1.2.0-darwin-arm64.tar.gz", "provenance agrees: hello-1.2.0-linux-arm64.tar.gz"} {
		checkStatus(t, rep, n, Pass)
	}
	js, err := rep.JSON()
	if err != nil {
		t.Fatal(err)
	}
	var back Report
	if err := json.Unmarshal(js, &back); err != nil || len(back.Checks) != len(rep.Checks) || !back.OK {
		t.Fatalf("JSON round trip: %v\n%s", err, js)
	}
	md := rep.Markdown()
	if !strings.Contains(md, "| checksum hello-1.2.0-linux-amd64.tar.gz | pass |") || !strings.Contains(md, "verified") {
		t.Fatalf("markdown:\n%s", md)
	}
}

func TestVerifyReleaseOptionalDocsMissing(t *testing.T) {
	k := newKey(t, "p256")
	f := newFixture(t, k)
	delete(f.files, f.p(manifest.SBOMFile))
	delete(f.files, f.p(manifest.ProvenanceFile))
	rep, err := verifier(t, ring(t, k)).VerifyRelease(bg, Dir(f.write(t)), ReleaseOptions{Version: "1.2.0"})
	if err != nil {
		t.Fatal(err)
	}
	checkStatus(t, rep, "sbom "+manifest.SBOMFile, Missing)
	checkStatus(t, rep, "provenance "+manifest.ProvenanceFile, Missing)
}

func TestVerifyReleaseWithoutManifestFlat(t *testing.T) {
	// A GitHub-style flat layout: the version's files at the root, no
	// manifest, signatures.json instead of a .sig.
	k := newKey(t, "ed25519")
	f := newFixture(t, k)
	flat := map[string][]byte{}
	for name, data := range f.files {
		if strings.HasPrefix(name, f.version+"/") && !strings.HasSuffix(name, SignatureSuffix) {
			flat[strings.TrimPrefix(name, f.version+"/")] = data
		}
	}
	sums := flat[manifest.ChecksumsFile]
	s, _ := set(t, k.entry(t, manifest.ChecksumsFile, sums)).Marshal()
	flat[manifest.SignaturesFile] = s
	f.files = flat
	rep, err := verifier(t, ring(t, k)).VerifyRelease(bg, Dir(f.write(t)), ReleaseOptions{Version: "1.2.0", Dir: "."})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Markdown())
	}
	checkStatus(t, rep, "manifest manifest.json", Missing)
	checkStatus(t, rep, "provenance agrees: hello-1.2.0-darwin-arm64.tar.gz", Pass)
}

// TestHostileReleases: each tampering shows up as a failed check with the
// typed error.
func TestHostileReleases(t *testing.T) {
	k := newKey(t, "p256")
	other := newKey(t, "p256#other")
	amd := "hello-1.2.0-linux-amd64.tar.gz"
	var sumErr *ChecksumMismatchError
	var missErr *MissingEntryError
	cases := []struct {
		name   string
		mutate func(t *testing.T, f *fixture)
		check  string // the check that must fail
		want   any
	}{
		{"tampered artifact", func(t *testing.T, f *fixture) { f.files[f.p(amd)][0] ^= 1 }, "checksum " + amd, &sumErr},
		{"truncated artifact", func(t *testing.T, f *fixture) { b := f.files[f.p(amd)]; f.files[f.p(amd)] = b[:len(b)-1] }, "checksum " + amd, ErrSizeMismatch},
		{"missing artifact", func(t *testing.T, f *fixture) { delete(f.files, f.p(amd)) }, "checksum " + amd, ErrNotFound},
		{"SHA256SUMS signed by another key", func(t *testing.T, f *fixture) {
			f.files[f.p("SHA256SUMS.sig")] = EncodeSignature(other.sign(t, f.files[f.p(manifest.ChecksumsFile)]))
		}, "signature SHA256SUMS", ErrBadSignature},
		{"SHA256SUMS without signature", func(t *testing.T, f *fixture) { delete(f.files, f.p("SHA256SUMS.sig")) }, "signature SHA256SUMS", ErrNoSignature},
		{"SHA256SUMS re-signed but not in the manifest", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.ChecksumsFile)] = append(f.files[f.p(manifest.ChecksumsFile)], []byte(sha256hex(nil)+"  extra.txt\n")...)
			f.files[f.p("extra.txt")] = []byte{}
			f.sign(t, f.p(manifest.ChecksumsFile))
		}, "manifest agrees: extra.txt", &missErr},
		{"SHA256SUMS entry escaping its directory", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.ChecksumsFile)] = append(f.files[f.p(manifest.ChecksumsFile)], []byte(sha256hex(f.files[manifest.File])+"  ../manifest.json\n")...)
			f.sign(t, f.p(manifest.ChecksumsFile))
		}, "checksum ../manifest.json", ErrMalformed},
		{"manifest signature of another key", func(t *testing.T, f *fixture) {
			f.files[manifest.File+SignatureSuffix] = EncodeSignature(other.sign(t, f.files[manifest.File]))
		}, "signature manifest.json", ErrBadSignature},
		{"SBOM with another digest", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.SBOMFile)] = []byte(strings.Replace(string(f.files[f.p(manifest.SBOMFile)]), sha256hex(f.files[f.p(amd)]), strings.Repeat("0", 64), 1))
		}, "sbom agrees: " + amd, ErrChecksumMismatch},
		{"SBOM of another SPDX version", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.SBOMFile)] = []byte(`{"spdxVersion":"SPDX-2.1","packages":[]}`)
		}, "sbom " + manifest.SBOMFile, ErrMalformed},
		{"SBOM that is not JSON", func(t *testing.T, f *fixture) { f.files[f.p(manifest.SBOMFile)] = []byte("<xml/>") }, "sbom " + manifest.SBOMFile, ErrMalformed},
		{"SBOM describing no release file", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.SBOMFile)] = []byte(`{"spdxVersion":"SPDX-2.3","packages":[]}`)
		}, "sbom covers the release", ErrMissingEntry},
		{"provenance subject not in the release", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.ProvenanceFile)] = []byte(`{"_type":"` + StatementType + `","subject":[{"name":"evil.tar.gz","digest":{"sha256":"` + strings.Repeat("1", 64) + `"}}]}`)
		}, "provenance agrees: evil.tar.gz", ErrMissingEntry},
		{"provenance missing an archive", func(t *testing.T, f *fixture) {
			var st map[string]any
			json.Unmarshal(f.files[f.p(manifest.ProvenanceFile)], &st)
			st["subject"] = st["subject"].([]any)[1:]
			f.files[f.p(manifest.ProvenanceFile)], _ = json.Marshal(st)
		}, "provenance covers: hello-1.2.0-linux-amd64.tar.gz", ErrMissingEntry},
		{"provenance with another digest", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.ProvenanceFile)] = []byte(strings.Replace(string(f.files[f.p(manifest.ProvenanceFile)]), sha256hex(f.files[f.p(amd)]), strings.Repeat("0", 64), 1))
		}, "provenance agrees: " + amd, &sumErr},
		{"provenance of another statement type", func(t *testing.T, f *fixture) {
			f.files[f.p(manifest.ProvenanceFile)] = []byte(`{"_type":"https://in-toto.io/Statement/v0.1","subject":[]}`)
		}, "provenance " + manifest.ProvenanceFile, ErrMalformed},
		{"manifest without the release", func(t *testing.T, f *fixture) {
			m, _ := manifest.Parse(f.files[manifest.File])
			m.Releases[0].Version = "1.1.0"
			m.Releases[0].Tag = "v1.1.0"
			m.Channels, m.Aliases = nil, nil
			f.files[manifest.File], _ = m.Marshal()
			f.sign(t, manifest.File)
		}, "manifest lists release", ErrMissingEntry},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, k)
			c.mutate(t, f)
			rep, err := verifier(t, ring(t, k)).VerifyRelease(bg, Dir(f.write(t)), ReleaseOptions{Version: "1.2.0"})
			if err == nil || rep.OK {
				t.Fatalf("release accepted:\n%s", rep.Markdown())
			}
			checkStatus(t, rep, c.check, Fail)
			for _, ch := range rep.Checks {
				if ch.Name == c.check {
					wantErr(t, ch.Err, c.want)
				}
			}
			wantErr(t, err, c.want)
		})
	}
}

// serveFixture serves f over HTTP with extra handlers for hostile paths.
func serveFixture(t *testing.T, f *fixture, extra map[string]http.HandlerFunc) *httptest.Server {
	t.Helper()
	files := http.FileServer(http.Dir(f.write(t)))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h, ok := extra[r.URL.Path]; ok {
			h(w, r)
			return
		}
		files.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestVerifyReleaseHTTP(t *testing.T) {
	k := newKey(t, "p256")
	f := newFixture(t, k)
	srv := serveFixture(t, f, nil)
	loc, err := NewHTTP(srv.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := verifier(t, ring(t, k)).VerifyRelease(bg, loc, ReleaseOptions{})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Markdown())
	}
	checkStatus(t, rep, "checksum hello-1.2.0-darwin-arm64.tar.gz", Pass)
}

// TestHostileServers: each misbehaving server is refused with a typed
// error by the HTTP location.
func TestHostileServers(t *testing.T) {
	k := newKey(t, "p256")
	f := newFixture(t, k)
	stop := make(chan struct{})
	t.Cleanup(func() { close(stop) })
	srv := serveFixture(t, f, map[string]http.HandlerFunc{
		"/404": func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) },
		"/500": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", http.StatusInternalServerError) },
		"/403": func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusForbidden) },
		"/file": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		},
		"/loop": func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/loop", http.StatusFound) },
		"/same": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "/1.2.0/SHA256SUMS", http.StatusFound)
		},
		"/endless": func(w http.ResponseWriter, r *http.Request) {
			buf := make([]byte, 32<<10)
			for {
				if _, err := w.Write(buf); err != nil {
					return
				}
			}
		},
		"/big": func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Length", "100000000")
			w.Write([]byte("x"))
		},
		"/slow": func(w http.ResponseWriter, r *http.Request) {
			w.Write([]byte("first bytes"))
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
			case <-stop:
			}
		},
		"/stall": func(w http.ResponseWriter, r *http.Request) {
			select { // never sends headers
			case <-r.Context().Done():
			case <-stop:
			}
		},
	})
	open := func(name string, opts ...HTTPOption) error {
		loc, err := NewHTTP(srv.URL, opts...)
		if err != nil {
			return err
		}
		rc, err := loc.Open(bg, name)
		if err != nil {
			return err
		}
		defer rc.Close()
		_, err = io.Copy(io.Discard, rc)
		return err
	}
	var stErr *HTTPError
	var rdErr *HTTPError
	var toErr *TimeoutError
	var limErr *LimitError
	cases := []hostileCase{
		{"404", func(t *testing.T) error { return open("404") }, ErrNotFound},
		{"500", func(t *testing.T) error { return open("500") }, &stErr},
		{"403", func(t *testing.T) error { return open("403") }, ErrFetch},
		{"redirect to file://", func(t *testing.T) error { return open("file") }, &rdErr},
		{"redirect loop", func(t *testing.T) error { return open("loop") }, &rdErr},
		{"body that never ends", func(t *testing.T) error { return open("endless", WithMaxFetchSize(1<<20)) }, &limErr},
		{"Content-Length over the cap", func(t *testing.T) error { return open("big", WithMaxFetchSize(1<<20)) }, ErrTooLarge},
		{"body that stops sending", func(t *testing.T) error { return open("slow", WithIdleTimeout(200*time.Millisecond)) }, &toErr},
		{"server that never answers", func(t *testing.T) error { return open("stall", WithFetchTimeout(300*time.Millisecond)) }, context.DeadlineExceeded},
		{"path escaping the base", func(t *testing.T) error { return open("../etc/passwd") }, os.ErrInvalid},
		{"base URL with file scheme", func(t *testing.T) error { _, err := NewHTTP("file:///etc"); return err }, nil},
		{"dir path escaping the root", func(t *testing.T) error { _, err := Dir(t.TempDir()).Open(bg, "../x"); return err }, os.ErrInvalid},
		{"dir symlink escaping the root", func(t *testing.T) error {
			d := t.TempDir()
			if err := os.Symlink("/etc/hostname", filepath.Join(d, "link")); err != nil {
				t.Skip(err)
			}
			_, err := Dir(d).Open(bg, "link")
			return err
		}, nil},
	}
	runHostile(t, cases)
	// A same-scheme redirect is followed.
	if err := open("same"); err != nil {
		t.Fatalf("same-scheme redirect: %v", err)
	}
	// An endless artifact body is cut off by the expected size, too.
	loc, _ := NewHTTP(srv.URL)
	rc, err := loc.Open(bg, "endless")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := Verify(bg, rc, Expected{Name: "endless", SHA256: strings.Repeat("0", 64), Size: 1000}); !errors.Is(err, ErrSizeMismatch) {
		t.Fatalf("endless artifact: %v", err)
	}
}

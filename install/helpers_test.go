package install

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// fixture is a release root on disk, signed with an ECDSA P-256 key (what
// cosign sign-blob makes), built the way relkit publishes: archives and
// SHA256SUMS (+ .sig) under <version>/, manifest.json (+ .sig) at the
// root. Tests sign with the standard library, never with package sign.
type fixture struct {
	t       tb
	root    string
	key     *ecdsa.PrivateKey
	ring    *verify.KeyRing
	m       *manifest.Manifest
	now     time.Time
	project string
	plat    manifest.Platform
	// v2 makes sign write the manifest v2 index too: index.json, its
	// content-addressed signature and the shards, as a publisher does.
	v2 bool
}

// tb is the part of testing.TB the fixture needs, so that Example
// functions can build fixtures too (see exampleTB).
type tb interface {
	Helper()
	Fatal(args ...any)
	TempDir() string
	Cleanup(func())
}

func newFixture(t tb, project string) *fixture {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ring := &verify.KeyRing{}
	if _, err := ring.Add(&key.PublicKey); err != nil {
		t.Fatal(err)
	}
	return &fixture{
		t: t, root: t.TempDir(), key: key, ring: ring, m: manifest.New(project),
		now: time.Now().UTC().Truncate(time.Second), project: project,
		plat: manifest.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH},
	}
}

// signBytes returns the base64 cosign-style signature of data by key.
func signBytes(t tb, key *ecdsa.PrivateKey, data []byte) []byte {
	t.Helper()
	sum := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return verify.EncodeSignature(sig)
}

func (f *fixture) write(rel string, data []byte) {
	f.t.Helper()
	p := filepath.Join(f.root, filepath.FromSlash(rel))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		f.t.Fatal(err)
	}
	if err := os.WriteFile(p, data, 0o644); err != nil {
		f.t.Fatal(err)
	}
}

// sign writes manifest.json and manifest.json.sig.
func (f *fixture) sign() {
	f.t.Helper()
	f.m.Touch(f.now, 90*24*time.Hour)
	data, err := f.m.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	f.write("manifest.json", data)
	f.write("manifest.json.sig", signBytes(f.t, f.key, data))
	if f.v2 {
		f.writeIndex()
	}
}

// writeIndex splits the fixture's manifest into index.json and shards
// and signs the index (sigs/index.json.<sha256>.sig).
func (f *fixture) writeIndex() {
	f.t.Helper()
	ix, shards, err := manifest.Split(f.m)
	if err != nil {
		f.t.Fatal(err)
	}
	for _, s := range shards {
		f.write(s.Path, s.Data)
	}
	data, err := ix.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	sum := hexSum(data)
	sig := signBytes(f.t, f.key, data)
	raw, err := verify.DecodeSignature(sig)
	if err != nil {
		f.t.Fatal(err)
	}
	id, err := verify.KeyID(&f.key.PublicKey)
	if err != nil {
		f.t.Fatal(err)
	}
	set := &verify.SignatureSet{Schema: verify.SignaturesSchema}
	if err := set.Add(verify.SignatureEntry{KeyID: id, Algorithm: verify.AlgECDSASHA256, File: manifest.IndexFile, SHA256: sum, Signature: raw}); err != nil {
		f.t.Fatal(err)
	}
	b, err := set.Marshal()
	if err != nil {
		f.t.Fatal(err)
	}
	f.write(manifest.SignaturePath(manifest.IndexFile, sum), sig)
	f.write(manifest.SignatureSetPath(manifest.IndexFile, sum), b)
	f.write(manifest.IndexFile, data)
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// artifactName is the conventional archive name for version.
func (f *fixture) artifactName(version string) string {
	return fmt.Sprintf("%s-%s-%s-%s%s", f.project, version, f.plat.OS, f.plat.Arch, f.plat.ArchiveExt())
}

// publish adds a release whose one artifact is the given bytes, writes
// SHA256SUMS (+ .sig) and re-signs the manifest. mutate may edit the
// release before it is added.
func (f *fixture) publish(version, name string, archive []byte, mutate ...func(*manifest.Release)) {
	f.t.Helper()
	kind := manifest.KindArchive
	if !isArchiveName(name) {
		kind = manifest.KindBinary
	}
	rel := manifest.Release{
		Version: version, Tag: "v" + version, Date: f.now,
		Artifacts: []manifest.Artifact{{
			Name: name, Path: version + "/" + name, Kind: kind,
			OS: f.plat.OS, Arch: f.plat.Arch, Size: int64(len(archive)), SHA256: hexSum(archive),
		}},
	}
	sums := &manifest.Checksums{}
	if err := sums.Add(name, hexSum(archive)); err != nil {
		f.t.Fatal(err)
	}
	sumsData := sums.Marshal()
	rel.Artifacts = append(rel.Artifacts, manifest.Artifact{
		Name: manifest.ChecksumsFile, Path: version + "/" + manifest.ChecksumsFile, Kind: manifest.KindChecksums,
		Size: int64(len(sumsData)), SHA256: hexSum(sumsData),
	})
	for _, m := range mutate {
		m(&rel)
	}
	f.write(version+"/"+name, archive)
	f.write(version+"/"+manifest.ChecksumsFile, sumsData)
	f.write(version+"/"+manifest.ChecksumsFile+".sig", signBytes(f.t, f.key, sumsData))
	if _, err := f.m.Add(rel); err != nil {
		f.t.Fatal(err)
	}
	f.sign()
}

// script is a runnable program that prints "<name> <version>".
func script(name, version string) []byte {
	return []byte(fmt.Sprintf("#!/bin/sh\necho \"%s %s\"\n", name, version))
}

// release publishes version as a tar.gz holding a script for each name
// (default: the project) and returns the scripts by name.
func (f *fixture) release(version string, names ...string) map[string][]byte {
	f.t.Helper()
	if len(names) == 0 {
		names = []string{f.project}
	}
	bins := map[string][]byte{}
	var es []entry
	for _, n := range names {
		bins[n] = script(n, version)
		es = append(es, entry{name: n, body: bins[n]})
	}
	f.publish(version, f.artifactName(version), tarGz(f.t, es))
	return bins
}

// entry is one archive member for tarGz and zipArchive.
type entry struct {
	name string
	body []byte
	typ  byte   // tar type flag; 0 = regular file
	link string // link target
}

func tarGz(t tb, es []entry) []byte {
	t.Helper()
	return gzBytes(t, tarRaw(t, es))
}

// gzBytes gzips raw.
func gzBytes(t tb, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// tarRaw is an uncompressed tar of es.
func tarRaw(t tb, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range es {
		typ := e.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: e.name, Typeflag: typ, Mode: 0o755, Linkname: e.link, ModTime: time.Unix(1e9, 0), Format: tar.FormatPAX}
		if typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if typ == tar.TypeChar || typ == tar.TypeBlock {
			h.Devmajor, h.Devminor = 1, 3
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if typ == tar.TypeReg {
			if _, err := tw.Write(e.body); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipArchive(t tb, es []entry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range es {
		h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
		switch e.typ {
		case tar.TypeSymlink:
			h.SetMode(os.ModeSymlink | 0o777)
			e.body = []byte(e.link)
		case tar.TypeChar:
			h.SetMode(os.ModeDevice | os.ModeCharDevice | 0o644)
		case tar.TypeDir:
			h.SetMode(os.ModeDir | 0o755)
		default:
			h.SetMode(0o755)
		}
		w, err := zw.CreateHeader(h)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write(e.body); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// server serves a fixture over HTTP on 127.0.0.1, logging requests and
// letting a test inject faults.
type server struct {
	*httptest.Server
	mu    sync.Mutex
	log   []string
	fault func(w http.ResponseWriter, r *http.Request) bool
}

func (f *fixture) serve() *server {
	f.t.Helper()
	s := &server{}
	files := http.FileServer(http.Dir(f.root))
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.log = append(s.log, strings.TrimSpace(r.URL.Path+" "+r.Header.Get("Range")))
		fault := s.fault
		s.mu.Unlock()
		if fault != nil && fault(w, r) {
			return
		}
		files.ServeHTTP(w, r)
	}))
	f.t.Cleanup(s.Close)
	return s
}

func (s *server) setFault(fn func(w http.ResponseWriter, r *http.Request) bool) {
	s.mu.Lock()
	s.fault = fn
	s.mu.Unlock()
}

// requests returns the logged requests whose path contains sub.
func (s *server) requests(sub string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, l := range s.log {
		if strings.Contains(l, sub) {
			out = append(out, l)
		}
	}
	return out
}

// config returns a Config installing f's project from source into dir,
// with fast retries.
func (f *fixture) config(source, dir string) Config {
	return Config{
		Project: f.project, Source: source, Dir: dir, Trust: &verify.Trust{Keys: f.ring},
		Network: Network{RetryBackoff: time.Millisecond, StallTimeout: 5 * time.Second},
		Now:     func() time.Time { return f.now },
	}
}

func (f *fixture) installer(cfg Config) *Installer {
	f.t.Helper()
	in, err := New(cfg)
	if err != nil {
		f.t.Fatal(err)
	}
	return in
}

// snapshot returns the contents of every non-hidden file in dir.
func snapshot(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, de := range des {
		if strings.HasPrefix(de.Name(), ".") {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, de.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[de.Name()] = string(b)
	}
	return out
}

// leftovers lists the installer's temporary files in dir and in every
// state directory below it.
func leftovers(t testing.TB, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, de fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.HasPrefix(de.Name(), tempPrefix) {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

var _ = io.Discard

func fmtInt(n int64) string { return fmt.Sprint(n) }

// randomHex returns n random hex characters (incompressible enough for a
// realistic ratio, printable so a script stays runnable).
func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	rand.Read(b)
	return hex.EncodeToString(b)[:n]
}

// backupFileOf returns the path of binary name in the current backup set
// of primary in dir.
func backupFileOf(t testing.TB, dir, primary, name string) string {
	t.Helper()
	sw := &swapper{dir: dir, primary: primary}
	info, err := sw.currentBackup()
	if err != nil || info == nil {
		t.Fatalf("no backup set: %v", err)
	}
	return sw.backupFile(info, name)
}

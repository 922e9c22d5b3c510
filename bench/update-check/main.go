// Command update-check is the helper of bench/update-check/run.sh: it
// writes a signed release root with a long history, serves it on
// loopback (gzip for JSON, as a CDN does), and runs the update check of a
// self-updater against it.
//
//	update-check gen -n N -dir D [-v1]      a root of N releases in D (and the key in D/pub.pem); -v1: no index.json (the layout before manifest v2)
//	update-check serve -dir D -url-file F   serve D on 127.0.0.1, write the URL to F; GET /_bytes returns the body bytes sent since the last call
//	update-check check -url U -key PEM [-current V]  install.Installer.Check of the stable channel: what "hello update --check" runs, by a client running V
//	update-check need -dir D                print the paths a v2 update check needs (index.json and its signature set), for the plain fetch
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: update-check gen|serve|check|need [flags]")
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "check":
		err = check(os.Args[2:])
	case "need":
		err = need(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

// history builds n releases like a project with a long history: stable
// minors and patches, release candidates on edge and nightlies, six
// archives each with checksums, a signature, an SBOM and provenance
// (about 2.7 KB of manifest per release).
func history(n int) (*manifest.Manifest, error) {
	m := manifest.New("hello")
	date := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var rels []manifest.Release
	for i := 0; len(rels) < n; i++ {
		major, minor, patch := 1+i/2000, (i/20)%100, i%20
		v := fmt.Sprintf("%d.%d.%d", major, minor, patch)
		ch := manifest.ChannelStable
		switch i % 5 {
		case 3:
			v += "-rc.1"
			ch = manifest.ChannelEdge
		case 4:
			v += fmt.Sprintf("-nightly.%d", i)
			ch = "nightly"
		}
		r := manifest.Release{Version: v, Tag: "v" + v, Date: date.Add(time.Duration(i) * time.Hour), Channel: ch, Status: manifest.StatusActive, Commit: fmt.Sprintf("%040x", i)}
		for j, p := range []string{"linux-amd64", "linux-arm64", "darwin-amd64", "darwin-arm64", "windows-amd64", "freebsd-amd64"} {
			os, arch, _ := strings.Cut(p, "-")
			name := fmt.Sprintf("hello-%s-%s.tar.gz", v, p)
			r.Artifacts = append(r.Artifacts, manifest.Artifact{Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: os, Arch: arch, Size: 1 << 20, SHA256: digest(i*16 + j)})
		}
		for j, f := range []struct {
			name string
			kind manifest.Kind
		}{{"SHA256SUMS", manifest.KindChecksums}, {"SHA256SUMS.sig", manifest.KindSignature}, {"sbom.spdx.json", manifest.KindSBOM}, {"provenance.intoto.json", manifest.KindProvenance}} {
			r.Artifacts = append(r.Artifacts, manifest.Artifact{Name: f.name, Path: v + "/" + f.name, Kind: f.kind, Size: 512, SHA256: digest(i*16 + 8 + j)})
		}
		rels = append(rels, r)
	}
	// Newest first; Add of the newest derives channels and aliases.
	for i := len(rels) - 2; i >= 0; i-- {
		m.Releases = append(m.Releases, rels[i])
	}
	sortNewestFirst(m)
	if _, err := m.Add(rels[len(rels)-1]); err != nil {
		return nil, err
	}
	m.Serial = int64(n)
	m.Touch(time.Now(), 90*24*time.Hour)
	return m, m.Validate()
}

// digest is a SHA-256 as random as a real file's (a count in hex would
// compress far better than real manifests do).
func digest(i int) string {
	s := sha256.Sum256([]byte(fmt.Sprint(i)))
	return hex.EncodeToString(s[:])
}

// sortNewestFirst orders m's releases newest first by version precedence.
func sortNewestFirst(m *manifest.Manifest) {
	slices.SortStableFunc(m.Releases, func(a, b manifest.Release) int {
		va, _ := manifest.ParseVersion(a.Version)
		vb, _ := manifest.ParseVersion(b.Version)
		return manifest.Compare(vb, va)
	})
}

func gen(args []string) error {
	fs := flag.NewFlagSet("gen", flag.ExitOnError)
	n := fs.Int("n", 1000, "releases")
	dir := fs.String("dir", "", "output root")
	v1 := fs.Bool("v1", false, "write no index.json (the layout before manifest v2)")
	fs.Parse(args)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	pub, err := verify.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	m, err := history(*n)
	if err != nil {
		return err
	}
	write := func(rel string, data []byte) error {
		p := filepath.Join(*dir, filepath.FromSlash(rel))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		return os.WriteFile(p, data, 0o644)
	}
	signed := func(name string, data []byte) error {
		sum := sha256.Sum256(data)
		sig, err := ecdsa.SignASN1(rand.Reader, key, sum[:])
		if err != nil {
			return err
		}
		id, err := verify.KeyID(&key.PublicKey)
		if err != nil {
			return err
		}
		set := &verify.SignatureSet{Schema: verify.SignaturesSchema}
		if err := set.Add(verify.SignatureEntry{KeyID: id, Algorithm: verify.AlgECDSASHA256, File: name, SHA256: hex.EncodeToString(sum[:]), Signature: sig}); err != nil {
			return err
		}
		b, err := set.Marshal()
		if err != nil {
			return err
		}
		if err := write(manifest.SignatureSetPath(name, hex.EncodeToString(sum[:])), b); err != nil {
			return err
		}
		return write(name, data)
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	if err := signed(manifest.File, data); err != nil {
		return err
	}
	if !*v1 {
		ix, shards, err := manifest.Split(m)
		if err != nil {
			return err
		}
		for _, s := range shards {
			if err := write(s.Path, s.Data); err != nil {
				return err
			}
		}
		idata, err := ix.Marshal()
		if err != nil {
			return err
		}
		if err := signed(manifest.IndexFile, idata); err != nil {
			return err
		}
	}
	// The version a recently updated client runs: the newest but one.
	if err := os.WriteFile(filepath.Join(*dir, "current"), []byte(m.Releases[1].Version), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*dir, "pub.pem"), pub, 0o644)
}

// need prints the paths an update check reads at a v2 root.
func need(args []string) error {
	fs := flag.NewFlagSet("need", flag.ExitOnError)
	dir := fs.String("dir", "", "root")
	fs.Parse(args)
	name := manifest.IndexFile
	data, err := os.ReadFile(filepath.Join(*dir, name))
	if os.IsNotExist(err) {
		name = manifest.File
		data, err = os.ReadFile(filepath.Join(*dir, name))
	}
	if err != nil {
		return err
	}
	sum := sha256.Sum256(data)
	fmt.Println(name, manifest.SignatureSetPath(name, hex.EncodeToString(sum[:])))
	return nil
}

// serve serves dir, gzipping .json bodies for clients that accept it
// (compressed once, as a CDN caches them), and counts the body bytes sent.
func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	dir := fs.String("dir", "", "root")
	urlFile := fs.String("url-file", "", "write the URL here")
	fs.Parse(args)
	var sent atomic.Int64
	var mu sync.Mutex
	cache := map[string][]byte{}
	files := http.FileServer(http.Dir(*dir))
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/_bytes" {
			fmt.Fprintln(w, sent.Swap(0))
			return
		}
		if strings.HasSuffix(r.URL.Path, ".json") && strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") && r.Header.Get("Range") == "" {
			mu.Lock()
			z, ok := cache[r.URL.Path]
			if !ok {
				data, err := os.ReadFile(filepath.Join(*dir, filepath.FromSlash(strings.TrimPrefix(r.URL.Path, "/"))))
				if err != nil {
					mu.Unlock()
					http.NotFound(w, r)
					return
				}
				var b bytes.Buffer
				zw := gzip.NewWriter(&b)
				zw.Write(data)
				zw.Close()
				z = b.Bytes()
				cache[r.URL.Path] = z
			}
			mu.Unlock()
			w.Header().Set("Content-Encoding", "gzip")
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", fmt.Sprint(len(z)))
			n, _ := w.Write(z)
			sent.Add(int64(n))
			return
		}
		files.ServeHTTP(countWriter{w, &sent}, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	if err := os.WriteFile(*urlFile, []byte("http://"+ln.Addr().String()+"/"), 0o644); err != nil {
		return err
	}
	return http.Serve(ln, h)
}

type countWriter struct {
	http.ResponseWriter
	n *atomic.Int64
}

func (c countWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// check runs the update check of a self-updater that pins the key.
func check(args []string) error {
	fs := flag.NewFlagSet("check", flag.ExitOnError)
	url := fs.String("url", "", "release root")
	keyFile := fs.String("key", "", "public key PEM")
	current := fs.String("current", "", "the version the client runs")
	fs.Parse(args)
	pem, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	ring, err := verify.NewKeyRing(pem)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "update-check-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	in, err := install.New(install.Config{Project: "hello", Source: *url, Dir: dir, Trust: &verify.Trust{Keys: ring}, CurrentVersion: *current})
	if err != nil {
		return err
	}
	u, err := in.Check(context.Background(), manifest.Query{})
	if err != nil {
		return err
	}
	if u.Latest.Release.Version == "" {
		return fmt.Errorf("no release selected")
	}
	return nil
}

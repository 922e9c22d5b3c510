//go:build attack12

// Package harness holds the attack12 writer-side helpers (they use relkit).
// The independent checker lives in package ../check and uses only the
// standard library.
package harness

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
)

var SourceDate = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// LoadSigner reads a PKCS#8/EC PEM private key.
func LoadSigner(path string) (*sign.KeySigner, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	k, err := sign.ParsePrivateKeyPEM(data)
	if err != nil {
		return nil, err
	}
	return sign.NewSigner(k, "ecdsa-sha256")
}

// WriteKey writes an ECDSA P-256 key pair as key.pem and pub.pem in dir.
func WriteKey(dir string, k *ecdsa.PrivateKey) error {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "pub.pem"), pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

// Binaries writes two tiny fake binaries for version into dir.
func Binaries(dir, version string) ([]release.Binary, error) {
	var out []release.Binary
	for _, p := range []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"}} {
		path := filepath.Join(dir, p.OS+"_"+p.Arch, "hello")
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return nil, err
		}
		content := bytes.Repeat([]byte("#!/bin/sh\necho hello "+version+" "+p.String()+"\n"), 64)
		if err := os.WriteFile(path, content, 0o755); err != nil {
			return nil, err
		}
		out = append(out, release.Binary{Name: "hello", Path: path, Platform: p})
	}
	return out, nil
}

// Prepare stages version into dist and returns the staged root.
func Prepare(ctx context.Context, s sign.Signer, dist, version, channel string, published *manifest.Manifest) (string, error) {
	bins, err := Binaries(filepath.Join(dist, "bins"), version)
	if err != nil {
		return "", err
	}
	_, err = release.Prepare(ctx, release.Config{
		Project: "hello", Dist: filepath.Join(dist, "d"), Version: version, Channel: channel, Prebuilt: bins,
		SourceDate: SourceDate, SourceURI: "git+https://example.com/hello", Clean: true,
		Signers: []sign.Signer{s}, Published: published, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		return "", fmt.Errorf("prepare %s: %w", version, err)
	}
	return filepath.Join(dist, "d", "release"), nil
}

// Log is the publish logger: stderr when A12_LOG=1.
func Log() *slog.Logger {
	if os.Getenv("A12_LOG") == "1" {
		return slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	return slog.New(slog.DiscardHandler)
}

// Publish publishes the staged root with merging.
func Publish(ctx context.Context, store publish.Store, root string, s *sign.KeySigner, opts ...publish.Option) error {
	opts = append([]publish.Option{publish.WithRetry(publish.RetryPolicy{Attempts: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond})}, opts...)
	p, err := publish.New(store, opts...)
	if err != nil {
		return err
	}
	_, err = release.Publish(ctx, release.PublishConfig{Root: root, Publisher: p, Keys: [][]byte{s.PublicKeyPEM()},
		Signers: []sign.Signer{s}, SummaryDir: filepath.Join(filepath.Dir(root), "summary"), Logger: Log()})
	return err
}

// Amend returns an AmendConfig for store.
func Amend(store publish.Store, s *sign.KeySigner) (release.AmendConfig, error) {
	p, err := publish.New(store, publish.WithRetry(publish.RetryPolicy{Attempts: 3, InitialDelay: time.Millisecond, MaxDelay: 10 * time.Millisecond}))
	if err != nil {
		return release.AmendConfig{}, err
	}
	return release.AmendConfig{Project: "hello", Publisher: p, Keys: [][]byte{s.PublicKeyPEM()}, Signers: []sign.Signer{s}, Logger: Log()}, nil
}

// Snapshot returns every file under root (relative path -> bytes).
func Snapshot(root string) (map[string][]byte, error) {
	out := map[string][]byte{}
	err := filepath.Walk(root, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		if fi.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel(root, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		b, err := io.ReadAll(f)
		out[filepath.ToSlash(rel)] = b
		return err
	})
	return out, err
}

// SeedHistory returns a valid manifest of project hello listing n old
// releases 0.1.0 .. 0.1.(n-1) (one linux/amd64 archive each, files not
// present): a long history to stage a first release against
// (Prepare's published), so the published root's v2 index has shards.
func SeedHistory(n int) (*manifest.Manifest, error) {
	m := manifest.New("hello")
	for i := n - 1; i >= 0; i-- {
		v := fmt.Sprintf("0.1.%d", i)
		name := "hello-" + v + "-linux-amd64.tar.gz"
		r := manifest.Release{Version: v, Tag: "v" + v, Date: SourceDate.Add(-time.Duration(n-i) * time.Hour), Commit: fmt.Sprintf("%040x", i+1),
			Channel: manifest.ChannelStable, Status: manifest.StatusActive,
			Artifacts: []manifest.Artifact{{Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: "amd64", Size: 1 << 20, SHA256: fmt.Sprintf("%064x", i+1)}}}
		if i == n-1 {
			if _, err := m.Add(r); err != nil {
				return nil, err
			}
			continue
		}
		m.Releases = append(m.Releases, r)
	}
	m.Serial = int64(n)
	m.Updated = SourceDate.Add(-time.Hour)
	return m, m.Validate()
}

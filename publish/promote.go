package publish

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/relkit/relkit/internal/atomicfile"
	"github.com/relkit/relkit/internal/ctxio"
	"github.com/relkit/relkit/manifest"
)

// PromoteOptions configures [Publisher.Promote].
type PromoteOptions struct {
	// Versions limits the copy to these releases of the source manifest
	// (with or without a leading "v"). Files of the other releases must
	// already be at the destination with the same bytes, or Promote fails
	// with a [*MissingError]. Default: every release.
	Versions []string
	// RootFiles names root files to copy, when the source has them, in
	// addition to manifest.json, manifest.json.sig, signatures.json,
	// keys.json and keys.json.sig (for example
	// "install.sh").
	RootFiles []string
	// TempDir is where the release is spooled before publishing (default
	// os.TempDir()). It needs room for the files the destination lacks.
	TempDir string
	// Verify, when set, is called with the spooled directory after every
	// file has been checked against the manifest and before anything is
	// published; an error stops the promotion. Use it to check
	// manifest.json.sig against trusted keys (package verify).
	Verify func(ctx context.Context, dir string) error
}

// Promote copies a release already published at src to the Publisher's
// destination (staging to live) without rebuilding it: it fetches src's
// manifest.json and the root files published with it, fetches every file
// the manifest lists that the destination does not already hold, checks
// each against the manifest's size and SHA-256 while copying (a mismatch
// is a [*ChecksumError]), lets opts.Verify check the result, and publishes
// the same bytes through the protocol, manifest last.
//
// Files the destination already holds with the manifest's digest are not
// fetched; a destination file with other bytes is a [*ConflictError].
func (p *Publisher) Promote(ctx context.Context, src Store, opts PromoteOptions) (*Result, error) {
	if src == nil {
		return nil, errors.New("publish: Promote: nil source store")
	}
	dir, err := os.MkdirTemp(opts.TempDir, "relkit-promote-*")
	if err != nil {
		return nil, fmt.Errorf("publish: Promote: %w", err)
	}
	defer os.RemoveAll(dir)

	// The manifest and the root files that travel with it.
	mpath := filepath.Join(dir, manifest.File)
	if _, err := p.fetch(ctx, src, manifest.File, mpath, -1, "", manifest.MaxManifestSize); err != nil {
		return nil, fmt.Errorf("publish: Promote: %w", err)
	}
	m, err := manifest.LoadFile(mpath)
	if err != nil {
		return nil, fmt.Errorf("publish: Promote: source %s: %w", manifest.File, err)
	}
	for _, name := range append(slices.Clone(indexFiles), opts.RootFiles...) {
		if err := CheckName(name); err != nil || !IsMutable(name) {
			return nil, fmt.Errorf("publish: Promote: root file %q: not a root file name", name)
		}
		_, err := p.fetch(ctx, src, name, filepath.Join(dir, name), -1, "", manifest.MaxManifestSize)
		if err != nil && !errors.Is(err, ErrNotExist) {
			return nil, fmt.Errorf("publish: Promote: %w", err)
		}
	}

	// The signatures of exactly these manifest bytes, where the source
	// has them (sigs/), replace the legacy root copies, which can lag.
	if data, err := os.ReadFile(mpath); err == nil {
		sum := sha256Hex(data)
		for name, as := range map[string]string{
			manifest.SignaturePath(manifest.File, sum):    ManifestSigName,
			manifest.SignatureSetPath(manifest.File, sum): manifest.SignaturesFile,
		} {
			tmp := filepath.Join(dir, as+".cas")
			_, err := p.fetch(ctx, src, name, tmp, -1, "", manifest.MaxManifestSize)
			if errors.Is(err, ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("publish: Promote: %w", err)
			}
			if err := os.Rename(tmp, filepath.Join(dir, as)); err != nil {
				return nil, fmt.Errorf("publish: Promote: %w", err)
			}
		}
	}

	want, notFound := map[string]bool{}, map[string]bool{}
	for _, v := range opts.Versions {
		want[strings.TrimPrefix(v, "v")] = true
		notFound[strings.TrimPrefix(v, "v")] = true
	}
	type file struct {
		a      manifest.Artifact
		copyIt bool
	}
	var files []file
	seen := map[string]bool{}
	for _, r := range m.Releases {
		if len(want) > 0 && !want[r.Version] {
			for _, a := range r.Artifacts {
				if !seen[a.Path] {
					seen[a.Path] = true
					files = append(files, file{a: a})
				}
			}
			continue
		}
		delete(notFound, r.Version)
		for _, a := range r.Artifacts {
			if !seen[a.Path] {
				seen[a.Path] = true
				files = append(files, file{a: a, copyIt: true})
			}
		}
	}
	if len(notFound) > 0 {
		missing := make([]string, 0, len(notFound))
		for v := range notFound {
			missing = append(missing, v)
		}
		slices.Sort(missing)
		return nil, fmt.Errorf("publish: Promote: version(s) %s not in the source manifest: %w", strings.Join(missing, ", "), manifest.ErrNotFound)
	}

	var (
		mu        sync.Mutex
		conflicts []Conflict
		missing   []string
	)
	err = p.forEach(ctx, len(files), func(ctx context.Context, i int) error {
		a := files[i].a
		if err := CheckName(a.Path); err != nil {
			return fmt.Errorf("publish: Promote: source manifest: %w", err)
		}
		wantSum := strings.ToLower(a.SHA256)
		remote, err := p.remote(ctx, a.Path)
		if err != nil {
			return err
		}
		if remote != nil {
			if remote.Size != a.Size || remote.SHA256 != wantSum {
				mu.Lock()
				conflicts = append(conflicts, Conflict{Name: a.Path, Local: Object{Name: a.Path, Size: a.Size, SHA256: wantSum}, Remote: *remote})
				mu.Unlock()
			}
			return nil // already there
		}
		if !files[i].copyIt {
			mu.Lock()
			missing = append(missing, a.Path)
			mu.Unlock()
			return nil
		}
		dst := filepath.Join(dir, filepath.FromSlash(a.Path))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return err
		}
		_, err = p.fetch(ctx, src, a.Path, dst, a.Size, wantSum, a.Size)
		if err != nil {
			return fmt.Errorf("publish: Promote: %w", err)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(conflicts) > 0 {
		slices.SortFunc(conflicts, func(a, b Conflict) int { return strings.Compare(a.Name, b.Name) })
		return nil, &ConflictError{Conflicts: conflicts}
	}
	if len(missing) > 0 {
		slices.Sort(missing)
		return nil, &MissingError{Names: missing}
	}
	if opts.Verify != nil {
		if err := opts.Verify(ctx, dir); err != nil {
			return nil, fmt.Errorf("publish: Promote: verify: %w", err)
		}
	}
	return p.Publish(ctx, dir)
}

// fetch copies src's object name to the local file dst, with retries,
// reading at most limit bytes, and checks size and SHA-256 when given
// (size < 0 and sum "" check nothing). It returns the SHA-256.
func (p *Publisher) fetch(ctx context.Context, src Store, name, dst string, size int64, sum string, limit int64) (string, error) {
	var got string
	err := p.retry(ctx, name, func(ctx context.Context) error {
		rc, err := src.Open(ctx, name)
		if err != nil {
			return err
		}
		defer rc.Close()
		h := sha256.New()
		lr := &io.LimitedReader{R: ctxio.Reader(ctx, rc), N: limit + 1}
		n, err := atomicfile.WriteFile(dst, io.TeeReader(lr, h), 0o644)
		if err != nil {
			return err
		}
		got = hex.EncodeToString(h.Sum(nil))
		if n > limit {
			os.Remove(dst)
			return &ChecksumError{Name: name, WantSize: max(size, limit), GotSize: n}
		}
		if (size >= 0 && n != size) || (sum != "" && got != sum) {
			os.Remove(dst)
			return &ChecksumError{Name: name, WantSHA256: sum, GotSHA256: got, WantSize: size, GotSize: n}
		}
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("fetch %s: %w", name, err)
	}
	return got, nil
}

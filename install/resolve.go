package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// plan is a resolved, verified answer to a query: what to download and
// what it must hash to.
type plan struct {
	sel      manifest.Selection
	m        *manifest.Manifest // the verified manifest; nil for a file source
	src      fetcher
	query    string
	want     verify.Expected
	warnings []string
}

// downloader returns a downloader for src with the installer's settings.
func (in *Installer) downloader(src fetcher) *downloader {
	return &downloader{
		src: src, log: in.log, progress: in.cfg.Progress, retries: in.cfg.Network.Retries,
		stall: in.cfg.Network.StallTimeout, backoff: in.cfg.Network.RetryBackoff, timeout: in.cfg.Network.DownloadTimeout,
		minRate: in.cfg.Network.MinThroughput, window: in.cfg.Network.ThroughputWindow,
	}
}

// source classifies Config.Source: a forge repository, a release root
// (over HTTP or on disk), or a single local file (archive or binary).
func (in *Installer) source() (fetcher, string, error) {
	s := in.cfg.Source
	if r, ok, err := verify.ParseForgeRepo(s); ok || err != nil {
		if err != nil {
			return nil, "", err
		}
		f, err := newForgeFetcher(r, in.cfg.Network.ForgeToken, in.client, in.cfg.Network.UserAgent)
		return f, "", err
	}
	if strings.Contains(s, "://") {
		u, err := url.Parse(s)
		if err != nil {
			return nil, "", fmt.Errorf("source %q: %w", s, err)
		}
		if u.Scheme != "file" {
			f, err := newHTTPFetcher(s, in.client, in.cfg.Network.UserAgent)
			return f, "", err
		}
		s = u.Path
	}
	fi, err := os.Stat(s)
	if err != nil {
		return nil, "", fmt.Errorf("source: %w", err)
	}
	if fi.IsDir() {
		f, err := newDirFetcher(s)
		return f, "", err
	}
	if filepath.Base(s) == manifest.File {
		f, err := newDirFetcher(filepath.Dir(s))
		return f, "", err
	}
	f, err := newDirFetcher(filepath.Dir(s))
	return f, filepath.Base(s), err
}

// resolve fetches and verifies the signed manifest and selects the
// artifact for q (or, for a file source, verifies the file's signed
// checksum entry).
func (in *Installer) resolve(ctx context.Context, q manifest.Query) (*plan, error) {
	src, file, err := in.source()
	if err != nil {
		return nil, err
	}
	if q.Platform.OS == "" && q.Platform.Arch == "" {
		q.Platform = in.platform
	}
	if file != "" {
		return in.resolveFile(ctx, src, file, q)
	}
	loc := location{in.downloader(src)}
	v, err := in.releaseVerifier(ctx, loc)
	if err != nil {
		return nil, err
	}
	m, sel, err := in.selectRelease(ctx, src, loc, v, q)
	if err != nil {
		return nil, err
	}
	p := &plan{sel: sel, m: m, src: src, query: q.String(), want: verify.ExpectArtifact(sel.Artifact)}
	if sel.Release.Status == manifest.StatusDeprecated {
		p.warnings = append(p.warnings, fmt.Sprintf("%s %s is deprecated: %s", m.Project, sel.Release.Version, sel.Release.Reason))
	}
	if sel.Artifact.Kind == manifest.KindBinary && len(in.cfg.Binaries) != 1 {
		return nil, fmt.Errorf("%s is a bare binary but %d binaries are configured", sel.Artifact.Name, len(in.cfg.Binaries))
	}
	return p, nil
}

// selectRelease answers q from the source's signed v2 index, reading
// only the shards the answer (and the installed version's status) needs,
// or, at a source without index.json, from the whole manifest.json. It
// returns the releases it read as a manifest, for the checks that follow.
func (in *Installer) selectRelease(ctx context.Context, src fetcher, loc location, v *verify.Verifier, q manifest.Query) (*manifest.Manifest, manifest.Selection, error) {
	ix, err := v.FetchIndex(ctx, loc)
	if errors.Is(err, verify.ErrIndexNotPublished) {
		m, err := v.FetchManifest(ctx, loc)
		if err != nil {
			return nil, manifest.Selection{}, verificationError(src.name(manifest.File), err)
		}
		if mu, ok := src.(verify.ManifestUser); ok {
			mu.UseManifest(m) // a forge: the version's files are in the release the manifest names
		}
		sel, err := m.Select(q)
		return m, sel, err
	}
	if err != nil {
		return nil, manifest.Selection{}, verificationError(src.name(manifest.IndexFile), err)
	}
	shardErr := func(err error) error {
		var se *manifest.ShardError
		if errors.As(err, &se) {
			return verificationError(src.name(se.Path), err)
		}
		return err
	}
	sel, err := verify.SelectRelease(ctx, loc, ix, q)
	if err != nil {
		return nil, manifest.Selection{}, shardErr(err)
	}
	if inst, _, _, _ := in.installed(); inst != "" {
		// Its status (yanked, deprecated) is reported by Check.
		if _, _, err := verify.FetchRelease(ctx, loc, ix, inst); err != nil {
			return nil, manifest.Selection{}, shardErr(err)
		}
	}
	return ix.Manifest(), sel, nil
}

// maxMetadata bounds one metadata file read through a location:
// manifest.json, a signature, signatures.json or keys.json.
const maxMetadata = max(manifest.MaxManifestSize, verify.MaxSignaturesSize, verify.MaxKeysSize)

// location adapts the installer's fetcher (retries, stall timeout, the
// configured HTTP client) to [verify.Location], through which verify
// reads the signed metadata.
type location struct{ d *downloader }

// Open reads a small file into memory, at most maxMetadata bytes.
func (l location) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	b, err := l.d.fetchSmall(ctx, name, maxMetadata)
	if err != nil {
		return nil, err
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// verificationError wraps a failure from verify in a *VerificationError,
// but passes transport failures (the file could not be read) through.
func verificationError(subject string, err error) error {
	var de *DownloadError
	if errors.As(err, &de) || errors.Is(err, fs.ErrNotExist) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &VerificationError{Subject: subject, Err: err}
}

// releaseVerifier returns the verifier for release metadata: the
// configured one, or, with Roots, one trusting the signing keys of the
// root-signed keys.json at the source, after following the root chain
// (see verify.Trust.Verifier).
func (in *Installer) releaseVerifier(ctx context.Context, loc verify.Location) (*verify.Verifier, error) {
	if in.verifier != nil {
		return in.verifier, nil
	}
	v, err := in.trust.Verifier(ctx, loc)
	if err != nil {
		return nil, verificationError(loc.(location).d.src.name(manifest.KeysFile), err)
	}
	return v, nil
}

// signatures fetches the detached signature of name and the directory's
// signatures.json, either of which may be missing.
func (in *Installer) signatures(ctx context.Context, d *downloader, name string) (verify.Signatures, error) {
	var sigs verify.Signatures
	var err error
	if sigs.Detached, err = d.fetchOptional(ctx, name+verify.SignatureSuffix, verify.MaxSignatureSize); err != nil {
		return sigs, err
	}
	set, err := d.fetchOptional(ctx, manifest.SignaturesFile, verify.MaxSignaturesSize)
	if err != nil {
		return sigs, err
	}
	if set != nil {
		if sigs.Set, err = verify.ParseSignatureSet(set); err != nil {
			return sigs, &VerificationError{Subject: d.src.name(manifest.SignaturesFile), Err: err}
		}
	}
	return sigs, nil
}

// resolveFile verifies a local archive or binary against the signed
// SHA256SUMS beside it. The version comes from q.Version or the file name
// ("<project>-<version>-<os>-<arch>.<ext>").
func (in *Installer) resolveFile(ctx context.Context, src fetcher, file string, q manifest.Query) (*plan, error) {
	if q.Channel != "" || q.Alias != "" {
		return nil, fmt.Errorf("source %s is a single file: a channel or alias cannot be selected from it", in.cfg.Source)
	}
	d := in.downloader(src)
	sums, err := d.fetchSmall(ctx, manifest.ChecksumsFile, manifest.MaxChecksumsSize)
	if err != nil {
		return nil, fmt.Errorf("cannot verify %s without the signed %s beside it: %w", src.name(file), manifest.ChecksumsFile, err)
	}
	sigs, err := in.signatures(ctx, d, manifest.ChecksumsFile)
	if err != nil {
		return nil, err
	}
	subject := src.name(manifest.ChecksumsFile)
	v, err := in.releaseVerifier(ctx, location{d})
	if err != nil {
		return nil, err
	}
	if _, err := v.VerifySignatures(manifest.ChecksumsFile, sums, sigs); err != nil {
		return nil, &VerificationError{Subject: subject, Err: err}
	}
	cs, err := verify.ParseChecksums(bytes.NewReader(sums))
	if err != nil {
		return nil, &VerificationError{Subject: subject, Err: err}
	}
	want, err := verify.ExpectChecksum(cs, file)
	if err != nil {
		return nil, &VerificationError{Subject: subject, Err: err}
	}
	want.Name = src.name(file)

	name, version, plat, parsed := parseArtifactName(file)
	mismatch := func(field, want, got string) error {
		return &VerificationError{Subject: src.name(file), Err: &verify.ArtifactMismatchError{Name: file, Field: field, Want: want, Got: got}}
	}
	if parsed && name != in.cfg.Project {
		return nil, mismatch("name", in.cfg.Project, name)
	}
	switch {
	case q.Version != "" && parsed:
		a, err1 := manifest.ParseVersion(q.Version)
		b, err2 := manifest.ParseVersion(version)
		if err1 != nil || err2 != nil || manifest.Compare(a, b) != 0 {
			return nil, mismatch("version", q.Version, version)
		}
	case q.Version != "":
		version = strings.TrimPrefix(q.Version, "v")
	case !parsed:
		return nil, fmt.Errorf("cannot tell the version of %s from its name: ask for a version explicitly", src.name(file))
	}
	if _, err := manifest.ParseVersion(version); err != nil {
		return nil, err
	}
	if q.Constraint != "" {
		c, err := manifest.ParseConstraint(q.Constraint)
		if err != nil {
			return nil, err
		}
		if !c.Check(manifest.MustParseVersion(version)) {
			return nil, &manifest.NoMatchError{Query: q.String(), Reasons: []string{version + " (from " + file + ") is not in range"}}
		}
	}
	if parsed && plat != q.Platform {
		if plat.OS != q.Platform.OS {
			return nil, mismatch("os", q.Platform.OS, plat.OS)
		}
		return nil, mismatch("arch", q.Platform.Arch, plat.Arch)
	}
	kind := manifest.KindArchive
	if !isArchiveName(file) {
		kind = manifest.KindBinary
		if len(in.cfg.Binaries) != 1 {
			return nil, fmt.Errorf("%s is a bare binary but %d binaries are configured", file, len(in.cfg.Binaries))
		}
	}
	sel := manifest.Selection{
		Release:  manifest.Release{Version: version, Status: manifest.StatusActive},
		Artifact: manifest.Artifact{Name: file, Path: file, Kind: kind, OS: q.Platform.OS, Arch: q.Platform.Arch, Size: want.Size, SHA256: want.SHA256},
	}
	return &plan{sel: sel, src: src, query: "file " + file, want: want}, nil
}

// archiveExts are the archive name endings relkit unpacks.
// The compressed tars beyond .tar.gz need a registered [Decoder].
var archiveExts = []string{".tar.gz", ".tgz", ".zip", ".tar.xz", ".txz", ".tar.zst", ".tzst"}

func isArchiveName(name string) bool {
	l := strings.ToLower(name)
	for _, e := range archiveExts {
		if strings.HasSuffix(l, e) {
			return true
		}
	}
	return false
}

// parseArtifactName splits "<name>-<version>-<os>-<arch>[.ext]".
func parseArtifactName(file string) (name, version string, p manifest.Platform, ok bool) {
	base := file
	for _, e := range append(archiveExts, ".exe") {
		if strings.HasSuffix(strings.ToLower(base), e) {
			base = base[:len(base)-len(e)]
			break
		}
	}
	parts := strings.Split(base, "-")
	if len(parts) < 4 {
		return "", "", p, false
	}
	osName, err1 := manifest.NormalizeOS(parts[len(parts)-2])
	arch, err2 := manifest.NormalizeArch(parts[len(parts)-1])
	if err1 != nil || err2 != nil {
		return "", "", p, false
	}
	rest := parts[:len(parts)-2]
	for i := 1; i < len(rest); i++ {
		v := strings.Join(rest[i:], "-")
		if pv, err := manifest.ParseVersion(v); err == nil {
			return strings.Join(rest[:i], "-"), pv.String(), manifest.Platform{OS: osName, Arch: arch}, true
		}
	}
	return "", "", p, false
}

// fetchAndExtract downloads the planned artifact into a temporary file in
// the target directory, verifying it while it streams, checks it against
// the signed manifest, and unpacks the binaries into temporary files. It
// returns them and the artifact's SHA-256.
func (in *Installer) fetchAndExtract(ctx context.Context, p *plan) ([]newFile, string, error) {
	if p.sel.Artifact.Kind == manifest.KindArchive {
		if err := checkDecodable(p.sel.Artifact.Name); err != nil {
			return nil, "", err
		}
	}
	tmp, err := createTemp(in.cfg.Dir, in.primary(), tempDownload)
	if err != nil {
		return nil, "", err
	}
	keep := false
	defer func() {
		tmp.Close()
		if !keep {
			os.Remove(tmp.Name())
		}
	}()
	a := p.sel.Artifact
	subject := p.src.name(a.Path)
	in.log.Info("downloading", "url", subject, "size", a.Size)
	x := &extractor{archive: a.Name, root: in.cfg.ArchiveDir, want: in.cfg.Binaries, dir: in.cfg.Dir, lim: in.lim, decoder: lookupDecoder(a.Name, nil)}
	var stream *streamExtraction
	if a.Kind == manifest.KindArchive && (detectFormat(a.Name, nil) == formatTarGz || x.decoder != nil) {
		stream = startStreamExtraction(ctx, x)
	}
	var tee streamTee
	if stream != nil {
		tee = stream
	}
	err = in.downloader(p.src).fetchVerified(ctx, a.Path, p.want, in.lim.MaxDownload, tmp, tee)
	var streamed []newFile
	var streamErr error
	if stream != nil {
		var ok bool
		if streamed, streamErr, ok = stream.finish(err); !ok {
			stream = nil // extract from the file below, if the download verified
		}
	}
	if err != nil {
		if errors.Is(err, verify.ErrChecksumMismatch) || errors.Is(err, verify.ErrSizeMismatch) || errors.Is(err, ErrSizeMismatch) {
			return nil, "", &VerificationError{Subject: subject, Err: err}
		}
		return nil, "", err
	}
	removeStreamed := func() {
		for _, nf := range streamed {
			removeQuiet(nf.Temp)
		}
	}
	fi, err := tmp.Stat()
	if err != nil {
		return nil, "", err
	}
	in.log.Debug("downloaded and verified", "path", a.Path, "bytes", fi.Size(), "sha256", p.want.SHA256)
	if p.m != nil {
		if _, err := verify.CheckArtifact(p.m, verify.ArtifactClaim{
			Version: p.sel.Release.Version, Name: a.Name, OS: a.OS, Arch: a.Arch, Size: fi.Size(), SHA256: p.want.SHA256,
		}); err != nil {
			removeStreamed()
			return nil, "", &VerificationError{Subject: subject, Err: err}
		}
	}
	sum := strings.ToLower(p.want.SHA256)
	if stream != nil {
		if streamErr == nil {
			streamErr = x.checkComplete(streamed)
		}
		if streamErr != nil {
			removeStreamed()
			return nil, "", streamErr
		}
		in.log.Debug("extracted while downloading", "archive", a.Name, "files", len(streamed))
		return streamed, sum, nil
	}
	format := detectFormat(a.Name, tmp)
	if a.Kind != manifest.KindBinary && format == formatBinary {
		return nil, "", &ArchiveError{Archive: a.Name, Reason: "not a format relkit unpacks (tar.gz, tgz, zip, or a registered Decoder's)", Err: ErrUnsafeArchive}
	}
	if a.Kind == manifest.KindBinary {
		if len(in.cfg.Binaries) != 1 {
			return nil, "", fmt.Errorf("%s is not an archive but %d binaries are configured", a.Name, len(in.cfg.Binaries))
		}
		// The download itself is the new binary: make it durable.
		if err := tmp.Sync(); err != nil {
			return nil, "", err
		}
		if err := tmp.Close(); err != nil {
			return nil, "", err
		}
		keep = true
		return []newFile{{Name: in.primary(), Temp: tmp.Name(), Size: fi.Size()}}, sum, nil
	}
	files, err := x.extract(ctx, tmp, fi.Size(), format)
	if err != nil {
		return nil, "", err
	}
	in.log.Debug("extracted", "archive", a.Name, "files", len(files))
	return files, sum, nil
}

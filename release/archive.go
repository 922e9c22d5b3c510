package release

import (
	"archive/tar"
	"archive/zip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/klauspost/compress/flate"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"

	"github.com/relkit/relkit/manifest"
)

// File is an extra file to put in every archive (LICENSE, README,
// completions).
type File struct {
	// Src is the file on disk.
	Src string
	// Name is its path inside the archive; empty uses the base name of
	// Src. It may name a subdirectory ("completions/hello.bash") but must
	// be relative and must not contain "..".
	Name string
	// Mode is the permission bits in the archive; 0 means 0644.
	Mode os.FileMode
}

// Package is the package stage ("package"): for each platform in
// State.Binaries it writes one archive per format into the version
// directory, <project>-<version>-<os>-<arch>.tar.gz by default (.zip for
// windows), with the binaries under their bare names at the root plus the
// Extra files, and records them in State.Artifacts. Each archive is hashed
// while it is written.
//
// Archives are reproducible: entries sorted by name, every mtime set to
// State.Date, uid/gid 0 with no user or group names, modes 0755 for
// binaries and 0644 (or File.Mode) for the rest, a gzip header without
// name or time, and single-threaded deflate (klauspost/compress/flate, for
// .tar.gz and .zip), xz and zstd encoders, whose output depends only on
// the input and the level. Two runs on the same inputs make identical
// bytes.
//
// Run in a [Config.Pipeline] after [Build], a platform's archives are
// written as soon as its binaries are built, while the other targets
// build; the stage keeps them when their inputs are unchanged.
//
// Clients read .tar.xz and .tar.zst only when they import install/xz or
// install/zstd; the manifest lists the formats in name order, so a client
// selecting by platform alone takes the .tar.gz when there is one.
type Package struct {
	// Formats are the archive formats written for every platform but
	// windows, which always gets a zip: [FormatTarGz] (the default when
	// empty), [FormatTarXz], [FormatTarZst] or [FormatZip]. An unknown
	// format is a *ConfigError before anything is built.
	Formats []string
	// Extra files go into every archive.
	Extra []File
	// Parallel limits how many archives are written at once; 0 means
	// [DefaultParallel].
	Parallel int
	// Level is the gzip/deflate compression level; 0 means
	// flate.DefaultCompression. For zstd it is a zstd level (1-22,
	// mapped with zstd.EncoderLevelFromZstd); xz ignores it.
	Level int

	// early holds the archives the build stage wrote while other
	// targets were still building (set by [Config.Pipeline]).
	early *earlyArchives
}

// Archive formats [Package] writes.
const (
	FormatTarGz  = "tar.gz"
	FormatTarXz  = "tar.xz"
	FormatTarZst = "tar.zst"
	FormatZip    = "zip"
)

// ArchiveFormats lists the formats [Package.Formats] accepts.
var ArchiveFormats = []string{FormatTarGz, FormatTarXz, FormatTarZst, FormatZip}

// ArchiveNameFormat returns the archive name for a platform in a format:
// <project>-<version>-<os>-<arch>.<format>.
func ArchiveNameFormat(project string, v manifest.Version, p manifest.Platform, format string) string {
	return fmt.Sprintf("%s-%s-%s-%s.%s", project, v, p.OS, p.Arch, format)
}

// formats returns the formats for platform pl, checked.
func (p *Package) formats(pl manifest.Platform) []string {
	if pl.OS == "windows" {
		return []string{FormatZip}
	}
	if len(p.Formats) == 0 {
		return []string{FormatTarGz}
	}
	return p.Formats
}

// check validates the configuration.
func (p *Package) check() error {
	seen := map[string]bool{}
	for _, f := range p.Formats {
		if !slices.Contains(ArchiveFormats, f) {
			return &ConfigError{Field: "Package.Formats", Reason: fmt.Sprintf("unknown archive format %q (want one of %s)", f, strings.Join(ArchiveFormats, ", "))}
		}
		if seen[f] {
			return &ConfigError{Field: "Package.Formats", Reason: fmt.Sprintf("%q listed twice", f)}
		}
		seen[f] = true
	}
	return nil
}

// Name returns "package".
func (p *Package) Name() string { return "package" }

// ArchiveName returns the conventional archive name for a platform:
// <project>-<version>-<os>-<arch>.tar.gz, or .zip for windows.
func ArchiveName(project string, v manifest.Version, p manifest.Platform) string {
	return fmt.Sprintf("%s-%s-%s-%s%s", project, v, p.OS, p.Arch, p.ArchiveExt())
}

// entry is one file of an archive.
type entry struct {
	name string
	src  string
	mode os.FileMode
}

// Run writes one archive per platform. Archives the build stage already
// wrote while the other targets were building (see [Build]) are kept when
// their inputs are unchanged, and written again otherwise.
func (p *Package) Run(ctx context.Context, st *State) error {
	early := p.early
	p.early = nil
	if err := p.checkState(st, true); err != nil {
		return err
	}
	extra, err := p.extraEntries()
	if err != nil {
		return err
	}
	jobs, err := p.plan(st.Binaries, extra)
	if err != nil {
		return err
	}
	arts := make([]manifest.Artifact, len(jobs))
	reused := make([]bool, len(jobs))
	errs := runLimited(ctx, p.Parallel, len(jobs), func(ctx context.Context, i int) error {
		name := jobs[i].name(st)
		if a, ok := early.take(name, jobs[i], st.Date); ok {
			arts[i], reused[i] = a, true
			return nil
		}
		a, err := p.write(ctx, st, jobs[i])
		if err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		arts[i] = a
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for i, a := range arts {
		st.logger().Info("packaged", "archive", a.Name, "size", a.Size, "sha256", a.SHA256, "during_build", reused[i])
		st.AddArtifact(a)
	}
	return nil
}

// checkState checks the configuration and the state fields every
// archive needs (and, with bins, that there are binaries).
func (p *Package) checkState(st *State, bins bool) error {
	if err := p.check(); err != nil {
		return err
	}
	if err := st.needVersion(); err != nil {
		return err
	}
	if st.Project == "" {
		return &ConfigError{Field: "State.Project", Reason: "not set"}
	}
	if bins && len(st.Binaries) == 0 {
		return &ConfigError{Field: "State.Binaries", Reason: "nothing to package (run build or prebuilt first)"}
	}
	if st.Date.IsZero() {
		return &ConfigError{Field: "State.Date", Reason: "not set: archives need a fixed mtime (SOURCE_DATE_EPOCH or the commit time)"}
	}
	return nil
}

// archiveJob is one archive to write: a platform, a format and its
// entries, sorted by name.
type archiveJob struct {
	pl      manifest.Platform
	format  string
	entries []entry
}

func (j archiveJob) name(st *State) string {
	return ArchiveNameFormat(st.Project, st.Version, j.pl, j.format)
}

// plan returns the archives to write for bins, platforms in name order.
func (p *Package) plan(bins []Binary, extra []entry) ([]archiveJob, error) {
	var plats []manifest.Platform
	byPlat := map[manifest.Platform][]entry{}
	for _, b := range bins {
		if _, ok := byPlat[b.Platform]; !ok {
			plats = append(plats, b.Platform)
		}
		byPlat[b.Platform] = append(byPlat[b.Platform], entry{name: b.Name, src: b.Path, mode: 0o755})
	}
	slices.SortFunc(plats, func(a, b manifest.Platform) int { return strings.Compare(a.String(), b.String()) })
	var jobs []archiveJob
	for _, pl := range plats {
		entries := append(slices.Clone(byPlat[pl]), extra...)
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		for j := 1; j < len(entries); j++ {
			if entries[j].name == entries[j-1].name {
				return nil, &ConfigError{Field: "Package", Reason: fmt.Sprintf("two files named %q in the %s archive", entries[j].name, pl)}
			}
		}
		for _, f := range p.formats(pl) {
			jobs = append(jobs, archiveJob{pl: pl, format: f, entries: entries})
		}
	}
	return jobs, nil
}

// write writes one archive into the version directory.
func (p *Package) write(ctx context.Context, st *State, j archiveJob) (manifest.Artifact, error) {
	return st.stageFile(j.name(st), manifest.KindArchive, j.pl, func(w io.Writer) error {
		if j.format == FormatZip {
			return writeZip(ctx, w, j.entries, st.Date, p.Level)
		}
		return writeTarCompressed(ctx, w, j.entries, st.Date, j.format, p.Level)
	})
}

func (p *Package) extraEntries() ([]entry, error) {
	var out []entry
	for _, f := range p.Extra {
		name := f.Name
		if name == "" {
			name = path.Base(strings.ReplaceAll(f.Src, `\`, "/"))
		}
		if err := checkEntryName(name); err != nil {
			return nil, &ConfigError{Field: "Package.Extra", Reason: err.Error()}
		}
		if _, err := os.Stat(f.Src); err != nil {
			return nil, fmt.Errorf("extra file: %w", err)
		}
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		out = append(out, entry{name: name, src: f.Src, mode: mode})
	}
	return out, nil
}

func checkEntryName(name string) error {
	if name == "" || path.IsAbs(name) || strings.Contains(name, `\`) || path.Clean(name) != name || name == "." {
		return fmt.Errorf("archive entry name %q must be a clean relative path", name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return fmt.Errorf("archive entry name %q has a \"..\" element", name)
		}
	}
	return nil
}

func level(l int) int {
	if l == 0 {
		return flate.DefaultCompression
	}
	return l
}

// writeTarCompressed writes a reproducible compressed tar of entries
// (already sorted) in format (tar.gz, tar.xz, tar.zst).
func writeTarCompressed(ctx context.Context, w io.Writer, entries []entry, mtime time.Time, format string, lvl int) error {
	var zw io.WriteCloser
	var err error
	switch format {
	case FormatTarGz:
		// No name, no mtime, OS "unknown". klauspost/compress/gzip
		// (about 3x faster than compress/gzip at the default level, and
		// as deterministic) writes the zero ModTime as its Unix time
		// truncated to 32 bits, so the epoch is set explicitly: mtime 0
		// means none.
		var gz *gzip.Writer
		gz, err = gzip.NewWriterLevel(w, level(lvl))
		if err == nil {
			gz.ModTime = time.Unix(0, 0)
		}
		zw = gz
	case FormatTarXz:
		// One block, CRC64, the library's default 8 MiB dictionary:
		// what any xz reads, and well under install/xz's cap.
		zw, err = xz.WriterConfig{}.NewWriter(w)
	case FormatTarZst:
		zl := zstd.SpeedDefault
		if lvl > 0 {
			zl = zstd.EncoderLevelFromZstd(lvl)
		}
		// One goroutine, so the output depends only on the input.
		zw, err = zstd.NewWriter(w, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zl), zstd.WithEncoderCRC(true))
	default:
		return &ConfigError{Field: "Package.Formats", Reason: fmt.Sprintf("unknown archive format %q", format)}
	}
	if err != nil {
		return err
	}
	return writeTar(ctx, zw, entries, mtime)
}

// writeTar writes a reproducible tar of entries (already sorted) into zw
// and closes it.
func writeTar(ctx context.Context, gz io.WriteCloser, entries []entry, mtime time.Time) error {
	tw := tar.NewWriter(gz)
	mtime = mtime.UTC().Truncate(time.Second)
	dirs := map[string]bool{}
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		// Parent directories of nested extra files, once each.
		for d := path.Dir(e.name); d != "." && !dirs[d]; d = path.Dir(d) {
			dirs[d] = true
			if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d + "/", Mode: 0o755, ModTime: mtime, Format: tar.FormatUSTAR}); err != nil {
				return err
			}
		}
		if err := addTarFile(tw, e, mtime); err != nil {
			return err
		}
	}
	if err := tw.Close(); err != nil {
		return err
	}
	return gz.Close()
}

// openRegular opens src for archiving; anything but a regular file is an
// error.
func openRegular(src string) (*os.File, os.FileInfo, error) {
	f, err := os.Open(src)
	if err != nil {
		return nil, nil, err
	}
	fi, err := f.Stat()
	if err == nil && !fi.Mode().IsRegular() {
		err = fmt.Errorf("%s: not a regular file", src)
	}
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, fi, nil
}

func addTarFile(tw *tar.Writer, e entry, mtime time.Time) error {
	f, fi, err := openRegular(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &tar.Header{
		Typeflag: tar.TypeReg, Name: e.name, Size: fi.Size(), Mode: int64(e.mode),
		ModTime: mtime, Format: tar.FormatUSTAR,
	}
	if len(e.name) > 100 {
		hdr.Format = tar.FormatPAX
	}
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err != nil {
		return fmt.Errorf("%s: %w", e.src, err)
	}
	if n != fi.Size() {
		return fmt.Errorf("%s: changed while archiving", e.src)
	}
	return nil
}

// writeZip writes a reproducible zip of entries (already sorted).
func writeZip(ctx context.Context, w io.Writer, entries []entry, mtime time.Time, lvl int) error {
	zw := zip.NewWriter(w)
	zw.RegisterCompressor(zip.Deflate, func(out io.Writer) (io.WriteCloser, error) {
		return flate.NewWriter(out, level(lvl))
	})
	mtime = mtime.UTC().Truncate(time.Second)
	for _, e := range entries {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := addZipFile(zw, e, mtime); err != nil {
			return err
		}
	}
	return zw.Close()
}

func addZipFile(zw *zip.Writer, e entry, mtime time.Time) error {
	f, _, err := openRegular(e.src)
	if err != nil {
		return err
	}
	defer f.Close()
	hdr := &zip.FileHeader{Name: e.name, Method: zip.Deflate, Modified: mtime}
	hdr.SetMode(e.mode)
	zf, err := zw.CreateHeader(hdr)
	if err != nil {
		return err
	}
	if _, err := io.Copy(zf, f); err != nil {
		return fmt.Errorf("%s: %w", e.src, err)
	}
	return nil
}

package release

import (
	"archive/tar"
	"archive/zip"
	"compress/flate"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

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
// State.Binaries it writes one archive into the version directory,
// <project>-<version>-<os>-<arch>.tar.gz (.zip for windows), with the
// binaries under their bare names at the root plus the Extra files, and
// records it in State.Artifacts. The archive is hashed while it is
// written.
//
// Archives are reproducible: entries sorted by name, every mtime set to
// State.Date, uid/gid 0 with no user or group names, modes 0755 for
// binaries and 0644 (or File.Mode) for the rest, and a gzip header
// without name or time. Two runs on the same inputs make identical bytes.
type Package struct {
	// Extra files go into every archive.
	Extra []File
	// Parallel limits how many archives are written at once; 0 means
	// [DefaultParallel].
	Parallel int
	// Level is the compression level (gzip/deflate); 0 means
	// flate.DefaultCompression.
	Level int
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

// Run writes one archive per platform.
func (p *Package) Run(ctx context.Context, st *State) error {
	if err := st.needVersion(); err != nil {
		return err
	}
	if st.Project == "" {
		return &ConfigError{Field: "State.Project", Reason: "not set"}
	}
	if len(st.Binaries) == 0 {
		return &ConfigError{Field: "State.Binaries", Reason: "nothing to package (run build or prebuilt first)"}
	}
	if st.Date.IsZero() {
		return &ConfigError{Field: "State.Date", Reason: "not set: archives need a fixed mtime (SOURCE_DATE_EPOCH or the commit time)"}
	}
	extra, err := p.extraEntries()
	if err != nil {
		return err
	}
	var plats []manifest.Platform
	byPlat := map[manifest.Platform][]entry{}
	for _, b := range st.Binaries {
		if _, ok := byPlat[b.Platform]; !ok {
			plats = append(plats, b.Platform)
		}
		byPlat[b.Platform] = append(byPlat[b.Platform], entry{name: b.Name, src: b.Path, mode: 0o755})
	}
	slices.SortFunc(plats, func(a, b manifest.Platform) int { return strings.Compare(a.String(), b.String()) })
	arts := make([]manifest.Artifact, len(plats))
	errs := runLimited(ctx, p.Parallel, len(plats), func(ctx context.Context, i int) error {
		pl := plats[i]
		entries := append(slices.Clone(byPlat[pl]), extra...)
		slices.SortFunc(entries, func(a, b entry) int { return strings.Compare(a.name, b.name) })
		for j := 1; j < len(entries); j++ {
			if entries[j].name == entries[j-1].name {
				return &ConfigError{Field: "Package", Reason: fmt.Sprintf("two files named %q in the %s archive", entries[j].name, pl)}
			}
		}
		name := ArchiveName(st.Project, st.Version, pl)
		a, err := st.stageFile(name, manifest.KindArchive, pl, func(w io.Writer) error {
			if pl.OS == "windows" {
				return writeZip(ctx, w, entries, st.Date, p.Level)
			}
			return writeTarGz(ctx, w, entries, st.Date, p.Level)
		})
		if err != nil {
			return fmt.Errorf("archive %s: %w", name, err)
		}
		arts[i] = a
		st.logger().Info("packaged", "archive", name, "size", a.Size, "sha256", a.SHA256)
		return nil
	})
	if err := errors.Join(errs...); err != nil {
		return err
	}
	for _, a := range arts {
		st.AddArtifact(a)
	}
	return nil
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
			return fmt.Errorf("archive entry name %q contains ..", name)
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

// writeTarGz writes a reproducible tar.gz of entries (already sorted).
func writeTarGz(ctx context.Context, w io.Writer, entries []entry, mtime time.Time, lvl int) error {
	gz, err := gzip.NewWriterLevel(w, level(lvl))
	if err != nil {
		return err
	}
	// The zero gzip.Header: no name, no mtime, OS "unknown".
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

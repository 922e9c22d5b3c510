package install

import (
	"archive/tar"
	"archive/zip"
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
)

// Default extraction limits; see [Limits].
const (
	// DefaultMaxDownload caps the size of one downloaded file (4 GiB).
	DefaultMaxDownload = 4 << 30
	// DefaultMaxEntrySize caps one extracted file (2 GiB).
	DefaultMaxEntrySize = 2 << 30
	// DefaultMaxTotalSize caps everything an archive decompresses to
	// (4 GiB).
	DefaultMaxTotalSize = 4 << 30
	// DefaultMaxRatio caps decompressed bytes per compressed byte (200):
	// executables compress 2-5x, a size bomb 1000x.
	DefaultMaxRatio = 200
	// DefaultMaxEntries caps the number of entries in an archive.
	DefaultMaxEntries = 10000
	// ratioFloor is how many bytes an archive may decompress to before the
	// ratio limit applies (small archives of zeros are not bombs).
	ratioFloor = 1 << 20
)

// Limits bound what an install reads and writes. Zero fields take the
// defaults above.
type Limits struct {
	// MaxDownload caps one downloaded file. Default [DefaultMaxDownload].
	MaxDownload int64
	// MaxEntrySize caps one extracted file. Default [DefaultMaxEntrySize].
	MaxEntrySize int64
	// MaxTotalSize caps all bytes an archive decompresses to, counting
	// entries that are skipped. Default [DefaultMaxTotalSize].
	MaxTotalSize int64
	// MaxRatio caps decompressed/compressed bytes once more than 1 MiB
	// has been decompressed. Default [DefaultMaxRatio].
	MaxRatio int64
	// MaxEntries caps the number of archive entries. Default
	// [DefaultMaxEntries].
	MaxEntries int
}

func (l Limits) withDefaults() Limits {
	if l.MaxDownload <= 0 {
		l.MaxDownload = DefaultMaxDownload
	}
	if l.MaxEntrySize <= 0 {
		l.MaxEntrySize = DefaultMaxEntrySize
	}
	if l.MaxTotalSize <= 0 {
		l.MaxTotalSize = DefaultMaxTotalSize
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	return l
}

// archiveFormat is how a downloaded file is unpacked.
type archiveFormat int

const (
	formatBinary archiveFormat = iota // a bare executable
	formatTarGz
	formatZip
	formatTarDecoded // a tar compressed in a registered Decoder's format
)

// String describes the archiveFormat in words, as error messages show it.
func (f archiveFormat) String() string {
	switch f {
	case formatTarGz:
		return "tar.gz"
	case formatZip:
		return "zip"
	case formatTarDecoded:
		return "tar (registered decoder)"
	}
	return "binary"
}

// detectFormat decides the format from the name, then from magic bytes.
func detectFormat(name string, f io.ReaderAt) archiveFormat {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"):
		return formatTarGz
	case strings.HasSuffix(lower, ".zip"):
		return formatZip
	}
	if lookupDecoder(name, f) != nil {
		return formatTarDecoded
	}
	var magic [4]byte
	if f == nil {
		return formatBinary
	}
	if n, _ := f.ReadAt(magic[:], 0); n == 4 {
		switch {
		case magic[0] == 0x1f && magic[1] == 0x8b:
			return formatTarGz
		case string(magic[:]) == "PK\x03\x04":
			return formatZip
		}
	}
	return formatBinary
}

// newFile is one binary written to a temporary file in the target
// directory, waiting to be swapped in.
type newFile struct {
	Name string // base name of the installed binary
	Temp string // full path of the temporary file
	Size int64
}

// extractor unpacks the wanted entries of an archive into temporary
// files in dir.
type extractor struct {
	archive string   // display name
	root    string   // directory inside the archive holding the binaries ("" = root)
	want    []string // base names to extract
	dir     string   // target directory
	lim     Limits
	decoder *Decoder // the tar decompressor; nil is gzip
}

func (x *extractor) errf(entry string, sentinel error, format string, a ...any) error {
	return &ArchiveError{Archive: x.archive, Entry: entry, Reason: fmt.Sprintf(format, a...), Err: sentinel}
}

// wantedName returns the binary name an archive entry installs as, or "".
func (x *extractor) wantedName(clean string) string {
	for _, w := range x.want {
		if clean == path.Join(x.root, w) {
			return w
		}
	}
	return ""
}

// cleanEntryName validates an archive entry name and returns it cleaned
// (no trailing slash), or a reason it is unsafe.
func cleanEntryName(name string) (string, string) {
	switch {
	case name == "":
		return "", "empty name"
	case strings.ContainsRune(name, 0):
		return "", "name contains NUL"
	case strings.Contains(name, `\`):
		return "", "name contains a backslash (a path separator on Windows)"
	case strings.HasPrefix(name, "/"):
		return "", "absolute path"
	case len(name) >= 2 && name[1] == ':':
		return "", "absolute path (drive letter)"
	}
	for _, part := range strings.Split(name, "/") {
		if part == ".." {
			return "", `path contains ".."`
		}
	}
	c := path.Clean(name)
	if c == "." {
		return ".", ""
	}
	return c, ""
}

// linkEscapes reports whether a symlink at entry pointing to target
// resolves outside the archive root.
func linkEscapes(entry, target string) bool {
	if target == "" || strings.HasPrefix(target, "/") || strings.Contains(target, `\`) ||
		(len(target) >= 2 && target[1] == ':') {
		return true
	}
	j := path.Join(path.Dir(entry), target)
	return j == ".." || strings.HasPrefix(j, "../")
}

// extract unpacks the wanted binaries from the archive file f of the
// given format. On error every temporary file it created is removed.
func (x *extractor) extract(ctx context.Context, f *os.File, size int64, format archiveFormat) (out []newFile, err error) {
	defer func() {
		if err != nil {
			for _, nf := range out {
				os.Remove(nf.Temp)
			}
			out = nil
		}
	}()
	switch format {
	case formatTarGz:
		out, err = x.extractTarGz(ctx, f)
	case formatZip:
		out, err = x.extractZip(ctx, f, size)
	case formatTarDecoded:
		if x.decoder == nil {
			x.decoder = lookupDecoder(x.archive, f)
		}
		out, err = x.extractTarGz(ctx, f)
	default:
		return nil, fmt.Errorf("extract %s: not an archive", x.archive)
	}
	if err != nil {
		return out, err
	}
	return out, x.checkComplete(out)
}

// checkComplete fails with ErrMissingEntry unless out holds every wanted
// binary.
func (x *extractor) checkComplete(out []newFile) error {
	got := map[string]bool{}
	for _, nf := range out {
		got[nf.Name] = true
	}
	var missing []string
	for _, w := range x.want {
		if !got[w] {
			missing = append(missing, path.Join(x.root, w))
		}
	}
	if len(missing) > 0 {
		return x.errf("", ErrMissingEntry, "does not contain %s (binaries must be regular files at %s)", strings.Join(missing, ", "), x.rootName())
	}
	return nil
}

func (x *extractor) rootName() string {
	if x.root == "" {
		return "the archive root"
	}
	return x.root + "/"
}

// countingReader counts bytes read through it and checks ctx.
type countingReader struct {
	ctx context.Context
	r   io.Reader
	n   int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// bombGuard wraps a decompressor and fails once it has produced more
// than the total limit or more than ratio times its compressed input.
type bombGuard struct {
	x   *extractor
	r   io.Reader
	in  *countingReader // compressed bytes consumed
	out int64
}

func (b *bombGuard) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	b.out += int64(n)
	if b.out > b.x.lim.MaxTotalSize {
		return n, b.x.errf("", ErrTooLarge, "decompresses to more than %d bytes", b.x.lim.MaxTotalSize)
	}
	if b.out > ratioFloor && b.in.n > 0 && b.out/b.in.n > b.x.lim.MaxRatio {
		return n, b.x.errf("", ErrTooLarge, "decompression ratio above %d:1 (a size bomb?)", b.x.lim.MaxRatio)
	}
	return n, err
}

func (x *extractor) extractTarGz(ctx context.Context, f *os.File) ([]newFile, error) {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, err
	}
	return x.extractTarGzStream(ctx, f)
}

// extractTarGzStream unpacks a tar.gz (or a registered Decoder's compressed
// tar, x.decoder) read from r (a file, or a download
// in flight).
func (x *extractor) extractTarGzStream(ctx context.Context, r io.Reader) ([]newFile, error) {
	// Count (and check ctx) below a large buffer: the decompressor reads
	// byte by byte from the bufio.Reader, which must stay a direct
	// io.ByteReader. The count includes the buffer's read-ahead, which
	// only makes the ratio check a little more lenient.
	in := &countingReader{ctx: ctx, r: r}
	zr, err := x.decompressor(bufio.NewReaderSize(in, 256<<10))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	guard := &bombGuard{x: x, r: zr, in: in}
	tr := tar.NewReader(guard)
	var out []newFile
	seen := map[string]bool{}
	var declared int64 // sum of the regular entries' sizes
	for entries := 0; ; entries++ {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, tar.ErrInsecurePath) {
			var ae *ArchiveError
			if errors.As(err, &ae) {
				return out, err
			}
			return out, x.errf("", ErrUnsafeArchive, "corrupt tar stream: %v", err)
		}
		if entries >= x.lim.MaxEntries {
			return out, x.errf("", ErrTooLarge, "more than %d entries", x.lim.MaxEntries)
		}
		if isSparse(hdr) {
			// archive/tar fills a sparse file's holes with zeros that
			// are not in the compressed stream, past the bomb guard: a
			// few hundred bytes could write gigabytes. Releases have no
			// sparse files.
			return out, x.errf(hdr.Name, ErrUnsafeArchive, "is a sparse file (%d bytes, mostly holes): releases do not contain sparse files", hdr.Size)
		}
		if hdr.Typeflag == tar.TypeReg { // archive/tar reports TypeRegA entries as TypeReg
			// Count what the entries say they hold too, not only what
			// comes out of the decompressor.
			declared += hdr.Size
			if declared > x.lim.MaxTotalSize {
				return out, x.errf(hdr.Name, ErrTooLarge, "entries hold more than %d bytes in total", x.lim.MaxTotalSize)
			}
		}
		clean, reason := cleanEntryName(hdr.Name)
		if reason != "" {
			return out, x.errf(hdr.Name, ErrUnsafeArchive, "%s", reason)
		}
		if seen[clean] && hdr.Typeflag != tar.TypeDir {
			return out, x.errf(hdr.Name, ErrUnsafeArchive, "appears twice")
		}
		seen[clean] = true
		want := x.wantedName(clean)
		switch hdr.Typeflag {
		case tar.TypeReg:
			if hdr.Size > x.lim.MaxEntrySize {
				return out, x.errf(hdr.Name, ErrTooLarge, "%d bytes, above the limit of %d", hdr.Size, x.lim.MaxEntrySize)
			}
			if want == "" {
				continue
			}
			nf, err := x.writeTemp(want, tr, hdr.Size)
			if nf.Temp != "" {
				out = append(out, nf)
			}
			if err != nil {
				return out, err
			}
		case tar.TypeDir:
			if want != "" {
				return out, x.errf(hdr.Name, ErrUnsafeArchive, "is a directory, not a regular file")
			}
		case tar.TypeSymlink:
			if linkEscapes(clean, hdr.Linkname) {
				return out, x.errf(hdr.Name, ErrUnsafeArchive, "symlink to %q leaves the archive", hdr.Linkname)
			}
			if want != "" {
				return out, x.errf(hdr.Name, ErrUnsafeArchive, "is a symlink, not a regular file")
			}
		case tar.TypeLink:
			if _, r := cleanEntryName(hdr.Linkname); r != "" {
				return out, x.errf(hdr.Name, ErrUnsafeArchive, "hard link to %q leaves the archive (%s)", hdr.Linkname, r)
			}
			if want != "" {
				return out, x.errf(hdr.Name, ErrUnsafeArchive, "is a hard link, not a regular file")
			}
		case tar.TypeChar, tar.TypeBlock, tar.TypeFifo:
			return out, x.errf(hdr.Name, ErrUnsafeArchive, "is a device file or FIFO")
		default:
			return out, x.errf(hdr.Name, ErrUnsafeArchive, "unsupported entry type %q", hdr.Typeflag)
		}
	}
	// Drain the gzip stream so its CRC and the bomb guard see all bytes.
	if _, err := io.Copy(io.Discard, guard); err != nil {
		var ae *ArchiveError
		if errors.As(err, &ae) {
			return out, err
		}
		return out, x.errf("", ErrUnsafeArchive, "corrupt gzip stream: %v", err)
	}
	return out, nil
}

// isSparse reports whether a tar header describes a sparse file: the old
// GNU type 'S', or GNU's PAX sparse records (formats 0.0, 0.1 and 1.0).
func isSparse(hdr *tar.Header) bool {
	if hdr.Typeflag == tar.TypeGNUSparse {
		return true
	}
	for k := range hdr.PAXRecords {
		if strings.HasPrefix(k, "GNU.sparse.") {
			return true
		}
	}
	return false
}

func (x *extractor) extractZip(ctx context.Context, f *os.File, size int64) ([]newFile, error) {
	zr, err := zip.NewReader(f, size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return nil, x.errf("", ErrUnsafeArchive, "not a zip archive: %v", err)
	}
	if len(zr.File) > x.lim.MaxEntries {
		return nil, x.errf("", ErrTooLarge, "more than %d entries", x.lim.MaxEntries)
	}
	var out []newFile
	seen := map[string]bool{}
	var total uint64
	// Validate every entry before writing anything.
	var wanted []*zip.File
	var wantedNames []string
	for _, zf := range zr.File {
		clean, reason := cleanEntryName(zf.Name)
		if reason != "" {
			return nil, x.errf(zf.Name, ErrUnsafeArchive, "%s", reason)
		}
		mode := zf.Mode()
		isDir := mode.IsDir() || strings.HasSuffix(zf.Name, "/")
		if seen[clean] && !isDir {
			return nil, x.errf(zf.Name, ErrUnsafeArchive, "appears twice")
		}
		seen[clean] = true
		want := x.wantedName(clean)
		switch {
		case mode&(fs.ModeDevice|fs.ModeCharDevice|fs.ModeNamedPipe|fs.ModeSocket) != 0:
			return nil, x.errf(zf.Name, ErrUnsafeArchive, "is a device file, FIFO or socket")
		case mode&fs.ModeSymlink != 0:
			target, err := readZipLink(zf)
			if err != nil {
				return nil, x.errf(zf.Name, ErrUnsafeArchive, "unreadable symlink: %v", err)
			}
			if linkEscapes(clean, target) {
				return nil, x.errf(zf.Name, ErrUnsafeArchive, "symlink to %q leaves the archive", target)
			}
			if want != "" {
				return nil, x.errf(zf.Name, ErrUnsafeArchive, "is a symlink, not a regular file")
			}
		case isDir:
			if want != "" {
				return nil, x.errf(zf.Name, ErrUnsafeArchive, "is a directory, not a regular file")
			}
		case !mode.IsRegular():
			return nil, x.errf(zf.Name, ErrUnsafeArchive, "unsupported entry mode %v", mode)
		default:
			if zf.UncompressedSize64 > uint64(x.lim.MaxEntrySize) {
				return nil, x.errf(zf.Name, ErrTooLarge, "%d bytes, above the limit of %d", zf.UncompressedSize64, x.lim.MaxEntrySize)
			}
			total += zf.UncompressedSize64
			if total > uint64(x.lim.MaxTotalSize) {
				return nil, x.errf("", ErrTooLarge, "decompresses to more than %d bytes", x.lim.MaxTotalSize)
			}
			if zf.UncompressedSize64 > ratioFloor && zf.CompressedSize64 > 0 &&
				zf.UncompressedSize64/zf.CompressedSize64 > uint64(x.lim.MaxRatio) {
				return nil, x.errf(zf.Name, ErrTooLarge, "decompression ratio above %d:1 (a size bomb?)", x.lim.MaxRatio)
			}
			if want != "" {
				wanted = append(wanted, zf)
				wantedNames = append(wantedNames, want)
			}
		}
	}
	for i, zf := range wanted {
		if err := ctx.Err(); err != nil {
			return out, err
		}
		rc, err := zf.Open()
		if err != nil {
			return out, x.errf(zf.Name, ErrUnsafeArchive, "cannot open: %v", err)
		}
		nf, err := x.writeTemp(wantedNames[i], &countingReader{ctx: ctx, r: rc}, int64(zf.UncompressedSize64))
		rc.Close()
		if nf.Temp != "" {
			out = append(out, nf)
		}
		if err != nil {
			return out, err
		}
	}
	return out, nil
}

func readZipLink(zf *zip.File) (string, error) {
	if zf.UncompressedSize64 > 4096 {
		return "", errors.New("symlink target too long")
	}
	rc, err := zf.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 4097))
	return string(b), err
}

// writeTemp streams exactly size bytes of r into a new temporary file for
// binary name and fsyncs it. (The bytes need no hash of their own: they
// come out of an archive whose SHA-256 was verified.) It returns the file
// even on error (so the caller removes it).
func (x *extractor) writeTemp(name string, r io.Reader, size int64) (newFile, error) {
	f, err := createTemp(x.dir, name, tempNew)
	if err != nil {
		return newFile{}, err
	}
	nf := newFile{Name: name, Temp: f.Name()}
	// Decompressors return at most their window (32 KiB for gzip) per
	// read: fill the buffer first, so the file gets 256 KiB writes.
	n, err := copyBuffer(faultWriter{f}, fillReader{io.LimitReader(r, size+1)})
	if err == nil && n != size {
		err = x.errf(name, ErrUnsafeArchive, "entry holds %d bytes, header says %d", n, size)
	}
	if err == nil {
		err = localErr("sync", f.Name(), syncFile(f))
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = localErr("close", f.Name(), cerr)
	}
	if err != nil {
		var ae *ArchiveError
		var fe *FileError
		if !errors.As(err, &ae) && !errors.As(err, &fe) && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
			err = x.errf(name, ErrUnsafeArchive, "extract: %v", err)
		}
		return nf, err
	}
	nf.Size = n
	return nf, nil
}

// Temporary file kinds, part of their names so that cleanup knows them.
const (
	tempNew      = "new"      // an extracted binary waiting for the swap
	tempDownload = "download" // a downloaded artifact
	tempLink     = "link"     // a hard link being renamed into a backup
	tempProbe    = "probe"    // the writability check
)

// tempPrefix is the start of every temporary file the installer creates.
const tempPrefix = ".relkit-"

// createTemp creates an empty private file in dir whose name marks it as
// the installer's (".relkit-<kind>-<name>-<random>").
func createTemp(dir, name, kind string) (*os.File, error) {
	pattern := tempPrefix + kind + "-" + name + "-*"
	if err := fault("create", dir+string(os.PathSeparator)+pattern); err != nil {
		return nil, localErr("create", dir, err)
	}
	f, err := os.CreateTemp(dir, pattern)
	return f, localErr("create", dir, err)
}

// syncFile fsyncs f, through the fault-injection hook.
func syncFile(f *os.File) error {
	if err := fault("sync", f.Name()); err != nil {
		return err
	}
	return f.Sync()
}

// copyBuffer is io.Copy with a large buffer (fewer syscalls for big
// artifacts).
func copyBuffer(w io.Writer, r io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	return io.CopyBuffer(onlyWriter{w}, r, buf)
}

// fillReader reads until p is full or the stream ends or fails.
type fillReader struct{ r io.Reader }

func (f fillReader) Read(p []byte) (int, error) {
	n := 0
	for n < len(p) {
		m, err := f.r.Read(p[n:])
		n += m
		if err != nil {
			return n, err
		}
		if m == 0 && n > 0 {
			break // a reader making no progress: hand over what we have
		}
	}
	return n, nil
}

// faultWriter is a file's writer with the fault-injection hook.
type faultWriter struct{ f *os.File }

func (w faultWriter) Write(p []byte) (int, error) {
	if err := fault("write", w.f.Name()); err != nil {
		return 0, localErr("write", w.f.Name(), err)
	}
	n, err := w.f.Write(p)
	return n, localErr("write", w.f.Name(), err)
}

// onlyWriter hides ReadFrom so io.CopyBuffer uses the buffer.
type onlyWriter struct{ io.Writer }

// removeQuiet removes a temporary file, ignoring errors.
func removeQuiet(name string) { os.Remove(name) }

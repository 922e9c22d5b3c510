package release

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/internal/atomicfile"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish/oci"
)

// State is what the stages of one release share: who and what is being
// released, where it is staged, and the files made so far. It is
// deliberately small; configuration belongs to the stages themselves.
type State struct {
	// Project is the project name; archives are named
	// <Project>-<version>-<os>-<arch>.tar.gz.
	Project string
	// Version is the version being released. The [Guard] stage sets it
	// from the tag or checks it against the tag.
	Version manifest.Version
	// Tag is the git tag the release is cut from ("v1.2.0"); empty for a
	// snapshot of an untagged tree.
	Tag string
	// Commit is the full git commit the release is built from.
	Commit string
	// Date is the source date: Config.SourceDate or the commit time. It is
	// the mtime of every archive entry and the creation time in the SBOM,
	// so that two runs on the same commit make the same bytes.
	Date time.Time
	// Root is the staging root, laid out as the published location:
	// Root/<version>/... and, at the root, install.sh and manifest.json.
	Root string
	// Work is a scratch directory for intermediate files (built
	// binaries). It is never published.
	Work string
	// Binaries are the executables to package, per platform.
	Binaries []Binary
	// Artifacts are the files staged under Root/<version>/, sorted by
	// path, each with its size and SHA-256.
	Artifacts []manifest.Artifact
	// Snapshot reports that publishing stages are skipped.
	Snapshot bool
	// Verified lists, in order, what the verifying stages checked; the
	// summary reports it.
	Verified []string
	// Reports are the verification reports of the verify stages, in
	// order.
	Reports []Verification
	// Serial is the serial of the manifest the publish committed (0
	// before the publish stage).
	Serial int64
	// Expires is when the published manifest expires (zero before the
	// publish stage or when it was not read back).
	Expires time.Time
	// Published maps each published file's path (relative to Root) to
	// its public URL, as the publish stage reported it.
	Published map[string]string
	// Pushed are the results of the image pushes ([ImagePush]), in
	// order: the image reference by digest, its tags and what each push
	// did with them, and the request counts.
	Pushed []*oci.Result
	// Log is the logger of the running stage (set by [Pipeline.Run]).
	Log *slog.Logger
}

// Binary is an executable to package.
type Binary struct {
	// Name is the file name inside the archive ("hello", "hello.exe").
	Name string
	// Path is where the file is on disk.
	Path string
	// Platform is the platform the binary runs on.
	Platform manifest.Platform
}

// VersionDir is the version's directory under Root ("<Root>/1.2.0").
func (st *State) VersionDir() string { return filepath.Join(st.Root, st.Version.String()) }

// logger returns st.Log or a discarding logger.
func (st *State) logger() *slog.Logger {
	if st.Log != nil {
		return st.Log
	}
	return slog.New(slog.DiscardHandler)
}

func (st *State) needVersion() error {
	if st.Version.IsZero() {
		return &ConfigError{Field: "State.Version", Reason: "not set (run the guard stage first or set it)"}
	}
	if st.Root == "" {
		return &ConfigError{Field: "State.Root", Reason: "not set"}
	}
	return nil
}

// AddArtifact records a staged artifact, replacing an earlier record with
// the same path, and keeps Artifacts sorted by path.
func (st *State) AddArtifact(a manifest.Artifact) {
	i, found := slices.BinarySearchFunc(st.Artifacts, a.Path, func(x manifest.Artifact, p string) int { return strings.Compare(x.Path, p) })
	if found {
		st.Artifacts[i] = a
		return
	}
	st.Artifacts = slices.Insert(st.Artifacts, i, a)
}

// Artifact returns the staged artifact with the given file name.
func (st *State) Artifact(name string) (manifest.Artifact, bool) {
	for _, a := range st.Artifacts {
		if a.Name == name {
			return a, true
		}
	}
	return manifest.Artifact{}, false
}

// hashWriter counts and hashes what is written through it.
type hashWriter struct {
	h hash.Hash
	n int64
}

func newHashWriter() *hashWriter { return &hashWriter{h: sha256.New()} }

func (w *hashWriter) Write(p []byte) (int, error) {
	w.h.Write(p)
	w.n += int64(len(p))
	return len(p), nil
}

func (w *hashWriter) sum() string { return hex.EncodeToString(w.h.Sum(nil)) }

// stageFile writes the file name into the version directory through
// write, hashing in the same pass, and returns its artifact record
// (not yet added to st). The file appears atomically: a temporary file
// is renamed into place only when write succeeded.
func (st *State) stageFile(name string, kind manifest.Kind, p manifest.Platform, write func(io.Writer) error) (manifest.Artifact, error) {
	if err := st.needVersion(); err != nil {
		return manifest.Artifact{}, err
	}
	dir := st.VersionDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return manifest.Artifact{}, err
	}
	hw, err := writeAtomic(filepath.Join(dir, name), 0o644, write)
	if err != nil {
		return manifest.Artifact{}, err
	}
	return manifest.Artifact{
		Name: name, Path: path.Join(st.Version.String(), name), Kind: kind,
		OS: p.OS, Arch: p.Arch, Size: hw.n, SHA256: hw.sum(),
	}, nil
}

// writeAtomic writes dst through write (hashing in the same pass) via a
// temporary file in the same directory, synced and renamed into place.
func writeAtomic(dst string, perm os.FileMode, write func(io.Writer) error) (hw *hashWriter, err error) {
	f, err := os.CreateTemp(filepath.Dir(dst), atomicfile.TempPattern)
	if err != nil {
		return nil, err
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	hw = newHashWriter()
	if err = write(io.MultiWriter(f, hw)); err != nil {
		return nil, err
	}
	if err = f.Chmod(perm); err != nil {
		return nil, err
	}
	if err = f.Sync(); err != nil {
		return nil, err
	}
	if err = f.Close(); err != nil {
		return nil, err
	}
	if err = os.Rename(tmp, dst); err != nil {
		return nil, err
	}
	return hw, atomicfile.SyncDir(filepath.Dir(dst))
}

// hashFile returns the size and hex SHA-256 of a file, streaming it.
func hashFile(name string) (int64, string, error) {
	f, err := os.Open(name)
	if err != nil {
		return 0, "", err
	}
	defer f.Close()
	hw := newHashWriter()
	if _, err := io.Copy(hw, f); err != nil {
		return 0, "", fmt.Errorf("hash %s: %w", name, err)
	}
	return hw.n, hw.sum(), nil
}

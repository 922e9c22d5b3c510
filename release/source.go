package release

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"io"

	"github.com/relkit/relkit/manifest"
)

// SourceArchiveName returns the source archive's name:
// <project>-<version>-source.tar.gz.
func SourceArchiveName(project string, v manifest.Version) string {
	return fmt.Sprintf("%s-%s-source.tar.gz", project, v)
}

// Source is the source archive stage ("source"): it writes
// <version>/<project>-<version>-source.tar.gz with `git archive` of
// State.Commit (HEAD when empty), every path under Prefix, as Lix's releng
// does. git sets every mtime to the commit time and relkit writes the gzip
// stream without name or time, so the archive is reproducible. It is
// recorded as a platform-independent archive, so SHA256SUMS, the signature
// and the provenance cover it.
type Source struct {
	// Dir is the git work tree; "" is the current directory.
	Dir string
	// Prefix is prepended to every path; empty means "<project>-<version>/".
	Prefix string
	// Env is added to git's environment.
	Env []string
}

// Name returns "source".
func (s *Source) Name() string { return "source" }

// Run writes the source archive.
func (s *Source) Run(ctx context.Context, st *State) error {
	if err := st.needVersion(); err != nil {
		return err
	}
	rev := st.Commit
	if rev == "" {
		rev = "HEAD"
	}
	prefix := s.Prefix
	if prefix == "" {
		prefix = fmt.Sprintf("%s-%s/", st.Project, st.Version)
	}
	dir := s.Dir
	if dir == "" {
		dir = "."
	}
	repo := git{dir: dir, env: s.Env}
	name := SourceArchiveName(st.Project, st.Version)
	a, err := st.stageFile(name, manifest.KindArchive, manifest.Platform{}, func(w io.Writer) error {
		gz, err := gzip.NewWriterLevel(w, gzip.DefaultCompression)
		if err != nil {
			return err
		}
		args := []string{"archive", "--format=tar", "--prefix=" + prefix, rev}
		cmd := repo.cmd(ctx, args...)
		var stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = gz, &stderr
		if err := cmd.Run(); err != nil {
			return &GitError{Args: args, Stderr: lastBytes(stderr.String(), 2048), Err: err}
		}
		return gz.Close()
	})
	if err != nil {
		return err
	}
	st.AddArtifact(a)
	st.logger().Info("source archive", "archive", name, "size", a.Size)
	return nil
}

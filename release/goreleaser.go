package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/goreleaser"
)

// GoReleaserImport is the stage ("goreleaser-import") that lets a
// GoReleaser user keep GoReleaser for building and use relkit to sign,
// publish and serve updates: it reads dist/artifacts.json (and
// dist/metadata.json next to it for the project, version, tag, commit and
// date when State lacks them), parsed by package release/goreleaser,
// copies each archive ("Archive"), source archive ("Source"), SBOM
// ("SBOM") and Linux package ("Linux Package") into the version
// directory, hashing while copying and checking GoReleaser's own
// "sha256:" checksum when it recorded one, and records them as artifacts.
// GoReleaser's checksums file and signatures are not imported: run
// [Checksums] and [Sign] after this stage. Every failure wraps
// goreleaser.ErrImport.
type GoReleaserImport struct {
	// ArtifactsFile is dist/artifacts.json; required.
	ArtifactsFile string
	// ProjectDir is the directory artifacts.json's relative paths start
	// from; empty means the parent of the dist directory.
	ProjectDir string
	// Binaries also imports "Binary" and "Uploadable Binary" entries
	// (archives: format binary) as binary artifacts.
	Binaries bool
}

// Name returns "goreleaser-import".
func (g *GoReleaserImport) Name() string { return "goreleaser-import" }

// Run imports the artifacts.
func (g *GoReleaserImport) Run(ctx context.Context, st *State) error {
	data, err := readLimited(g.ArtifactsFile)
	if err != nil {
		return fmt.Errorf("%w: %v", goreleaser.ErrImport, err)
	}
	arts, err := goreleaser.ParseArtifacts(data)
	if err != nil {
		return fmt.Errorf("%s: %w", g.ArtifactsFile, err)
	}
	dist := filepath.Dir(g.ArtifactsFile)
	if err := readGoReleaserMetadata(filepath.Join(dist, goreleaser.MetadataFile), st); err != nil {
		return err
	}
	if err := st.needVersion(); err != nil {
		return err
	}
	base := g.ProjectDir
	if base == "" {
		base = filepath.Dir(dist)
	}
	n := 0
	for _, a := range arts {
		if a.Kind == manifest.KindBinary && !g.Binaries {
			continue
		}
		src := a.Path
		if !filepath.IsAbs(src) {
			src = filepath.Join(base, filepath.FromSlash(src))
		}
		art, err := st.stageFile(a.Name, a.Kind, a.Platform, func(w io.Writer) error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: %s: %v", goreleaser.ErrImport, a.Name, err)
		}
		if a.SHA256 != "" && a.SHA256 != art.SHA256 {
			os.Remove(filepath.Join(st.VersionDir(), a.Name))
			return fmt.Errorf("%w: %s: sha256 %s, GoReleaser recorded %s", goreleaser.ErrImport, a.Name, art.SHA256, a.SHA256)
		}
		st.AddArtifact(art)
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: %s lists no archive to import", goreleaser.ErrImport, g.ArtifactsFile)
	}
	st.logger().Info("imported", "from", g.ArtifactsFile, "artifacts", n)
	return nil
}

// readGoReleaserMetadata fills what st lacks from metadata.json, when
// there is one.
func readGoReleaserMetadata(name string, st *State) error {
	data, err := readLimited(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", goreleaser.ErrImport, err)
	}
	md, err := goreleaser.ParseMetadata(data)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if st.Project == "" {
		st.Project = md.Project
	}
	if st.Version.IsZero() && !md.Version.IsZero() {
		st.Version = md.Version
	}
	if st.Tag == "" {
		st.Tag = md.Tag
	}
	if st.Commit == "" {
		st.Commit = md.Commit
	}
	if st.Date.IsZero() {
		st.Date = md.Date
	}
	return nil
}

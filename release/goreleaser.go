package release

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// ErrImport: GoReleaser's dist/artifacts.json could not be imported (a
// file is missing, its checksum differs, a platform is unknown).
var ErrImport = errors.New("goreleaser import")

// goreleaserArtifact is one entry of GoReleaser's dist/artifacts.json.
type goreleaserArtifact struct {
	Name   string         `json:"name"`
	Path   string         `json:"path"`
	Goos   string         `json:"goos"`
	Goarch string         `json:"goarch"`
	Type   string         `json:"type"`
	Extra  map[string]any `json:"extra"`
}

// goreleaserMetadata is GoReleaser's dist/metadata.json.
type goreleaserMetadata struct {
	ProjectName string    `json:"project_name"`
	Tag         string    `json:"tag"`
	Version     string    `json:"version"`
	Commit      string    `json:"commit"`
	Date        time.Time `json:"date"`
}

// GoReleaserImport is the stage ("goreleaser-import") that lets a
// GoReleaser user keep GoReleaser for building and use relkit to sign,
// publish and serve updates: it reads dist/artifacts.json (and
// dist/metadata.json next to it for the project, version, tag, commit and
// date when State lacks them), copies each archive ("Archive"), source
// archive ("Source"), SBOM ("SBOM") and Linux package ("Linux Package")
// into the version directory, hashing while copying and checking
// GoReleaser's own "sha256:" checksum when it recorded one, and records
// them as artifacts. GoReleaser's checksums file and signatures are not
// imported: run [Checksums] and [Sign] after this stage.
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
		return fmt.Errorf("%w: %v", ErrImport, err)
	}
	var arts []goreleaserArtifact
	if err := json.Unmarshal(data, &arts); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrImport, g.ArtifactsFile, err)
	}
	dist := filepath.Dir(g.ArtifactsFile)
	if err := g.readMetadata(filepath.Join(dist, "metadata.json"), st); err != nil {
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
		kind, ok := g.kind(a.Type)
		if !ok {
			continue
		}
		var p manifest.Platform
		if a.Goos != "" || a.Goarch != "" {
			pp, err := manifest.ParsePlatform(a.Goos + "/" + a.Goarch)
			if err != nil {
				return fmt.Errorf("%w: %s: %v", ErrImport, a.Name, err)
			}
			p = pp
		}
		if a.Name == "" || strings.ContainsAny(a.Name, `/\`) {
			return fmt.Errorf("%w: bad artifact name %q", ErrImport, a.Name)
		}
		src := a.Path
		if !filepath.IsAbs(src) {
			src = filepath.Join(base, filepath.FromSlash(src))
		}
		art, err := st.stageFile(a.Name, kind, p, func(w io.Writer) error {
			f, err := os.Open(src)
			if err != nil {
				return err
			}
			defer f.Close()
			_, err = io.Copy(w, f)
			return err
		})
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrImport, a.Name, err)
		}
		if sum, ok := a.Extra["Checksum"].(string); ok {
			if want, ok := strings.CutPrefix(sum, "sha256:"); ok && !strings.EqualFold(want, art.SHA256) {
				os.Remove(filepath.Join(st.VersionDir(), a.Name))
				return fmt.Errorf("%w: %s: sha256 %s, GoReleaser recorded %s", ErrImport, a.Name, art.SHA256, want)
			}
		}
		st.AddArtifact(art)
		n++
	}
	if n == 0 {
		return fmt.Errorf("%w: %s lists no archive to import", ErrImport, g.ArtifactsFile)
	}
	st.logger().Info("imported", "from", g.ArtifactsFile, "artifacts", n)
	return nil
}

func (g *GoReleaserImport) kind(t string) (manifest.Kind, bool) {
	switch t {
	case "Archive":
		return manifest.KindArchive, true
	case "Source":
		return manifest.KindArchive, true
	case "SBOM":
		return manifest.KindSBOM, true
	case "Linux Package":
		return manifest.KindPackage, true
	case "Binary", "Uploadable Binary":
		return manifest.KindBinary, g.Binaries
	}
	return "", false
}

func (g *GoReleaserImport) readMetadata(name string, st *State) error {
	data, err := readLimited(name)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w: %v", ErrImport, err)
	}
	var md goreleaserMetadata
	if err := json.Unmarshal(data, &md); err != nil {
		return fmt.Errorf("%w: %s: %v", ErrImport, name, err)
	}
	if st.Project == "" {
		st.Project = md.ProjectName
	}
	if st.Version.IsZero() && md.Version != "" {
		v, err := manifest.ParseVersion(md.Version)
		if err != nil {
			return fmt.Errorf("%w: %s: %v", ErrImport, name, err)
		}
		st.Version = v
	}
	if st.Tag == "" {
		st.Tag = md.Tag
	}
	if st.Commit == "" {
		st.Commit = md.Commit
	}
	if st.Date.IsZero() {
		st.Date = md.Date.UTC()
	}
	return nil
}

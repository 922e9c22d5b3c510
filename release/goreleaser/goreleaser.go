// Package goreleaser reads what GoReleaser leaves in its dist directory:
// artifacts.json (every file it built, with its type, platform and
// checksum) and metadata.json (the project, version, tag, commit and
// date), so that a GoReleaser user can keep building with GoReleaser and
// sign, publish and serve updates with relkit.
//
// It only parses: [ParseArtifacts] and [ParseMetadata] take the files'
// bytes and touch no file. Package release's GoReleaserImport stage reads
// the two files, copies each [Artifact] into the staged release (checking
// the SHA-256 GoReleaser recorded) and fills the release's state from the
// [Metadata]; run the checksums, sign, manifest and publish stages after
// it.
//
// The format is GoReleaser's (v1 and v2 write the same fields); only the
// fields listed here are read, and entries of other types (checksums,
// signatures, Docker images, metadata) are skipped.
package goreleaser

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// MetadataFile is the name of GoReleaser's metadata file, next to
// artifacts.json in the dist directory.
const MetadataFile = "metadata.json"

// ErrImport: a GoReleaser dist directory cannot be imported. Parse errors
// (malformed JSON, an unknown platform, a bad name or version) wrap it,
// and package release's GoReleaserImport stage wraps its own failures in
// it too (a missing file, a checksum that differs, nothing to import).
var ErrImport = errors.New("goreleaser import")

// Artifact is one file of artifacts.json that relkit imports.
type Artifact struct {
	// Name is the file name to publish ("hello_1.2.0_linux_amd64.tar.gz");
	// a plain name, without a directory.
	Name string
	// Path is where GoReleaser left it, as artifacts.json says: usually
	// relative to the project directory ("dist/hello_1.2.0_linux_amd64.tar.gz").
	Path string
	// Type is GoReleaser's type ("Archive", "Source", "SBOM", "Linux
	// Package", "Binary", "Uploadable Binary").
	Type string
	// Kind is the manifest kind the type maps to: archive for "Archive"
	// and "Source", sbom, package for "Linux Package", binary for the two
	// binary types.
	Kind manifest.Kind
	// Platform is the artifact's goos/goarch; zero for a source archive
	// or an SBOM of the whole project.
	Platform manifest.Platform
	// SHA256 is the checksum GoReleaser recorded (extra.Checksum
	// "sha256:<hex>"), lower case; empty when it recorded none.
	SHA256 string
}

// Metadata is GoReleaser's metadata.json (the fields relkit reads).
type Metadata struct {
	// Project is project_name.
	Project string
	// Version is the version; zero when metadata.json has none.
	Version manifest.Version
	// Tag, Commit and Date are the release's git tag, commit and date
	// (UTC).
	Tag, Commit string
	Date        time.Time
}

// kinds maps the GoReleaser artifact types relkit imports to manifest
// kinds.
var kinds = map[string]manifest.Kind{
	"Archive":           manifest.KindArchive,
	"Source":            manifest.KindArchive,
	"SBOM":              manifest.KindSBOM,
	"Linux Package":     manifest.KindPackage,
	"Binary":            manifest.KindBinary,
	"Uploadable Binary": manifest.KindBinary,
}

// ParseArtifacts parses artifacts.json and returns, in its order, the
// entries of the types relkit imports (see [Artifact.Kind]); the others
// are skipped. A malformed file, a platform manifest.ParsePlatform does
// not take or a name with a directory is an error wrapping [ErrImport].
func ParseArtifacts(data []byte) ([]Artifact, error) {
	var raw []struct {
		Name   string         `json:"name"`
		Path   string         `json:"path"`
		Goos   string         `json:"goos"`
		Goarch string         `json:"goarch"`
		Type   string         `json:"type"`
		Extra  map[string]any `json:"extra"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrImport, err)
	}
	var out []Artifact
	for _, r := range raw {
		kind, ok := kinds[r.Type]
		if !ok {
			continue
		}
		a := Artifact{Name: r.Name, Path: r.Path, Type: r.Type, Kind: kind}
		if r.Goos != "" || r.Goarch != "" {
			p, err := manifest.ParsePlatform(r.Goos + "/" + r.Goarch)
			if err != nil {
				return nil, fmt.Errorf("%w: %s: %v", ErrImport, r.Name, err)
			}
			a.Platform = p
		}
		if r.Name == "" || strings.ContainsAny(r.Name, `/\`) {
			return nil, fmt.Errorf("%w: bad artifact name %q", ErrImport, r.Name)
		}
		if sum, ok := r.Extra["Checksum"].(string); ok {
			if hex, ok := strings.CutPrefix(sum, "sha256:"); ok {
				a.SHA256 = strings.ToLower(hex)
			}
		}
		out = append(out, a)
	}
	return out, nil
}

// ParseMetadata parses metadata.json. A malformed file or a version
// manifest.ParseVersion does not take is an error wrapping [ErrImport].
func ParseMetadata(data []byte) (Metadata, error) {
	var raw struct {
		ProjectName string    `json:"project_name"`
		Tag         string    `json:"tag"`
		Version     string    `json:"version"`
		Commit      string    `json:"commit"`
		Date        time.Time `json:"date"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Metadata{}, fmt.Errorf("%w: %v", ErrImport, err)
	}
	md := Metadata{Project: raw.ProjectName, Tag: raw.Tag, Commit: raw.Commit, Date: raw.Date.UTC()}
	if raw.Version != "" {
		v, err := manifest.ParseVersion(raw.Version)
		if err != nil {
			return Metadata{}, fmt.Errorf("%w: %v", ErrImport, err)
		}
		md.Version = v
	}
	return md, nil
}

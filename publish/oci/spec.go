package oci

import (
	"fmt"
	"io/fs"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// DefaultBinDir is where binaries go in an image unless Spec.BinDir says
// otherwise.
const DefaultBinDir = "/usr/local/bin"

// Standard annotation and label keys (the OCI image spec's pre-defined
// annotations) that Build sets.
const (
	AnnotationCreated     = "org.opencontainers.image.created"
	AnnotationVersion     = "org.opencontainers.image.version"
	AnnotationRevision    = "org.opencontainers.image.revision"
	AnnotationSource      = "org.opencontainers.image.source"
	AnnotationTitle       = "org.opencontainers.image.title"
	AnnotationBaseName    = "org.opencontainers.image.base.name"
	AnnotationBaseDigest  = "org.opencontainers.image.base.digest"
	AnnotationDescription = "org.opencontainers.image.description"
	AnnotationLicenses    = "org.opencontainers.image.licenses"
)

// Binary is an executable to put into the image of its platform. It has
// the same fields as the release pipeline's binaries, so a release stage
// converts them one to one.
type Binary struct {
	// Name is the file name in the image ("hello"); empty means the base
	// name of Path.
	Name string
	// Path is where the file is on disk.
	Path string
	// Platform is the platform the binary runs on. Only linux binaries get
	// an image; Build reports the others in Image.Skipped.
	Platform manifest.Platform
}

// File is an extra file placed in every image (a LICENSE, a default
// configuration).
type File struct {
	// Src is the file on disk.
	Src string
	// Dst is the absolute slash path in the image
	// ("/usr/share/doc/hello/LICENSE").
	Dst string
	// Mode holds the permission bits; zero means 0644.
	Mode fs.FileMode
}

// Spec describes the images of one release: what goes in them and the
// metadata they carry. The same Spec always builds the same bytes (the
// same digests), provided the base image is the same.
type Spec struct {
	// Repository is where Push pushes, without tag or digest
	// ("ghcr.io/example/hello", "127.0.0.1:5000/hello"). Build ignores it.
	Repository string
	// Project is the project name: the image title annotation and the
	// prefix of artifact names. Required.
	Project string
	// Name tells apart several images of one release (one per module or
	// service): it becomes the title annotation and part of the artifact
	// names ("<project>-<version>-<name>-image"). Empty for a project's one
	// image.
	Name string
	// Version is the release version ("1.2.0", "v1.3.0-rc.1", "2026.04");
	// manifest.ParseVersion must accept it. Required.
	Version string
	// Commit is the full git commit the release was built from: the
	// revision annotation and the sha-<commit> tag. Required.
	Commit string
	// Created is the commit time: every file's mtime in the layer, the
	// image config's creation time and the created annotation, so that
	// builds are reproducible. Required.
	Created time.Time
	// Channel decides which tags a push moves; see Tags. Empty means
	// stable for a release and no channel for a pre-release.
	Channel string
	// Source is the source repository URL (the source annotation and
	// label); optional.
	Source string
	// Base is the base image reference ("gcr.io/distroless/static:nonroot",
	// better pinned by digest); empty means no base (scratch). A
	// multi-platform base is resolved per platform.
	Base string
	// Binaries are the executables, one or more per platform.
	Binaries []Binary
	// Files are extra files placed in every image.
	Files []File
	// BinDir is the directory binaries go into; empty means
	// DefaultBinDir.
	BinDir string
	// Entrypoint is the image entrypoint; empty means the binary's path
	// in the image, when every platform has exactly one binary of the same
	// name.
	Entrypoint []string
	// Cmd is the image's default arguments.
	Cmd []string
	// Env is added to the base image's environment ("KEY=value").
	Env []string
	// User is the user the container runs as ("65532:65532"); empty
	// keeps the base image's.
	User string
	// WorkingDir is the container's working directory; empty keeps the
	// base image's.
	WorkingDir string
	// Labels are added to the image config's labels, after the standard
	// org.opencontainers.image.* labels, which they may override except
	// version, revision and created (Push reads the version back).
	Labels map[string]string
	// Annotations are added to the index and to every image manifest,
	// after the standard annotations, which they may override except
	// version, revision and created.
	Annotations map[string]string
	// Digest, when set, is the index digest the build must make
	// ("sha256:<hex>" or the hex alone, as a manifest record's SHA256):
	// a release that recorded its image digests earlier sets it so that
	// what ships is what was recorded. A different digest fails Build and
	// Push with a *DigestMismatchError before anything is pushed.
	Digest string
}

// DigestMismatchError reports a build whose index digest is not
// Spec.Digest: an input changed (a binary, the base image, the commit
// time) since the digest was recorded.
type DigestMismatchError struct {
	// Want is Spec.Digest, normalized to "sha256:<hex>".
	Want string
	// Got is the digest the build made.
	Got string
}

// Error names both digests.
func (e *DigestMismatchError) Error() string {
	return "oci: the build made index " + e.Got + ", not the recorded " + e.Want + " (an input changed)"
}

// SpecError reports a Spec field that is missing or wrong.
type SpecError struct {
	// Field names the field ("Version", "Binaries[1].Path").
	Field string
	// Reason says what is wrong.
	Reason string
}

// Error names the field and the problem.
func (e *SpecError) Error() string { return "oci: " + e.Field + ": " + e.Reason }

var tagRE = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

// check validates s for Build and returns the parsed version.
func (s *Spec) check() (manifest.Version, error) {
	if s.Project == "" {
		return manifest.Version{}, &SpecError{Field: "Project", Reason: "empty"}
	}
	if s.Name != "" && (!plainName(s.Name) || strings.ContainsAny(s.Name, " \t:@")) {
		return manifest.Version{}, &SpecError{Field: "Name", Reason: fmt.Sprintf("%q cannot be part of an artifact name", s.Name)}
	}
	v, err := manifest.ParseVersion(s.Version)
	if err != nil {
		return manifest.Version{}, &SpecError{Field: "Version", Reason: err.Error()}
	}
	if !isHex(s.Commit) || len(s.Commit) < ShortCommitLen {
		return manifest.Version{}, &SpecError{Field: "Commit", Reason: fmt.Sprintf("%q is not a hex git commit", s.Commit)}
	}
	if s.Created.IsZero() {
		return manifest.Version{}, &SpecError{Field: "Created", Reason: "not set (use the commit time)"}
	}
	if s.Channel != "" && !manifest.ValidChannel(s.Channel) {
		return manifest.Version{}, &SpecError{Field: "Channel", Reason: fmt.Sprintf("%q is not a valid channel name", s.Channel)}
	}
	if len(s.Binaries) == 0 {
		return manifest.Version{}, &SpecError{Field: "Binaries", Reason: "empty"}
	}
	for i, b := range s.Binaries {
		f := fmt.Sprintf("Binaries[%d]", i)
		if b.Path == "" {
			return manifest.Version{}, &SpecError{Field: f + ".Path", Reason: "empty"}
		}
		if name := b.name(); !plainName(name) {
			return manifest.Version{}, &SpecError{Field: f + ".Name", Reason: fmt.Sprintf("%q is not a plain file name", name)}
		}
		if b.Platform.OS == "" || b.Platform.Arch == "" {
			return manifest.Version{}, &SpecError{Field: f + ".Platform", Reason: "OS and Arch are required"}
		}
	}
	if s.Digest != "" {
		if h := strings.TrimPrefix(s.Digest, "sha256:"); len(h) != 64 || !isHex(h) {
			return manifest.Version{}, &SpecError{Field: "Digest", Reason: fmt.Sprintf("%q is not a sha256 digest", s.Digest)}
		}
	}
	for _, k := range []string{AnnotationVersion, AnnotationRevision, AnnotationCreated} {
		if _, ok := s.Annotations[k]; ok {
			return manifest.Version{}, &SpecError{Field: "Annotations", Reason: k + " is set from the release and cannot be overridden"}
		}
		if _, ok := s.Labels[k]; ok {
			return manifest.Version{}, &SpecError{Field: "Labels", Reason: k + " is set from the release and cannot be overridden"}
		}
	}
	if s.BinDir != "" && !absSlashPath(s.BinDir) {
		return manifest.Version{}, &SpecError{Field: "BinDir", Reason: fmt.Sprintf("%q is not a clean absolute slash path", s.BinDir)}
	}
	for i, f := range s.Files {
		if f.Src == "" {
			return manifest.Version{}, &SpecError{Field: fmt.Sprintf("Files[%d].Src", i), Reason: "empty"}
		}
		if !absSlashPath(f.Dst) || f.Dst == "/" {
			return manifest.Version{}, &SpecError{Field: fmt.Sprintf("Files[%d].Dst", i), Reason: fmt.Sprintf("%q is not a clean absolute slash path", f.Dst)}
		}
		if f.Mode&^fs.ModePerm != 0 {
			return manifest.Version{}, &SpecError{Field: fmt.Sprintf("Files[%d].Mode", i), Reason: fmt.Sprintf("%v has bits other than permissions", f.Mode)}
		}
	}
	return v, nil
}

func (b Binary) name() string {
	if b.Name != "" {
		return b.Name
	}
	return filepath.Base(b.Path)
}

func (s *Spec) binDir() string {
	if s.BinDir != "" {
		return s.BinDir
	}
	return DefaultBinDir
}

// linuxPlatforms groups the linux binaries by platform, sorted by
// platform, and returns the others.
func (s *Spec) linuxPlatforms() (platforms []manifest.Platform, byPlatform map[manifest.Platform][]Binary, skipped []Binary) {
	byPlatform = map[manifest.Platform][]Binary{}
	for _, b := range s.Binaries {
		p := b.Platform
		if os, err := manifest.NormalizeOS(p.OS); err == nil {
			p.OS = os
		}
		if arch, err := manifest.NormalizeArch(p.Arch); err == nil {
			p.Arch = arch
		}
		if p.OS != "linux" {
			skipped = append(skipped, b)
			continue
		}
		if _, ok := byPlatform[p]; !ok {
			platforms = append(platforms, p)
		}
		byPlatform[p] = append(byPlatform[p], b)
	}
	slices.SortFunc(platforms, func(a, b manifest.Platform) int { return strings.Compare(a.String(), b.String()) })
	return platforms, byPlatform, skipped
}

func plainName(s string) bool {
	return s != "" && s != "." && s != ".." && !strings.ContainsAny(s, "/\\\x00\n\r")
}

func absSlashPath(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && !strings.ContainsAny(p, "\\\x00\n\r")
}

func isHex(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

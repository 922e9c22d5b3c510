package release

import (
	"context"
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
)

// DefaultNamespaceBase is the URI prefix of SPDX document namespaces when
// [SBOM.NamespaceBase] is empty.
const DefaultNamespaceBase = "https://spdx.org/spdxdocs/relkit"

// SBOM is the SBOM stage ("sbom"): it writes <version>/sbom.spdx.json, an
// SPDX 2.3 JSON document built from the Go build information embedded in
// each binary of State.Binaries (debug/buildinfo): one package per staged
// archive (packageFileName and SHA-256, so verifiers can match it with
// SHA256SUMS), one per binary (with its SHA-256), one per module it links
// (main module and every dependency with version, purl, and go.sum hash),
// and the Go standard library. Relationships: the document DESCRIBES each
// archive (each binary when nothing is packaged yet); an archive CONTAINS
// its platform's binaries; the document DESCRIBES each container image
// index staged by [ImageBuild] (checksum: the image digest), which CONTAINS
// its per-platform images; each binary is GENERATED_FROM its main module
// and has a STATIC_LINK to every dependency and to the standard library.
// Run it after [Package] (and [ImageBuild]).
//
// The document is deterministic: created is State.Date and the namespace
// is derived from the project, version, commit and binary digests, so two
// runs on the same commit write the same bytes. A binary without Go build
// information (a prebuilt C program) is listed without dependencies.
type SBOM struct {
	// NamespaceBase is the URI the document namespace starts with; empty
	// means [DefaultNamespaceBase].
	NamespaceBase string
	// Creators are added to creationInfo.creators after "Tool: relkit"
	// ("Organization: Example Inc.").
	Creators []string
}

// Name returns "sbom".
func (s *SBOM) Name() string { return "sbom" }

// SPDX 2.3 JSON, the subset relkit writes.
type spdxDocument struct {
	SPDXVersion       string             `json:"spdxVersion"`
	DataLicense       string             `json:"dataLicense"`
	SPDXID            string             `json:"SPDXID"`
	Name              string             `json:"name"`
	DocumentNamespace string             `json:"documentNamespace"`
	CreationInfo      spdxCreationInfo   `json:"creationInfo"`
	Packages          []spdxPackage      `json:"packages"`
	Relationships     []spdxRelationship `json:"relationships"`
}

type spdxCreationInfo struct {
	Created  string   `json:"created"`
	Creators []string `json:"creators"`
}

type spdxPackage struct {
	SPDXID                string            `json:"SPDXID"`
	Name                  string            `json:"name"`
	VersionInfo           string            `json:"versionInfo,omitempty"`
	PackageFileName       string            `json:"packageFileName,omitempty"`
	DownloadLocation      string            `json:"downloadLocation"`
	FilesAnalyzed         bool              `json:"filesAnalyzed"`
	Checksums             []spdxChecksum    `json:"checksums,omitempty"`
	LicenseConcluded      string            `json:"licenseConcluded,omitempty"`
	LicenseDeclared       string            `json:"licenseDeclared,omitempty"`
	CopyrightText         string            `json:"copyrightText,omitempty"`
	Comment               string            `json:"comment,omitempty"`
	ExternalRefs          []spdxExternalRef `json:"externalRefs,omitempty"`
	PrimaryPackagePurpose string            `json:"primaryPackagePurpose,omitempty"`
}

type spdxChecksum struct {
	Algorithm     string `json:"algorithm"`
	ChecksumValue string `json:"checksumValue"`
}

type spdxExternalRef struct {
	ReferenceCategory string `json:"referenceCategory"`
	ReferenceType     string `json:"referenceType"`
	ReferenceLocator  string `json:"referenceLocator"`
}

type spdxRelationship struct {
	SPDXElementID      string `json:"spdxElementId"`
	RelationshipType   string `json:"relationshipType"`
	RelatedSPDXElement string `json:"relatedSpdxElement"`
}

const noAssertion = "NOASSERTION"

var spdxIDUnsafe = regexp.MustCompile(`[^a-zA-Z0-9.-]+`)

func spdxID(kind string, parts ...string) string {
	id := "SPDXRef-" + kind
	for _, p := range parts {
		id += "-" + strings.Trim(spdxIDUnsafe.ReplaceAllString(p, "-"), "-")
	}
	return id
}

// Run writes the SBOM.
func (s *SBOM) Run(ctx context.Context, st *State) error {
	if len(st.Binaries) == 0 {
		return &ConfigError{Field: "State.Binaries", Reason: "no binaries to describe"}
	}
	doc, err := s.document(ctx, st)
	if err != nil {
		return err
	}
	a, err := st.stageFile(manifest.SBOMFile, manifest.KindSBOM, manifest.Platform{}, func(w io.Writer) error {
		return writeJSON(w, doc)
	})
	if err != nil {
		return err
	}
	st.AddArtifact(a)
	st.logger().Info("sbom", "packages", len(doc.Packages), "relationships", len(doc.Relationships))
	return nil
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

func (s *SBOM) document(ctx context.Context, st *State) (*spdxDocument, error) {
	if err := st.needVersion(); err != nil {
		return nil, err
	}
	if st.Date.IsZero() {
		return nil, &ConfigError{Field: "State.Date", Reason: "not set: the SBOM's creation time is the source date"}
	}
	doc := &spdxDocument{
		SPDXVersion: "SPDX-2.3",
		DataLicense: "CC0-1.0",
		SPDXID:      "SPDXRef-DOCUMENT",
		Name:        st.Project + "-" + st.Version.String(),
		CreationInfo: spdxCreationInfo{
			Created:  st.Date.UTC().Truncate(time.Second).Format("2006-01-02T15:04:05Z"),
			Creators: append([]string{"Tool: relkit"}, s.Creators...),
		},
	}
	nsHash := sha256.New()
	fmt.Fprintf(nsHash, "%s\x00%s\x00%s\x00", st.Project, st.Version, st.Commit)

	bins := slices.Clone(st.Binaries)
	slices.SortFunc(bins, func(a, b Binary) int {
		return strings.Compare(a.Platform.String()+"/"+a.Name, b.Platform.String()+"/"+b.Name)
	})
	seen := map[string]bool{}
	addPkg := func(p spdxPackage) {
		if !seen[p.SPDXID] {
			seen[p.SPDXID] = true
			doc.Packages = append(doc.Packages, p)
		}
	}
	// The release's archives, when already staged: the document describes
	// them, and each contains its platform's binaries.
	var rels []spdxRelationship
	archiveIDs := map[manifest.Platform][]string{} // a platform may have several formats
	for _, a := range st.Artifacts {
		if a.Kind != manifest.KindArchive {
			continue
		}
		id := spdxID("Archive", a.Name)
		purpose := "ARCHIVE"
		if a.OS == "" {
			purpose = "SOURCE"
		} else {
			pl := manifest.Platform{OS: a.OS, Arch: a.Arch}
			archiveIDs[pl] = append(archiveIDs[pl], id)
		}
		addPkg(spdxPackage{
			SPDXID: id, Name: a.Name, VersionInfo: st.Version.String(), PackageFileName: a.Name,
			DownloadLocation: noAssertion, Checksums: []spdxChecksum{{"SHA256", a.SHA256}},
			PrimaryPackagePurpose: purpose,
		})
		fmt.Fprintf(nsHash, "%s\x00", a.SHA256)
		rels = append(rels, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", id})
	}
	// The release's Linux packages (stage [LinuxPackages]): the document
	// describes them, and each contains its platform's binaries.
	for _, a := range st.Artifacts {
		if a.Kind != manifest.KindPackage {
			continue
		}
		id := spdxID("Package", a.Name)
		addPkg(spdxPackage{
			SPDXID: id, Name: a.Name, VersionInfo: st.Version.String(), PackageFileName: a.Name,
			DownloadLocation: noAssertion, Checksums: []spdxChecksum{{"SHA256", a.SHA256}},
			PrimaryPackagePurpose: "INSTALL",
			Comment:               "Linux package for " + a.OS + "/" + a.Arch,
		})
		fmt.Fprintf(nsHash, "%s\x00", a.SHA256)
		rels = append(rels, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", id})
		if a.OS != "" {
			pl := manifest.Platform{OS: a.OS, Arch: a.Arch}
			archiveIDs[pl] = append(archiveIDs[pl], id)
		}
	}
	// The release's container images (stage [ImageBuild]): the document
	// describes each index, which contains its per-platform images. Their
	// checksum is the image digest.
	for _, a := range st.Artifacts {
		if a.Kind != manifest.KindImage {
			continue
		}
		id := spdxID("Image", a.Name)
		p := spdxPackage{
			SPDXID: id, Name: a.Name, VersionInfo: st.Version.String(), PackageFileName: a.Name,
			DownloadLocation: noAssertion, Checksums: []spdxChecksum{{"SHA256", a.SHA256}},
			PrimaryPackagePurpose: "CONTAINER",
			Comment:               "OCI image index, digest sha256:" + a.SHA256,
		}
		fmt.Fprintf(nsHash, "%s\x00", a.SHA256)
		if a.OS == "" {
			rels = append(rels, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", id})
		} else {
			p.Comment = "OCI image for " + a.OS + "/" + a.Arch + ", digest sha256:" + a.SHA256
			if index, ok := imageIndexOf(st.Artifacts, a); ok {
				rels = append(rels, spdxRelationship{spdxID("Image", index.Name), "CONTAINS", id})
			} else {
				rels = append(rels, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", id})
			}
		}
		addPkg(p)
	}
	for _, b := range bins {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		_, sum, err := hashFile(b.Path)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(nsHash, "%s\x00", sum)
		binID := spdxID("Binary", b.Platform.OS, b.Platform.Arch, b.Name)
		bp := spdxPackage{
			SPDXID: binID, Name: b.Name, VersionInfo: st.Version.String(),
			DownloadLocation: noAssertion, Checksums: []spdxChecksum{{"SHA256", sum}},
			PrimaryPackagePurpose: "APPLICATION",
			Comment:               "executable for " + b.Platform.String(),
		}
		if archIDs, ok := archiveIDs[b.Platform]; ok {
			for _, archID := range archIDs {
				rels = append(rels, spdxRelationship{archID, "CONTAINS", binID})
			}
		} else {
			rels = append(rels, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", binID})
		}
		info, err := buildinfo.ReadFile(b.Path)
		if err != nil {
			// The error names the local path, which would make the SBOM
			// differ between two runs: keep only the binary's name.
			bp.Comment += "; no Go build information in " + b.Name + ": " + strings.ReplaceAll(err.Error(), b.Path, b.Name)
			addPkg(bp)
			st.logger().Warn("sbom: not a Go binary", "binary", b.Path, "err", err)
			continue
		}
		addPkg(bp)
		mainVersion := info.Main.Version
		if mainVersion == "" || mainVersion == "(devel)" {
			mainVersion = st.Version.String()
		}
		mainPkg := modulePackage(info.Main.Path, mainVersion, "")
		mainPkg.PrimaryPackagePurpose = "APPLICATION"
		mainPkg.Comment = "main module; main package " + info.Path
		addPkg(mainPkg)
		rels = append(rels, spdxRelationship{binID, "GENERATED_FROM", mainPkg.SPDXID})
		for _, dep := range info.Deps {
			m := dep
			comment := ""
			if dep.Replace != nil {
				m = dep.Replace
				comment = "replaces " + dep.Path + "@" + dep.Version
			}
			p := modulePackage(m.Path, m.Version, m.Sum)
			p.Comment = comment
			addPkg(p)
			rels = append(rels, spdxRelationship{binID, "STATIC_LINK", p.SPDXID})
		}
		std := spdxPackage{
			SPDXID: spdxID("Module", "stdlib", info.GoVersion), Name: "stdlib", VersionInfo: info.GoVersion,
			DownloadLocation: "https://go.dev/dl/", FilesAnalyzed: false, PrimaryPackagePurpose: "LIBRARY",
			ExternalRefs: []spdxExternalRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/stdlib@" + info.GoVersion}},
			Comment:      "Go standard library and runtime",
		}
		addPkg(std)
		rels = append(rels, spdxRelationship{binID, "STATIC_LINK", std.SPDXID})
	}
	doc.DocumentNamespace = strings.TrimRight(s.namespaceBase(), "/") + "/" + doc.Name + "-" + hex.EncodeToString(nsHash.Sum(nil))[:32]
	doc.Relationships = rels
	return doc, nil
}

func (s *SBOM) namespaceBase() string {
	if s.NamespaceBase != "" {
		return s.NamespaceBase
	}
	return DefaultNamespaceBase
}

// modulePackage describes one Go module. The go.sum hash ("h1:...") is
// recorded as an external reference of type "gosum"; it is a hash of the
// module's file tree, not of a download, so it is not an SPDX checksum.
func modulePackage(path, version, sum string) spdxPackage {
	p := spdxPackage{
		SPDXID: spdxID("Module", path, version), Name: path, VersionInfo: version,
		DownloadLocation: noAssertion, PrimaryPackagePurpose: "LIBRARY",
		ExternalRefs: []spdxExternalRef{{"PACKAGE-MANAGER", "purl", "pkg:golang/" + path + "@" + version}},
	}
	if sum != "" {
		p.ExternalRefs = append(p.ExternalRefs, spdxExternalRef{"OTHER", "gosum", sum})
	}
	return p
}

// imageIndexOf returns the index record of a per-platform image record
// (named "<index name>-<os>-<arch>", see [ImageBuild]).
func imageIndexOf(arts []manifest.Artifact, a manifest.Artifact) (manifest.Artifact, bool) {
	name, ok := strings.CutSuffix(a.Name, "-"+a.OS+"-"+a.Arch)
	if !ok {
		return manifest.Artifact{}, false
	}
	for _, x := range arts {
		if x.Kind == manifest.KindImage && x.OS == "" && x.Name == name {
			return x, true
		}
	}
	return manifest.Artifact{}, false
}

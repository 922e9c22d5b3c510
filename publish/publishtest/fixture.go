package publishtest

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
)

// Release describes a staged release written by [StageRelease].
type Release struct {
	// Project is the project name (default "hello").
	Project string
	// Version is the release version (default "1.0.0").
	Version string
	// Salt changes the bytes of every artifact: two releases of the same
	// version with different salts conflict.
	Salt string
	// ArtifactSize is the size of each archive (default 4096).
	ArtifactSize int
	// Updated is the manifest's update time (default 2026-11-20 12:00 UTC):
	// changing it changes manifest.json and its signature only.
	Updated time.Time
	// Base, when set, is the manifest of the releases published before:
	// the new release is added to it (Base is modified) and the staged
	// manifest.json lists them all. The files of the earlier releases
	// are not staged.
	Base *manifest.Manifest
	// SerialBump is added to the manifest's serial: a re-signed manifest
	// (a refresh) that a publish accepts over the one published before.
	SerialBump int64
}

// StageRelease writes a staged release directory in the published layout
// (docs/design.md, with the names of docs/wire-format.md) into dir and
// returns the names of its files, sorted:
//
//	manifest.json, manifest.json.sig, signatures.json
//	<v>/hello-<v>-linux-amd64.tar.gz, -darwin-arm64.tar.gz, -windows-amd64.zip
//	<v>/SHA256SUMS, <v>/SHA256SUMS.sig
//	<v>/sbom.spdx.json, <v>/provenance.intoto.json, <v>/release-notes.md
//
// The archives hold pseudo-random bytes derived from the version and salt;
// the signatures are placeholders (publishing does not verify them); the
// manifest is real and agrees with the files.
func StageRelease(tb testing.TB, dir string, r Release) []string {
	tb.Helper()
	if r.Project == "" {
		r.Project = "hello"
	}
	if r.Version == "" {
		r.Version = "1.0.0"
	}
	if r.ArtifactSize == 0 {
		r.ArtifactSize = 4096
	}
	if r.Updated.IsZero() {
		r.Updated = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	}
	v := r.Version
	var names []string
	write := func(name string, data []byte) string {
		tb.Helper()
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			tb.Fatal(err)
		}
		names = append(names, name)
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:])
	}
	rel := manifest.Release{Version: v, Tag: "v" + v, Date: r.Updated, Commit: strings.Repeat("ab", 20)}
	sums := &manifest.Checksums{}
	seed := sha256.Sum256([]byte(r.Project + "\x00" + v + "\x00" + r.Salt))
	rng := rand.New(rand.NewChaCha8(seed))
	for _, pl := range []struct{ os, arch, ext string }{
		{"linux", "amd64", ".tar.gz"}, {"darwin", "arm64", ".tar.gz"}, {"windows", "amd64", ".zip"},
	} {
		base := fmt.Sprintf("%s-%s-%s-%s%s", r.Project, v, pl.os, pl.arch, pl.ext)
		data := make([]byte, r.ArtifactSize)
		for i := range data {
			data[i] = byte(rng.Uint32())
		}
		sum := write(v+"/"+base, data)
		if err := sums.Add(base, sum); err != nil {
			tb.Fatal(err)
		}
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: base, Path: v + "/" + base,
			Kind: manifest.KindArchive, OS: pl.os, Arch: pl.arch, Size: int64(len(data)), SHA256: sum})
	}
	other := func(base string, kind manifest.Kind, data []byte) {
		sum := write(v+"/"+base, data)
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: base, Path: v + "/" + base,
			Kind: kind, Size: int64(len(data)), SHA256: sum})
	}
	sumsData := sums.Marshal()
	other(manifest.ChecksumsFile, manifest.KindChecksums, sumsData)
	other(manifest.ChecksumsFile+".sig", manifest.KindSignature, []byte("placeholder-signature-of-"+hexSum(sumsData)+"\n"))
	other("sbom.spdx.json", manifest.KindSBOM, []byte(`{"spdxVersion":"SPDX-2.3","name":"`+r.Project+`-`+v+`"}`+"\n"))
	other("provenance.intoto.json", manifest.KindProvenance, []byte(`{"_type":"https://in-toto.io/Statement/v1","salt":"`+r.Salt+`"}`+"\n"))
	other("release-notes.md", manifest.KindNotes, []byte("# "+r.Project+" "+v+"\n\nSalt: "+r.Salt+"\n"))

	m := r.Base
	if m == nil {
		m = manifest.New(r.Project)
	}
	if _, err := m.Add(rel); err != nil {
		tb.Fatal(err)
	}
	m.Touch(r.Updated, 90*24*time.Hour)
	m.Serial += r.SerialBump
	data, err := m.Marshal()
	if err != nil {
		tb.Fatal(err)
	}
	write("manifest.json", data)
	write("manifest.json.sig", []byte("placeholder-signature-of-"+hexSum(data)+"\n"))
	write("signatures.json", []byte(`{"manifest.json":"`+hexSum(data)+`"}`+"\n"))
	slices.Sort(names)
	return names
}

func hexSum(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

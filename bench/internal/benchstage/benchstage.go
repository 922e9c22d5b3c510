// Package benchstage writes the synthetic staged releases the publish
// benchmarks under bench/ upload: FILES archives of pseudo-random bytes in
// <dir>/<version>/ and a manifest.json listing them, hashed while written.
package benchstage

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
)

// Stage writes files artifacts of size bytes each for project at version
// into dir, and dir/manifest.json. The bytes are the same on every run.
func Stage(dir, project, version string, files int, size int64) error {
	if err := os.MkdirAll(filepath.Join(dir, version), 0o755); err != nil {
		return err
	}
	date := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	rel := manifest.Release{Version: version, Tag: "v" + version, Date: date}
	rng := rand.NewChaCha8([32]byte{1}) // an io.Reader of pseudo-random bytes
	for i := range files {
		name := fmt.Sprintf("%s-%s-part%02d.tar.gz", project, version, i)
		f, err := os.Create(filepath.Join(dir, version, name))
		if err != nil {
			return err
		}
		h := sha256.New()
		_, err = io.CopyN(io.MultiWriter(f, h), rng, size)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
		rel.Artifacts = append(rel.Artifacts, manifest.Artifact{
			Name: name, Path: version + "/" + name, Kind: manifest.KindArchive,
			Size: size, SHA256: hex.EncodeToString(h.Sum(nil)),
		})
	}
	m := manifest.New(project)
	if _, err := m.Add(rel); err != nil {
		return err
	}
	m.Touch(date, 24*time.Hour)
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "manifest.json"), data, 0o644)
}

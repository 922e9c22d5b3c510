package githubtest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// IndexTag is the tag of the index release that holds a relkit root in
// the forge layout (docs/wire-format.md).
const IndexTag = "relkit-index"

// PutAsset sets the asset name of the published release tagged tag in
// owner/repo to data, as a delete and an upload through the API would: a
// replaced asset gets a new ID and a new download path, and is listed
// last. It creates the release (published) when the repository has none
// with that tag. It reports whether anything changed (false when the
// asset already holds data).
func (s *Server) PutAsset(owner, repoName, tag, name string, data []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findByTag(owner, repoName, tag)
	if rel == nil {
		rel = s.newRelease(owner, repoName, tag, "main", tag, "", false, false)
	}
	for _, a := range rel.assets {
		if a.Name == name {
			if a.State == "uploaded" && bytes.Equal(a.Data, data) {
				return false
			}
			s.deleteAsset(a)
			break
		}
	}
	s.newAsset(rel, name, "", "application/octet-stream", slices.Clone(data))
	return true
}

// DeleteAsset removes the asset name from the published release tagged
// tag, as a publisher replacing it does for a moment. It reports whether
// there was such an asset.
func (s *Server) DeleteAsset(owner, repoName, tag, name string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findByTag(owner, repoName, tag)
	if rel == nil {
		return false
	}
	for _, a := range rel.assets {
		if a.Name == name {
			s.deleteAsset(a)
			return true
		}
	}
	return false
}

func (s *Server) deleteAsset(a *asset) {
	a.rel.assets = slices.DeleteFunc(a.rel.assets, func(x *asset) bool { return x == a })
	delete(s.blobs, a.blob)
}

// SetPrerelease flags the published release tagged tag as a pre-release
// (or not). It reports whether the release exists.
func (s *Server) SetPrerelease(owner, repoName, tag string, pre bool) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	rel := s.findByTag(owner, repoName, tag)
	if rel != nil {
		rel.Prerelease = pre
	}
	return rel != nil
}

// LayoutAsset maps a path below a relkit release root (the directory
// layout of docs/wire-format.md) to the release tag and asset name of
// the forge layout: root files go to the index release (IndexTag) under
// their last path element, except that the root signatures.json is
// "root.signatures.json", root/<n>.json is "root.<n>.json" and
// shards/<sha256>.json is "shard.<sha256>.json"; a
// version file "<version>/<name>" goes to the release tag(version). It
// is written independently of relkit's client, so tests check one
// against the other.
func LayoutAsset(rel string, tag func(version string) string) (releaseTag, name string, err error) {
	parts := strings.Split(rel, "/")
	switch {
	case len(parts) == 1 && parts[0] == "signatures.json":
		return IndexTag, "root.signatures.json", nil
	case len(parts) == 1:
		return IndexTag, parts[0], nil
	case len(parts) == 2 && parts[0] == "sigs":
		return IndexTag, parts[1], nil
	case len(parts) == 2 && parts[0] == "shards":
		return IndexTag, "shard." + parts[1], nil
	case len(parts) == 2 && parts[0] == "root" && strings.HasSuffix(parts[1], ".json"):
		return IndexTag, "root." + parts[1], nil
	case len(parts) == 2:
		return tag(parts[0]), parts[1], nil
	}
	return "", "", fmt.Errorf("githubtest: %s has no place in the forge layout", rel)
}

// PublishLayout writes the relkit release root in dir to owner/repo in
// the forge layout (see LayoutAsset): the version releases first (tags
// from dir's manifest.json, "v" + version where it gives none), then the
// index release's files, manifest.json last, as a publisher commits. The
// index release is published as a pre-release. Assets already holding
// the same bytes are left alone; releases and assets not in dir are
// kept. Files outside the layout are an error.
func (s *Server) PublishLayout(owner, repoName, dir string) error {
	tags := map[string]string{}
	if data, err := os.ReadFile(filepath.Join(dir, "manifest.json")); err == nil {
		var m struct {
			Releases []struct {
				Version string `json:"version"`
				Tag     string `json:"tag"`
			} `json:"releases"`
		}
		if err := json.Unmarshal(data, &m); err != nil {
			return fmt.Errorf("githubtest: manifest.json: %w", err)
		}
		for _, r := range m.Releases {
			tags[r.Version] = r.Tag
		}
	}
	tag := func(v string) string {
		if t := tags[v]; t != "" {
			return t
		}
		return "v" + v
	}
	type file struct{ rel, tag, name string }
	var version, index []file
	var manifestFile *file
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		t, n, err := LayoutAsset(rel, tag)
		if err != nil {
			return err
		}
		f := file{rel, t, n}
		switch {
		case rel == "manifest.json":
			manifestFile = &f
		case t == IndexTag:
			index = append(index, f)
		default:
			version = append(version, f)
		}
		return nil
	})
	if err != nil {
		return err
	}
	s.mu.Lock()
	if s.findByTag(owner, repoName, IndexTag) == nil {
		s.newRelease(owner, repoName, IndexTag, "main", "relkit index", "", false, true)
	}
	s.mu.Unlock()
	all := append(version, index...)
	if manifestFile != nil {
		all = append(all, *manifestFile)
	}
	for _, f := range all {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(f.rel)))
		if err != nil {
			return err
		}
		s.PutAsset(owner, repoName, f.tag, f.name, data)
	}
	return nil
}

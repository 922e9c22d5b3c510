//go:build attack12

package attack12

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/verify"
)

// TestBigManifestRace: years of unpruned nightlies (A12_RELEASES,
// default 3000 releases x 8 artifacts), then 4 publishers at once.
// Does anyone run out of MaxMergeAttempts, and how long does it take?
func TestBigManifestRace(t *testing.T) {
	n := 3000
	if s := os.Getenv("A12_RELEASES"); s != "" {
		fmt.Sscan(s, &n)
	}
	procs := 4
	if s := os.Getenv("A12_PROCS"); s != "" {
		fmt.Sscan(s, &procs)
	}
	ctx := context.Background()
	kf := newKeyFiles(t)
	s, _ := harness.LoadSigner(kf.key())
	var vs []string
	for j := range procs {
		vs = append(vs, fmt.Sprintf("9.%d.0", j))
	}
	staged := stageVersions(t, kf, "", vs...)
	dest := t.TempDir()
	st, _ := publish.NewDirStore(dest)
	m := manifest.New("hello")
	sum := sha256.Sum256([]byte("x"))
	for i := range n {
		v := fmt.Sprintf("0.%d.%d-nightly.%d", i/1000, i%1000, i)
		rel := manifest.Release{Version: v, Channel: "nightly", Commit: strings.Repeat("a", 40), Date: time.Now().UTC().Truncate(time.Second)}
		for k := range 8 {
			name := fmt.Sprintf("hello-%s-%d.tar.gz", v, k)
			rel.Artifacts = append(rel.Artifacts, manifest.Artifact{Name: name, Path: v + "/" + name, Kind: manifest.KindArchive, OS: "linux", Arch: "amd64", Size: 1, SHA256: hex.EncodeToString(sum[:])})
		}
		if _, err := m.Add(rel); err != nil {
			t.Fatal(err)
		}
	}
	m.Touch(time.Now(), 90*24*time.Hour)
	data, err := m.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	sig, _ := s.Sign(ctx, bytes.NewReader(data))
	h := sha256.Sum256(data)
	os.MkdirAll(filepath.Join(dest, "sigs"), 0o755)
	os.WriteFile(filepath.Join(dest, "sigs", "manifest.json."+hex.EncodeToString(h[:])+".sig"), verify.EncodeSignature(sig), 0o644)
	os.WriteFile(filepath.Join(dest, "manifest.json"), data, 0o644)
	t.Logf("manifest: %d releases, %d KiB", n, len(data)/1024)
	_ = st
	t0 := time.Now()
	var runs []*run
	for _, v := range vs {
		runs = append(runs, start(t, []string{"A12_LOG=1"}, "publish", "-staged", staged[v], "-dest", dest, "-key", kf.key(), "-timeout", "300s"))
	}
	races, merges := 0, 0
	for j, r := range runs {
		err := r.wait(t, 320*time.Second)
		merges += strings.Count(r.stderr.String(), "merging into the published manifest")
		if err != nil {
			if strings.Contains(r.stderr.String(), "TYPE RaceError") {
				races++
			}
			t.Logf("publisher %d: %v %s", j, err, tail(r.stderr.String(), 300))
		}
	}
	res, cerr := check.Root(check.DirReader(dest), kf.pub)
	t.Logf("%d publishers into a %d-release manifest: %v, %d merges in all, %d RaceError; listed %d; checker %v", procs, n, time.Since(t0).Round(time.Millisecond), merges, races, len(res.Versions), cerr)
}

package release

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

func TestChecksumsSha256sum(t *testing.T) {
	sha256sum := testenv.Tool(t, "sha256sum")
	st := lightState(t)
	if err := (&Package{}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := (Checksums{}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(sha256sum, "-c", "--strict", manifest.ChecksumsFile)
	cmd.Dir = st.VersionDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("sha256sum -c: %v\n%s", err, out)
	}
	f, _ := os.Open(filepath.Join(st.VersionDir(), manifest.ChecksumsFile))
	defer f.Close()
	sums, err := manifest.ParseChecksums(f)
	if err != nil {
		t.Fatal(err)
	}
	if sums.Len() != len(allTargets) {
		t.Errorf("SHA256SUMS has %d entries, want %d", sums.Len(), len(allTargets))
	}
	a, ok := st.Artifact(manifest.ChecksumsFile)
	if !ok || a.Kind != manifest.KindChecksums {
		t.Errorf("SHA256SUMS not recorded: %+v", st.Artifacts)
	}

	// A corrupted archive fails sha256sum -c.
	arch := filepath.Join(st.VersionDir(), "hello-1.2.0-linux-amd64.tar.gz")
	os.WriteFile(arch, []byte("tampered"), 0o644)
	cmd = exec.Command(sha256sum, "-c", "--strict", manifest.ChecksumsFile)
	cmd.Dir = st.VersionDir()
	if out, err := cmd.CombinedOutput(); err == nil {
		t.Errorf("sha256sum -c accepted a tampered archive:\n%s", out)
	}
}

func TestChecksumsNothing(t *testing.T) {
	st := lightState(t)
	if err := (Checksums{}).Run(t.Context(), st); err == nil {
		t.Fatal("no error for an empty release")
	}
}

package release

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestPackageDuringBuild: archives the build stage writes while the other
// targets build are the bytes the package stage alone writes, and one
// whose binary changed between the stages (a signing stage in between)
// is written again from the changed binary.
func TestPackageDuringBuild(t *testing.T) {
	for _, change := range []bool{false, true} {
		st := emptyState(t)
		b := testBuild()
		p := &Package{}
		b.pack = p
		if err := b.Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		if p.early == nil || len(p.early.done) != len(allTargets) {
			t.Fatalf("early archives: %+v, want %d", p.early, len(allTargets))
		}
		if change {
			bin := st.Binaries[0]
			data, err := os.ReadFile(bin.Path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(bin.Path, append(data, "signature"...), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		if err := p.Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		if p.early != nil {
			t.Error("early archives kept after the package stage")
		}
		ref := emptyState(t)
		ref.Binaries = st.Binaries
		if err := (&Package{}).Run(t.Context(), ref); err != nil {
			t.Fatal(err)
		}
		if len(st.Artifacts) != len(ref.Artifacts) {
			t.Fatalf("%d artifacts, want %d", len(st.Artifacts), len(ref.Artifacts))
		}
		for i, a := range st.Artifacts {
			if a != ref.Artifacts[i] {
				t.Errorf("change=%v: %s: %+v, want %+v", change, a.Name, a, ref.Artifacts[i])
			}
			x, _ := os.ReadFile(filepath.Join(st.Root, a.Path))
			y, _ := os.ReadFile(filepath.Join(ref.Root, a.Path))
			if !bytes.Equal(x, y) {
				t.Errorf("change=%v: %s differs from the package stage's own archive", change, a.Name)
			}
		}
	}
}

// TestPackageDuringBuildFails: when a later target fails to build, the
// archives already written for the others are removed and none is
// handed to the package stage.
func TestPackageDuringBuildFails(t *testing.T) {
	mod := t.TempDir()
	files := map[string]string{
		"go.mod":         "module example.com/x\n\ngo 1.21\n",
		"main.go":        "package main\n\nfunc main() {}\n",
		"bad_windows.go": "package main\n\nfunc broken() { undefined() }\n",
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(mod, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	st := emptyState(t)
	p := &Package{}
	b := &Build{Dir: mod, Targets: allTargets[:0:0], Parallel: 1, pack: p}
	for _, pl := range allTargets {
		if pl.OS == "linux" || pl.OS == "windows" {
			b.Targets = append(b.Targets, pl)
		}
	}
	if b.Targets[len(b.Targets)-1].OS != "windows" {
		t.Fatalf("targets %v: want windows last", b.Targets)
	}
	if err := b.Run(t.Context(), st); err == nil {
		t.Fatal("the windows build did not fail")
	}
	if p.early != nil {
		t.Error("early archives handed on after a failed build")
	}
	left, _ := filepath.Glob(filepath.Join(st.VersionDir(), "*"))
	if len(left) != 0 {
		t.Errorf("left behind after the failed build: %v", left)
	}
}

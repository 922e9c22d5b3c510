package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

func writeExtras(t *testing.T) []File {
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "LICENSE"), []byte("MIT\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "README.md"), []byte("# hello\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "hello.bash"), []byte("complete -F _hello hello\n"), 0o600)
	return []File{
		{Src: filepath.Join(dir, "README.md")},
		{Src: filepath.Join(dir, "LICENSE")},
		{Src: filepath.Join(dir, "hello.bash"), Name: "completions/hello.bash"},
	}
}

func TestPackageLayout(t *testing.T) {
	st := stagedState(t)
	if err := (&Package{Extra: writeExtras(t), Level: gzip.BestSpeed}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if len(st.Artifacts) != len(allTargets) {
		t.Fatalf("artifacts %v", st.Artifacts)
	}
	for _, a := range st.Artifacts {
		p := manifest.Platform{OS: a.OS, Arch: a.Arch}
		if want := "hello-1.2.0-" + a.OS + "-" + a.Arch + p.ArchiveExt(); a.Name != want || a.Path != "1.2.0/"+want || a.Kind != manifest.KindArchive {
			t.Errorf("artifact %+v, want name %s", a, want)
		}
		file := filepath.Join(st.Root, filepath.FromSlash(a.Path))
		size, sum, err := hashFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if size != a.Size || sum != a.SHA256 {
			t.Errorf("%s: recorded %d %s, file is %d %s", a.Name, a.Size, a.SHA256, size, sum)
		}
		exe := "hello" + p.ExeSuffix()
		want := map[string]int64{"LICENSE": 0o644, "README.md": 0o644, "completions/hello.bash": 0o644, exe: 0o755}
		var names []string
		check := func(name string, mode int64, mtimeOK, ownerOK bool) {
			names = append(names, name)
			if strings.HasSuffix(name, "/") {
				return
			}
			if m, ok := want[name]; !ok || m != mode {
				t.Errorf("%s: entry %s mode %o, want %o", a.Name, name, mode, want[name])
			}
			if !mtimeOK || !ownerOK {
				t.Errorf("%s: entry %s: mtime or owner not fixed", a.Name, name)
			}
		}
		if p.OS == "windows" {
			zr, err := zip.OpenReader(file)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range zr.File {
				check(f.Name, int64(f.Mode().Perm()), f.Modified.Equal(testDate), true)
			}
			zr.Close()
		} else {
			f, _ := os.Open(file)
			gz, err := gzip.NewReader(f)
			if err != nil {
				t.Fatal(err)
			}
			if gz.Name != "" || !gz.ModTime.IsZero() {
				t.Errorf("%s: gzip header has name %q mtime %v", a.Name, gz.Name, gz.ModTime)
			}
			tr := tar.NewReader(gz)
			for {
				h, err := tr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				check(h.Name, h.Mode, h.ModTime.Equal(testDate), h.Uid == 0 && h.Gid == 0 && h.Uname == "" && h.Gname == "")
			}
			f.Close()
		}
		if !slices.IsSorted(names) {
			t.Errorf("%s: entries not sorted: %v", a.Name, names)
		}
		if !slices.Contains(names, exe) {
			t.Errorf("%s: no %s at the root: %v", a.Name, exe, names)
		}
	}
}

func TestPackageReproducible(t *testing.T) {
	var runs [2]*State
	for i := range runs {
		runs[i] = stagedState(t)
		if err := (&Package{Extra: writeExtras(t)}).Run(t.Context(), runs[i]); err != nil {
			t.Fatal(err)
		}
	}
	for i, a := range runs[0].Artifacts {
		b := runs[1].Artifacts[i]
		x, _ := os.ReadFile(filepath.Join(runs[0].Root, a.Path))
		y, _ := os.ReadFile(filepath.Join(runs[1].Root, b.Path))
		if a != b || !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs: %+v vs %+v", a.Name, a, b)
		}
	}
}

// TestPackageTarInterop extracts an archive with the real tar.
func TestPackageTarInterop(t *testing.T) {
	tarBin := testenv.Tool(t, "tar")
	st := stagedState(t)
	st.Binaries = onlyPlatform(st.Binaries, manifest.Platform{OS: "linux", Arch: "amd64"})
	if err := (&Package{Extra: writeExtras(t), Level: gzip.BestSpeed}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	a, _ := st.Artifact("hello-1.2.0-linux-amd64.tar.gz")
	out := t.TempDir()
	if b, err := exec.Command(tarBin, "-xzf", filepath.Join(st.Root, a.Path), "-C", out).CombinedOutput(); err != nil {
		t.Fatalf("tar: %v %s", err, b)
	}
	fi, err := os.Stat(filepath.Join(out, "hello"))
	if err != nil || fi.Mode().Perm() != 0o755 || !fi.ModTime().Equal(testDate) {
		t.Fatalf("extracted hello: %v %v", fi, err)
	}
	if b, _ := os.ReadFile(filepath.Join(out, "completions", "hello.bash")); !strings.Contains(string(b), "complete") {
		t.Errorf("completions/hello.bash: %q", b)
	}
}

func TestPackageErrors(t *testing.T) {
	tests := []struct {
		name string
		p    *Package
		st   func() *State
	}{
		{"missing extra file", &Package{Extra: []File{{Src: "/nonexistent/LICENSE"}}}, func() *State { return lightState(t) }},
		{"escaping name", &Package{Extra: []File{{Src: writeExtras(t)[0].Src, Name: "../x"}}}, func() *State { return lightState(t) }},
		{"duplicate name", &Package{Extra: []File{{Src: writeExtras(t)[0].Src, Name: "hello"}}}, func() *State { return lightState(t) }},
		{"no date", &Package{}, func() *State { s := lightState(t); s.Date = time.Time{}; return s }},
		{"no binaries", &Package{}, func() *State { s := lightState(t); s.Binaries = nil; return s }},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st := tc.st()
			err := tc.p.Run(t.Context(), st)
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			if len(st.Artifacts) != 0 {
				t.Errorf("artifacts recorded after failure: %v", st.Artifacts)
			}
			var ce *ConfigError
			if tc.name != "missing extra file" && !errors.As(err, &ce) {
				t.Errorf("err = %v, want *ConfigError", err)
			}
			if tc.name == "missing extra file" && !errors.Is(err, os.ErrNotExist) {
				t.Errorf("err = %v, want ErrNotExist", err)
			}
		})
	}
}

package release

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/relkit/relkit/manifest"
)

func TestSourceArchive(t *testing.T) {
	r := newRepo(t)
	r.write("main.go", "package main\n")
	r.write("docs/README.md", "# hi\n")
	commit := r.commit("initial")
	r.write("untracked.txt", "not in the archive")

	var archives [2][]byte
	for i := range archives {
		st := &State{Project: "hello", Version: manifest.MustParseVersion("1.2.0"), Commit: commit, Root: t.TempDir(), Log: testLogger(t)}
		if err := (&Source{Dir: r.dir}).Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		a, ok := st.Artifact("hello-1.2.0-source.tar.gz")
		if !ok || a.Kind != manifest.KindArchive || a.OS != "" {
			t.Fatalf("artifact %+v", st.Artifacts)
		}
		archives[i], _ = os.ReadFile(filepath.Join(st.Root, a.Path))
	}
	if !bytes.Equal(archives[0], archives[1]) {
		t.Error("two source archives of one commit differ")
	}
	gz, err := gzip.NewReader(bytes.NewReader(archives[0]))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeXGlobalHeader {
			names = append(names, h.Name)
			if !h.ModTime.Equal(testDate) {
				t.Errorf("%s mtime %v, want the commit time", h.Name, h.ModTime)
			}
		}
	}
	want := []string{"hello-1.2.0/", "hello-1.2.0/docs/", "hello-1.2.0/docs/README.md", "hello-1.2.0/main.go"}
	if !slices.Equal(names, want) {
		t.Errorf("entries %v, want %v", names, want)
	}
}

func TestSourceArchiveBadCommit(t *testing.T) {
	r := newRepo(t)
	r.write("a", "a")
	r.commit("x")
	st := &State{Project: "hello", Version: manifest.MustParseVersion("1.2.0"), Commit: "0000000000000000000000000000000000000bad", Root: t.TempDir()}
	err := (&Source{Dir: r.dir}).Run(t.Context(), st)
	var ge *GitError
	if !errors.As(err, &ge) {
		t.Fatalf("err = %v, want *GitError", err)
	}
	if entries, _ := os.ReadDir(st.VersionDir()); len(entries) != 0 {
		t.Errorf("left files behind: %v", entries)
	}
}

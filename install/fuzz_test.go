package install

import (
	"archive/tar"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzExtract feeds arbitrary bytes to the tar.gz and zip extractors.
// Whatever the input, extraction must not panic, must write nothing but
// its own temporary files in the target directory, and must either
// return exactly the wanted binary or an error with no file left behind.
// Seeds: testdata/fuzz/FuzzExtract (valid and hostile archives).
func FuzzExtract(f *testing.F) {
	good := []entry{{name: "hello", body: []byte("#!/bin/sh\necho hi\n")}}
	f.Add(tarGz(f, good), false)
	f.Add(zipArchive(f, good), true)
	f.Add(tarGz(f, []entry{{name: "../evil", body: []byte("x")}, good[0]}), false)
	f.Add(tarGz(f, []entry{{name: "lib", typ: tar.TypeSymlink, link: "../x"}, good[0]}), false)
	f.Add(zipArchive(f, []entry{{name: "/abs", body: []byte("x")}, good[0]}), true)
	f.Add(sparseTarGz(f, []sparseEntry{{name: "hello", data: good[0].body, realSize: 8 << 20}}, nil), false)
	f.Fuzz(func(t *testing.T, data []byte, isZip bool) {
		work := t.TempDir()
		dir := filepath.Join(work, "bin")
		os.Mkdir(dir, 0o755)
		arch := filepath.Join(work, "a")
		if err := os.WriteFile(arch, data, 0o644); err != nil {
			t.Fatal(err)
		}
		fh, err := os.Open(arch)
		if err != nil {
			t.Fatal(err)
		}
		defer fh.Close()
		format := formatTarGz
		if isZip {
			format = formatZip
		}
		x := &extractor{archive: "a", want: []string{"hello"}, dir: dir,
			lim: Limits{MaxEntrySize: 1 << 20, MaxTotalSize: 4 << 20, MaxEntries: 100}.withDefaults()}
		files, err := x.extract(context.Background(), fh, int64(len(data)), format)
		des, _ := os.ReadDir(dir)
		if err != nil {
			if len(files) != 0 || len(des) != 0 {
				t.Fatalf("error %v but files %v, dir %v", err, files, des)
			}
			return
		}
		if len(files) != 1 || files[0].Name != "hello" || len(des) != 1 {
			t.Fatalf("success with files %v, dir %v", files, des)
		}
		if !strings.HasPrefix(filepath.Base(files[0].Temp), tempPrefix+tempNew+"-hello-") || filepath.Dir(files[0].Temp) != dir {
			t.Fatalf("unexpected temp file %s", files[0].Temp)
		}
		if fi, err := os.Stat(files[0].Temp); err != nil || fi.Size() != files[0].Size {
			t.Fatalf("temp file %v %v", fi, err)
		}
	})
}

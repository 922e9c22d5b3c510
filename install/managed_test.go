package install

import (
	"context"
	"debug/buildinfo"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// TestInstallRefusesManagedBinaries: a binary that a Homebrew Cellar, a
// Scoop app directory, dpkg's or rpm's database, or `go install` (a Go
// binary in GOBIN without a relkit receipt) owns is not replaced: Install
// fails with a *ManagedError naming the command to run instead, before
// downloading anything, and leaves the binary as it was; Check warns with
// the same command; AllowManaged, for the one call it is passed to,
// replaces it. (The dpkg case against the real dpkg is in package
// release's TestLinuxPackagesInterop; here dpkg's database and rpm are
// fixtures.)
func TestInstallRefusesManagedBinaries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	goBin, err := os.ReadFile(os.Args[0]) // this test binary: a Go binary with module information
	if err != nil {
		t.Fatal(err)
	}
	type tc struct {
		name    string
		setup   func(t *testing.T) (dir string) // returns the install directory, with hello in it
		manager string
		command string
	}
	put := func(t *testing.T, dir string, data []byte) string {
		t.Helper()
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "hello"), data, 0o755); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	old := []byte("#!/bin/sh\necho hello 0.9.0\n")
	cases := []tc{
		{name: "homebrew keg", setup: func(t *testing.T) string {
			return put(t, filepath.Join(t.TempDir(), "Cellar", "hello", "0.9.0", "bin"), old)
		}, manager: "homebrew", command: "brew upgrade hello"},
		{name: "homebrew cask", setup: func(t *testing.T) string {
			return put(t, filepath.Join(t.TempDir(), "Caskroom", "hello", "0.9.0"), old)
		}, manager: "homebrew", command: "brew upgrade --cask hello"},
		{name: "homebrew keg reached through a symlinked directory", setup: func(t *testing.T) string {
			root := t.TempDir()
			keg := put(t, filepath.Join(root, "Cellar", "hello", "0.9.0", "bin"), old)
			link := filepath.Join(root, "opt-hello-bin")
			if err := os.Symlink(keg, link); err != nil {
				t.Skip(err)
			}
			return link
		}, manager: "homebrew", command: "brew upgrade hello"},
		{name: "scoop app", setup: func(t *testing.T) string {
			return put(t, filepath.Join(t.TempDir(), "scoop", "apps", "hello", "current"), old)
		}, manager: "scoop", command: "scoop update hello"},
		{name: "go install", setup: func(t *testing.T) string {
			dir := filepath.Join(t.TempDir(), "gobin")
			t.Setenv("GOBIN", dir)
			return put(t, dir, goBin)
		}, manager: "go", command: "go install github.com/relkit/relkit/install.test@latest"},
	}
	if runtime.GOOS == "linux" {
		cases = append(cases,
			tc{name: "dpkg database", setup: func(t *testing.T) string {
				dir := put(t, filepath.Join(t.TempDir(), "usr", "bin"), old)
				info := t.TempDir()
				os.WriteFile(filepath.Join(info, "other.list"), []byte("/usr/bin/other\n"), 0o644)
				os.WriteFile(filepath.Join(info, "hello:amd64.list"), []byte("/.\n/usr\n"+filepath.Join(dir, "hello")+"\n"), 0o644)
				saved, savedScan := dpkgInfoDir, scanUserDirs
				dpkgInfoDir, scanUserDirs = info, true
				t.Cleanup(func() { dpkgInfoDir, scanUserDirs = saved, savedScan })
				return dir
			}, manager: "dpkg", command: "sudo apt upgrade hello"},
			tc{name: "rpm database (stub rpm)", setup: func(t *testing.T) string {
				dir := put(t, filepath.Join(t.TempDir(), "usr", "bin"), old)
				stub := filepath.Join(t.TempDir(), "rpm")
				os.WriteFile(stub, []byte("#!/bin/sh\n[ \"$1\" = -qf ] && [ \"$4\" = '"+filepath.Join(dir, "hello")+"' ] && { echo hello-tools; exit 0; }\nexit 1\n"), 0o755)
				savedCmd, savedDB, savedScan := rpmCommand, rpmDBDirs, scanUserDirs
				rpmCommand, rpmDBDirs, scanUserDirs = stub, []string{t.TempDir()}, true
				t.Cleanup(func() { rpmCommand, rpmDBDirs, scanUserDirs = savedCmd, savedDB, savedScan })
				return dir
			}, manager: "rpm", command: "sudo dnf upgrade hello-tools"},
		)
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := c.setup(t)
			before := readFile(t, filepath.Join(dir, "hello"))
			n := len(srv.requests(".tar.gz"))
			_, err := f.installer(f.config(srv.URL, dir)).Install(ctx, manifest.Query{})
			var me *ManagedError
			if !errors.As(err, &me) || !errors.Is(err, ErrManaged) {
				t.Fatalf("got %v, want a *ManagedError", err)
			}
			if me.Manager != c.manager || me.Command != c.command {
				t.Errorf("manager %q command %q, want %q %q", me.Manager, me.Command, c.manager, c.command)
			}
			t.Log(err)
			if got := readFile(t, filepath.Join(dir, "hello")); got != before {
				t.Fatal("the managed binary changed")
			}
			if len(srv.requests(".tar.gz")) != n {
				t.Error("downloaded before refusing")
			}
			u, err := f.installer(f.config(srv.URL, dir)).Check(ctx, manifest.Query{})
			if err != nil || !slices.ContainsFunc(u.Warnings, func(w string) bool { return strings.Contains(w, "`"+c.command+"`") }) {
				t.Errorf("Check: %v, %+v; want a warning naming %q", err, u, c.command)
			}
			if _, err := f.installer(f.config(srv.URL, dir)).Rollback(ctx); !errors.As(err, &me) {
				t.Errorf("Rollback: got %v, want a *ManagedError", err)
			}
			in := f.installer(f.config(srv.URL, dir))
			if u, err := in.Check(ctx, manifest.Query{}, AllowManaged()); err != nil || slices.ContainsFunc(u.Warnings, func(w string) bool { return strings.Contains(w, "`"+c.command+"`") }) {
				t.Errorf("Check with AllowManaged: %v, %+v; want no warning naming %q", err, u, c.command)
			}
			if _, err := in.Install(ctx, manifest.Query{}); !errors.As(err, &me) {
				t.Fatalf("Install after a Check with AllowManaged: %v, want a *ManagedError", err)
			}
			if _, err := in.Install(ctx, manifest.Query{}, AllowManaged()); err != nil {
				t.Fatalf("with AllowManaged: %v", err)
			}
			if got := readFile(t, filepath.Join(dir, "hello")); got != string(script("hello", "1.0.0")) {
				t.Errorf("with AllowManaged, installed %q", got)
			}
		})
	}
}

// TestInstallIntoGOBINWithReceipt: a binary relkit installed into GOBIN
// (it has a receipt) is not taken for a `go install`.
func TestInstallIntoGOBINWithReceipt(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	srv := f.serve()
	dir := filepath.Join(t.TempDir(), "gobin")
	os.Mkdir(dir, 0o755)
	t.Setenv("GOBIN", dir)
	if _, err := f.installer(f.config(srv.URL, dir)).Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	goBin, _ := os.ReadFile(os.Args[0])
	os.WriteFile(filepath.Join(dir, "hello"), goBin, 0o755) // now a Go binary, with relkit's receipt
	if _, err := f.installer(f.config(srv.URL, dir)).Install(ctx, manifest.Query{Version: "1.1.0"}); err != nil {
		t.Fatalf("relkit's own install in GOBIN refused: %v", err)
	}
}

// TestGoMainPackage: the light build-information reader finds the main
// package debug/buildinfo finds, and nothing in a file that is not a Go
// binary.
func TestGoMainPackage(t *testing.T) {
	bins := []string{os.Args[0]}
	if gofmt, err := exec.LookPath("gofmt"); err == nil && fileExists(gofmt) {
		bins = append(bins, gofmt)
	}
	for _, b := range bins {
		info, err := buildinfo.ReadFile(b)
		if err != nil {
			t.Fatal(err)
		}
		got, mod, version, ok := goBuildInfo(b)
		if !ok || got != info.Path || mod != info.Main.Path || version != info.Main.Version {
			t.Errorf("%s: got %q %q %q %v, want %q %q %q", b, got, mod, version, ok, info.Path, info.Main.Path, info.Main.Version)
		}
	}
	script := filepath.Join(t.TempDir(), "hello")
	os.WriteFile(script, []byte("#!/bin/sh\necho \xff Go buildinf:\n"), 0o755)
	if p, _, _, ok := goBuildInfo(script); ok {
		t.Errorf("a shell script: %q", p)
	}
}

func fileExists(p string) bool { _, err := os.Stat(p); return err == nil }

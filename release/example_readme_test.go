package release_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/release/tap"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// Example stages and signs a release of the Go program in the current
// directory, then publishes what was verified to a directory served over
// HTTP and verifies it again from there.
func Example() {
	ctx := context.Background()
	defer exampleProject()()                     // a git work tree: a main package and CHANGELOG.md
	s, pub := exampleSigner()                    // sign.LoadSigner("cosign.key", sign.EnvPassword) in real life
	p, loc, _, stop := exampleDestination("www") // a directory served on 127.0.0.1
	defer stop()
	targets := []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"}}
	var current *manifest.Manifest // the destination's manifest.json; nil for a first release

	st, err := release.Prepare(ctx, release.Config{Project: "hello", Version: "1.3.0",
		Build: &release.Build{Targets: targets, Vars: release.LinkVars{Version: "main.version"}},
		Notes: release.Changelog{Path: "CHANGELOG.md"}, SourceURI: "git+https://github.com/example/hello",
		Signers: []sign.Signer{s}, Published: current})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("staged", st.Version)
	_, err = release.Publish(ctx, release.PublishConfig{Root: "dist/release", Publisher: p, Keys: [][]byte{pub}, Remote: loc})
	if err != nil {
		log.Fatal(err)
	}
	printDir("www/1.3.0")
	// Output:
	// staged 1.3.0
	// SHA256SUMS
	// SHA256SUMS.sig
	// hello-1.3.0-darwin-arm64.tar.gz
	// hello-1.3.0-linux-amd64.tar.gz
	// provenance.intoto.json
	// provenance.intoto.jsonl
	// release-notes.md
	// sbom.spdx.json
	// signatures.json
}

// Example_distribution adds archive formats, Linux packages, and a
// Homebrew tap and a Scoop bucket updated from the published manifest.
func Example_distribution() {
	ctx := context.Background()
	defer exampleProject()() // a git work tree: a main package, CHANGELOG.md and hello.toml
	s, pub := exampleSigner()
	p, loc, releaseURL, stop := exampleDestination("www")
	defer stop()
	homebrewTap, scoopBucket := exampleBareRepo("homebrew-tap.git"), exampleBareRepo("scoop-bucket.git")
	cfg := release.Config{Project: "hello", Version: "1.3.0", SourceURI: "git+https://github.com/example/hello", Signers: []sign.Signer{s},
		Build: &release.Build{Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"}, {OS: "windows", Arch: "amd64"}}}}
	pcfg := release.PublishConfig{Root: "dist/release", Publisher: p, Keys: [][]byte{pub}, Remote: loc}

	// cfg and pcfg are the Config and PublishConfig of the release sample.
	taps := &tap.Config{Project: "hello", BaseURL: releaseURL, Keys: [][]byte{pub}, // "https://releases.example.com/hello"
		Homebrew:    &tap.Repo{URL: homebrewTap}, // "git@github.com:example/homebrew-tap.git"
		Scoop:       &tap.Repo{URL: scoopBucket}, // "git@github.com:example/scoop-bucket.git"
		Description: "Says hello.", Homepage: "https://example.com/hello", License: "MIT"}
	cfg.Package = release.Package{Formats: []string{"tar.gz", "tar.xz", "tar.zst"}} // windows: zip
	cfg.LinuxPackages = &release.LinuxPackages{Formats: []string{"deb", "rpm", "apk"},
		Maintainer: "Jane Doe <jane@example.com>", Description: "Says hello.", License: "MIT",
		Files: []release.PackageFile{{Src: "hello.toml", Dst: "/etc/hello/hello.toml", Config: true}}}
	cfg.Taps = taps // checked before the build: a tap that cannot be pushed to fails here
	st, err := release.Prepare(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("staged", st.Version)
	_, err = release.Publish(ctx, pcfg)
	if err != nil {
		log.Fatal(err)
	}
	printDir("www/1.3.0")
	res, err := tap.Update(ctx, *taps) // package release/tap: Casks/hello.rb, bucket/hello.json; a re-run changes nothing
	if err != nil {
		log.Fatal(err)
	}
	for _, u := range res.Updates {
		fmt.Println(u.File, "changed:", u.Changed)
	}
	// Output:
	// staged 1.3.0
	// SHA256SUMS
	// SHA256SUMS.sig
	// hello-1.3.0-1.x86_64.rpm
	// hello-1.3.0-darwin-arm64.tar.gz
	// hello-1.3.0-darwin-arm64.tar.xz
	// hello-1.3.0-darwin-arm64.tar.zst
	// hello-1.3.0-linux-amd64.tar.gz
	// hello-1.3.0-linux-amd64.tar.xz
	// hello-1.3.0-linux-amd64.tar.zst
	// hello-1.3.0-windows-amd64.zip
	// hello_1.3.0_amd64.deb
	// hello_1.3.0_x86_64.apk
	// provenance.intoto.json
	// provenance.intoto.jsonl
	// sbom.spdx.json
	// signatures.json
	// Casks/hello.rb changed: true
	// bucket/hello.json changed: true
}

// exampleProject makes a git work tree for the project hello in a new
// temporary directory and moves into it: a main package that prints its
// version, CHANGELOG.md with a 1.3.0 section, and hello.toml. It returns
// the function that moves back and removes the directory.
func exampleProject() func() { return exampleProjectWith(nil) }

// exampleProjectWith is exampleProject with more files (name to content)
// committed with the others.
func exampleProjectWith(extra map[string]string) func() {
	dir, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	back, err := os.Getwd()
	if err != nil {
		log.Fatal(err)
	}
	files := map[string]string{
		"go.mod":       "module example.com/hello\n\ngo 1.26\n",
		"main.go":      "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nvar version = \"dev\"\n\nfunc main() {\n\tif len(os.Args) > 1 && os.Args[1] == \"version\" {\n\t\tfmt.Println(version)\n\t\treturn\n\t}\n\tfmt.Println(\"hello\")\n}\n",
		"CHANGELOG.md": "# Changelog\n\n## [1.3.0] - 2026-12-01\n\n### Added\n\n- Says hello.\n",
		"hello.toml":   "greeting = \"hello\"\n",
		".gitignore":   "/dist/\n/www/\n",
	}
	maps.Copy(files, extra)
	for name, content := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q", "-b", "main"}, {"add", "-A"}, {"commit", "-q", "-m", "hello"}, {"tag", "-a", "v1.3.0", "-m", "v1.3.0"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=Jane Doe", "GIT_AUTHOR_EMAIL=jane@example.com",
			"GIT_COMMITTER_NAME=Jane Doe", "GIT_COMMITTER_EMAIL=jane@example.com",
			"GIT_AUTHOR_DATE=2026-12-01T12:00:00Z", "GIT_COMMITTER_DATE=2026-12-01T12:00:00Z", "GIT_CONFIG_NOSYSTEM=1")
		if out, err := cmd.CombinedOutput(); err != nil {
			log.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	if err := os.Chdir(dir); err != nil {
		log.Fatal(err)
	}
	return func() {
		os.Chdir(back)
		os.RemoveAll(dir)
	}
}

// exampleSigner returns a new ECDSA P-256 signer (a cosign key's kind)
// and its public key in PEM.
func exampleSigner() (sign.Signer, []byte) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		log.Fatal(err)
	}
	s, err := sign.NewSigner(key, "")
	if err != nil {
		log.Fatal(err)
	}
	pub, err := verify.MarshalPublicKey(s.PublicKey())
	if err != nil {
		log.Fatal(err)
	}
	return s, pub
}

// exampleDestination returns a publisher into the directory dir, the
// Location clients read it at (dir served on 127.0.0.1), its URL, and the
// function that stops the server.
func exampleDestination(dir string) (*publish.Publisher, verify.Location, string, func()) {
	store, err := publish.NewDirStore(dir)
	if err != nil {
		log.Fatal(err)
	}
	p, err := publish.New(store)
	if err != nil {
		log.Fatal(err)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		log.Fatal(err)
	}
	srv := httptest.NewServer(http.FileServer(http.Dir(abs)))
	loc, err := verify.NewHTTP(srv.URL + "/")
	if err != nil {
		log.Fatal(err)
	}
	return p, loc, srv.URL, srv.Close
}

// exampleBareRepo makes an empty bare git repository, a tap or bucket
// for the example, and returns its path.
func exampleBareRepo(name string) string {
	dir, err := filepath.Abs(name)
	if err != nil {
		log.Fatal(err)
	}
	if out, err := exec.Command("git", "init", "-q", "--bare", "-b", "main", dir).CombinedOutput(); err != nil {
		log.Fatalf("git init --bare: %v\n%s", err, out)
	}
	return dir
}

// printDir prints the names in dir.
func printDir(dir string) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range entries {
		fmt.Println(e.Name())
	}
}

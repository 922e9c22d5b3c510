package release_test

import (
	"context"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/sign"
)

// A pipeline of small named stages: skipped by name, and in snapshot mode
// without the stages that publish.
func ExamplePipeline() {
	step := func(name string) release.Stage {
		return release.StageFunc(name, func(ctx context.Context, st *release.State) error {
			fmt.Println("run", name, st.Version)
			return nil
		})
	}
	p := &release.Pipeline{
		Stages: []release.Stage{step("guard"), step("build"), step("lint"), &release.PublishStage{}},
		Skip:   []string{"lint"},
		// Snapshot skips PublishStage, which reports Publishes() == true.
		Snapshot: true,
		Logger:   slog.New(slog.DiscardHandler),
	}
	st := &release.State{Project: "hello", Version: manifest.MustParseVersion("1.2.0")}
	if err := p.Run(context.Background(), st); err != nil {
		fmt.Println(err)
	}
	// Output:
	// run guard 1.2.0
	// run build 1.2.0
}

// Archive names follow <project>-<version>-<os>-<arch>, zip for windows.
func ExampleArchiveName() {
	v := manifest.MustParseVersion("1.2.0")
	fmt.Println(release.ArchiveName("hello", v, manifest.Platform{OS: "linux", Arch: "amd64"}))
	fmt.Println(release.ArchiveName("hello", v, manifest.Platform{OS: "windows", Arch: "amd64"}))
	// Output:
	// hello-1.2.0-linux-amd64.tar.gz
	// hello-1.2.0-windows-amd64.zip
}

// Prepare stages and signs a release in dist/release from the annotated
// tag at HEAD of a clean work tree: the binaries of ./cmd/hello, archives
// with LICENSE and README.md, the source archive, the notes from
// CHANGELOG.md and install.sh, signed with a cosign key.
func ExamplePrepare() {
	ctx := context.Background()
	defer exampleProjectWith(exampleCmdFiles)()     // a git work tree tagged v1.3.0: cmd/hello, LICENSE, README.md, CHANGELOG.md
	_, remote, _, stop := exampleDestination("www") // an empty directory served on 127.0.0.1, where clients read the release
	defer stop()
	keyFile, pubPEM, done := exampleCosignKey() // cosign generate-key-pair, COSIGN_PASSWORD set
	defer done()

	signer, err := sign.LoadSigner(keyFile, sign.EnvPassword) // cosign.key, its password from COSIGN_PASSWORD
	if err != nil {
		log.Fatal(err)
	}
	current, err := release.CurrentManifest(ctx, remote, [][]byte{pubPEM}) // the destination's manifest.json; nil for a first release
	if err != nil {
		log.Fatal(err)
	}
	st, err := release.Prepare(ctx, release.Config{
		Project: "hello",
		Guard:   release.Guard{RequireV: true}.Strict(), // tag at HEAD, annotated, clean tree
		Build: &release.Build{
			Mains:   []release.Main{{Package: "./cmd/hello"}},
			Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"}},
			Vars:    release.LinkVars{Version: "main.version", Commit: "main.commit", Date: "main.date"},
		},
		Package:       release.Package{Extra: []release.File{{Src: "LICENSE"}, {Src: "README.md"}}},
		Source:        true,
		Notes:         release.Changelog{Path: "CHANGELOG.md"},
		SourceURI:     "git+https://github.com/example/hello",
		InstallScript: &installsh.Script{BaseURL: "https://releases.example.com/hello"},
		Signers:       []sign.Signer{signer},
		Published:     current,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("staged", st.Version)
	printDir("dist/release")
	printDir("dist/release/1.3.0")
	// Output:
	// staged 1.3.0
	// 1.3.0
	// install.sh
	// manifest.json
	// manifest.json.sig
	// signatures.json
	// SHA256SUMS
	// SHA256SUMS.sig
	// hello-1.3.0-darwin-arm64.tar.gz
	// hello-1.3.0-linux-amd64.tar.gz
	// hello-1.3.0-source.tar.gz
	// provenance.intoto.json
	// provenance.intoto.jsonl
	// release-notes.md
	// sbom.spdx.json
	// signatures.json
}

// Publish publishes a staged release, later and possibly on another
// machine, without rebuilding it, then verifies it where clients read it.
// Here the destination is a directory served on 127.0.0.1; publisher may
// be one over S3, a GitHub or a Gitea repository as well.
func ExamplePublish() {
	ctx := context.Background()
	defer exampleProject()() // a git work tree: a main package and CHANGELOG.md
	signer, pubPEM := exampleSigner()
	publisher, remote, _, stop := exampleDestination("www") // publish.New over publish.NewDirStore("www")
	defer stop()
	if _, err := release.Prepare(ctx, release.Config{Project: "hello", Version: "1.3.0", // staged in dist/release
		Build: &release.Build{Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}}},
		Notes: release.Changelog{Path: "CHANGELOG.md"}, SourceURI: "git+https://github.com/example/hello",
		Signers: []sign.Signer{signer}}); err != nil {
		log.Fatal(err)
	}

	st, err := release.Publish(ctx, release.PublishConfig{
		Root: "dist/release", Publisher: publisher, Keys: [][]byte{pubPEM}, Remote: remote,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("published and verified", st.Version)
	printDir("www/1.3.0")
	// Output:
	// published and verified 1.3.0
	// SHA256SUMS
	// SHA256SUMS.sig
	// hello-1.3.0-linux-amd64.tar.gz
	// provenance.intoto.json
	// provenance.intoto.jsonl
	// release-notes.md
	// sbom.spdx.json
	// signatures.json
}

// exampleCmdFiles are the files of ExamplePrepare's project besides
// exampleProject's: the main package in cmd/hello, LICENSE and README.md.
var exampleCmdFiles = map[string]string{
	"cmd/hello/main.go": "package main\n\nimport \"fmt\"\n\nvar version, commit, date = \"dev\", \"\", \"\"\n\nfunc main() { fmt.Println(\"hello\", version, commit, date) }\n",
	"LICENSE":           "MIT License\n",
	"README.md":         "# hello\n\nSays hello.\n",
}

// exampleCosignKey writes a cosign key pair, as "cosign generate-key-pair"
// does, into a new temporary directory, sets COSIGN_PASSWORD to its
// password, and returns the private key's path, the public key, and the
// function that removes the directory and unsets the variable.
func exampleCosignKey() (string, []byte, func()) {
	dir, err := os.MkdirTemp("", "relkit-example-key")
	if err != nil {
		log.Fatal(err)
	}
	os.Setenv(sign.PasswordEnv, "example password")
	kp, err := sign.GenerateCosignKeyPair(sign.EnvPassword)
	if err != nil {
		log.Fatal(err)
	}
	keyFile := filepath.Join(dir, sign.CosignKeyFile)
	if err := kp.WriteFiles(keyFile, filepath.Join(dir, sign.CosignPubFile), false); err != nil {
		log.Fatal(err)
	}
	return keyFile, kp.PublicPEM, func() {
		os.Unsetenv(sign.PasswordEnv)
		os.RemoveAll(dir)
	}
}

// A release tool honours SOURCE_DATE_EPOCH by reading it explicitly into
// Config.SourceDate; Prepare itself never reads the environment.
func ExampleSourceDateFromEnv() {
	os.Setenv("SOURCE_DATE_EPOCH", "1700000000") // as a reproducible-build harness sets it
	defer os.Unsetenv("SOURCE_DATE_EPOCH")

	date, err := release.SourceDateFromEnv()
	if err != nil {
		fmt.Println(err)
		return
	}
	cfg := release.Config{Project: "hello", SourceDate: date}
	fmt.Println(cfg.SourceDate.Format(time.RFC3339))
	// Output: 2023-11-14T22:13:20Z
}

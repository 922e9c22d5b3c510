package release_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
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

// Prepare stages and signs a release in dist/release from the tag at HEAD.
func ExamplePrepare() {
	ctx := context.Background()
	signer, err := sign.LoadSigner("cosign.key", nil) // password from COSIGN_PASSWORD
	if err != nil {
		fmt.Println(err)
		return
	}
	current, err := manifest.LoadFile("/srv/releases/hello/manifest.json")
	if err != nil && !os.IsNotExist(err) {
		fmt.Println(err)
		return
	}
	st, err := release.Prepare(ctx, release.Config{
		Project: "hello",
		Clean:   true,
		Guard:   release.Guard{RequireV: true}.Strict(),
		Build: &release.Build{
			Mains: []release.Main{{Package: "./cmd/hello"}},
			Targets: []manifest.Platform{
				{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"},
				{OS: "darwin", Arch: "arm64"}, {OS: "windows", Arch: "amd64"},
			},
			Vars: release.LinkVars{Version: "main.version", Commit: "main.commit", Date: "main.date"},
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
		fmt.Println(err)
		return
	}
	fmt.Println("staged", st.Version, "in", st.Root)
}

// Publish an already staged release to a directory served over HTTPS, then
// verify it from its public URL.
func ExamplePublish() {
	ctx := context.Background()
	pubPEM, err := os.ReadFile("cosign.pub")
	if err != nil {
		fmt.Println(err)
		return
	}
	store, err := publish.NewDirStore("/srv/releases/hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	store.BaseURL = "https://releases.example.com/hello"
	publisher, err := publish.New(store)
	if err != nil {
		fmt.Println(err)
		return
	}
	remote, err := verify.NewHTTP("https://releases.example.com/hello")
	if err != nil {
		fmt.Println(err)
		return
	}
	st, err := release.Publish(ctx, release.PublishConfig{
		Root: "dist/release", Publisher: publisher, Keys: [][]byte{pubPEM}, Remote: remote,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("published", st.Version)
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

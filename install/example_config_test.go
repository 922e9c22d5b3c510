//go:build !windows

package install_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// A program on a slow or flaky link allows more retries and a longer
// stall, and says who it is; every field left out keeps its default.
func ExampleNetwork() {
	rel := newExampleRelease("1.0.0") // a signed release root on 127.0.0.1
	defer rel.Close()
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)

	in, err := install.New(install.Config{
		Project: "hello",
		Source:  rel.URL,
		Dir:     dir,
		Trust:   &verify.Trust{Keys: rel.Keys},
		Network: install.Network{
			HTTPClient:   &http.Client{Timeout: 10 * time.Minute},
			UserAgent:    "hello-updater/1.0",
			Retries:      6,
			StallTimeout: 2 * time.Minute,
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	res, err := in.Install(context.Background(), manifest.Query{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("installed", res.Project, res.Version)
	// Output:
	// installed hello 1.0.0
}

// The health check decides whether a new version stays: when it fails,
// the previous binaries are put back.
func ExampleHealth() {
	rel := newExampleRelease("1.0.0")
	defer rel.Close()
	dir, _ := os.MkdirTemp("", "bin")
	defer os.RemoveAll(dir)
	cfg := install.Config{
		Project: "hello",
		Source:  rel.URL,
		Dir:     dir,
		Trust:   &verify.Trust{Keys: rel.Keys},
		Health:  install.Health{Check: install.VersionCommand("--version"), Timeout: 5 * time.Second},
	}
	in, err := install.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		log.Fatal(err)
	}

	rel.Publish("1.1.0")
	cfg.Health.Check = func(ctx context.Context, binary, version string) error {
		return errors.New("the smoke test failed")
	}
	strict, err := install.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	_, err = strict.Install(ctx, manifest.Query{})
	var he *install.HealthCheckError
	if errors.As(err, &he) {
		fmt.Println("refused", he.Version+":", he.Err, "- rolled back:", he.RolledBack)
	}
	u, _ := in.Check(ctx, manifest.Query{})
	fmt.Println("installed:", u.Installed)
	// Output:
	// refused 1.1.0: the smoke test failed - rolled back: true
	// installed: 1.0.0
}

// Command quickstart is a tour of relkit on this machine, with no setup and
// no network beyond 127.0.0.1. Run it from the repository root:
//
//	go run ./examples/quickstart [--keep DIR]
//
// It generates a cosign key pair, builds the demo program
// (examples/selfupdate) at v1.0.0 and v1.1.0, releases both into a
// directory (signed manifest and its v2 index, checksums, SBOM, provenance), serves that
// directory on 127.0.0.1, installs v1.0.0, lets the demo's own `update`
// command reach v1.1.0, and shows `update --check` and a refused downgrade.
package main

import (
	"context"
	"encoding/base64"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

const password = "quickstart" // the cosign key's password (COSIGN_PASSWORD in real use)

var quiet = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

func main() {
	keep := flag.String("keep", "", "keep the work in this directory instead of a temporary one")
	flag.Parse()
	work := *keep
	if work == "" {
		tmp, err := os.MkdirTemp("", "relkit-quickstart-")
		if err != nil {
			log.Fatal(err)
		}
		defer os.RemoveAll(tmp)
		work = tmp
	}
	if err := run(context.Background(), work); err != nil {
		log.Fatal(err)
	}
	if *keep != "" {
		fmt.Println("\nkept everything in", work)
	}
}

func run(ctx context.Context, work string) error {
	site, bin := filepath.Join(work, "site"), filepath.Join(work, "bin")
	for _, d := range []string{site, bin} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	fmt.Println("1. generate a cosign key pair")
	kp, err := sign.GenerateCosignKeyPair(sign.Password(password))
	if err != nil {
		return err
	}
	if err := kp.WriteFiles(filepath.Join(work, "cosign.key"), filepath.Join(work, "cosign.pub"), true); err != nil {
		return err
	}
	signer, err := sign.LoadCosignKey(kp.PrivatePEM, sign.Password(password))
	if err != nil {
		return err
	}
	fmt.Printf("   key id %s (cosign.key is 0600, cosign.pub 0644)\n", signer.KeyID())

	srv := httptest.NewServer(http.FileServer(http.Dir(site))) // listens on 127.0.0.1
	defer srv.Close()
	fmt.Println("\n2. serve the release root on", srv.URL)
	for _, v := range []string{"1.0.0", "1.1.0"} {
		fmt.Printf("\n3. release %s: build, package, checksum, SBOM, provenance, sign, publish, verify\n", v)
		if err := cut(ctx, filepath.Join(work, "dist-"+v), site, srv.URL, v, signer, kp.PublicPEM); err != nil {
			return err
		}
	}

	fmt.Println("\n4. install 1.0.0 from", srv.URL)
	ring, err := verify.NewKeyRing(kp.PublicPEM)
	if err != nil {
		return err
	}
	in, err := install.New(install.Config{Project: "hello", Source: srv.URL, Dir: bin, Trust: &verify.Trust{Keys: ring}})
	if err != nil {
		return err
	}
	res, err := in.Install(ctx, manifest.Query{Version: "1.0.0"})
	if err != nil {
		return err
	}
	fmt.Printf("   installed %s from %s (sha256 %s)\n", res.Paths[0], res.Artifact.Name, res.Artifact.SHA256[:16])

	hello := res.Paths[0]
	fmt.Println("\n5. the demo updates itself")
	demo(hello, "version")
	demo(hello, "update", "--check")
	demo(hello, "update")
	demo(hello, "version")
	fmt.Println("\n6. a downgrade is refused unless asked for")
	demo(hello, "update", "--version", "1.0.0")
	return nil
}

// cut stages, signs and publishes one version of the demo program.
func cut(ctx context.Context, dist, site, url, v string, signer sign.Signer, pub []byte) error {
	published, err := release.CurrentManifest(ctx, verify.Dir(site), [][]byte{pub})
	if err != nil {
		return err
	}
	date, err := release.SourceDateFromEnv() // SOURCE_DATE_EPOCH, else the commit time
	if err != nil {
		return err
	}
	st, err := release.Prepare(ctx, release.Config{
		Project: "hello", Dist: dist, Clean: true, Version: v, SourceDate: date,
		Build: &release.Build{
			Mains:   []release.Main{{Name: "hello", Package: "./examples/selfupdate"}},
			Targets: []manifest.Platform{{OS: runtime.GOOS, Arch: runtime.GOARCH}},
			Vars:    release.LinkVars{Version: "main.version"},
			LDFlags: []string{"-X", "main.releaseURL=" + url, "-X", "main.publicKey=" + base64.StdEncoding.EncodeToString(pub)},
		},
		SourceURI: "git+https://example.invalid/relkit-quickstart",
		Signers:   []sign.Signer{signer}, Published: published, Logger: quiet,
	})
	if err != nil {
		return err
	}
	for _, a := range st.Artifacts {
		fmt.Printf("   %-42s %9d bytes  sha256 %s\n", a.Path, a.Size, a.SHA256[:16])
	}
	store, err := publish.NewDirStore(site)
	if err != nil {
		return err
	}
	p, err := publish.New(store)
	if err != nil {
		return err
	}
	remote, err := verify.NewHTTP(url)
	if err != nil {
		return err
	}
	pst, err := release.Publish(ctx, release.PublishConfig{Root: filepath.Join(dist, "release"), Publisher: p, Keys: [][]byte{pub}, Signers: []sign.Signer{signer}, Remote: remote, Logger: quiet})
	if err != nil {
		return err
	}
	for _, r := range pst.Reports {
		fmt.Printf("   verified %s: %d checks, ok=%v\n", r.Where, len(r.Report.Checks), r.Report.OK)
	}
	return nil
}

// demo runs the installed demo program and shows what it printed; of a
// line redrawn with carriage returns (the progress bar) only the last state.
func demo(bin string, args ...string) {
	out, err := exec.Command(bin, args...).CombinedOutput()
	fmt.Printf("   $ hello %s\n", strings.Join(args, " "))
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		fmt.Println("     " + line[strings.LastIndexByte(line, '\r')+1:])
	}
	if err != nil {
		fmt.Println("     (", err, ")")
	}
}

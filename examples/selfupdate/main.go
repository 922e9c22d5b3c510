// Command selfupdate is a program that updates itself from signed relkit
// releases, the way banger's "banger update" works. It is what a `tool
// update` command built on package install looks like:
//
//	selfupdate version
//	selfupdate update [--check] [--version V | --channel C] [--allow-downgrade]
//	selfupdate rollback
//
// The release location and the trusted public key are baked in at build
// time (go build -ldflags "-X main.releaseURL=... -X main.publicKey=<base64 PEM>")
// and can be overridden with --from and --key. The location is a release
// root URL or directory, or a forge repository that relkit published to
// (github:OWNER/REPO or https://github.com/OWNER/REPO, github:HOST/OWNER/REPO
// for GitHub Enterprise, gitea:HOST/OWNER/REPO for Gitea and Forgejo),
// read through its public download URLs; --token-env names an environment
// variable holding a token for a private repository. It imports only
// install, manifest and verify: no cosign, AWS SDK, go-github or Gitea SDK.
package main

import (
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// Set with -ldflags -X at build time.
var (
	project    = "hello"
	version    = "0.0.0-dev"
	releaseURL = ""
	publicKey  = "" // base64 of a PEM public key
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: selfupdate version | update [--check] [--version V] [--channel C] | rollback")
	}
	switch args[0] {
	case "version":
		fmt.Printf("%s %s\n", project, version)
		return nil
	case "update", "rollback":
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	fs := flag.NewFlagSet(args[0], flag.ContinueOnError)
	check := fs.Bool("check", false, "only say whether an update is available")
	want := fs.String("version", "", "install this exact version")
	channel := fs.String("channel", "", "follow this channel (default stable)")
	downgrade := fs.Bool("allow-downgrade", false, "allow installing an older version")
	from := fs.String("from", releaseURL, "release location: URL, directory, or forge repository (github:OWNER/REPO, gitea:HOST/OWNER/REPO)")
	tokenEnv := fs.String("token-env", "", "environment variable holding a token for a private forge repository (e.g. GITHUB_TOKEN)")
	keyFile := fs.String("key", "", "trusted public key file (default: the built-in key)")
	if err := fs.Parse(args[1:]); err != nil {
		return err
	}
	token := ""
	if *tokenEnv != "" {
		if token = os.Getenv(*tokenEnv); token == "" {
			return fmt.Errorf("--token-env %s: the variable is empty or unset", *tokenEnv)
		}
	}
	in, err := newInstaller(*from, *keyFile, token)
	if err != nil {
		return err
	}
	if args[0] == "rollback" {
		res, err := in.Rollback(ctx)
		if err != nil {
			return err
		}
		fmt.Printf("rolled back to %s\n", res.Version)
		return nil
	}
	q := manifest.Query{Version: *want, Channel: *channel}
	var opts []install.CallOption
	if *downgrade {
		opts = append(opts, install.AllowDowngrade())
	}
	if *check {
		u, err := in.Check(ctx, q, opts...)
		if err != nil {
			return err
		}
		for _, w := range u.Warnings {
			fmt.Println("warning:", w)
		}
		fmt.Println(u.Reason)
		return nil
	}
	res, err := in.Install(ctx, q, opts...)
	if drawn {
		fmt.Fprintln(os.Stderr) // end the progress bar line
	}
	if err != nil {
		return err
	}
	for _, w := range res.Warnings {
		fmt.Println("warning:", w)
	}
	if !res.Changed {
		fmt.Printf("%s %s is already installed\n", project, res.Version)
		return nil
	}
	fmt.Printf("updated %s from %s to %s (%s, sha256 %s)\n", project, res.Previous, res.Version, res.Artifact.Name, res.Artifact.SHA256[:16])
	return nil
}

func newInstaller(from, keyFile, token string) (*install.Installer, error) {
	if from == "" {
		return nil, errors.New("no release location: build with -X main.releaseURL=... or pass --from")
	}
	pem, err := trustedKey(keyFile)
	if err != nil {
		return nil, err
	}
	keys, err := verify.NewKeyRing(pem)
	if err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	if exe, err = filepath.EvalSymlinks(exe); err != nil {
		return nil, err
	}
	return install.New(install.Config{
		Project:        project,
		Source:         from,
		Dir:            filepath.Dir(exe),
		Trust:          &verify.Trust{Keys: keys},
		Binaries:       []string{filepath.Base(exe)},
		CurrentVersion: version,
		Progress:       progressBar,
		Network:        install.Network{ForgeToken: token},
	})
}

func trustedKey(file string) ([]byte, error) {
	if file != "" {
		return os.ReadFile(file)
	}
	if publicKey == "" {
		return nil, errors.New("no trusted key: build with -X main.publicKey=<base64 PEM> or pass --key")
	}
	return base64.StdEncoding.DecodeString(publicKey)
}

var drawn bool // whether progressBar has drawn anything

// progressBar renders download progress on stderr.
func progressBar(done, total int64) {
	const width = 30
	drawn = true
	if total <= 0 {
		fmt.Fprintf(os.Stderr, "\rdownloading %s", mib(done))
		return
	}
	n := int(done * width / total)
	fmt.Fprintf(os.Stderr, "\r[%s%s] %3d%% %s / %s", strings.Repeat("=", n), strings.Repeat(" ", width-n), done*100/total, mib(done), mib(total))
}

func mib(n int64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }

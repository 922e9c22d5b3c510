// Command verify checks a published release, as LLStack's verify.sh and
// remote-verify do: the signatures on manifest.json and SHA256SUMS, every
// artifact's checksum and size, and that the manifest, SHA256SUMS, the
// SBOM and the provenance agree. It prints the report (Markdown, or JSON
// with --json) and exits non-zero when any check failed.
//
//	verify --key cosign.pub [--version 1.2.0] [--json] <directory, URL or forge repository>
//
// A forge repository that relkit published to (github:OWNER/REPO or
// https://github.com/OWNER/REPO, github:HOST/OWNER/REPO for GitHub
// Enterprise, gitea:HOST/OWNER/REPO for Gitea and Forgejo) is read through
// its public download URLs: the index release for the manifest, the
// release of each version's tag for its files. --token-env names an
// environment variable holding a token for a private repository.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/relkit/relkit/verify"
)

func main() {
	code, err := run(context.Background(), os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
	}
	os.Exit(code)
}

type keyFiles []string

func (k *keyFiles) String() string     { return strings.Join(*k, ",") }
func (k *keyFiles) Set(s string) error { *k = append(*k, s); return nil }

func run(ctx context.Context, args []string) (int, error) {
	fs := flag.NewFlagSet("verify", flag.ContinueOnError)
	var keys keyFiles
	fs.Var(&keys, "key", "trusted public key file (PEM); repeat for several")
	threshold := fs.Int("threshold", 1, "how many distinct trusted keys must sign")
	version := fs.String("version", "", "release to verify (default: the manifest's latest)")
	flat := fs.Bool("flat", false, "files sit at the location's top, not under <version>/ (GitHub release assets)")
	asJSON := fs.Bool("json", false, "print the report as JSON")
	tokenEnv := fs.String("token-env", "", "environment variable holding a token for a private forge repository (e.g. GITHUB_TOKEN)")
	if err := fs.Parse(args); err != nil {
		return 2, err
	}
	if fs.NArg() != 1 || len(keys) == 0 {
		return 2, fmt.Errorf("usage: verify --key FILE [--version V] [--json] <directory, URL or forge repository>")
	}
	var pems [][]byte
	for _, k := range keys {
		b, err := os.ReadFile(k)
		if err != nil {
			return 2, err
		}
		pems = append(pems, b)
	}
	ring, err := verify.NewKeyRing(pems...)
	if err != nil {
		return 2, err
	}
	v, err := verify.NewVerifier(ring, verify.WithThreshold(*threshold))
	if err != nil {
		return 2, err
	}
	token := ""
	if *tokenEnv != "" {
		if token = os.Getenv(*tokenEnv); token == "" {
			return 2, fmt.Errorf("--token-env %s: the variable is empty or unset", *tokenEnv)
		}
	}
	loc, err := location(fs.Arg(0), token)
	if err != nil {
		return 2, err
	}
	if _, forge := loc.(*verify.Forge); forge && *flat {
		return 2, fmt.Errorf("--flat is for one release's assets; a forge repository has its own layout")
	}
	opts := verify.ReleaseOptions{Version: *version, RequireManifest: true}
	if *flat {
		opts.Dir = "."
	}
	// The report is printed whatever failed: it says what.
	report, err := v.VerifyRelease(ctx, loc, opts)
	if report != nil {
		if *asJSON {
			b, jerr := report.JSON()
			if jerr != nil {
				return 1, jerr
			}
			os.Stdout.Write(b)
		} else {
			fmt.Print(report.Markdown())
		}
	}
	if err != nil {
		return 1, err
	}
	if err := report.Err(); err != nil {
		return 1, err
	}
	return 0, nil
}

func location(arg, token string) (verify.Location, error) {
	if _, ok, err := verify.ParseForgeRepo(arg); ok || err != nil {
		if err != nil {
			return nil, err
		}
		return verify.NewForge(arg, verify.ForgeOptions{Token: token})
	}
	if token != "" {
		return nil, fmt.Errorf("--token-env is only for a forge repository, and %s is not one", arg)
	}
	if strings.HasPrefix(arg, "http://") || strings.HasPrefix(arg, "https://") {
		return verify.NewHTTP(arg)
	}
	if fi, err := os.Stat(arg); err != nil || !fi.IsDir() {
		return nil, fmt.Errorf("%s is neither a URL nor a directory", arg)
	}
	return verify.Dir(arg), nil
}

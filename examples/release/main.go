// Command release cuts a release of a Go main package and publishes it to a
// directory, an S3 bucket, a GitHub release or a Gitea/Forgejo repository.
//
//	COSIGN_PASSWORD=... release --project hello --version 1.2.0 --key cosign.key \
//	    --targets linux/amd64,darwin/arm64 --to dir:/srv/releases/hello [--dry-run]
//
// Destinations: dir:PATH, s3://BUCKET/PREFIX (with --s3-endpoint for an
// S3-compatible store; credentials from the standard AWS chain), and
// github:OWNER/REPO (token from GITHUB_TOKEN or GH_TOKEN; --github-api for
// GitHub Enterprise; the root goes to the index release relkit-index, each
// version to the release of its tag), and gitea:HOST/OWNER/REPO (a Gitea or
// Forgejo server, in the same layout; also forgejo:, and
// gitea:https://HOST/PREFIX/OWNER/REPO as clients take it; token from
// GITEA_TOKEN; --gitea-url for the server's root URL when it is not
// https://HOST). The destination
// is the source of truth: the publish merges the new release into the
// manifest it holds when it commits (re-signed; two racing runs both
// land), and it is also read before the build so that a published version
// is never reused. --current overrides where that manifest is read from (a
// URL or directory).
//
// Operations on a published channel, signed like a release:
//
//	release refresh   --project hello --key cosign.key --to DEST   # weekly cron: new expiry
//	release yank      --project hello --key cosign.key --to DEST --reason "..." 1.2.0
//	release deprecate --project hello --key cosign.key --to DEST --reason "..." 1.2.0
//	release prune     --project hello --key cosign.key --to DEST --channel nightly --keep 30 [--delete]
//
// --image REPO also pushes a signed multi-platform container image of the
// linux binaries (on --image-base, default scratch), recorded in the release.
//
// Distribution: --formats tar.gz,tar.xz,tar.zst writes each archive format
// (windows gets zip); --packages deb,rpm,apk builds Linux packages with
// nfpm (--maintainer, --description and --license required; --homepage,
// --depends); --homebrew-tap REPO and --scoop-bucket REPO (git
// repositories, or github:OWNER/REPO to write through GitHub's contents
// API with GITHUB_TOKEN; --base-url, the public URL of the release root,
// for the download URLs) are checked before the build and updated with a
// cask and an app manifest once the release is published.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/gitea"
	"github.com/relkit/relkit/publish/github"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/publish/s3"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/release/tap"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// giteaURL is the Gitea server's root URL for gitea:HOST/OWNER/REPO
// (default https://HOST).
var giteaURL = flag.String("gitea-url", "", "Gitea/Forgejo root (or API) URL for gitea:HOST/OWNER/REPO (default https://HOST)")

func main() {
	if err := run(context.Background()); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context) error {
	op := ""
	if len(os.Args) > 1 && !strings.HasPrefix(os.Args[1], "-") {
		op = os.Args[1]
		os.Args = append(os.Args[:1], os.Args[2:]...)
	}
	reason := flag.String("reason", "", "why (yank, deprecate)")
	channel := flag.String("channel", "", "release channel (default stable, edge for a pre-release); for prune, the channel pruned")
	keep := flag.Int("keep", 0, "prune: how many releases of --channel to keep")
	del := flag.Bool("delete", false, "prune: also delete the pruned releases' files from the destination")
	project := flag.String("project", "", "project name (required)")
	version := flag.String("version", "", "version to release (default: the tag at HEAD)")
	pkg := flag.String("package", ".", "main package to build")
	targets := flag.String("targets", "linux/amd64,linux/arm64,darwin/arm64,windows/amd64", "comma-separated os/arch list")
	key := flag.String("key", "cosign.key", "signing key (cosign or PEM; password from COSIGN_PASSWORD)")
	dist := flag.String("dist", "dist", "output directory")
	to := flag.String("to", "", "destination: dir:PATH, s3://BUCKET/PREFIX, github:OWNER/REPO or gitea:HOST/OWNER/REPO (required)")
	current := flag.String("current", "", "where clients read the published release (URL or directory)")
	s3Endpoint := flag.String("s3-endpoint", "", "S3-compatible endpoint URL (path-style)")
	githubAPI := flag.String("github-api", "", "GitHub Enterprise API URL")
	dryRun := flag.Bool("dry-run", false, "stage, sign and print the publish plan; upload nothing")
	image := flag.String("image", "", "also push a container image of the linux binaries to this repository (ghcr.io/OWNER/NAME)")
	imageBase := flag.String("image-base", "", "base image for --image, pinned by digest (default: scratch)")
	formats := flag.String("formats", release.FormatTarGz, "archive formats for every platform but windows (zip): tar.gz,tar.xz,tar.zst")
	packages := flag.String("packages", "", "Linux packages to build: deb,rpm,apk")
	maintainer := flag.String("maintainer", "", "package maintainer, \"Name <email>\" (with --packages)")
	description := flag.String("description", "", "one-line description (packages, cask, Scoop manifest)")
	license := flag.String("license", "", "SPDX license identifier (packages, Scoop manifest)")
	homepage := flag.String("homepage", "", "project homepage (packages, cask, Scoop manifest)")
	depends := flag.String("depends", "", "comma-separated package dependencies (with --packages)")
	homebrewTap := flag.String("homebrew-tap", "", "git repository of a Homebrew tap to update with Casks/<project>.rb after the publish")
	scoopBucket := flag.String("scoop-bucket", "", "git repository of a Scoop bucket to update with bucket/<project>.json after the publish")
	baseURL := flag.String("base-url", "", "public https URL of the release root, for the tap's and bucket's download URLs")
	flag.Parse()
	if *project == "" || *to == "" {
		return fmt.Errorf("--project and --to are required")
	}
	plats, err := release.ParseTargets(*targets)
	if err != nil {
		return err
	}
	signer, err := sign.LoadSigner(*key, sign.EnvPassword)
	if err != nil {
		return err
	}
	pub, err := verify.MarshalPublicKey(signer.PublicKey())
	if err != nil {
		return err
	}
	if op != "" {
		return amend(ctx, op, *project, *to, *s3Endpoint, *githubAPI, *reason, *channel, *keep, *del, signer, pub)
	}
	var remote verify.Location
	if *current != "" {
		if remote, err = location(*current); err != nil {
			return err
		}
	} else {
		// Every destination reads like a client location (a directory, an
		// S3 prefix, a GitHub repository's index and version releases).
		store, err := destination(ctx, *to, *s3Endpoint, *githubAPI)
		if err != nil {
			return err
		}
		remote = store.(verify.Location)
	}
	var published *manifest.Manifest
	if remote != nil {
		// Read before the build, signature checked, so that a published
		// version is refused early; the publish merges again at commit.
		if published, err = release.CurrentManifest(ctx, remote, [][]byte{pub}); err != nil {
			return fmt.Errorf("reading the published manifest: %w", err)
		}
		if published == nil {
			log.Printf("no published manifest at %s: a first release", *to)
		}
	}
	var img *release.ImageConfig // the same for Prepare (record digests) and Publish (push)
	if *image != "" {
		img = &release.ImageConfig{Spec: oci.Spec{Repository: *image, Base: *imageBase}, Signer: signer}
	}
	var pkgs *release.LinuxPackages
	if *packages != "" {
		pkgs = &release.LinuxPackages{Formats: list(*packages), Maintainer: *maintainer, Description: *description,
			License: *license, Homepage: *homepage, Depends: list(*depends)}
	}
	var taps *tap.Config
	if *homebrewTap != "" || *scoopBucket != "" {
		taps = &tap.Config{Project: *project, BaseURL: *baseURL, Remote: remote, Keys: [][]byte{pub},
			Description: *description, Homepage: *homepage, License: *license}
		if taps.Homebrew, err = tapRepo(*homebrewTap, *githubAPI); err != nil {
			return err
		}
		if taps.Scoop, err = tapRepo(*scoopBucket, *githubAPI); err != nil {
			return err
		}
		if repo, ok := strings.CutPrefix(*to, "github:"); ok && *baseURL == "" {
			// The forge layout: each version's files are its tag's
			// release assets.
			taps.URL = func(rel manifest.Release, a manifest.Artifact) string {
				return "https://github.com/" + repo + "/releases/download/" + rel.Tag + "/" + a.Name
			}
		}
	}
	wd, _ := os.Getwd()
	date, err := release.SourceDateFromEnv() // SOURCE_DATE_EPOCH, else the commit time
	if err != nil {
		return err
	}
	st, err := release.Prepare(ctx, release.Config{
		Project: *project, Dist: *dist, Clean: true, Version: *version, SourceDate: date,
		Build: &release.Build{
			Mains:   []release.Main{{Name: *project, Package: *pkg}},
			Targets: plats,
			Vars:    release.LinkVars{Version: "main.version", Commit: "main.commit", Date: "main.date"},
		},
		Package:       release.Package{Formats: list(*formats)},
		LinuxPackages: pkgs,
		Taps:          taps,
		SourceURI:     "git+file://" + wd,
		Signers:       []sign.Signer{signer},
		Published:     published,
		Channel:       *channel,
		Image:         img,
		Logger:        slog.Default(), // progress on stderr; the library discards it unless told
	})
	if err != nil {
		return err
	}
	store, err := destination(ctx, *to, *s3Endpoint, *githubAPI)
	if err != nil {
		return err
	}
	p, err := publish.New(store)
	if err != nil {
		return err
	}
	if *current == "" {
		remote = store.(verify.Location) // verify what the destination now holds
	}
	root := filepath.Join(*dist, "release")
	if *dryRun {
		if a, ok := st.Artifact(*project + "-" + st.Version.String() + "-image"); ok {
			fmt.Printf("would push %s@sha256:%s\n", *image, a.SHA256)
		}
		_, err := p.DryRun(ctx, root, os.Stdout)
		return err
	}
	pst, err := release.Publish(ctx, release.PublishConfig{Root: root, Publisher: p, Keys: [][]byte{pub}, Signers: []sign.Signer{signer}, Remote: remote, Image: img, Logger: slog.Default()})
	if err != nil {
		return err
	}
	fmt.Printf("released %s %s to %s (manifest serial %d); summary in %s\n", *project, st.Version, *to, pst.Serial, filepath.Join(*dist, "release-summary.md"))
	if taps != nil {
		// After the commit point, from the manifest the destination now
		// serves: a failed publish never reaches a tap.
		taps.Remote, taps.Version = remote, st.Version.String()
		res, err := tap.Update(ctx, *taps)
		if err != nil {
			return err
		}
		for _, u := range res.Updates {
			fmt.Printf("tap %s: %s (changed %v)\n", u.Repo, u.File, u.Changed)
		}
	}
	return nil
}

// list splits a comma-separated flag value.
func list(s string) []string {
	var out []string
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// amend runs refresh, yank, deprecate or prune on the published manifest.
func amend(ctx context.Context, op, project, to, s3Endpoint, githubAPI, reason, channel string, keep int, del bool, signer sign.Signer, pub []byte) error {
	store, err := destination(ctx, to, s3Endpoint, githubAPI)
	if err != nil {
		return err
	}
	p, err := publish.New(store)
	if err != nil {
		return err
	}
	c := release.AmendConfig{Project: project, Publisher: p, Keys: [][]byte{pub}, Signers: []sign.Signer{signer}, DeleteFiles: del}
	version := flag.Arg(0)
	var res *release.AmendResult
	switch {
	case op == "refresh":
		res, err = release.Refresh(ctx, c)
	case (op == "yank" || op == "deprecate") && version == "":
		return fmt.Errorf("%s: name the version", op)
	case op == "yank":
		res, err = release.Yank(ctx, c, version, reason)
	case op == "deprecate":
		res, err = release.Deprecate(ctx, c, version, reason)
	case op == "prune":
		pol := manifest.RetentionPolicy{Keep: max(keep, 1), Versions: flag.Args()}
		if channel != "" {
			pol.Channels, pol.Keep = []string{channel}, keep
		}
		res, err = release.Prune(ctx, c, pol)
	default:
		return fmt.Errorf("unknown operation %q (want refresh, yank, deprecate or prune)", op)
	}
	if err != nil {
		return err
	}
	fmt.Printf("%s: manifest serial %d, expires %s, removed %v\n", op, res.Root.Serial, res.Expires.Format("2006-01-02T15:04:05Z07:00"), res.Removed)
	return nil
}

func destination(ctx context.Context, to, s3Endpoint, githubAPI string) (publish.Store, error) {
	switch {
	case strings.HasPrefix(to, "dir:"):
		return publish.NewDirStore(strings.TrimPrefix(to, "dir:"))
	case strings.HasPrefix(to, "s3://"):
		bucket, prefix, _ := strings.Cut(strings.TrimPrefix(to, "s3://"), "/")
		opts := []s3.Option{s3.WithPrefix(prefix)}
		if s3Endpoint != "" {
			opts = append(opts, s3.WithEndpoint(s3Endpoint), s3.WithPathStyle())
		}
		return s3.New(ctx, bucket, opts...)
	case strings.HasPrefix(to, "gitea:"), strings.HasPrefix(to, "forgejo:"):
		return giteaDestination(to)
	case strings.HasPrefix(to, "github:"):
		owner, repo, ok := strings.Cut(strings.TrimPrefix(to, "github:"), "/")
		if !ok {
			return nil, fmt.Errorf("want github:OWNER/REPO, got %s", to)
		}
		opts, err := githubOptions(githubAPI)
		if err != nil {
			return nil, err
		}
		// The forge layout: the root in the index release, each version
		// in the release of its tag (see publish/github.Repo), named
		// after the tag and a pre-release when its version is. (No
		// WithTag: it would make the release it names a stable one, so
		// that a release candidate could become the repository's
		// "latest" release.)
		return github.NewRepo(owner, repo, opts...)
	}
	return nil, fmt.Errorf("unknown destination %q (want dir:PATH, s3://BUCKET/PREFIX, github:OWNER/REPO or gitea:HOST/OWNER/REPO)", to)
}

// githubOptions are the GitHub client's options: the token from
// $GITHUB_TOKEN or $GH_TOKEN (github.TokenFromEnv; an error when neither is
// set) and the API URL of --github-api when set.
func githubOptions(api string) ([]github.Option, error) {
	tok, err := github.TokenFromEnv()
	if err != nil {
		return nil, err
	}
	opts := []github.Option{github.WithToken(tok)}
	if api != "" {
		opts = append(opts, github.WithBaseURL(api))
	}
	return opts, nil
}

// giteaDestination is gitea:HOST/OWNER/REPO (or forgejo:, or with
// https://HOST[/PREFIX], the forms clients accept as a source): the whole
// release root in the repository's releases, so it is read like a
// directory (the Store's Open reads with the token, drafts included).
// --gitea-url overrides the server's root URL.
func giteaDestination(to string) (publish.Store, error) {
	r, ok, err := verify.ParseForgeRepo(to)
	if err != nil {
		return nil, err
	}
	if !ok || r.Kind != verify.ForgeGitea {
		return nil, fmt.Errorf("want gitea:HOST/OWNER/REPO or gitea:https://HOST/OWNER/REPO, got %s", to)
	}
	base := r.Web
	if *giteaURL != "" {
		base = *giteaURL
	}
	tok, err := gitea.TokenFromEnv() // GITEA_TOKEN
	if err != nil {
		return nil, err
	}
	return gitea.New(base, r.Owner, r.Repo, gitea.WithToken(tok))
}

func location(s string) (verify.Location, error) {
	if strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://") {
		return verify.NewHTTP(s)
	}
	return verify.Dir(s), nil
}

// tapRepo is the tap or bucket named by a flag: a git repository, or
// github:OWNER/REPO written through the contents API.
func tapRepo(s, githubAPI string) (*tap.Repo, error) {
	if s == "" {
		return nil, nil
	}
	repo, ok := strings.CutPrefix(s, "github:")
	if !ok {
		return &tap.Repo{URL: s}, nil
	}
	owner, name, ok := strings.Cut(repo, "/")
	if !ok {
		return nil, fmt.Errorf("want github:OWNER/REPO, got %s", s)
	}
	opts, err := githubOptions(githubAPI)
	if err != nil {
		return nil, err
	}
	w, err := github.NewContents(owner, name, "", opts...)
	if err != nil {
		return nil, err
	}
	return &tap.Repo{URL: "https://github.com/" + repo, Writer: w}, nil
}

// Package release is relkit's release pipeline: the version guard, build,
// packaging, checksums, SBOM, provenance, release notes, signing,
// verification, publishing, remote verification and summary that the
// release runbooks of LLStack, banger, Lix, RustShare and StellaOps keep in
// shell scripts, as small named stages a project drives from a short main.
//
// Most projects want two calls: [Prepare] stages and signs a release in
// dist/release, publishing nothing; [Publish] publishes an already staged
// directory without rebuilding, so what was verified is what ships.
// Config.Published is the destination's current manifest, which
// [CurrentManifest] reads from remote (where clients read the release, a
// verify.Location such as verify.NewHTTP returns) and checks the
// signature of:
//
//	signer, err := sign.LoadSigner(keyFile, sign.EnvPassword) // cosign.key, its password from COSIGN_PASSWORD
//	current, err := release.CurrentManifest(ctx, remote, [][]byte{pubPEM}) // the destination's manifest.json; nil for a first release
//	st, err := release.Prepare(ctx, release.Config{
//		Project: "hello",
//		Guard:   release.Guard{RequireV: true}.Strict(), // tag at HEAD, annotated, clean tree
//		Build: &release.Build{
//			Mains:   []release.Main{{Package: "./cmd/hello"}},
//			Targets: []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "darwin", Arch: "arm64"}},
//			Vars:    release.LinkVars{Version: "main.version", Commit: "main.commit", Date: "main.date"},
//		},
//		Package:       release.Package{Extra: []release.File{{Src: "LICENSE"}, {Src: "README.md"}}},
//		Source:        true,
//		Notes:         release.Changelog{Path: "CHANGELOG.md"},
//		SourceURI:     "git+https://github.com/example/hello",
//		InstallScript: &installsh.Script{BaseURL: "https://releases.example.com/hello"},
//		Signers:       []sign.Signer{signer},
//		Published:     current,
//	})
//
// and later, possibly on another machine, Publish, through a publisher
// (a *publish.Publisher over a directory, S3, GitHub or Gitea store):
//
//	st, err := release.Publish(ctx, release.PublishConfig{
//		Root: "dist/release", Publisher: publisher, Keys: [][]byte{pubPEM}, Remote: remote,
//	})
//
// The whole programs, each err checked, are the examples of Prepare and
// Publish.
//
// # Stages
//
// A [Stage] has a name and one job: Run(ctx, *[State]) error. A [Pipeline]
// runs stages in order, logs each through log/slog (a "stage" attribute
// on every record; to Pipeline.Logger, and nowhere when it is nil: the
// library never writes to slog.Default unless given it), skips the ones named in Pipeline.Skip (an unknown name
// is an error, so a typo cannot run a stage), and in snapshot mode skips
// every stage that publishes (see [Publishing]). The first failure stops
// the pipeline with a *[StageError] naming the stage; errors.Is and
// errors.As see through it to the stage's typed error.
//
// [Prepare] runs, in this order ([PrepareStageNames]):
//
//	guard          Guard            version syntax, tag, annotated/signed tag, clean tree, version not reused
//	notes          Notes            release-notes.md from a CHANGELOG section, a template or fragments
//	build          Build            go build for every target (or prebuilt: Prebuilt)
//	package        Package          <project>-<version>-<os>-<arch>.tar.gz (.zip for windows; Formats: .tar.xz, .tar.zst)
//	linux-packages LinuxPackages    .deb, .rpm, .apk of the linux binaries through nfpm (kind package)
//	source         Source           <project>-<version>-source.tar.gz from git archive
//	image          ImageBuild       container image of the linux binaries, its manifests staged (see Images)
//	sbom           SBOM             sbom.spdx.json (SPDX 2.3) from the binaries' build info
//	provenance     Provenance       provenance.intoto.json (in-toto Statement v1, SLSA provenance v1), and with signers provenance.intoto.jsonl (the same, DSSE-signed)
//	checksums      Checksums        SHA256SUMS over everything above
//	sign           Sign             SHA256SUMS.sig and signatures.json (package sign)
//	installer      InstallScriptStage  install.sh at the root, with the public key embedded (package release/installsh)
//	installer-key  InstallerKeyCheck  refuses when the script's key is not the signing key
//	manifest       UpdateManifest   manifest.json: the release added, channels, aliases, serial, expiry
//	sign-manifest  SignManifest     manifest.json.sig and signatures.json
//	verify-staged  VerifyStaged     the staged directory checked as a client will (package verify)
//	summary        Summary          release-summary.md and .json
//
// and [Publish] runs installer-key, verify-staged, push-image ([ImagePush],
// with PublishConfig.Image), publish ([PublishStage],
// through any [Publisher] such as *publish.Publisher), remote-verify
// ([RemoteVerify]: every staged file served, and verify.VerifyRelease
// against the public location; a missing asset is a *[MissingAssetsError])
// and summary ([PublishStageNames]).
//
// Callers that need another order or their own steps build the stages
// themselves (or take them from [Config.Pipeline]) and call
// [Pipeline.Run]: each stage is a plain struct with exported fields, and
// [StageFunc] turns a function into a stage.
//
// # Images
//
// With Config.Image, a release also ships a container image (package
// publish/oci): one image per linux platform of the release, holding its
// binary on a base image (default scratch), under an OCI image index with
// the org.opencontainers.image.* annotations, tagged by channel (a stable
// release moves X.Y.Z, X.Y, X and latest; a pre-release only its own tag;
// edge and nightly builds edge and nightly-YYYY-MM-DD; latest never moves
// backwards) and signed with the release key as "cosign sign --key"
// would, without a transparency log. The tags follow the release's channel
// (Config.Channel) unless ImageConfig.Spec.Channel names another; a release
// candidate, which the manifest puts on edge by default, moves only its
// own tag.
//
//	image := &release.ImageConfig{
//		Spec: oci.Spec{
//			Repository: registryHost + "/example/hello", // "ghcr.io/example/hello"
//			Source:     "https://github.com/example/hello",
//		},
//		Signer: signer, // ECDSA (cosign keys) or RSA
//	}
//	cfg.Image, pcfg.Image = image, image // cfg and pcfg: the Config and PublishConfig of Prepare and Publish
//	st, err := release.Prepare(ctx, cfg)
//	st, err = release.Publish(ctx, pcfg)
//
// (the whole program is ImageConfig's example). Spec.Base, the base
// image, is scratch unless set; pin it by digest
// ("gcr.io/distroless/static@sha256:...").
//
// The image is recorded before it is pushed. [Prepare]'s image stage
// ([ImageBuild]) builds it locally (no registry is contacted with a scratch
// base) and stages its manifests as release files of kind image:
// <version>/<project>-<version>-image is the index manifest and
// <version>/<project>-<version>-image-linux-<arch> each platform's image
// manifest, byte for byte as a registry serves them, so that each file's
// SHA-256 is the image's digest. Like any artifact, they are listed in
// SHA256SUMS, manifest.json, the SBOM (as CONTAINER packages, the index
// containing the platform images) and the provenance subjects, and signed
// with them, which ties the image to the release: whoever trusts the
// release pulls the image by that digest,
//
//	docker pull ghcr.io/example/hello@sha256:<SHA-256 of hello-1.2.0-image>
//
// and verify.VerifyRelease checks these files as it checks the others.
//
// [Publish]'s push-image stage ([ImagePush]) runs before the publish stage,
// so that the registry holds the image, signed and tagged, before
// manifest.json names it. It rebuilds the image from the binaries in the
// staged linux archives (their SHA-256 checked), so it works on another
// machine without the build directory, with the index digest pinned to
// the recorded one: give Publish the same ImageConfig as Prepare (and the
// same base image, hence the digest pin), or it fails with an
// *oci.DigestMismatchError before uploading anything. Pushing again is
// idempotent: same digests, nothing uploaded, every tag unchanged, the
// signature kept. State.Pushed and the summary report the image reference
// and what happened to each tag. Registry credentials come from the Docker
// config (see package publish/oci); plain HTTP is allowed only to a
// registry on loopback.
//
// Without Config.Image and PublishConfig.Image no image is built and no
// registry is contacted.
//
// # State
//
// Stages share a small typed [State]: the project, version, tag, commit and
// source date, the staging root, the binaries to package, and the
// artifacts staged so far (each with size and SHA-256, recorded while the
// file was written). Configuration lives in the stages, not in the state.
//
// # The staged directory
//
// State.Root is laid out exactly as the release will be published (see the
// relkit package documentation): <root>/<version>/ holds the archives,
// SHA256SUMS and its signature, the SBOM, the provenance and the notes;
// <root>/manifest.json, its signature and install.sh sit at the root.
// Builds and the summary go elsewhere (Config.Dist/build, Config.Dist), so
// the staged directory holds only what ships. [LoadStaged] reads a staged
// directory back.
//
// # Reproducibility
//
// Two runs on the same commit make byte-identical archives, source
// archive, SBOM, provenance, notes and SHA256SUMS (a test checks it):
// builds use -trimpath and an empty build ID with cgo off, and stamp VCS
// information (the module version from the tag, vcs.revision, vcs.time)
// only from the release commit's own checkout, else -buildvcs=false (see
// [Build]); archive entries are sorted, owned by 0:0 without names, with fixed modes
// and every mtime set to the source date (Config.SourceDate, which
// [SourceDateFromEnv] reads from SOURCE_DATE_EPOCH, else the commit time;
// the package reads no environment otherwise); gzip headers carry no name or time; the SBOM's creation
// time and namespace and the provenance derive from the commit. Only
// signatures differ (ECDSA signatures are randomized) and manifest.json
// (its updated and expires times).
//
// # Version guard
//
// [Guard] decides the version: from Version, or from the release tag at
// HEAD (for a monorepo, the tag of Module: "module-authority-v1.2.3").
// Each check is opt-in and [Guard.Strict] turns on the usual set. A
// signed-tag policy is checked with `git tag -v`; when gpg (or ssh-keygen
// for SSH signatures) is not installed the check fails with
// [ErrPolicyUnmet] rather than passing. Every failed check is reported at
// once in a *[GuardError]; test for one with errors.Is (ErrDirtyTree,
// ErrTagMissing, ErrTagMismatch, ErrTagNotAnnotated, ErrTagNotSigned,
// ErrVersionReused, ErrBadVersion).
//
// # Release notes
//
// [Changelog] extracts the version's section of a Keep a Changelog file and
// fails with a [*NotesError] wrapping changelog.ErrNoSection when it is
// missing or empty: put the notes stage right after the guard. Package
// release/changelog parses the document; its PromoteUnreleased turns the
// "Unreleased" section into the version's section and updates the compare
// links, before tagging. [NotesTemplate] renders a text/template with
// [NotesData]; [Fragments] assembles one file per change (Lix's rl-next).
//
// # Installer
//
// Package release/installsh renders a POSIX sh install.sh (banger's
// curl | sh installer) that makes package install's checks where a shell
// can: the manifest's signature (at sigs/manifest.json.<sha256>.sig, or
// manifest.json.sig), checked with `openssl dgst -sha256 -verify` against
// the public key embedded in the script, its project and expiry, the
// release's status, SHA256SUMS.sig, the archive's SHA-256, and no
// downgrade of the installed version without --allow-downgrade. The
// script names no version, so its bytes stay the same from release to
// release. The key must be ECDSA (cosign keys are) or RSA.
//
// With Config.InstallScript, [Prepare] renders it to <root>/install.sh
// ([InstallScriptStage]) for the release's project and with the first
// signer's key, unless the Script names its own; [Config.Validate]
// renders it first, so that a plain-http base URL or a name the script
// cannot take is a *[ConfigError] ("InstallScript.BaseURL") before the
// build. [InstallerKeyCheck] refuses to go on when the embedded key is
// not the signing key, with an *installsh.KeyDriftError; [Publish] runs
// it again when the staged root has an install.sh.
//
// # GoReleaser
//
// [GoReleaserImport] reads GoReleaser's dist/artifacts.json and
// metadata.json (parsed by package release/goreleaser) into a staged
// release, so a GoReleaser user can keep building with GoReleaser and
// sign, publish and serve updates with relkit: run it, then [Checksums],
// [Sign], [UpdateManifest], [SignManifest], [VerifyStaged] and
// [PublishStage]. Its failures wrap goreleaser.ErrImport.
//
// # Homebrew and Scoop
//
// Package release/tap writes a Homebrew cask and a Scoop app manifest
// from the published, signed manifest, so only a published release
// reaches a tap. With Config.Taps, [Prepare] checks the configuration
// ([Config.Validate], as "Taps.<field>") and that each tap repository can
// be cloned and pushed to (stage "tap-check") before the build; after
// [Publish], call tap.Update, or append a [TapStage] to a publish's
// stages.
//
// # Limits and concurrency
//
// Builds and archives run [DefaultParallel] at a time unless a stage's
// Parallel says otherwise. A CHANGELOG, template or fragment is read up to
// [MaxNotesSize]. Every artifact is streamed: hashed while it is written,
// never held in memory.
package release

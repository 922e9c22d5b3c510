// Package oci publishes a release's linux binaries as a multi-platform
// container image, without a Docker daemon: one reproducible image per
// platform, an OCI image index over them with annotations on the index
// itself, tags that follow the release's channel, and a cosign signature,
// pushed to any OCI registry (GHCR, Docker Hub, ECR, Harbor, Zot,
// docker-registry).
//
// oci is not a publish.Store provider, unlike its siblings publish/s3,
// publish/github and publish/gitea: a registry stores content-addressed
// blobs, manifests and tags, not files under names, so it has its own
// client (go-containerregistry's remote package) and its own commit point
// (the tags are set last, after the images, the index and its signature:
// see Tags). It lives under publish because it is a destination a release
// is published to, beside the files: release's "image" and "push-image"
// stages call it, and the image digests it records go into manifest.json
// with the other artifacts.
//
// Most callers want Client.Push: build the images a Spec describes and
// push them. A release that records image digests before it publishes
// calls Client.Build (no registry needed with the default scratch base),
// records Image.Artifacts, and later pushes with Client.Push and
// Spec.Digest set to the recorded index digest, which refuses to ship
// anything else (*DigestMismatchError). FromArchives takes the binaries out
// of a release's packaged archives when the build directory is gone;
// Image.WriteLayout writes an OCI image layout for a dry run or an
// offline copy.
//
//	signer, err := sign.LoadSigner(keyFile, sign.EnvPassword) // cosign.key, its password from COSIGN_PASSWORD
//	c, err := oci.New(oci.WithSigner(signer)) // registry credentials: ~/.docker/config.json and its helpers
//	spec := oci.Spec{
//		Repository: registryHost + "/example/hello", // "ghcr.io/example/hello"
//		Project:    "hello",
//		Version:    "1.2.0",
//		Commit:     commit,     // full git commit
//		Created:    commitTime, // so that images are reproducible
//		Source:     "https://github.com/example/hello",
//		Binaries:   binaries, // []oci.Binary{{Path, Platform}}; non-linux ones are skipped
//	}
//	res, err := c.Push(ctx, spec)
//	rel.Artifacts = append(rel.Artifacts, res.Artifacts...) // kind "image", into manifest.json
//
// The whole program, each err checked, is [Client.Push]'s example.
//
// # Images
//
// Each linux platform gets an image made of the base image (Spec.Base,
// resolved per platform; by default none, "scratch") plus one layer holding
// the platform's binaries in Spec.BinDir (default DefaultBinDir,
// /usr/local/bin) and the Spec.Files. The layer is reproducible: entries
// sorted by path, parent directories included, owner 0:0 with no user
// names, modes 0755 for binaries and directories and 0644 (or File.Mode)
// for files whatever the modes on disk, every mtime the commit time
// (Spec.Created), gzip at BestSpeed (as go-containerregistry and ko) with
// no header time. The config sets the platform,
// the entrypoint (the binary, when each platform has one), Cmd, Env, User,
// WorkingDir, and the labels; its creation time is the commit time too. So
// the same Spec builds the same digests on any machine with the same relkit
// build (gzip output is that of Go's compress/gzip), as long as the base
// image is the same: pin Spec.Base by digest.
//
// GOARCH arm maps to the OCI platform arm/v7. An image on a Docker schema 2
// base keeps the Docker media types; otherwise everything is OCI.
//
// # Annotations
//
// The index, every image manifest and every config (as labels) carry the
// standard org.opencontainers.image.* keys: created (the commit time,
// RFC 3339), version, revision (the commit), source and title (the
// project, or Spec.Name), plus Spec.Annotations (and Spec.Labels on the config). Image
// manifests built on a base also carry base.name and base.digest.
// Annotations on the index are what registries such as GHCR show for a
// multi-platform image, and what tools that assemble an index from
// separate images ("manifest-tool") cannot set.
//
// # Tags
//
// Tags lists the tags of a release, following the manifest's channel and
// alias rules:
//
//	stable or lts channel (or none), not a pre-release  X.Y.Z, X.Y, X, latest, sha-<commit>
//	a pre-release (no channel or a custom one)    X.Y.Z-rc.N, sha-<commit>
//	edge or nightly channel                       <version>, edge, nightly-YYYY-MM-DD, sha-<commit>
//	any other channel                             <version>, sha-<commit>
//
// The version tag never moves: if it already points at another digest, the
// push fails with a *TagConflictError before uploading anything (a version
// is never reused). The other tags are rolling and only move forward:
// before moving one, Push reads the org.opencontainers.image.version of
// what it points at (the index annotation, else the config label, so tags
// pushed by docker/metadata-action are understood too) and leaves the tag
// where it is when that version is newer by manifest.Compare, or unknown
// (TagKept, with the reason in TagResult.Reason). So "latest" never moves
// backwards, a hotfix of an older minor moves only its X.Y, and a
// pre-release never moves "latest" at all. Tags are read before anything is
// uploaded and set last, after the index and its signature: nothing is
// visible by tag before it is complete and signed. Two pushes racing on one
// repository are not serialized; run one release at a time.
//
// # Idempotence
//
// Pushing the same release again builds the same digests; the registry
// already has every blob and manifest (go-containerregistry checks with HEAD
// requests), the signature is already there, and every tag is unchanged, so
// nothing is uploaded. Result.Stats counts the requests as seen on the wire
// (BlobUploads and ManifestPuts are zero on a re-push).
//
// # Signatures
//
// With WithSigner, Push signs the index digest the way "cosign sign --key"
// does with no transparency log: a "simple signing" payload
// ({"critical":{"identity":{"docker-reference":...},"image":{
// "docker-manifest-digest":"sha256:..."},"type":"cosign container image
// signature"},"optional":null}) signed with the release key, stored as an
// uncompressed layer (media type
// application/vnd.dev.cosign.simplesigning.v1+json, the base64 signature in
// the annotation dev.cosignproject.cosign/signature) of the OCI image
// tagged sha256-<hex>.sig in the same repository, after the signatures
// already there. The image is written with go-containerregistry alone; no
// cosign library is linked, and no COSIGN_* variable is read. It verifies
// with
//
//	cosign verify --key cosign.pub --insecure-ignore-tlog=true ghcr.io/example/hello@sha256:...
//
// (add --allow-http-registry for a registry on loopback). A valid signature
// by the same key is kept, not duplicated. Signers are package sign's:
// cosign keys and ECDSA or RSA PEM keys. Ed25519 and RSA-PSS signers are
// refused with ErrUnsupportedSigner: cosign treats Ed25519 keys differently
// across its commands (see package sign), so image signatures use only the
// algorithms "cosign verify --key" checks the same way everywhere.
//
// # Registries and credentials
//
// Credentials come from authn.DefaultKeychain: the Docker config
// ($DOCKER_CONFIG/config.json or ~/.docker/config.json, as "docker login"
// writes it), its credential helpers and credsStore; WithKeychain replaces
// it. Registries are reached over HTTPS; plain HTTP is allowed only to
// loopback registries (127.0.0.0/8, ::1, localhost), and any other
// plain-HTTP request, including the fallback go-containerregistry would try
// for private-network addresses, fails with ErrInsecureRegistry.
//
// # Manifest records
//
// Image.Artifacts and Result.Artifacts are manifest.Artifact records of
// kind manifest.KindImage: "<project>-<version>-image" for the index and
// "<project>-<version>-image-<os>-<arch>" per platform, with the manifest's
// size and its digest as SHA256 and an empty Path. A release with several
// images (one per module) sets Spec.Name on each so that their records
// have distinct names. Add them to the release
// in manifest.json, and to the SBOM and provenance subjects, so that an
// image is tied to the signed release.
package oci

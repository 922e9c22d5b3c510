// Package install resolves, downloads, verifies, extracts and swaps in a
// project's binaries, with a health check and rollback: the base of a
// "tool update" command.
//
// Most callers build one [Installer] with [New] and call
// [Installer.Check] for "tool update --check" and [Installer.Install] for
// "tool update"; [Installer.Rollback] undoes the last install.
//
//	ring, err := verify.NewKeyRing(pinnedPublicKeyPEM) // the key the release is signed with
//	exe, err := filepath.EvalSymlinks(running) // running is os.Executable(): replace the file, not a symlink to it
//	in, err := install.New(install.Config{
//		Project:        "hello",
//		Source:         releaseURL, // "https://releases.example.com/hello/"
//		Dir:            filepath.Dir(exe),
//		Trust:          &verify.Trust{Keys: ring},
//		CurrentVersion: version, // from -ldflags; else the receipt says
//		Progress:       func(done, total int64) { fmt.Fprintf(os.Stderr, "\r%d/%d bytes", done, total) },
//	})
//	u, err := in.Check(ctx, manifest.Query{}) // is there an update, to what, and why
//	res, err := in.Install(ctx, manifest.Query{}) // the stable channel
//
// The package's self-update example is the whole program, each err
// checked.
//
// Project, Source, Dir and Trust are required; everything else in
// [Config] has a default, stated in its comment. The optional parts are
// grouped: [Network] (HTTP client, retries, timeouts, a forge token),
// [Health] (the check of the new binaries) and [Limits] (size caps).
// What one call may do (downgrade, reinstall, replace a package
// manager's binary) is a [CallOption] of that call. Nothing is logged
// unless Config.Logger is set (the rule across relkit); every warning
// is also in the result.
//
// # Trust
//
// Nothing is installed unless it verifies, and verification goes through
// package verify only. Config.Trust, a [verify.Trust], is the one place
// trust material goes: pinned signing keys (Keys, a [verify.KeyRing],
// with an optional Threshold), or pinned root keys (Roots, with
// RootThreshold, default all of them) that certify the signing keys in
// the release's keys.json and rotate themselves through the root chain,
// root/<n>.json, so neither signing nor root keys need a new program to
// rotate (see verify's package doc), or both. Without it, or with no key
// in it, [New] fails with an error wrapping [ErrNoTrust].
//
// Two protections hold whatever Trust says: the signed manifest (and
// keys.json, and the root chain) must be for Config.Project, and the
// highest serials accepted (and the newest root set) are recorded in the
// state directory next to the binaries, as well as in Trust.State when
// that is set, so a rollback is refused after a restart too. Only
// Trust.UnsafeAnyProject and Trust.UnsafeMemoryState turn them off. A keys.json that names no project (written before keys.json
// had a project field) is refused; re-sign it with the project
// (examples/keys rotate), or set Trust.UnsafeAllowUnboundKeys.
//
// From a release root the installer reads manifest.json with its
// signatures (manifest.json.sig and/or signatures.json) and verifies them
// with [verify.Verifier.FetchManifest]: the signatures, the project name,
// the expiry (freeze attacks) and the serial, which must never go down
// (rollback attacks; the highest serial seen is kept in the state
// directory). The artifact is then checked against the signed manifest's
// size and SHA-256 while it downloads, and against its version, OS and
// architecture ([verify.CheckArtifact], mix-and-match attacks).
//
// # Sources
//
// Config.Source is one of:
//
//   - an http:// or https:// URL of a release root (manifest.json at its
//     top, artifacts below as relkit publishes them);
//   - a forge repository that relkit published to, named explicitly:
//     "github:OWNER/REPO" or "https://github.com/OWNER/REPO" (github.com),
//     "github:HOST/OWNER/REPO" (GitHub Enterprise Server),
//     "gitea:HOST/OWNER/REPO" or "forgejo:HOST/OWNER/REPO" (add https://
//     or http:// before HOST to choose the scheme). The root is read from
//     the index release (tag relkit-index), each version's files from the
//     release of its tag, through the public download URLs: the current
//     manifest costs two requests, and no API request (so no API rate
//     limit) is made. Network.ForgeToken reads a private repository; see
//     [verify.Forge];
//   - a local release root directory, or its manifest.json;
//   - a local archive (.tar.gz, .tgz, .zip) or bare binary, as an install
//     script's --from accepts, verified through the signed SHA256SUMS
//     (with SHA256SUMS.sig or signatures.json) in the same directory. Its
//     version and platform come from its name
//     ("<project>-<version>-<os>-<arch>.<ext>") or from Query.Version.
//
// # Choosing a version
//
// A [manifest.Query] names an exact Version, a Channel ("stable", "edge"),
// an Alias ("latest", "1.2") or a Constraint (">=1.2, <2"); with none set
// it is the stable channel. A constraint selects pre-releases only with
// Query.Prerelease. The platform defaults to the running program's
// (Config.Platform overrides it). Yanked releases are never installed; a
// deprecated one is installed only when asked for by exact version, with
// a warning in [Result.Warnings]. Versions compare by SemVer precedence
// (1.10.0 is newer than 1.9.0). The installed version is
// Config.CurrentVersion when the program knows it, else the receipt's.
//
// What one call may do is said in that call, not in the Config: going to
// an older version than the one installed fails with a *[DowngradeError]
// unless Install is passed [AllowDowngrade]; an installed version is left
// as it is unless Install is passed [Reinstall]; [AllowManaged] is in the
// next sections. A [CallOption] applies to the call it is passed to and to
// no later one, whatever order the options come in; Check, passed the
// options Install will get, answers for that Install:
//
//	u, err := in.Check(ctx, manifest.Query{Version: "1.3.0"}, install.AllowDowngrade())
//	res, err := in.Install(ctx, manifest.Query{Version: "1.3.0"}, install.AllowDowngrade())
//
// # Downloads
//
// An artifact is streamed into a temporary file in the target directory
// itself (so the final rename never crosses filesystems) and hashed in the
// same pass; it is never held in memory. A tar.gz is unpacked while it
// downloads (into temporary files that are used only once the whole
// artifact has verified, and removed otherwise), so decompression
// overlaps with the network and the hash; a zip is unpacked after.
//
// Downloads are capped (Limits.MaxDownload, and exactly the signed size),
// retried on network errors and 5xx (Network.Retries, RetryBackoff), and
// resumed after a cut connection with an HTTP Range request guarded by
// If-Range (a server that cannot resume, or whose file changed, restarts
// from zero; so does a resume answered with 416, once). Every file is
// bounded in time: an attempt is aborted when no byte arrives for
// Network.StallTimeout or when it receives less than MinThroughput bytes
// per second over a ThroughputWindow (a *[SlowError]: a slow-loris
// server), and the whole file, retries included, when DownloadTimeout
// passes (default one hour). A refused redirect is final, never retried.
// The default HTTP client honours HTTP_PROXY, HTTPS_PROXY and NO_PROXY;
// redirects follow relkit's one policy, verify.CheckRedirect (same scheme
// or an http->https upgrade, never https->http or another scheme).
// Config.Progress receives (bytes done, total) for a progress bar.
//
// # Archives
//
// Only the configured Binaries are extracted (by default the project's
// name, plus ".exe" on Windows), and only as regular files at the
// archive root (or Config.ArchiveDir), as banger's release tarballs have
// them. An archive is refused with an *[ArchiveError] when any entry has
// an absolute path, a ".." element or a backslash, is a symlink or hard
// link leaving the archive, is a device file, a FIFO or a sparse file
// (whose holes would not count against the limits), appears twice, or
// when it decompresses past Limits (per entry, in total, or at a ratio
// above Limits.MaxRatio: a size bomb). Nothing is written outside
// temporary files until every check has passed.
//
// The installer reads tar.gz and zip. Programs whose releases ship
// .tar.xz or .tar.zst import install/xz or install/zstd, which register a
// [Decoder] (see [RegisterDecoder]); every check above applies to them
// unchanged. Without the import such an archive is refused before it is
// downloaded, with an *[ArchiveError] naming the package to import.
//
// # The swap
//
// The new files are fsynced and given the mode and owner of the files
// they replace (Config.Mode, default 0755, for new ones). The current
// files are kept as backups, a journal is written, and each new file is
// renamed into place; on Windows the running .exe is first renamed aside
// (hidden, and removed on the next run). Then the health check runs:
// by default "<primary binary> version" must print the new version
// ([VersionCommand]); Health.Check replaces it. If it fails, the
// whole set is restored and the error is a *[HealthCheckError] with
// RolledBack set. Otherwise the receipt is written, which commits the
// install, and the journal removed.
//
// An install killed at any instant leaves each binary either old or new,
// complete and runnable; the next Install or Rollback finds the journal
// and restores the old set unless the receipt shows the new one
// committed, then removes leftover temporary files. Recovery always makes
// progress: an I/O error at any file operation (tested by injecting one at
// each in turn) leaves the old or the new set with a receipt that names
// it, and the next run completes or undoes the swap. A journal that cannot
// be replayed (empty, corrupt, or its backup set gone) is discarded with
// a warning when the binaries are the ones the receipt describes;
// otherwise Install and Rollback fail with a *[JournalError] and touch
// nothing, and [Installer.DiscardJournal] is the way out. A lock file stops two installs racing (a *[LockedError]; wait
// with Config.LockWait); on Unix it is an flock, released by the kernel
// when its holder dies.
//
// Before downloading anything, Install checks that the target directory
// is writable and fails with a *[NotWritableError] naming it and
// suggesting a fix. Config.Confirm, when set, is asked (with what Check
// would answer) before the download too. Install and Rollback refuse to
// replace a binary that a package manager owns (dpkg, rpm, a Homebrew
// Cellar or Caskroom, Scoop) or that `go install` put in GOBIN or
// GOPATH/bin, with a *[ManagedError] naming the command to run instead
// ("sudo apt upgrade hello", "brew upgrade hello"), unless the call is
// passed [AllowManaged]; Check reports the same in Update.Warnings.
// With Health.CheckBuildVersion, an extracted Go binary whose build
// information states another tagged version than the release's is
// refused (*[BuildVersionError]) before the swap.
//
// # Files next to the binaries
//
// The installer keeps its files for primary binary p in the hidden
// directory ".p.relkit" beside it ([StateDir]): the lock, the receipt
// ([Receipt], read with [ReadReceipt]: version, source, time, the
// artifact's SHA-256, and each binary's size and modification time),
// the journal, the backups and the manifest serials seen. The installer
// trusts none of it blindly: the state directory must be a real directory
// and its files regular files (never followed through a symbolic link;
// the lock is opened with O_NOFOLLOW), and the names in the journal and
// the backup record must be plain names inside it. A violation is an
// *[UnsafePathError] (a *[JournalError] for the journal) before anything
// is changed.
//
// # Errors
//
// Every refusal is typed and wraps a sentinel for [errors.Is]:
// [ErrNoTrust], [ErrVerification] (a *[VerificationError] that also wraps
// verify's own error, such as verify.ErrBadSignature,
// verify.ErrChecksumMismatch, verify.ErrExpired or verify.ErrRollback),
// [ErrUnsafeArchive], [ErrMissingEntry], [ErrTooLarge], [ErrSizeMismatch],
// [ErrDowngrade], [ErrHealthCheck], [ErrLocked], [ErrNotWritable],
// [ErrDeclined], [ErrNoBackup], [ErrLocalIO] (a *[FileError]: disk full,
// permission denied, read-only file system; never retried),
// [ErrUnsafePath] (a *[UnsafePathError]: a symlinked binary, lock file or
// state directory, found before anything is downloaded) and
// [ErrBadJournal] (a *[JournalError], saying how to get out).
// A body that should be JSON and is not (an HTML page served as
// manifest.json) is a *verify.FormatError saying so. Download failures
// are a *[DownloadError] wrapping the last *[HTTPError] (verify's one HTTP
// error type: a status or a refused redirect), *[StallError],
// *[SlowError], *[FileError], a deadline or a network error. After any
// of them the installed binaries are as they were.
package install

package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/goreleaser/nfpm/v2"
	_ "github.com/goreleaser/nfpm/v2/apk" // registers the apk packager
	_ "github.com/goreleaser/nfpm/v2/deb" // registers the deb packager
	"github.com/goreleaser/nfpm/v2/files"
	_ "github.com/goreleaser/nfpm/v2/rpm" // registers the rpm packager

	"github.com/relkit/relkit/manifest"
)

// Linux package formats [LinuxPackages] writes.
const (
	PackageDeb = "deb"
	PackageRPM = "rpm"
	PackageAPK = "apk"
)

// PackageFormats lists the formats [LinuxPackages.Formats] accepts.
var PackageFormats = []string{PackageDeb, PackageRPM, PackageAPK}

// LinuxPackages is the Linux package stage ("linux-packages"): for every
// linux platform in State.Binaries it builds a .deb, .rpm and/or .apk
// with nfpm (github.com/goreleaser/nfpm/v2, as a library), holding the
// platform's binaries in BinDir plus Files, and records each as an
// artifact of kind manifest.KindPackage. Like the archives they are then
// listed in SHA256SUMS (and so signed), manifest.json, the SBOM (each
// package CONTAINS its binaries) and the provenance. Installers never
// select them: users install them with their package manager, and
// package install refuses to replace a binary a package manager owns (a
// *install.ManagedError naming "sudo apt upgrade <name>"; see
// install.AllowManaged).
//
// Packages are reproducible: every mtime is State.Date, files are owned by
// root, the rpm build host is "relkit", and nfpm's compressors write no
// time or name, so two runs on the same inputs make identical bytes (a
// test checks it). They are not signed with a distribution's own
// signature (debsig, rpm --addsign, apk's .SIGN); the release signature
// covers them through SHA256SUMS.
//
// Maintainer, Description and License are required (a
// *PackageMetadataError names every missing one); Config.Pipeline checks
// them, the formats, the scripts and the files before anything is built.
// Names follow each format's convention (nfpm's ConventionalFileName):
// hello_1.2.0_amd64.deb, hello-1.2.0-1.x86_64.rpm, hello_1.2.0_x86_64.apk.
type LinuxPackages struct {
	// Formats are the package formats: "deb", "rpm", "apk"; required.
	Formats []string
	// PackageName is the package name; empty means State.Project.
	PackageName string
	// Maintainer is "Name <email>"; required.
	Maintainer string
	// Description is the package description (its first line is the rpm
	// summary); required.
	Description string
	// License is the license, an SPDX identifier ("MIT"); required.
	License string
	// Homepage is the project's URL.
	Homepage string
	// Vendor is the organisation distributing the package.
	Vendor string
	// Section and Priority are deb's (and rpm's group is Section).
	Section, Priority string
	// Release is the package release ("1"); empty leaves each format's
	// default.
	Release string
	// Depends, Recommends, Suggests, Conflicts, Replaces and Provides are
	// the package relations, in the formats' shared syntax ("libc6 (>=
	// 2.31)" works for deb; keep to plain names for all three).
	Depends, Recommends, Suggests, Conflicts, Replaces, Provides []string
	// BinDir is where the binaries are installed; empty means /usr/bin.
	BinDir string
	// Files are extra files (configuration, documentation, units).
	Files []PackageFile
	// Scripts are the maintainer scripts, as files on disk.
	Scripts PackageScripts
}

// PackageFile is one extra file of a Linux package.
type PackageFile struct {
	// Src is the file on disk; required.
	Src string
	// Dst is its absolute path once installed; required.
	Dst string
	// Mode is its permission bits; 0 means 0644.
	Mode os.FileMode
	// Config marks a configuration file: a deb conffile, an rpm
	// %config(noreplace), kept when the user changed it.
	Config bool
}

// PackageScripts are the maintainer scripts of a Linux package: paths of
// shell scripts on disk, each optional (deb's preinst, postinst, prerm,
// postrm; rpm's %pre, %post, %preun, %postun; apk's .pre-install,
// .post-install, .pre-deinstall, .post-deinstall).
type PackageScripts struct {
	PreInstall, PostInstall, PreRemove, PostRemove string
}

// PackageMetadataError reports Linux package metadata missing a required
// field, before anything is built.
type PackageMetadataError struct {
	// Missing names the missing fields of [LinuxPackages].
	Missing []string
}

// Error implements the error interface.
func (e *PackageMetadataError) Error() string {
	return fmt.Sprintf("linux packages: set LinuxPackages.%s (required by deb, rpm and apk: Maintainer as \"Name <email>\", License as an SPDX identifier)",
		strings.Join(e.Missing, ", LinuxPackages."))
}

// Name returns "linux-packages".
func (lp *LinuxPackages) Name() string { return "linux-packages" }

// check validates the configuration: formats, required metadata, files
// and scripts.
func (lp *LinuxPackages) check() error {
	if len(lp.Formats) == 0 {
		return &ConfigError{Field: "LinuxPackages.Formats", Reason: "no format (want deb, rpm and/or apk)"}
	}
	seen := map[string]bool{}
	for _, f := range lp.Formats {
		if !slices.Contains(PackageFormats, f) {
			return &ConfigError{Field: "LinuxPackages.Formats", Reason: fmt.Sprintf("unknown package format %q (want one of %s)", f, strings.Join(PackageFormats, ", "))}
		}
		if seen[f] {
			return &ConfigError{Field: "LinuxPackages.Formats", Reason: fmt.Sprintf("%q listed twice", f)}
		}
		seen[f] = true
	}
	var missing []string
	for _, f := range []struct{ name, v string }{{"Maintainer", lp.Maintainer}, {"Description", lp.Description}, {"License", lp.License}} {
		if strings.TrimSpace(f.v) == "" {
			missing = append(missing, f.name)
		}
	}
	if len(missing) > 0 {
		return &PackageMetadataError{Missing: missing}
	}
	if lp.BinDir != "" && !absPackagePath(lp.BinDir) {
		return &ConfigError{Field: "LinuxPackages.BinDir", Reason: fmt.Sprintf("%q is not a clean absolute path", lp.BinDir)}
	}
	dsts := map[string]bool{}
	for _, f := range lp.Files {
		if !absPackagePath(f.Dst) {
			return &ConfigError{Field: "LinuxPackages.Files", Reason: fmt.Sprintf("destination %q is not a clean absolute path", f.Dst)}
		}
		if dsts[f.Dst] {
			return &ConfigError{Field: "LinuxPackages.Files", Reason: fmt.Sprintf("destination %q listed twice", f.Dst)}
		}
		dsts[f.Dst] = true
		if err := regularFile(f.Src); err != nil {
			return &ConfigError{Field: "LinuxPackages.Files", Reason: err.Error()}
		}
	}
	for _, s := range []string{lp.Scripts.PreInstall, lp.Scripts.PostInstall, lp.Scripts.PreRemove, lp.Scripts.PostRemove} {
		if s == "" {
			continue
		}
		if err := regularFile(s); err != nil {
			return &ConfigError{Field: "LinuxPackages.Scripts", Reason: err.Error()}
		}
	}
	return nil
}

func absPackagePath(p string) bool {
	return strings.HasPrefix(p, "/") && path.Clean(p) == p && p != "/" && !strings.ContainsAny(p, "\\\x00\n")
}

func regularFile(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", p)
	}
	return nil
}

// Run builds the packages.
func (lp *LinuxPackages) Run(ctx context.Context, st *State) error {
	if err := lp.check(); err != nil {
		return err
	}
	if err := st.needVersion(); err != nil {
		return err
	}
	if st.Date.IsZero() {
		return &ConfigError{Field: "State.Date", Reason: "not set: packages need a fixed mtime (SOURCE_DATE_EPOCH or the commit time)"}
	}
	var plats []manifest.Platform
	byPlat := map[manifest.Platform][]Binary{}
	for _, b := range st.Binaries {
		if b.Platform.OS != "linux" {
			continue
		}
		if _, ok := byPlat[b.Platform]; !ok {
			plats = append(plats, b.Platform)
		}
		byPlat[b.Platform] = append(byPlat[b.Platform], b)
	}
	if len(plats) == 0 {
		return &ConfigError{Field: "State.Binaries", Reason: "no linux binary to package (Build.Targets has no linux platform)"}
	}
	slices.SortFunc(plats, func(a, b manifest.Platform) int { return strings.Compare(a.String(), b.String()) })
	// nfpm's apk takes the scripts' mtimes from the files on disk: give
	// it copies dated State.Date, so that the checkout's mtimes do not
	// change the bytes.
	scripts, cleanup, err := lp.datedScripts(st)
	if err != nil {
		return err
	}
	defer cleanup()
	var arts []manifest.Artifact
	for _, pl := range plats {
		for _, format := range lp.Formats {
			if err := ctx.Err(); err != nil {
				return err
			}
			pkgr, err := nfpm.Get(format)
			if err != nil {
				return err
			}
			name := pkgr.ConventionalFileName(lp.info(st, pl, byPlat[pl], scripts))
			if strings.ContainsAny(name, "/\\") {
				return &ConfigError{Field: "LinuxPackages.PackageName", Reason: fmt.Sprintf("package file name %q is not a plain name", name)}
			}
			a, err := st.stageFile(name, manifest.KindPackage, pl, func(w io.Writer) error {
				// Package prepares (and changes) the Info: give each
				// format its own.
				return pkgr.Package(lp.info(st, pl, byPlat[pl], scripts), w)
			})
			if err != nil {
				var fe nfpm.ErrFieldEmpty
				if errors.As(err, &fe) {
					return &ConfigError{Field: "LinuxPackages", Reason: err.Error()}
				}
				return fmt.Errorf("%s package %s: %w", format, name, err)
			}
			arts = append(arts, a)
			st.logger().Info("linux package", "file", name, "size", a.Size, "sha256", a.SHA256)
		}
	}
	for _, a := range arts {
		st.AddArtifact(a)
	}
	return nil
}

// datedScripts copies the maintainer scripts into a temporary directory
// with State.Date as their mtime.
func (lp *LinuxPackages) datedScripts(st *State) (PackageScripts, func(), error) {
	out := lp.Scripts
	var dir string
	cleanup := func() {
		if dir != "" {
			os.RemoveAll(dir)
		}
	}
	for i, p := range []*string{&out.PreInstall, &out.PostInstall, &out.PreRemove, &out.PostRemove} {
		if *p == "" {
			continue
		}
		if dir == "" {
			d, err := os.MkdirTemp(st.Work, "linux-package-scripts-")
			if err != nil {
				return out, cleanup, err
			}
			dir = d
		}
		data, err := os.ReadFile(*p)
		if err != nil {
			return out, cleanup, err
		}
		dst := filepath.Join(dir, fmt.Sprintf("%d-%s", i, filepath.Base(*p)))
		if err := os.WriteFile(dst, data, 0o755); err != nil {
			return out, cleanup, err
		}
		if err := os.Chtimes(dst, st.Date, st.Date); err != nil {
			return out, cleanup, err
		}
		*p = dst
	}
	return out, cleanup, nil
}

// info is the nfpm description of the package for one platform.
func (lp *LinuxPackages) info(st *State, pl manifest.Platform, bins []Binary, scripts PackageScripts) *nfpm.Info {
	name := lp.PackageName
	if name == "" {
		name = st.Project
	}
	binDir := lp.BinDir
	if binDir == "" {
		binDir = "/usr/bin"
	}
	mtime := st.Date.UTC().Truncate(1e9)
	var contents files.Contents
	for _, b := range bins {
		contents = append(contents, &files.Content{
			Source: b.Path, Destination: path.Join(binDir, b.Name),
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: 0o755, MTime: mtime},
		})
	}
	for _, f := range lp.Files {
		mode := f.Mode.Perm()
		if mode == 0 {
			mode = 0o644
		}
		c := &files.Content{
			Source: f.Src, Destination: f.Dst,
			FileInfo: &files.ContentFileInfo{Owner: "root", Group: "root", Mode: mode, MTime: mtime},
		}
		if f.Config {
			c.Type = files.TypeConfigNoReplace
		}
		contents = append(contents, c)
	}
	summary, _, _ := strings.Cut(strings.TrimSpace(lp.Description), "\n")
	info := &nfpm.Info{
		Name: name, Arch: pl.Arch, Platform: "linux",
		Version: st.Version.String(), Release: lp.Release,
		Section: lp.Section, Priority: lp.Priority,
		Maintainer: lp.Maintainer, Description: strings.TrimSpace(lp.Description),
		Vendor: lp.Vendor, Homepage: lp.Homepage, License: lp.License,
		DisableGlobbing: true, MTime: mtime,
		Overridables: nfpm.Overridables{
			Depends: lp.Depends, Recommends: lp.Recommends, Suggests: lp.Suggests,
			Conflicts: lp.Conflicts, Replaces: lp.Replaces, Provides: lp.Provides,
			Contents: contents,
			Umask:    0o022,
			Scripts: nfpm.Scripts{
				PreInstall: scripts.PreInstall, PostInstall: scripts.PostInstall,
				PreRemove: scripts.PreRemove, PostRemove: scripts.PostRemove,
			},
			RPM: nfpm.RPM{BuildHost: "relkit", Summary: summary, Group: lp.Section, Packager: lp.Maintainer},
		},
	}
	return nfpm.WithDefaults(info)
}

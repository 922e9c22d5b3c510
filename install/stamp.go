package install

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/relkit/relkit/manifest"
)

// BuildVersionError reports an extracted binary whose Go build
// information states a release version other than the one the signed
// manifest installs it as: a mislabelled artifact (the 1.2.0 binary
// published as 1.3.0). It wraps [ErrVerification]. See
// Health.CheckBuildVersion.
type BuildVersionError struct {
	// Binary is the binary's name; Module its main module.
	Binary, Module string
	// Stamped is the version in its build information ("v1.2.0");
	// Release the manifest's ("1.3.0").
	Stamped, Release string
}

// Error implements the error interface.
func (e *BuildVersionError) Error() string {
	return fmt.Sprintf("%s states %s@%s in its build information, but the signed manifest installs it as %s: the artifact is mislabelled (publish it again from the right tag)",
		e.Binary, e.Module, e.Stamped, e.Release)
}

// Unwrap returns [ErrVerification].
func (e *BuildVersionError) Unwrap() error { return ErrVerification }

// pseudoVersion matches Go's pseudo-versions (a build between tags),
// which say nothing about the release.
var pseudoVersion = regexp.MustCompile(`(^|[-.])(0\.)?\d{14}-[0-9a-f]{12}$`)

// checkBuildVersions refuses, with Health.CheckBuildVersion, a Go binary
// whose build information states a tagged version other than version.
// Binaries without build information, built without VCS stamping
// ("(devel)"), from a dirty tree or between tags are not checked.
func (in *Installer) checkBuildVersions(files []newFile, version string) error {
	if !in.cfg.Health.CheckBuildVersion {
		return nil
	}
	want, err := manifest.ParseVersion(version)
	if err != nil {
		return nil
	}
	for _, nf := range files {
		_, mod, stamped, ok := goBuildInfo(nf.Temp)
		if !ok || stamped == "" || stamped == "(devel)" || strings.Contains(stamped, "+dirty") || pseudoVersion.MatchString(stamped) {
			continue
		}
		got, err := manifest.ParseVersion(strings.TrimSuffix(strings.TrimPrefix(stamped, "v"), "+incompatible"))
		if err != nil {
			continue
		}
		if manifest.Compare(got, want) != 0 {
			return &BuildVersionError{Binary: filepath.Base(nf.Name), Module: mod, Stamped: stamped, Release: version}
		}
	}
	return nil
}

package release

import (
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/relkit/relkit/install"
	_ "github.com/relkit/relkit/install/xz"
	_ "github.com/relkit/relkit/install/zstd"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// TestInstallFromXZAndZstdReleases: a release whose linux archive is only
// .tar.xz (then only .tar.zst), written by the package stage, installs
// through package install with the decoder package imported, and the
// installed binary runs.
func TestInstallFromXZAndZstdReleases(t *testing.T) {
	host := manifest.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if host.OS == "windows" || len(onlyPlatform(sharedBinaries(t), host)) == 0 {
		t.Skipf("the test program is not built for %s", host)
	}
	for _, format := range []string{FormatTarXz, FormatTarZst} {
		t.Run(format, func(t *testing.T) {
			signer, pub := newSigner(t)
			r := releaseRepo(t, "v1.2.0")
			st, err := Prepare(t.Context(), Config{
				Project: "hello", Dist: t.TempDir(), Repo: r.dir, Version: "1.2.0",
				Prebuilt:  onlyPlatform(sharedBinaries(t), host),
				Package:   Package{Formats: []string{format}},
				SourceURI: "git+https://github.com/example/hello",
				Signers:   []sign.Signer{signer},
				Logger:    testLogger(t),
			})
			if err != nil {
				t.Fatal(err)
			}
			keys, err := verify.NewKeyRing(pub)
			if err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			in, err := install.New(install.Config{Project: "hello", Source: st.Root, Dir: dir, Trust: &verify.Trust{Keys: keys}, Platform: host})
			if err != nil {
				t.Fatal(err)
			}
			res, err := in.Install(t.Context(), manifest.Query{})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(res.Artifact.Name, "."+format) {
				t.Errorf("installed from %s", res.Artifact.Name)
			}
			out, err := exec.Command(filepath.Join(dir, "hello"), "version").CombinedOutput()
			if err != nil || !strings.Contains(string(out), "hello 1.2.0") {
				t.Errorf("installed binary: %s %v", out, err)
			}
		})
	}
}

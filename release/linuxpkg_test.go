package release

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// testPackages is the package metadata the Linux package tests use: a
// name and directory of their own, so that installing the .deb on this
// machine touches nothing else.
func testPackages() *LinuxPackages {
	return &LinuxPackages{
		Formats:     []string{"deb", "rpm", "apk"},
		PackageName: "relkit-test-hello",
		Maintainer:  "Rel Kit <rel@example.com>",
		Description: "The hello program of relkit's tests.",
		License:     "MIT",
		Homepage:    "https://example.com/hello",
		Depends:     []string{"ca-certificates"},
		BinDir:      "/opt/relkit-test-hello/bin",
		Files: []PackageFile{
			{Src: "testdata/pkg/config.toml", Dst: "/etc/relkit-test-hello/config.toml", Mode: 0o640, Config: true},
			{Src: "testdata/CHANGELOG.md", Dst: "/usr/share/doc/relkit-test-hello/CHANGELOG.md"},
		},
		Scripts: PackageScripts{PostInstall: "testdata/pkg/postinstall.sh", PostRemove: "testdata/pkg/postremove.sh"},
	}
}

// TestLinuxPackagesMetadataRequired: missing maintainer, description or
// license is a *PackageMetadataError naming every missing field, from
// Config.Pipeline (before anything is built); an unknown format and a
// missing script are *ConfigErrors there too.
func TestLinuxPackagesMetadataRequired(t *testing.T) {
	cfg := Config{Project: "hello", Prebuilt: fakeBinaries(t), LinuxPackages: &LinuxPackages{Formats: []string{"deb"}, Homepage: "https://example.com"}}
	_, _, err := cfg.Pipeline()
	var me *PackageMetadataError
	if !errors.As(err, &me) {
		t.Fatalf("got %v, want a *PackageMetadataError", err)
	}
	for _, f := range []string{"Maintainer", "Description", "License"} {
		if !strings.Contains(err.Error(), f) {
			t.Errorf("error does not name %s: %v", f, err)
		}
	}
	if len(me.Missing) != 3 {
		t.Errorf("missing %v", me.Missing)
	}
	for name, mutate := range map[string]func(*LinuxPackages){
		"unknown format": func(p *LinuxPackages) { p.Formats = []string{"deb", "msi"} },
		"no format":      func(p *LinuxPackages) { p.Formats = nil },
		"missing script": func(p *LinuxPackages) { p.Scripts.PreRemove = "testdata/pkg/nonexistent.sh" },
		"missing file":   func(p *LinuxPackages) { p.Files[0].Src = "testdata/pkg/nonexistent" },
		"relative dst":   func(p *LinuxPackages) { p.Files[0].Dst = "etc/x" },
	} {
		p := testPackages()
		mutate(p)
		_, _, err := Config{Project: "hello", Prebuilt: fakeBinaries(t), LinuxPackages: p}.Pipeline()
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: got %v, want a *ConfigError", name, err)
		}
	}
}

// TestLinuxPackagesReproducible: two runs of the stage write the same
// .deb, .rpm and .apk bytes, even from checkouts whose files have other
// mtimes.
func TestLinuxPackagesReproducible(t *testing.T) {
	var runs [2]*State
	for i := range runs {
		runs[i] = lightState(t)
		p := testPackages()
		dir := t.TempDir()
		mtime := time.Date(2020+i, 1, 2, 3, 4, 5, 0, time.UTC)
		for _, src := range []*string{&p.Scripts.PostInstall, &p.Scripts.PostRemove, &p.Files[0].Src, &p.Files[1].Src} {
			b, err := os.ReadFile(*src)
			if err != nil {
				t.Fatal(err)
			}
			dst := filepath.Join(dir, filepath.Base(*src))
			os.WriteFile(dst, b, 0o644)
			os.Chtimes(dst, mtime, mtime)
			*src = dst
		}
		if err := p.Run(t.Context(), runs[i]); err != nil {
			t.Fatal(err)
		}
	}
	n := 0
	for i, a := range runs[0].Artifacts {
		if a.Kind != manifest.KindPackage {
			t.Errorf("%s: kind %s", a.Name, a.Kind)
		}
		n++
		x, _ := os.ReadFile(filepath.Join(runs[0].Root, a.Path))
		y, _ := os.ReadFile(filepath.Join(runs[1].Root, runs[1].Artifacts[i].Path))
		if a != runs[1].Artifacts[i] || !bytes.Equal(x, y) {
			t.Errorf("%s differs between runs", a.Name)
		}
	}
	if n != 2*3 { // linux/amd64 and linux/arm64, three formats each
		t.Errorf("%d packages: %v", n, runs[0].Artifacts)
	}
}

// TestLinuxPackagesInterop releases the test program as deb, rpm and apk
// and checks them with the real tools: dpkg-deb --info/--contents, then
// dpkg -i on this machine (the binary runs, dpkg -S owns it, the
// postinstall script ran, package install refuses to replace it and names
// apt, dpkg -r removes it), rpm -qip/-qlp, and, since
// Debian ships no apk-tools, GNU tar on the .apk (an apk is gzip'd tar
// segments: .PKGINFO, then the files). The packages are listed in
// SHA256SUMS, the manifest, the SBOM and the provenance, and the staged
// release verifies.
func TestLinuxPackagesInterop(t *testing.T) {
	dpkgDeb := testenv.Tool(t, "dpkg-deb")
	rpmBin := testenv.Tool(t, "rpm")
	tarBin := testenv.Tool(t, "tar")
	st, pub := prepareWithPackages(t)
	pl := manifest.Platform{OS: "linux", Arch: "amd64"}
	deb := filepath.Join(st.VersionDir(), "relkit-test-hello_1.2.0_amd64.deb")
	rpmFile := filepath.Join(st.VersionDir(), "relkit-test-hello-1.2.0-1.x86_64.rpm")
	apk := filepath.Join(st.VersionDir(), "relkit-test-hello_1.2.0_x86_64.apk")
	run := func(name string, args ...string) string {
		t.Helper()
		out, err := exec.Command(name, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
		}
		return string(out)
	}
	contains := func(what, out string, wants ...string) {
		t.Helper()
		for _, w := range wants {
			if !strings.Contains(out, w) {
				t.Errorf("%s lacks %q:\n%s", what, w, out)
			}
		}
	}
	info := run(dpkgDeb, "--info", deb)
	contains("dpkg-deb --info", info, "Package: relkit-test-hello", "Version: 1.2.0", "Architecture: amd64",
		"Maintainer: Rel Kit <rel@example.com>", "Homepage: https://example.com/hello", "Depends: ca-certificates",
		"Description: The hello program of relkit's tests.", "postinst", "postrm", "conffiles")
	contains("dpkg-deb --info conffiles", run(dpkgDeb, "--info", deb, "conffiles"), "/etc/relkit-test-hello/config.toml")
	listing := run(dpkgDeb, "--contents", deb)
	contains("dpkg-deb --contents", listing, "-rwxr-xr-x root/root", "./opt/relkit-test-hello/bin/hello",
		"-rw-r----- root/root", "./etc/relkit-test-hello/config.toml", "./usr/share/doc/relkit-test-hello/CHANGELOG.md")

	rpmInfo := run(rpmBin, "-qip", rpmFile)
	contains("rpm -qip", rpmInfo, "relkit-test-hello", "1.2.0", "MIT", "https://example.com/hello", "Rel Kit <rel@example.com>", "x86_64")
	contains("rpm -qlp", run(rpmBin, "-qlp", rpmFile), "/opt/relkit-test-hello/bin/hello", "/etc/relkit-test-hello/config.toml")
	contains("rpm -qp --requires", run(rpmBin, "-qp", "--requires", rpmFile), "ca-certificates")
	contains("rpm -qp --scripts", run(rpmBin, "-qp", "--scripts", rpmFile), "postinstall", "rm -rf /var/lib/relkit-test-hello")
	contains("rpm -qcp", run(rpmBin, "-qcp", rpmFile), "/etc/relkit-test-hello/config.toml")
	contains("rpm -qlvp", run(rpmBin, "-qlvp", rpmFile), "-rwxr-xr-x", "-rw-r-----")

	contains("tar -tzvf (apk)", run(tarBin, "-tzvf", apk), ".PKGINFO", "opt/relkit-test-hello/bin/hello", "etc/relkit-test-hello/config.toml")
	pkginfo := run(tarBin, "-xzOf", apk, ".PKGINFO")
	contains(".PKGINFO", pkginfo, "pkgname = relkit-test-hello", "pkgver = 1.2.0", "arch = x86_64", "license = MIT",
		"url = https://example.com/hello", "depend = ca-certificates", "maintainer = Rel Kit <rel@example.com>")

	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join(st.VersionDir(), name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	sums, sbom, prov := read(manifest.ChecksumsFile), read(manifest.SBOMFile), read(manifest.ProvenanceFile)
	m, err := manifest.LoadFile(filepath.Join(st.Root, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := m.Release("1.2.0")
	for _, f := range []string{deb, rpmFile, apk} {
		name := filepath.Base(f)
		a, ok := st.Artifact(name)
		if !ok || a.Kind != manifest.KindPackage || a.OS != pl.OS || a.Arch != pl.Arch {
			t.Fatalf("%s: %+v", name, a)
		}
		if !strings.Contains(sums, a.SHA256+"  "+name+"\n") {
			t.Errorf("SHA256SUMS lacks %s", name)
		}
		if !strings.Contains(prov, `"name": "`+name+`"`) {
			t.Errorf("provenance lacks %s", name)
		}
		if !strings.Contains(sbom, `"spdxElementId": "`+spdxID("Package", name)+`",
      "relationshipType": "CONTAINS"`) {
			t.Errorf("SBOM: %s contains no binary", name)
		}
		found := false
		for _, ma := range rel.Artifacts {
			found = found || (ma.Name == name && ma.SHA256 == a.SHA256 && ma.Kind == manifest.KindPackage)
		}
		if !found {
			t.Errorf("manifest lacks %s", name)
		}
	}
	if len(st.Reports) == 0 || st.Reports[0].Report.Err() != nil {
		t.Errorf("staged verification: %+v", st.Reports)
	}

	// dpkg -i on this machine.
	installDebForTest(t, deb, func(bin string) {
		if out := run(bin, "version"); !strings.Contains(out, "hello 1.2.0") {
			t.Errorf("installed binary says %q", out)
		}
		contains("dpkg -S", run("dpkg", "-S", bin), "relkit-test-hello: "+bin)
		if b, err := os.ReadFile("/var/lib/relkit-test-hello/postinstall"); err != nil || string(b) != "configured\n" {
			t.Errorf("postinstall script: %q %v", b, err)
		}
		fi, err := os.Stat("/etc/relkit-test-hello/config.toml")
		if err != nil || fi.Mode().Perm() != 0o640 {
			t.Errorf("conffile: %v %v", fi, err)
		}
		// The self-updater refuses to replace the dpkg-owned binary,
		// naming apt, before contacting the (unreachable) source.
		keys, err := verify.NewKeyRing(pub)
		if err != nil {
			t.Fatal(err)
		}
		in, err := install.New(install.Config{Project: "hello", Source: "http://127.0.0.1:9/", Dir: filepath.Dir(bin), Binaries: []string{"hello"}, Trust: &verify.Trust{Keys: keys}})
		if err != nil {
			t.Fatal(err)
		}
		_, err = in.Install(t.Context(), manifest.Query{})
		var me *install.ManagedError
		if !errors.As(err, &me) || me.Manager != "dpkg" || me.Command != "sudo apt upgrade relkit-test-hello" {
			t.Errorf("install over the dpkg-owned binary: got %v, want a *ManagedError naming sudo apt upgrade relkit-test-hello", err)
		}
		if out := run(bin, "version"); !strings.Contains(out, "hello 1.2.0") {
			t.Errorf("after the refused install the binary says %q", out)
		}
	})
}

// prepareWithPackages prepares release 1.2.0 of the test program for
// linux/amd64 with testPackages.
func prepareWithPackages(t *testing.T) (*State, []byte) {
	t.Helper()
	signer, pub := newSigner(t)
	r := releaseRepo(t, "v1.2.0")
	cfg := Config{
		Project: "hello", Dist: t.TempDir(), Repo: r.dir, Version: "1.2.0",
		Prebuilt:      onlyPlatform(sharedBinaries(t), manifest.Platform{OS: "linux", Arch: "amd64"}),
		LinuxPackages: testPackages(),
		SourceURI:     "git+https://github.com/example/hello",
		Signers:       []sign.Signer{signer},
		Logger:        testLogger(t),
	}
	st, err := Prepare(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	return st, pub
}

// installDebForTest installs deb with dpkg -i (root is required: the
// test skips without it, and fails under RELKIT_INTEROP=1), calls check
// with the installed binary's path, then removes the package with dpkg -r
// and checks that the binary is gone.
func installDebForTest(t *testing.T, deb string, check func(bin string)) {
	t.Helper()
	dpkg := testenv.Tool(t, "dpkg")
	if os.Geteuid() != 0 {
		if testenv.Interop() {
			t.Fatal("dpkg -i needs root, and RELKIT_INTEROP=1")
		}
		t.Skip("dpkg -i needs root")
	}
	bin := "/opt/relkit-test-hello/bin/hello"
	if out, err := exec.Command(dpkg, "-i", deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	removed := false
	remove := func() {
		if removed {
			return
		}
		removed = true
		if out, err := exec.Command(dpkg, "-r", "relkit-test-hello").CombinedOutput(); err != nil {
			t.Errorf("dpkg -r: %v\n%s", err, out)
		}
	}
	t.Cleanup(remove)
	check(bin)
	remove()
	if _, err := os.Stat(bin); !os.IsNotExist(err) {
		t.Errorf("after dpkg -r, %s: %v", bin, err)
	}
	if _, err := os.Stat("/var/lib/relkit-test-hello"); !os.IsNotExist(err) {
		t.Errorf("postremove script did not run: %v", err)
	}
}

package release

import (
	"debug/buildinfo"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

// TestBuildStatesItsVersion: building the release's own repository at the
// tagged commit stamps the module version and the commit into the
// binary's build information, as `go version -m` shows them (not
// "(devel)"), and two builds stay byte-identical.
func TestBuildStatesItsVersion(t *testing.T) {
	goBin := testenv.Tool(t, "go")
	r := newRepo(t)
	src, err := os.ReadFile("testdata/hello/main.go")
	if err != nil {
		t.Fatal(err)
	}
	// The same program without its dependency: this module needs no
	// download.
	prog := strings.Replace(strings.Replace(string(src), "\t\"golang.org/x/mod/semver\"\n", "", 1), `semver.Canonical("v"+version)`, `"v"+version`, 1)
	r.write("go.mod", "module example.com/hello\n\ngo 1.26\n")
	r.write("main.go", prog)
	commit := r.commit("hello")
	r.git("tag", "-a", "v1.2.3", "-m", "v1.2.3")
	host := manifest.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	var bins [2]string
	for i := range bins {
		st := &State{Project: "hello", Version: manifest.MustParseVersion("1.2.3"), Tag: "v1.2.3", Commit: commit, Date: testDate, Work: t.TempDir(), Log: testLogger(t)}
		b := &Build{Dir: r.dir, Targets: []manifest.Platform{host}, Vars: LinkVars{Version: "main.version"}, Env: []string{"HOME=" + t.TempDir()}}
		if err := b.Run(t.Context(), st); err != nil {
			t.Fatal(err)
		}
		bins[i] = st.Binaries[0].Path
	}
	info, err := buildinfo.ReadFile(bins[0])
	if err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	if info.Main.Version != "v1.2.3" || settings["vcs.revision"] != commit || settings["vcs.modified"] != "false" {
		t.Errorf("build info: main %s %s, vcs.revision %q, vcs.modified %q", info.Main.Path, info.Main.Version, settings["vcs.revision"], settings["vcs.modified"])
	}
	out, err := exec.Command(goBin, "version", "-m", bins[0]).CombinedOutput()
	if err != nil {
		t.Fatalf("go version -m: %v %s", err, out)
	}
	if !strings.Contains(string(out), "mod\texample.com/hello\tv1.2.3") || !strings.Contains(string(out), "vcs.revision="+commit) {
		t.Errorf("go version -m:\n%s", out)
	}
	a, _ := os.ReadFile(bins[0])
	b, _ := os.ReadFile(bins[1])
	if len(a) == 0 || string(a) != string(b) {
		t.Error("two stamped builds differ")
	}
	if out, err := exec.Command(bins[0], "version").CombinedOutput(); err != nil || !strings.Contains(string(out), "hello 1.2.3") {
		t.Errorf("hello version: %s %v", out, err)
	}
}

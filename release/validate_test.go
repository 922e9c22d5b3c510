package release

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/installsh"
	"github.com/relkit/relkit/release/tap"
	"github.com/relkit/relkit/sign"
)

// TestConfigValidateReportsEverything: every problem at once, naming the
// Config fields, before anything is built (issue 16: Prepare used to fail
// after the slow build, naming a stage's field).
func TestConfigValidateReportsEverything(t *testing.T) {
	dist := t.TempDir()
	_, err := Prepare(t.Context(), Config{Dist: dist, Version: "not-a-version", Channel: "Bad Channel"})
	if err == nil {
		t.Fatal("an empty config prepared")
	}
	for _, field := range []string{"Project", "Build", "Version", "Channel", "SourceURI", "Signers"} {
		found := false
		for _, e := range flatten(err) {
			var ce *ConfigError
			if errors.As(e, &ce) && ce.Field == field {
				found = true
			}
		}
		if !found {
			t.Errorf("no problem reported for %s: %v", field, err)
		}
	}
	if entries, _ := os.ReadDir(dist); len(entries) != 0 {
		t.Errorf("a refused config left %d entries in Dist", len(entries))
	}
}

func flatten(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

// TestClientKeysDrift: a release signed by a key the self-updaters do not
// pin is refused before the build.
func TestClientKeysDrift(t *testing.T) {
	s, pub := newSigner(t)
	other, otherPub := newSigner(t)
	cfg := Config{Project: "hello", Dist: t.TempDir(), Version: "1.0.0", Prebuilt: fakeBinaries(t), SourceDate: testDate,
		SourceURI: "git+https://example.com/hello", Signers: []sign.Signer{s}, ClientKeys: [][]byte{otherPub}, Logger: testLogger(t)}
	_, err := Prepare(t.Context(), cfg)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "Signers" || !strings.Contains(err.Error(), "ClientKeys") {
		t.Fatalf("signer outside ClientKeys: %v", err)
	}
	cfg.ClientKeys, cfg.Dist = [][]byte{otherPub, pub}, t.TempDir()
	if _, err := Prepare(t.Context(), cfg); err != nil {
		t.Fatalf("signer among ClientKeys: %v", err)
	}
	_ = other
}

// TestChangelogRelativeToRepo: Changelog.Path is resolved against
// Config.Repo, as Build.Dir and Guard.Dir are, not the working directory.
func TestChangelogRelativeToRepo(t *testing.T) {
	r := newRepo(t)
	r.write("CHANGELOG.md", "# Changelog\n\n## [1.0.0] - 2026-11-20\n\n- First.\n")
	r.commit("changelog")
	s, _ := newSigner(t)
	st, err := Prepare(t.Context(), Config{Project: "hello", Dist: t.TempDir(), Repo: r.dir, Version: "1.0.0",
		Prebuilt: fakeBinaries(t), SourceDate: testDate, SourceURI: "git+https://example.com/hello",
		Notes: Changelog{Path: "CHANGELOG.md"}, Signers: []sign.Signer{s}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	notes, err := os.ReadFile(filepath.Join(st.VersionDir(), manifest.NotesFile))
	if err != nil || !strings.Contains(string(notes), "First.") {
		t.Fatalf("notes %q, %v", notes, err)
	}
}

// TestBuildTargetsAcceptAliases: Build.Targets takes what
// manifest.Platform takes (x86_64, macos), as ParseTargets does.
func TestBuildTargetsAcceptAliases(t *testing.T) {
	st := emptyState(t)
	b := &Build{Mains: []Main{{Package: "./testdata/hello"}}, Targets: []manifest.Platform{{OS: "linux", Arch: "x86_64"}}}
	if err := b.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if len(st.Binaries) != 1 || st.Binaries[0].Platform != (manifest.Platform{OS: "linux", Arch: "amd64"}) {
		t.Fatalf("binaries %+v", st.Binaries)
	}
}

// TestConfigValidateInstallScript: an install.sh that cannot be rendered
// (plain http to a public host, a bad binary name) is reported by Validate
// before the build, naming the Config field, not after the slow stages.
func TestConfigValidateInstallScript(t *testing.T) {
	s, _ := newSigner(t)
	dist := t.TempDir()
	cfg := Config{Project: "hello", Dist: dist, Version: "1.0.0", Prebuilt: fakeBinaries(t), SourceDate: testDate,
		SourceURI: "git+https://example.com/hello", Signers: []sign.Signer{s}, Logger: testLogger(t),
		InstallScript: &installsh.Script{BaseURL: "http://releases.example.com/hello", Binaries: []string{"../hello"}}}
	err := cfg.Validate()
	found := false
	for _, e := range flatten(err) {
		var ce *ConfigError
		if errors.As(e, &ce) && ce.Field == "InstallScript.BaseURL" && strings.Contains(ce.Reason, "plain http") {
			found = true
		}
	}
	if !found {
		t.Errorf("Validate: %v, want a *ConfigError for InstallScript.BaseURL", err)
	}
	if _, err := Prepare(t.Context(), cfg); !errors.As(err, new(*ConfigError)) {
		t.Fatalf("Prepare: %v, want a *ConfigError", err)
	}
	if entries, _ := os.ReadDir(dist); len(entries) != 0 {
		t.Errorf("a refused config left %d entries in Dist", len(entries))
	}
	// Without a signer, the missing key is the Signers problem alone.
	cfg.Signers, cfg.InstallScript = nil, &installsh.Script{BaseURL: "https://releases.example.com/hello"}
	for _, e := range flatten(cfg.Validate()) {
		var ce *ConfigError
		if errors.As(e, &ce) && strings.HasPrefix(ce.Field, "InstallScript") {
			t.Errorf("no signer: %v", e)
		}
	}
}

// TestConfigValidateTaps: a tap configuration missing what Homebrew and
// Scoop require is reported by Validate with the other problems, naming
// the Config field.
func TestConfigValidateTaps(t *testing.T) {
	err := Config{Project: "hello", Version: "bad", Prebuilt: fakeBinaries(t),
		Taps: &tap.Config{BaseURL: "https://releases.example.com/hello", Keys: [][]byte{[]byte("k")}, Homebrew: &tap.Repo{URL: "x"}, Homepage: "https://example.com"}}.Validate()
	got := map[string]bool{}
	for _, e := range flatten(err) {
		var ce *ConfigError
		if errors.As(e, &ce) {
			got[ce.Field] = true
		}
	}
	if !got["Taps.Description"] || !got["Version"] {
		t.Errorf("Validate: %v, want problems for Taps.Description and Version", err)
	}
}

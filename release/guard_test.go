package release

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

func repoWithTag(t *testing.T, tagArgs ...string) *testRepo {
	r := newRepo(t)
	r.write("main.go", "package main\n")
	r.commit("initial")
	if len(tagArgs) > 0 {
		r.git(append([]string{"tag"}, tagArgs...)...)
	}
	return r
}

func TestGuardOK(t *testing.T) {
	r := repoWithTag(t, "-a", "v1.2.0", "-m", "Release 1.2.0")
	g := (&Guard{Dir: r.dir, RequireV: true}).Strict()
	st := &State{Log: testLogger(t)}
	if err := g.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if st.Version.String() != "1.2.0" || st.Tag != "v1.2.0" {
		t.Errorf("version %q tag %q", st.Version, st.Tag)
	}
	if want := r.git("rev-parse", "HEAD"); st.Commit != want {
		t.Errorf("commit %q, want %q", st.Commit, want)
	}
	if want := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC); !st.Date.Equal(want) {
		t.Errorf("date %v, want commit time %v", st.Date, want)
	}
}

func TestGuardExplicitVersionNoGit(t *testing.T) {
	st := &State{}
	g := &Guard{Dir: t.TempDir(), Version: "v2026.04.1"}
	if err := g.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if !st.Version.Calendar || st.Version.String() != "2026.04.1" || st.Commit != "" {
		t.Errorf("state %+v", st)
	}
}

func TestGuardFailures(t *testing.T) {
	published := manifest.New("hello")
	if _, err := published.Add(manifest.Release{Version: "1.2.0", Commit: "0123456789abcdef0123456789abcdef01234567", Date: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Artifacts: []manifest.Artifact{}}); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		setup func(t *testing.T) *testRepo
		guard Guard
		want  []error
	}{
		{"dirty tree", func(t *testing.T) *testRepo {
			r := repoWithTag(t, "-a", "v1.0.0", "-m", "x")
			r.write("main.go", "package main // edited\n")
			return r
		}, Guard{RequireClean: true}, []error{ErrDirtyTree}},
		{"untracked file", func(t *testing.T) *testRepo {
			r := repoWithTag(t, "-a", "v1.0.0", "-m", "x")
			r.write("new.txt", "x")
			return r
		}, Guard{RequireClean: true}, []error{ErrDirtyTree}},
		{"no tag at HEAD", func(t *testing.T) *testRepo { return repoWithTag(t) }, Guard{}, []error{ErrTagMissing}},
		{"named tag missing", func(t *testing.T) *testRepo { return repoWithTag(t) }, Guard{Tag: "v9.9.9", RequireTag: true}, []error{ErrTagMissing}},
		{"dirty and untagged", func(t *testing.T) *testRepo {
			r := repoWithTag(t)
			r.write("x", "y")
			return r
		}, Guard{RequireClean: true}, []error{ErrDirtyTree, ErrTagMissing}},
		{"lightweight tag", func(t *testing.T) *testRepo { return repoWithTag(t, "v1.0.0") }, Guard{RequireAnnotated: true}, []error{ErrTagNotAnnotated}},
		{"tag not at HEAD", func(t *testing.T) *testRepo {
			r := repoWithTag(t, "-a", "v1.0.0", "-m", "x")
			r.write("b.go", "package main\n")
			r.commit("second")
			return r
		}, Guard{Tag: "v1.0.0", MatchHEAD: true}, []error{ErrTagMismatch}},
		{"version differs from tag", func(t *testing.T) *testRepo { return repoWithTag(t, "-a", "v1.0.0", "-m", "x") },
			Guard{Version: "1.0.1", Tag: "v1.0.0"}, []error{ErrTagMismatch}},
		{"v prefix required", func(t *testing.T) *testRepo { return repoWithTag(t, "-a", "1.0.0", "-m", "x") }, Guard{RequireV: true}, []error{ErrBadVersion}},
		{"bad version", func(t *testing.T) *testRepo { return repoWithTag(t) }, Guard{Version: "1.2.x"}, []error{ErrBadVersion}},
		{"reused version", func(t *testing.T) *testRepo { return repoWithTag(t, "-a", "v1.2.0", "-m", "x") }, Guard{Published: published}, []error{ErrVersionReused}},
		{"unsigned tag", func(t *testing.T) *testRepo { return repoWithTag(t, "-a", "v1.0.0", "-m", "x") }, Guard{RequireSigned: true}, []error{ErrTagNotSigned}},
		{"wrong module", func(t *testing.T) *testRepo { return repoWithTag(t, "-a", "module-billing-v1.0.0", "-m", "x") }, Guard{Module: "authority"}, []error{ErrTagMissing}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.setup(t)
			g := tc.guard
			g.Dir = r.dir
			st := &State{}
			err := g.Run(t.Context(), st)
			var ge *GuardError
			if !errors.As(err, &ge) {
				t.Fatalf("err = %v, want *GuardError", err)
			}
			for _, w := range tc.want {
				if !errors.Is(err, w) {
					t.Errorf("err = %v, want errors.Is %v", err, w)
				}
			}
			if len(ge.Problems) != len(tc.want) {
				t.Errorf("problems = %v, want %d", ge.Problems, len(tc.want))
			}
			if !st.Version.IsZero() {
				t.Errorf("state changed on failure: %+v", st)
			}
			t.Log(err)
		})
	}
}

func TestGuardNotRepo(t *testing.T) {
	err := (&Guard{Dir: t.TempDir(), RequireClean: true, Version: "1.0.0"}).Run(t.Context(), &State{})
	if !errors.Is(err, ErrNotRepo) {
		t.Fatalf("err = %v", err)
	}
}

func TestGuardMonorepo(t *testing.T) {
	r := repoWithTag(t, "-a", "module-authority-v1.2.3", "-m", "x")
	r.git("tag", "-a", "module-billing-v2.0.0", "-m", "y")
	r.git("tag", "-a", "v0.9.0", "-m", "z")
	for module, want := range map[string]string{"authority": "1.2.3", "billing": "2.0.0", "": "0.9.0"} {
		st := &State{}
		if err := (&Guard{Dir: r.dir, Module: module, RequireAnnotated: true, MatchHEAD: true}).Run(t.Context(), st); err != nil {
			t.Fatalf("module %q: %v", module, err)
		}
		if st.Version.String() != want {
			t.Errorf("module %q: version %s, want %s", module, st.Version, want)
		}
	}
}

func TestGuardSignedTag(t *testing.T) {
	gpg := testenv.Tool(t, "gpg")
	home := t.TempDir()
	os.Chmod(home, 0o700)
	r := repoWithTag(t)
	r.env = append(r.env, "GNUPGHOME="+home)
	gen := exec.Command(gpg, "--batch", "--pinentry-mode", "loopback", "--passphrase", "", "--quick-gen-key", "Rel Kit <rel@example.com>", "ed25519", "sign", "never")
	gen.Env = append(os.Environ(), "GNUPGHOME="+home)
	if out, err := gen.CombinedOutput(); err != nil {
		t.Skipf("cannot make a gpg key here: %v\n%s", err, out)
	}
	r.git("-c", "user.signingkey=rel@example.com", "tag", "-s", "v1.0.0", "-m", "signed")
	g := &Guard{Dir: r.dir, RequireSigned: true, MatchHEAD: true, Env: []string{"GNUPGHOME=" + home}}
	if err := g.Run(t.Context(), &State{}); err != nil {
		t.Fatalf("signed tag refused: %v", err)
	}

	// Without the key the signature cannot be verified.
	g.Env = []string{"GNUPGHOME=" + t.TempDir()}
	if err := g.Run(t.Context(), &State{}); !errors.Is(err, ErrTagNotSigned) {
		t.Fatalf("unknown key: err = %v, want ErrTagNotSigned", err)
	}

	// Without gpg on PATH the policy is unmet, not passed.
	bin := t.TempDir()
	gitPath, _ := exec.LookPath("git")
	if err := os.Symlink(gitPath, filepath.Join(bin, "git")); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", bin)
	g.Env = []string{"GNUPGHOME=" + home}
	if err := g.Run(t.Context(), &State{}); !errors.Is(err, ErrPolicyUnmet) {
		t.Fatalf("no gpg: err = %v, want ErrPolicyUnmet", err)
	}
}

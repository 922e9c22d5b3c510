package install

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// TestCoreConfigIsEnough: the Config a self-updater writes (the README's
// and the package doc's: Project, Source, Dir and Trust) builds an
// Installer that installs, and every optional part has the default its
// comment states.
func TestCoreConfigIsEnough(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	dir := t.TempDir()
	in, err := New(Config{
		Project: "hello",
		Source:  srv.URL,
		Dir:     dir,
		Trust:   &verify.Trust{Keys: f.ring},
	})
	if err != nil {
		t.Fatal(err)
	}
	res, err := in.Install(context.Background(), manifest.Query{})
	if err != nil || res.Version != "1.0.0" {
		t.Fatalf("Install: %+v, %v", res, err)
	}
	if got := readFile(t, filepath.Join(dir, "hello")); got != string(script("hello", "1.0.0")) {
		t.Errorf("installed %q", got)
	}
	if _, err := os.Stat(statePath(dir, "hello")); err != nil {
		t.Errorf("the accepted serial is not recorded next to the binaries: %v", err)
	}

	c := in.cfg
	if !slices.Equal(c.Binaries, []string{"hello" + in.Platform().ExeSuffix()}) || c.Mode != 0o755 || c.LockWait != 0 || c.Now == nil || c.Logger == nil {
		t.Errorf("installed program defaults: Binaries %q, Mode %v, LockWait %v, Now set %v, Logger set %v", c.Binaries, c.Mode, c.LockWait, c.Now != nil, c.Logger != nil)
	}
	n := c.Network
	if n.HTTPClient == nil || n.HTTPClient == http.DefaultClient || n.UserAgent != "relkit-install" || n.ForgeToken != "" ||
		n.Retries != DefaultRetries || n.RetryBackoff != DefaultRetryBackoff || n.StallTimeout != DefaultStallTimeout ||
		n.DownloadTimeout != DefaultDownloadTimeout || n.MinThroughput != DefaultMinThroughput || n.ThroughputWindow != DefaultThroughputWindow {
		t.Errorf("Network defaults: %+v", n)
	}
	if h := c.Health; h.Check == nil || h.Timeout != DefaultHealthTimeout || h.CheckBuildVersion {
		t.Errorf("Health defaults: %+v", h)
	}
	if in.lim != (Limits{}).withDefaults() {
		t.Errorf("Limits defaults: %+v", in.lim)
	}
}

// TestNewReportsEveryProblem: New lists a problem of each part of the
// Config in one *ConfigError, each naming the field to fix.
func TestNewReportsEveryProblem(t *testing.T) {
	roots := &verify.KeyRing{}
	if _, err := roots.Add(&newFixture(t, "x").key.PublicKey); err != nil {
		t.Fatal(err)
	}
	_, err := New(Config{
		Source:   "https://example.com/hello/",
		Dir:      t.TempDir(),
		Trust:    &verify.Trust{Roots: roots, RootThreshold: 2},
		Binaries: []string{"../evil"},
		Platform: manifest.Platform{OS: "plan10"},
		Mode:     fs.ModeSetuid | 0o755,
		LockWait: -time.Second,
		Network:  Network{ForgeToken: "t", StallTimeout: -1},
		Health:   Health{Timeout: -1},
		Limits:   Limits{MaxEntries: -1},
	})
	var ce *ConfigError
	if !errors.As(err, &ce) {
		t.Fatalf("New: %v, want a *ConfigError", err)
	}
	for _, want := range []string{"Project", "Trust: RootThreshold", "Binaries", "Platform", "Mode", "LockWait", "Network.ForgeToken", "Network.StallTimeout", "Health.Timeout", "Limits"} {
		if !slices.ContainsFunc(ce.Problems, func(p string) bool { return strings.HasPrefix(p, want) }) {
			t.Errorf("no problem starting with %q in %q", want, ce.Problems)
		}
	}
	if errors.Is(err, ErrNoTrust) {
		t.Errorf("%v wraps ErrNoTrust, but keys were given", err)
	}

	// Trust is required, and a Trust without a key is no trust.
	for name, tr := range map[string]*verify.Trust{"nil": nil, "empty": {}, "empty ring": {Keys: &verify.KeyRing{}}} {
		_, err := New(Config{Project: "hello", Source: "https://example.com/hello/", Dir: t.TempDir(), Trust: tr})
		if !errors.Is(err, ErrNoTrust) || !errors.As(err, &ce) || !strings.HasPrefix(ce.Problems[0], "Trust") {
			t.Errorf("Trust %s: %v, want a *ConfigError naming Trust and wrapping ErrNoTrust", name, err)
		}
	}
}

// TestNilLoggerLogsNothing: with no Logger, the installer writes nothing
// to the program's default logger, even when it warns; the warning is in
// the result.
func TestNilLoggerLogsNothing(t *testing.T) {
	var buf bytes.Buffer
	saved := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug})))
	t.Cleanup(func() { slog.SetDefault(saved) })

	f := newFixture(t, "hello")
	f.release("1.0.0", "hello")
	if _, err := f.m.Deprecate("1.0.0", "use 1.1"); err != nil {
		t.Fatal(err)
	}
	f.sign()
	cfg := f.config(f.root, t.TempDir())
	cfg.Logger = nil
	res, err := f.installer(cfg).Install(context.Background(), manifest.Query{Version: "1.0.0"})
	if err != nil || !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "deprecated") }) {
		t.Fatalf("Install of a deprecated release: %+v, %v; want a warning in the result", res, err)
	}
	if buf.Len() != 0 {
		t.Errorf("a nil Logger wrote to slog.Default:\n%s", buf.String())
	}
}

// TestCallOptionsApplyToOneCall: AllowDowngrade and Reinstall change the
// Check or Install they are passed to, and no later call of the same
// Installer; passed together, their order does not matter.
func TestCallOptionsApplyToOneCall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		f.release(v)
	}
	in := f.installer(f.config(f.root, t.TempDir()))
	if _, err := in.Install(ctx, manifest.Query{Version: "1.2.0"}); err != nil {
		t.Fatal(err)
	}
	older := manifest.Query{Version: "1.1.0"}

	// AllowDowngrade: this Check says Install would downgrade; the next
	// Check, without it, says it would not.
	if u, err := in.Check(ctx, older, AllowDowngrade()); err != nil || !u.Downgrade || !u.Available {
		t.Fatalf("Check with AllowDowngrade: %+v, %v; want an available downgrade", u, err)
	}
	if u, err := in.Check(ctx, older); err != nil || !u.Downgrade || u.Available {
		t.Fatalf("Check after one with AllowDowngrade: %+v, %v; want a downgrade that is not available", u, err)
	}
	res, err := in.Install(ctx, older, AllowDowngrade(), Reinstall())
	if err != nil || res.Version != "1.1.0" || !res.Changed {
		t.Fatalf("Install 1.1.0 with AllowDowngrade: %+v, %v", res, err)
	}
	if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}); !errors.Is(err, ErrDowngrade) {
		t.Fatalf("Install 1.0.0 after one with AllowDowngrade: %v, want ErrDowngrade", err)
	}

	// Reinstall: this Install replaces the installed version; the next,
	// without it, does not.
	if u, err := in.Check(ctx, older, Reinstall()); err != nil || u.Downgrade || !u.Available {
		t.Fatalf("Check of the installed version with Reinstall: %+v, %v; want available", u, err)
	}
	if u, err := in.Check(ctx, older); err != nil || u.Available {
		t.Fatalf("Check of the installed version: %+v, %v; want not available", u, err)
	}
	if res, err := in.Install(ctx, older, Reinstall(), AllowDowngrade()); err != nil || !res.Changed {
		t.Fatalf("Install of the installed version with Reinstall: %+v, %v; want it replaced", res, err)
	}
	if res, err := in.Install(ctx, older); err != nil || res.Changed {
		t.Fatalf("Install of the installed version after one with Reinstall: %+v, %v; want nothing replaced", res, err)
	}
}

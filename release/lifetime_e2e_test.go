package release

import (
	"errors"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// serveStore serves a store's objects over loopback HTTP (a CDN in front
// of a bucket), for clients of a store they cannot read directly.
func serveStore(t *testing.T, loc verify.Location) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc, err := loc.Open(r.Context(), strings.TrimPrefix(r.URL.Path, "/"))
		if errors.Is(err, os.ErrNotExist) {
			http.NotFound(w, r)
			return
		}
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer rc.Close()
		io.Copy(w, rc)
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/"
}

// TestChannelLifetime is issue 12's lifetime acceptance test, on a
// directory and on versitygw: 12 releases (stable, pre-releases on edge,
// nightlies), a yank, a deprecation, a prune, a refresh shortly before the
// manifest expires, a signing-key rotation through keys.json, two racing
// publishers and a killed publish followed by a fresh prepare and re-run.
// Clients on three channels, pinning only the root key, update at random
// points between the steps. At the end every client runs the version its
// channel names, no client was refused (a downgrade refusal after a yank
// is a policy, not a trust, refusal), and the manifest lists every
// release not pruned.
func TestChannelLifetime(t *testing.T) {
	if testing.Short() {
		t.Skip("long lifetime test")
	}
	host := manifest.Platform{OS: runtime.GOOS, Arch: runtime.GOARCH}
	if !slices.Contains(allTargets, host) {
		t.Skipf("no fake binary for %s", host)
	}
	root, _ := newSigner(t)
	k1, pub1 := newSigner(t)
	k2, pub2 := newSigner(t)
	rootPub := mustPEM(t, root)
	rootRing, err := verify.NewKeyRing(rootPub)
	if err != nil {
		t.Fatal(err)
	}

	for _, kind := range storeKinds(t) {
		t.Run(kind.name, func(t *testing.T) {
			store, loc := kind.new(t)
			src := serveStore(t, loc)
			rng := rand.New(rand.NewPCG(1, uint64(len(kind.name))))
			day := 0
			start := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
			now := func() time.Time { return start.Add(time.Duration(day) * 24 * time.Hour) }
			ctx := t.Context()
			trusted := [][]byte{pub1, pub2}
			signer := k1
			var keysDir string // a keys.json to stage with the next release

			bundle := func(serial int64, certify []sign.Signer, revoke []sign.Signer) string {
				dir := t.TempDir()
				b := sign.NewProjectKeyBundle("hello", serial, now(), 365*24*time.Hour)
				for _, s := range certify {
					if _, err := sign.AddBundleKey(b, s.PublicKey(), time.Time{}); err != nil {
						t.Fatal(err)
					}
				}
				for _, s := range revoke {
					if err := sign.RevokeBundleKey(b, s.KeyID(), "rotated out"); err != nil {
						t.Fatal(err)
					}
				}
				if _, err := sign.SignKeyBundle(ctx, dir, b, root); err != nil {
					t.Fatal(err)
				}
				return dir
			}
			stage := func(version, channel string) string {
				t.Helper()
				dist := t.TempDir()
				if _, err := Prepare(ctx, Config{
					Project: "hello", Dist: dist, Version: version, Channel: channel, Prebuilt: versionBinaries(t, version),
					SourceDate: testDate, SourceURI: "git+https://example.com/hello",
					Signers: []sign.Signer{signer}, Now: now, Logger: slog.New(slog.DiscardHandler),
				}); err != nil {
					t.Fatalf("prepare %s: %v", version, err)
				}
				r := filepath.Join(dist, "release")
				if keysDir != "" {
					for _, f := range []string{"keys.json", "keys.json.sig"} {
						data, err := os.ReadFile(filepath.Join(keysDir, f))
						if err != nil {
							t.Fatal(err)
						}
						if err := os.WriteFile(filepath.Join(r, f), data, 0o644); err != nil {
							t.Fatal(err)
						}
					}
				}
				return r
			}
			pubWith := func(s publish.Store, r string) error {
				p, err := publish.New(s, publish.WithRetry(publish.RetryPolicy{Attempts: 3, InitialDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond}))
				if err != nil {
					return err
				}
				_, err = Publish(ctx, PublishConfig{Root: r, Publisher: p, Keys: trusted, Signers: []sign.Signer{signer}, Now: now,
					SummaryDir: t.TempDir(), Logger: slog.New(slog.DiscardHandler)})
				return err
			}
			release := func(version, channel string) {
				t.Helper()
				if err := pubWith(store, stage(version, channel)); err != nil {
					t.Fatalf("publish %s: %v", version, err)
				}
				day++
			}
			amend := func() AmendConfig {
				p, _ := publish.New(store)
				return AmendConfig{Project: "hello", Publisher: p, Keys: trusted, Signers: []sign.Signer{signer}, Now: now}
			}

			// Clients pin the root key only.
			type client struct {
				channel string
				dir     string
			}
			clients := []*client{{channel: "stable"}, {channel: "edge"}, {channel: "nightly"}}
			var installs, policy int
			for _, c := range clients {
				c.dir = t.TempDir()
			}
			update := func(c *client) {
				t.Helper()
				in, err := install.New(install.Config{Project: "hello", Source: src, Dir: c.dir, Trust: &verify.Trust{Roots: rootRing},
					Now: now, Logger: slog.New(slog.DiscardHandler)})
				if err != nil {
					t.Fatal(err)
				}
				res, err := in.Install(ctx, manifest.Query{Channel: c.channel})
				var nm *manifest.NoMatchError
				switch {
				case err == nil:
					if res.Changed {
						installs++
					}
				case errors.Is(err, install.ErrDowngrade), errors.As(err, &nm):
					policy++
					// installed, or a policy answer (a yank moved the
					// channel back; the channel has no release yet)
				default:
					t.Errorf("day %d: %s client refused: %v", day, c.channel, err)
				}
			}
			maybeUpdate := func() {
				for _, c := range clients {
					if rng.IntN(2) == 0 {
						update(c)
					}
				}
			}

			keysDir = bundle(1, []sign.Signer{k1}, nil)
			release("1.0.0", "")
			keysDir = ""
			maybeUpdate()
			release("1.0.1", "")
			maybeUpdate()
			release("1.1.0-rc.1", "")
			maybeUpdate()
			release("1.1.0", "")
			if _, err := Yank(ctx, amend(), "1.0.1", "corrupts the config file"); err != nil {
				t.Fatal(err)
			}
			if _, err := Deprecate(ctx, amend(), "1.0.0", "upgrade to 1.1"); err != nil {
				t.Fatal(err)
			}
			maybeUpdate()
			release("1.2.0-nightly.1", "nightly")
			release("1.2.0-nightly.2", "nightly")
			maybeUpdate()

			// Rotate the signing key: keys.json v2 certifies K2 beside K1,
			// and the next release is signed by K2.
			keysDir, signer = bundle(2, []sign.Signer{k1, k2}, nil), k2
			release("1.2.0-nightly.3", "nightly")
			keysDir = ""
			maybeUpdate()

			// Two publishers at once.
			a, b := stage("1.2.0-rc.1", ""), stage("1.2.0-nightly.4", "nightly")
			var wg sync.WaitGroup
			errs := make([]error, 2)
			for i, r := range []string{a, b} {
				wg.Add(1)
				go func() { defer wg.Done(); errs[i] = pubWith(store, r) }()
			}
			wg.Wait()
			if err := errors.Join(errs...); err != nil {
				t.Fatalf("racing publishers: %v", err)
			}
			day++
			maybeUpdate()

			// K1 is revoked once the manifest is signed by K2 only.
			keysDir = bundle(3, []sign.Signer{k2}, []sign.Signer{k1})
			release("1.2.0", "")
			keysDir = ""
			pc := amend()
			pc.DeleteFiles = true
			pr, err := Prune(ctx, pc, manifest.RetentionPolicy{Channels: []string{"nightly"}, Keep: 2})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(pr.Removed, []string{"1.2.0-nightly.2", "1.2.0-nightly.1"}) || len(pr.Deleted) == 0 {
				t.Fatalf("prune removed %v, deleted %v", pr.Removed, pr.Deleted)
			}
			for _, name := range pr.Deleted {
				if rc, err := loc.Open(ctx, name); err == nil {
					rc.Close()
					t.Errorf("pruned file %s is still in the store", name)
				}
			}
			if rc, err := loc.Open(ctx, "1.2.0-nightly.3/SHA256SUMS"); err != nil {
				t.Errorf("a kept nightly lost its files: %v", err)
			} else {
				rc.Close()
			}
			maybeUpdate()

			// A publish killed after the version's signature, then a fresh
			// prepare and a re-run.
			killed := &failAfter{Store: store, after: "1.2.1/SHA256SUMS.sig"}
			if err := pubWith(killed, stage("1.2.1", "")); !errors.Is(err, errKilledTest) {
				t.Fatalf("killed publish: %v", err)
			}
			maybeUpdate()
			release("1.2.1", "")
			maybeUpdate()

			// 88 days later, shortly before the 90-day expiry: refresh.
			day += 88
			res, err := Refresh(ctx, amend())
			if err != nil {
				t.Fatal(err)
			}
			if !res.Expires.After(now().Add(80 * 24 * time.Hour)) {
				t.Errorf("refresh: expires %v", res.Expires)
			}
			day += 5 // past the old expiry: only the refreshed manifest is valid
			maybeUpdate()
			release("1.3.0", "")

			// The end: every client on its channel's release.
			ring, _ := verify.NewKeyRing(pub2)
			v, _ := verify.NewVerifier(ring, verify.WithProject("hello"), verify.WithClock(now))
			m, err := v.FetchManifest(ctx, loc)
			if err != nil {
				t.Fatal(err)
			}
			var listed []string
			for _, r := range m.Releases {
				listed = append(listed, r.Version)
			}
			want := []string{"1.3.0", "1.2.1", "1.2.0", "1.2.0-rc.1", "1.2.0-nightly.4", "1.2.0-nightly.3", "1.1.0", "1.1.0-rc.1", "1.0.1", "1.0.0"}
			if !slices.Equal(listed, want) {
				t.Errorf("manifest lists %v, want %v", listed, want)
			}
			for _, c := range clients {
				update(c)
				out, err := exec.Command(filepath.Join(c.dir, "hello")).Output()
				if w := "hello " + m.Channels[c.channel] + "\n"; err != nil || string(out) != w {
					t.Errorf("%s client runs %q (%v), want %q", c.channel, out, err, w)
				}
			}
			t.Logf("%d updates installed, %d policy answers (downgrade after a yank, empty channel)", installs, policy)
			if installs < 6 {
				t.Errorf("only %d updates were installed along the way", installs)
			}
		})
	}
}

// versionBinaries returns stand-in executables for allTargets that print
// "hello VERSION" (and pass the installer's health check).
func versionBinaries(t *testing.T, version string) []Binary {
	t.Helper()
	dir := t.TempDir()
	var bins []Binary
	for _, p := range allTargets {
		name := "hello" + p.ExeSuffix()
		path := filepath.Join(dir, p.OS+"_"+p.Arch, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte("#!/bin/sh\necho hello "+version+"\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		bins = append(bins, Binary{Name: name, Path: path, Platform: p})
	}
	return bins
}

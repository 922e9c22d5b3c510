//go:build attack12

package attack12

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

func sum(b []byte) string { h := sha256.Sum256(b); return hex.EncodeToString(h[:]) }

// resign writes data as manifest.json with a content-addressed detached
// signature by s (and no set), as an attacker holding the key, or a
// sibling project's publisher sharing it, would.
func resign(t *testing.T, dest string, data []byte, s sign.Signer) {
	t.Helper()
	sig, err := s.Sign(context.Background(), bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	h := sum(data)
	os.MkdirAll(filepath.Join(dest, "sigs"), 0o755)
	os.WriteFile(filepath.Join(dest, "sigs", "manifest.json."+h+".sig"), verify.EncodeSignature(sig), 0o644)
	os.WriteFile(filepath.Join(dest, "manifest.json"), data, 0o644)
}

// rootFiles is the root-level state a refused publish must not touch.
func rootFiles(t *testing.T, dest string) map[string]string {
	snap, err := harness.Snapshot(dest)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for k, v := range snap {
		if strings.Contains(k, ".relkit-tmp") || k == publish.LockFile {
			continue
		}
		if !strings.Contains(k, "/") || strings.HasPrefix(k, "sigs/") {
			out[k] = sum(v)
		}
	}
	return out
}

func diff(a, b map[string]string) []string {
	var out []string
	for k, v := range a {
		if w, ok := b[k]; !ok {
			out = append(out, "removed "+k)
		} else if w != v {
			out = append(out, "changed "+k)
		}
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			out = append(out, "added "+k)
		}
	}
	sort.Strings(out)
	return out
}

func TestHostileDestination(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t)
	other := newSigner(t)
	base, err := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	next, err := harness.Prepare(ctx, s, t.TempDir(), "1.1.0", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	fresh := func(t *testing.T) (string, publish.Store) {
		dest := t.TempDir()
		st, _ := publish.NewDirStore(dest)
		if err := harness.Publish(ctx, st, base, s); err != nil {
			t.Fatal(err)
		}
		return dest, st
	}
	read := func(dest, name string) []byte { b, _ := os.ReadFile(filepath.Join(dest, name)); return b }
	cases := []struct {
		name  string
		setup func(t *testing.T, dest string)
	}{
		{"tampered manifest", func(t *testing.T, dest string) {
			m := read(dest, "manifest.json")
			m = bytes.Replace(m, []byte(`"serial": 1`), []byte(`"serial": 7`), 1)
			os.WriteFile(filepath.Join(dest, "manifest.json"), m, 0o644)
		}},
		{"signed by an untrusted key", func(t *testing.T, dest string) {
			m := read(dest, "manifest.json")
			resign(t, dest, append(m, ' '), other)
		}},
		{"another project, our key", func(t *testing.T, dest string) {
			m := read(dest, "manifest.json")
			resign(t, dest, bytes.Replace(m, []byte(`"project": "hello"`), []byte(`"project": "other"`), 1), s)
		}},
		{"sigs set lies", func(t *testing.T, dest string) {
			m := read(dest, "manifest.json")
			p := filepath.Join(dest, "sigs", "manifest.json."+sum(m)+".signatures.json")
			set := read(dest, strings.TrimPrefix(p, dest+"/"))
			set = bytes.Replace(set, []byte(`"signature": "ME`), []byte(`"signature": "MF`), 1)
			os.WriteFile(p, set, 0o644)
		}},
		{"sigs set is garbage", func(t *testing.T, dest string) {
			m := read(dest, "manifest.json")
			os.WriteFile(filepath.Join(dest, "sigs", "manifest.json."+sum(m)+".signatures.json"), []byte("{not json"), 0o644)
		}},
		{"manifest is not json", func(t *testing.T, dest string) {
			os.WriteFile(filepath.Join(dest, "manifest.json"), []byte("<html>503</html>"), 0o644)
		}},
		{"manifest is a directory", func(t *testing.T, dest string) {
			os.Remove(filepath.Join(dest, "manifest.json"))
			os.Mkdir(filepath.Join(dest, "manifest.json"), 0o755)
		}},
		{"manifest too large", func(t *testing.T, dest string) {
			m := read(dest, "manifest.json")
			big := append(bytes.TrimRight(m, "\n}"), []byte(`, "x": "`+strings.Repeat("a", int(manifest.MaxManifestSize))+`"}`)...)
			resign(t, dest, big, s)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dest, st := fresh(t)
			c.setup(t, dest)
			before := rootFiles(t, dest)
			err := harness.Publish(ctx, st, next, s)
			var re *publish.RootError
			var he *manifest.HistoryError
			typed := errors.As(err, &re) || errors.As(err, &he)
			t.Logf("publish: %T typed=%v: %.300v", err, typed, err)
			if err == nil {
				t.Errorf("BUG: publish into a hostile destination succeeded")
			} else if !typed {
				t.Errorf("untyped error %T", err)
			}
			if d := diff(before, rootFiles(t, dest)); len(d) > 0 {
				t.Errorf("BUG: the refused publish changed root files: %v", d)
			}
			// And the lifetime ops.
			ac, _ := harness.Amend(st, s)
			before = rootFiles(t, dest)
			_, err = release.Refresh(ctx, ac)
			typed = errors.As(err, &re) || errors.As(err, &he)
			if err == nil || !typed {
				t.Errorf("refresh: %T %v", err, err)
			}
			if d := diff(before, rootFiles(t, dest)); len(d) > 0 {
				t.Errorf("BUG: the refused refresh changed root files: %v", d)
			}
		})
	}
	t.Run("legacy signatures.json replaced", func(t *testing.T) {
		dest, st := fresh(t)
		os.WriteFile(filepath.Join(dest, "signatures.json"), []byte(`{"schema":"relkit.signatures/v1","signatures":[]}`), 0o644)
		os.WriteFile(filepath.Join(dest, "manifest.json.sig"), []byte("AAAA"), 0o644)
		if err := harness.Publish(ctx, st, next, s); err != nil {
			t.Fatalf("publish: %v", err)
		}
		res, err := check.Root(check.DirReader(dest), sPub(t, s))
		if err != nil || !res.LegacySetOK || !res.LegacySigOK {
			t.Errorf("after publish: %v %+v", err, res)
		}
	})
	t.Run("staged publish, destination has a higher serial", func(t *testing.T) {
		dest, st := fresh(t)
		for range 3 {
			ac, _ := harness.Amend(st, s)
			if _, err := release.Refresh(ctx, ac); err != nil {
				t.Fatal(err)
			}
		}
		before := rootFiles(t, dest)
		p, _ := publish.New(st)
		_, err := release.Publish(ctx, release.PublishConfig{Root: next, Publisher: p, Keys: [][]byte{s.PublicKeyPEM()}, SummaryDir: t.TempDir()})
		var he *manifest.HistoryError
		var race *publish.RaceError
		t.Logf("publish without signers: %T %.300v", err, err)
		if err == nil || !(errors.As(err, &he) || errors.As(err, &race)) {
			t.Errorf("want HistoryError, got %T %v", err, err)
		}
		if d := diff(before, rootFiles(t, dest)); len(d) > 0 {
			t.Errorf("BUG: the refused staged publish changed root files: %v", d)
		}
	})
	_ = fmt.Sprint
}

func sPub(t *testing.T, s *sign.KeySigner) *ecdsaPub {
	p, err := check.ParsePub(s.PublicKeyPEM())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

type ecdsaPub = ecdsa.PublicKey

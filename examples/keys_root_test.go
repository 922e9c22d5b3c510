package examples_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/relkit/relkit/verify"
)

// TestKeysRootRotation drives the keys example through a root rotation:
// root/1.json with roots R1 and R2 (2 of 2), keys.json signed by both,
// then root/2.json revoking R1 and adding R3, signed by R1, R2 and R3, and
// keys.json signed by R2 and R3. A client pinning R1 and R2 follows the
// rotation and trusts the signing key; a keys.json signed by R1 and R2 is
// refused after it.
func TestKeysRootRotation(t *testing.T) {
	kdir, pub := t.TempDir(), t.TempDir()
	for _, n := range []string{"r1", "r2", "r3", "signing"} {
		run(t, kdir, nil, true, "keys", "generate", "--type", "ed25519", "--name", n, "--out", kdir)
	}
	k := func(n string) string { return filepath.Join(kdir, n) }
	out := run(t, kdir, nil, true, "keys", "root", "--dir", pub, "--project", "hello",
		"--sign", k("r1.key"), "--sign", k("r2.key"), "--add", k("r1.pub"), "--add", k("r2.pub"))
	if !regexp.MustCompile(`root/1\.json: project hello, version 1, 2 key\(s\), threshold 2, 0 revoked`).MatchString(out) {
		t.Fatalf("keys root (version 1) printed:\n%s", out)
	}
	out = run(t, kdir, nil, true, "keys", "rotate", "--dir", pub, "--project", "hello",
		"--root", k("r1.key"), "--root", k("r2.key"), "--add", k("signing.pub"))
	if !regexp.MustCompile(`project hello, serial 1, 1 key\(s\)`).MatchString(out) {
		t.Fatalf("keys rotate printed:\n%s", out)
	}
	// A keys.json without a project is refused at write time.
	run(t, kdir, nil, false, "keys", "rotate", "--dir", t.TempDir(), "--root", k("r1.key"), "--add", k("signing.pub"))

	pinned := &verify.KeyRing{}
	for _, n := range []string{"r1.pub", "r2.pub"} {
		data, err := os.ReadFile(k(n))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pinned.AddPEM(data); err != nil {
			t.Fatal(err)
		}
	}
	state := verify.NewFileState(filepath.Join(t.TempDir(), "state.json"))
	client := func() (*verify.Verifier, error) {
		tr := &verify.Trust{Roots: pinned, Project: "hello", State: state}
		return tr.Verifier(context.Background(), verify.Dir(pub))
	}
	if _, err := client(); err != nil {
		t.Fatalf("client before the rotation: %v", err)
	}

	r1ID := regexp.MustCompile(`r1\.pub: Ed25519 public key, key id ([0-9a-f]{64})`).FindStringSubmatch(run(t, kdir, nil, true, "keys", "inspect", k("r1.pub")))
	if r1ID == nil {
		t.Fatal("no key id for r1")
	}
	// Without R1's signature the old threshold is not met: refused.
	run(t, kdir, nil, false, "keys", "root", "--dir", pub, "--sign", k("r2.key"), "--sign", k("r3.key"),
		"--add", k("r3.pub"), "--revoke", r1ID[1], "--reason", "retired")
	out = run(t, kdir, nil, true, "keys", "root", "--dir", pub, "--sign", k("r1.key"), "--sign", k("r2.key"), "--sign", k("r3.key"),
		"--add", k("r3.pub"), "--revoke", r1ID[1], "--reason", "retired")
	if !regexp.MustCompile(`root/2\.json: project hello, version 2, 2 key\(s\), threshold 2, 1 revoked`).MatchString(out) {
		t.Fatalf("keys root (version 2) printed:\n%s", out)
	}
	// keys.json is still signed by R1 and R2: refused after the rotation.
	if _, err := client(); !errors.Is(err, verify.ErrRevoked) {
		t.Fatalf("keys.json by the retired root: %v, want ErrRevoked", err)
	}
	run(t, kdir, nil, true, "keys", "rotate", "--dir", pub, "--root", k("r2.key"), "--root", k("r3.key"))
	if _, err := client(); err != nil {
		t.Fatalf("client after the rotation: %v", err)
	}
}

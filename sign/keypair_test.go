//go:build unix

package sign

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/relkit/relkit/verify"
)

func TestWriteFilesModesAndNoClobber(t *testing.T) {
	// A permissive umask must not loosen the private key, and a strict one
	// must not hide the public key.
	for _, mask := range []int{0o000, 0o077} {
		old := syscall.Umask(mask)
		t.Cleanup(func() { syscall.Umask(old) })
		dir := t.TempDir()
		kp, err := GenerateEd25519Key()
		if err != nil {
			t.Fatal(err)
		}
		priv, pub := filepath.Join(dir, "k.pem"), filepath.Join(dir, "k.pub")
		if err := kp.WriteFiles(priv, pub, false); err != nil {
			t.Fatal(err)
		}
		for p, want := range map[string]os.FileMode{priv: PrivateKeyMode, pub: PublicKeyMode} {
			fi, err := os.Stat(p)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != want {
				t.Errorf("umask %03o: %s mode %v, want %v", mask, filepath.Base(p), fi.Mode().Perm(), want)
			}
		}
		syscall.Umask(old)

		// The files hold what was generated, and load back.
		if !bytes.Equal(readFile(t, priv), kp.PrivatePEM) || !bytes.Equal(readFile(t, pub), kp.PublicPEM) {
			t.Fatal("written files differ from the key pair")
		}
		s, err := LoadSigner(priv, nil)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(s.PublicKeyPEM(), kp.PublicPEM) {
			t.Error("loaded key's public key differs")
		}

		// No clobbering without overwrite, for either file.
		other, err := GenerateEd25519Key()
		if err != nil {
			t.Fatal(err)
		}
		if err := other.WriteFiles(priv, filepath.Join(dir, "new.pub"), false); !errors.Is(err, ErrKeyExists) {
			t.Errorf("existing private key: %v, want ErrKeyExists", err)
		}
		if err := other.WriteFiles(filepath.Join(dir, "new.pem"), pub, false); !errors.Is(err, ErrKeyExists) {
			t.Errorf("existing public key: %v, want ErrKeyExists", err)
		}
		if _, err := os.Stat(filepath.Join(dir, "new.pem")); !errors.Is(err, os.ErrNotExist) {
			t.Error("private key written although the public key exists")
		}
		if !bytes.Equal(readFile(t, priv), kp.PrivatePEM) {
			t.Fatal("existing private key changed")
		}
		// With overwrite, both are replaced, with the same modes.
		if err := other.WriteFiles(priv, pub, true); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(readFile(t, priv), other.PrivatePEM) || !bytes.Equal(readFile(t, pub), other.PublicPEM) {
			t.Error("overwrite did not replace the files")
		}
		if fi, err := os.Stat(priv); err != nil || fi.Mode().Perm() != PrivateKeyMode {
			t.Errorf("overwritten private key mode: %v %v", fi.Mode(), err)
		}
	}
}

func TestWriteFilesRefusesSymlinkAndCleansUp(t *testing.T) {
	dir := t.TempDir()
	kp, err := GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "target")
	if err := os.Symlink(target, filepath.Join(dir, "link.pem")); err != nil {
		t.Fatal(err)
	}
	if err := kp.WriteFiles(filepath.Join(dir, "link.pem"), filepath.Join(dir, "link.pub"), false); !errors.Is(err, ErrKeyExists) {
		t.Errorf("dangling symlink at the private key path: %v, want ErrKeyExists", err)
	}
	if _, err := os.Lstat(target); !errors.Is(err, os.ErrNotExist) {
		t.Error("a key was written through the symlink")
	}
	// The public key cannot be written: the private key just created is
	// removed again, leaving nothing half-done.
	priv := filepath.Join(dir, "k.pem")
	if err := kp.WriteFiles(priv, filepath.Join(dir, "no-such-dir", "k.pub"), false); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	if _, err := os.Stat(priv); !errors.Is(err, os.ErrNotExist) {
		t.Error("private key left behind after the public key failed")
	}
	if err := kp.WriteFiles(priv, priv, false); err == nil {
		t.Error("same path for both keys accepted")
	}
	if err := (&KeyPair{}).WriteFiles(priv, priv+".pub", false); err == nil {
		t.Error("empty key pair written")
	}
}

// TestGenerateEd25519KeyFormat: the files are PKCS#8 and PKIX PEM, the key
// ID of the written public key matches the signer's.
func TestGenerateEd25519KeyFormat(t *testing.T) {
	kp, err := GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(kp.PrivatePEM, []byte("-----BEGIN PRIVATE KEY-----\n")) {
		t.Errorf("private key is not PKCS#8 PEM: %.30q", kp.PrivatePEM)
	}
	pub, err := verify.ParsePublicKey(kp.PublicPEM)
	if err != nil {
		t.Fatal(err)
	}
	id, _ := verify.KeyID(pub)
	s, err := ParseSigner(kp.PrivatePEM, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s.KeyID() != id || s.Algorithm() != verify.AlgEd25519 {
		t.Errorf("signer %s, want ed25519 key %s", s, id)
	}
	// Two generations differ.
	kp2, err := GenerateEd25519Key()
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(kp.PrivatePEM, kp2.PrivatePEM) {
		t.Error("two generated keys are equal")
	}
}

package verify

import (
	"bytes"
	"encoding/pem"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

// run runs a tool with stdin closed and fails the test on error.
func run(t *testing.T, dir string, env []string, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// checkInterop verifies sig (as the tool wrote it) over payload with the
// PEM key pubPEM, then checks that one flipped byte in the payload, the
// signature or the key makes verification fail.
func checkInterop(t *testing.T, pubPEM, payload, sig []byte) {
	t.Helper()
	verifyWith := func(pubPEM, payload, sig []byte) error {
		r, err := NewKeyRing(pubPEM)
		if err != nil {
			return err
		}
		v, err := NewVerifier(r)
		if err != nil {
			return err
		}
		_, err = v.VerifySignatures("payload", payload, Signatures{Detached: sig})
		return err
	}
	if err := verifyWith(pubPEM, payload, sig); err != nil {
		t.Fatalf("tool signature does not verify: %v", err)
	}
	p := bytes.Clone(payload)
	p[len(p)/2] ^= 1
	if err := verifyWith(pubPEM, p, sig); !errors.Is(err, ErrBadSignature) {
		t.Errorf("flipped payload byte: %v", err)
	}
	raw, err := DecodeSignature(sig)
	if err != nil {
		t.Fatal(err)
	}
	for _, i := range []int{0, len(raw) / 2, len(raw) - 1} {
		s := bytes.Clone(raw)
		s[i] ^= 0x01
		if err := verifyWith(pubPEM, payload, s); err == nil {
			t.Errorf("signature with byte %d flipped verified", i)
		}
	}
	block := pemDER(t, pubPEM)
	for _, i := range []int{len(block) - 1, len(block) - 10, len(block) / 2} {
		b := bytes.Clone(block)
		b[i] ^= 0x01
		err := verifyWith(pemOf(t, "PUBLIC KEY", b), payload, sig)
		if err == nil {
			t.Errorf("key with byte %d flipped verified", i)
		} else if !errors.Is(err, ErrBadKey) && !errors.Is(err, ErrBadSignature) {
			t.Errorf("key with byte %d flipped: untyped error %v", i, err)
		}
	}
}

func pemDER(t *testing.T, p []byte) []byte {
	t.Helper()
	blk, _ := pem.Decode(p)
	if blk == nil {
		t.Fatalf("no PEM in %q", p)
	}
	return blk.Bytes
}

// TestOpenSSLInterop: keys made and signatures written by the real openssl
// verify, in raw DER and base64 forms; our signatures verify with openssl.
func TestOpenSSLInterop(t *testing.T) {
	openssl := testenv.Tool(t, "openssl")
	payload := []byte("1f2e...  hello-1.2.0-linux-amd64.tar.gz\nSHA256SUMS payload signed by openssl\n")
	cases := []struct {
		name   string
		keygen [][]string
		sign   []string
	}{
		{"ecdsa-p256 (ecparam)", [][]string{{"ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "key.pem"}},
			[]string{"dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "payload"}},
		{"ecdsa-p384 (genpkey)", [][]string{{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-384", "-out", "key.pem"}},
			[]string{"dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "payload"}},
		{"rsa-2048 pkcs1v15", [][]string{{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem"}},
			[]string{"dgst", "-sha256", "-sign", "key.pem", "-out", "sig", "payload"}},
		{"rsa-3072 pss", [][]string{{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:3072", "-out", "key.pem"}},
			[]string{"dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:32", "-sign", "key.pem", "-out", "sig", "payload"}},
		{"rsa-2048 pss max salt", [][]string{{"genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", "key.pem"}},
			[]string{"dgst", "-sha256", "-sigopt", "rsa_padding_mode:pss", "-sigopt", "rsa_pss_saltlen:max", "-sign", "key.pem", "-out", "sig", "payload"}},
		{"ed25519 (pkeyutl -rawin)", [][]string{{"genpkey", "-algorithm", "ed25519", "-out", "key.pem"}},
			[]string{"pkeyutl", "-sign", "-inkey", "key.pem", "-rawin", "-in", "payload", "-out", "sig"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "payload"), payload, 0o644); err != nil {
				t.Fatal(err)
			}
			for _, g := range c.keygen {
				run(t, dir, nil, openssl, g...)
			}
			run(t, dir, nil, openssl, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
			run(t, dir, nil, openssl, c.sign...)
			pub := readFile(t, filepath.Join(dir, "pub.pem"))
			sig := readFile(t, filepath.Join(dir, "sig"))
			// Raw, as openssl wrote it.
			checkInterop(t, pub, payload, sig)
			// Base64, as `openssl base64` wraps it (64-column lines).
			b64 := run(t, dir, nil, openssl, "base64", "-in", "sig")
			checkInterop(t, pub, payload, b64)
		})
	}
	// Our signature verifies with openssl dgst -verify.
	t.Run("openssl verifies ours", func(t *testing.T) {
		for _, kind := range []string{"p256", "rsa2048"} {
			k := newKey(t, kind)
			dir := t.TempDir()
			os.WriteFile(filepath.Join(dir, "payload"), payload, 0o644)
			os.WriteFile(filepath.Join(dir, "pub.pem"), k.pem, 0o644)
			os.WriteFile(filepath.Join(dir, "sig"), k.sign(t, payload), 0o644)
			out := run(t, dir, nil, openssl, "dgst", "-sha256", "-verify", "pub.pem", "-signature", "sig", "payload")
			if !bytes.Contains(out, []byte("Verified OK")) {
				t.Fatalf("%s: openssl says %s", kind, out)
			}
		}
	})
	// openssl's RSA-1024 key is refused.
	t.Run("rsa-1024 refused", func(t *testing.T) {
		dir := t.TempDir()
		run(t, dir, nil, openssl, "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:1024", "-out", "key.pem")
		run(t, dir, nil, openssl, "pkey", "-in", "key.pem", "-pubout", "-out", "pub.pem")
		if _, err := ParsePublicKey(readFile(t, filepath.Join(dir, "pub.pem"))); !errors.Is(err, ErrBadKey) {
			t.Fatalf("RSA-1024: %v", err)
		}
	})
}

// TestCosignInterop: cosign generate-key-pair + sign-blob signatures
// verify, in both the --output-signature form (no newline) and the stdout
// form (trailing newline); cosign's ".pub" key gets the same ID through
// any route.
func TestCosignInterop(t *testing.T) {
	cosign := testenv.Tool(t, "cosign")
	dir := t.TempDir()
	env := []string{"COSIGN_PASSWORD=relkit-test"}
	run(t, dir, env, cosign, "generate-key-pair")
	payload := []byte("abc123  hello-1.2.0-linux-amd64.tar.gz\n")
	if err := os.WriteFile(filepath.Join(dir, "SHA256SUMS"), payload, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, dir, env, cosign, "sign-blob", "--yes", "--key", "cosign.key", "--tlog-upload=false", "--output-signature", "SHA256SUMS.sig", "SHA256SUMS")
	stdoutSig := run(t, dir, env, cosign, "sign-blob", "--yes", "--key", "cosign.key", "--tlog-upload=false", "SHA256SUMS")
	pub := readFile(t, filepath.Join(dir, "cosign.pub"))
	fileSig := readFile(t, filepath.Join(dir, "SHA256SUMS.sig"))
	if bytes.HasSuffix(fileSig, []byte("\n")) || !bytes.HasSuffix(stdoutSig, []byte("\n")) {
		t.Fatalf("cosign output forms changed: file %q, stdout %q", fileSig, stdoutSig)
	}
	checkInterop(t, pub, payload, fileSig)
	checkInterop(t, pub, payload, stdoutSig)

	// The whole release path: a release whose SHA256SUMS cosign signed.
	pk, err := ParsePublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	r := &KeyRing{}
	if _, err := r.Add(pk); err != nil {
		t.Fatal(err)
	}
	k := newKey(t, "p256#cosign-release")
	f := newFixture(t, k)
	delete(f.files, manifest.File)
	delete(f.files, manifest.File+SignatureSuffix)
	relDir := f.write(t)
	vdir := filepath.Join(relDir, f.version)
	run(t, vdir, env, cosign, "sign-blob", "--yes", "--key", filepath.Join(dir, "cosign.key"), "--tlog-upload=false", "--output-signature", "SHA256SUMS.sig", "SHA256SUMS")
	rep, err := verifier(t, r).VerifyRelease(bg, Dir(relDir), ReleaseOptions{Version: f.version})
	if err != nil {
		t.Fatalf("%v\n%s", err, rep.Markdown())
	}
	// And cosign verifies a signature this package would accept, made by
	// Go with the same kind of key.
	os.WriteFile(filepath.Join(dir, "ours.pub"), k.pem, 0o644)
	os.WriteFile(filepath.Join(dir, "ours.sig"), EncodeSignature(k.sign(t, payload)), 0o644)
	run(t, dir, nil, cosign, "verify-blob", "--key", "ours.pub", "--signature", "ours.sig", "--insecure-ignore-tlog", "SHA256SUMS")
}

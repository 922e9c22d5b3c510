package sign

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/relkit/relkit/verify"
)

// keyCase is one key of the table test: a private key file in
// testdata/keys made by openssl or cosign, the public key file the same tool
// wrote for it, and the algorithm the signer must use.
type keyCase struct {
	name    string
	file    string // private key, in testdata/keys
	pub     string // public key written by the tool that made the key
	alg     string // algorithm to request ("" = default)
	wantAlg string
}

var keyCases = []keyCase{
	{"cosign generate-key-pair (CLI)", "cosign-cli.key", "cosign-cli.pub", "", verify.AlgECDSASHA256},
	{"cosign key made here", "cosign-relkit.key", "cosign-relkit.pub", "", verify.AlgECDSASHA256},
	{"cosign key, empty password", "cosign-relkit-nopass.key", "cosign-relkit-nopass.pub", "", verify.AlgECDSASHA256},
	{"cosign import-key-pair of ECDSA P-384", "cosign-imported-ec-p384-sec1.key", "ec-p384-sec1.pub", "", verify.AlgECDSASHA256},
	{"cosign import-key-pair of Ed25519", "cosign-imported-ed25519-pkcs8.key", "ed25519-pkcs8.pub", "", verify.AlgEd25519},
	{"cosign import-key-pair of RSA 2048", "cosign-imported-rsa2048-pkcs8.key", "rsa2048-pkcs8.pub", "", verify.AlgRSAPKCS1v15SHA256},
	{"ECDSA P-256 SEC1 with EC PARAMETERS (openssl ecparam)", "ec-p256-sec1-params.pem", "ec-p256-sec1-params.pub", "", verify.AlgECDSASHA256},
	{"ECDSA P-256 SEC1 (openssl ecparam -noout)", "ec-p256-sec1.pem", "ec-p256-sec1.pub", "", verify.AlgECDSASHA256},
	{"ECDSA P-256 PKCS#8 (openssl genpkey)", "ec-p256-pkcs8.pem", "ec-p256-pkcs8.pub", "", verify.AlgECDSASHA256},
	{"ECDSA P-384 SEC1", "ec-p384-sec1.pem", "ec-p384-sec1.pub", "", verify.AlgECDSASHA256},
	{"ECDSA P-384 PKCS#8", "ec-p384-pkcs8.pem", "ec-p384-pkcs8.pub", "", verify.AlgECDSASHA256},
	{"Ed25519 PKCS#8 (openssl genpkey)", "ed25519-pkcs8.pem", "ed25519-pkcs8.pub", "", verify.AlgEd25519},
	{"RSA 2048 PKCS#8, PKCS#1 v1.5", "rsa2048-pkcs8.pem", "rsa2048-pkcs8.pub", "", verify.AlgRSAPKCS1v15SHA256},
	{"RSA 2048 PKCS#8, PSS", "rsa2048-pkcs8.pem", "rsa2048-pkcs8.pub", verify.AlgRSAPSSSHA256, verify.AlgRSAPSSSHA256},
	{"RSA 3072 PKCS#1 (openssl genrsa -traditional), PKCS#1 v1.5", "rsa3072-pkcs1.pem", "rsa3072-pkcs1.pub", "", verify.AlgRSAPKCS1v15SHA256},
	{"RSA 3072 PKCS#1, PSS", "rsa3072-pkcs1.pem", "rsa3072-pkcs1.pub", verify.AlgRSAPSSSHA256, verify.AlgRSAPSSSHA256},
}

// caseFor returns the first key case for file.
func caseFor(file string) keyCase {
	for _, c := range keyCases {
		if c.file == file {
			return c
		}
	}
	panic("no key case for " + file)
}

// loaded memoizes loadCase: decrypting a cosign key runs scrypt, which is
// slow under the race detector. A KeySigner is immutable, so sharing is safe.
var loaded sync.Map // keyCase -> *KeySigner

func loadCase(t testing.TB, c keyCase) *KeySigner {
	t.Helper()
	if s, ok := loaded.Load(c); ok {
		return s.(*KeySigner)
	}
	pw := testPassword
	if strings.Contains(c.file, "nopass") {
		pw = ""
	}
	s, err := LoadSigner(filepath.Join("testdata", "keys", c.file), Password(pw))
	if err != nil {
		t.Fatalf("LoadSigner(%s): %v", c.file, err)
	}
	if c.alg != "" {
		if s, err = s.WithAlgorithm(c.alg); err != nil {
			t.Fatalf("WithAlgorithm(%s): %v", c.alg, err)
		}
	}
	loaded.Store(c, s)
	return s
}

// TestEveryKeyType loads every key type and encoding, signs, and checks that
// the signature verifies against the public key file the generating tool
// wrote, that a changed message does not verify, and that the key ID and
// algorithm are right.
func TestEveryKeyType(t *testing.T) {
	msg := []byte("0123abcd  hello-1.2.0-linux-amd64.tar.gz\n")
	for _, c := range keyCases {
		t.Run(c.name, func(t *testing.T) {
			s := loadCase(t, c)
			pub, err := verify.ParsePublicKey(readFile(t, filepath.Join("testdata", "keys", c.pub)))
			if err != nil {
				t.Fatal(err)
			}
			wantID, err := verify.KeyID(pub)
			if err != nil {
				t.Fatal(err)
			}
			if s.KeyID() != wantID {
				t.Errorf("KeyID = %s, want %s (from %s)", s.KeyID(), wantID, c.pub)
			}
			if !bytes.Equal(s.PublicKeyPEM(), readFile(t, filepath.Join("testdata", "keys", c.pub))) {
				t.Errorf("PublicKeyPEM differs from %s", c.pub)
			}
			if s.Algorithm() != c.wantAlg {
				t.Errorf("Algorithm = %q, want %q", s.Algorithm(), c.wantAlg)
			}
			sig := signBytes(t, s, msg)
			if err := stdVerify(pub, s.Algorithm(), msg, sig); err != nil {
				t.Errorf("signature does not verify: %v", err)
			}
			if err := acceptedByVerify(t, pub, s.Algorithm(), msg, sig); err != nil {
				t.Errorf("package verify refuses the signature: %v", err)
			}
			bad := append(bytes.Clone(msg), 'x')
			if err := stdVerify(pub, s.Algorithm(), bad, sig); err == nil {
				t.Errorf("signature verifies for a different message")
			}
			if err := acceptedByVerify(t, pub, s.Algorithm(), bad, sig); err == nil {
				t.Errorf("package verify accepts the signature for a different message")
			}
		})
	}
}

func TestLoadSignerErrors(t *testing.T) {
	cases := []struct {
		file string
		pf   PassFunc
		want error
	}{
		{"bad-rsa1024-pkcs8.pem", nil, ErrUnsupportedKey},
		{"bad-ec-p521-sec1.pem", nil, ErrUnsupportedKey},
		{"bad-encrypted-pkcs8.pem", nil, ErrEncryptedKey},
		{"bad-encrypted-pkcs1.pem", nil, ErrEncryptedKey},
		{"ec-p256-pkcs8.pub", nil, ErrInvalidKey},
		{"cosign-cli.pub", nil, ErrInvalidKey},
		{"cosign-cli.key", Password("wrong"), ErrWrongPassword},
		{"cosign-relkit.key", Password(""), ErrWrongPassword},
		{"cosign-relkit-nopass.key", Password("not-empty"), ErrWrongPassword},
		{"does-not-exist.pem", nil, os.ErrNotExist},
		{"../../testdata/corrupt-cosign.key", Password(testPassword), ErrInvalidKey},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			path := filepath.Join("testdata", "keys", c.file)
			_, err := LoadSigner(path, c.pf)
			if err == nil {
				t.Fatal("LoadSigner succeeded")
			}
			var ke *KeyError
			if !errors.As(err, &ke) {
				t.Fatalf("error %T is not a *KeyError: %v", err, err)
			}
			if ke.Source != path {
				t.Errorf("KeyError.Source = %q, want %q", ke.Source, path)
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("error %v does not wrap %v", err, c.want)
			}
			if c.want == ErrWrongPassword && !strings.Contains(err.Error(), "wrong password") {
				t.Errorf("error %q does not say the password is wrong", err)
			}
			// Errors never carry key material.
			if strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "eyJ") {
				t.Errorf("error shows key material: %v", err)
			}
		})
	}
}

func TestCosignPasswordFromEnv(t *testing.T) {
	path := filepath.Join("testdata", "keys", "cosign-cli.key")
	t.Setenv(PasswordEnv, testPassword)
	if _, err := LoadSigner(path, EnvPassword); err != nil {
		t.Fatalf("with %s set: %v", PasswordEnv, err)
	}
	t.Setenv(PasswordEnv, "wrong")
	if _, err := LoadSigner(path, EnvPassword); !errors.Is(err, ErrWrongPassword) {
		t.Fatalf("with a wrong %s: %v, want ErrWrongPassword", PasswordEnv, err)
	}
	// t.Setenv restores the variable; unset it for this test only.
	t.Setenv(PasswordEnv, "")
	unsetEnv(t, PasswordEnv)
	if _, err := LoadSigner(path, EnvPassword); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("without %s: %v, want ErrNoPassword", PasswordEnv, err)
	}
	if _, err := GenerateCosignKeyPair(EnvPassword); !errors.Is(err, ErrNoPassword) {
		t.Fatalf("GenerateCosignKeyPair without %s: %v, want ErrNoPassword", PasswordEnv, err)
	}
	// A PEM key needs no password and never asks for one.
	if _, err := LoadSigner(filepath.Join("testdata", "keys", "ec-p256-sec1.pem"), func() ([]byte, error) {
		t.Error("PassFunc called for an unencrypted key")
		return nil, nil
	}); err != nil {
		t.Fatal(err)
	}
}

func TestWithAlgorithmRefusesMismatch(t *testing.T) {
	ec := loadCase(t, caseFor("ec-p256-sec1.pem"))
	for _, alg := range []string{verify.AlgEd25519, verify.AlgRSAPSSSHA256, "ecdsa-sha512", "nonsense"} {
		if _, err := ec.WithAlgorithm(alg); !errors.Is(err, verify.ErrUnknownAlgorithm) {
			t.Errorf("ECDSA key with %q: %v, want ErrUnknownAlgorithm", alg, err)
		}
	}
	// cosign's RSA signer is PKCS#1 v1.5 only: a PSS request must fail
	// rather than silently produce PKCS#1 v1.5.
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := newSigner(rsaKey, "", true)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cs.WithAlgorithm(verify.AlgRSAPSSSHA256); !errors.Is(err, verify.ErrUnknownAlgorithm) {
		t.Errorf("cosign RSA key with PSS: %v, want ErrUnknownAlgorithm", err)
	}
}

func TestNewSignerRefusesWeakKeys(t *testing.T) {
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(small, ""); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("RSA 1024: %v, want ErrUnsupportedKey", err)
	}
	p224, err := ecdsa.GenerateKey(elliptic.P224(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := NewSigner(p224, ""); !errors.Is(err, ErrUnsupportedKey) {
		t.Errorf("P-224: %v, want ErrUnsupportedKey", err)
	}
	if _, err := NewSigner(nil, ""); err == nil {
		t.Error("nil key accepted")
	}
}

// countingReader produces a deterministic stream of remaining bytes and
// counts what was read.
type countingReader struct {
	n, remaining int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.remaining == 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > c.remaining {
		p = p[:c.remaining]
	}
	// Byte i of the stream is byte(i): copy from a 256-byte cycle.
	for i := 0; i < len(p); {
		i += copy(p[i:], cycle[(c.n+int64(i))%256:])
	}
	c.n += int64(len(p))
	c.remaining -= int64(len(p))
	return len(p), nil
}

var cycle = func() []byte {
	b := make([]byte, 256)
	for i := range b {
		b[i] = byte(i)
	}
	return b
}()

// TestSignStreams signs a message larger than the Ed25519 limit with an
// ECDSA key: it must stream (the whole message is never needed) and the
// signature must be over all of it.
func TestSignStreams(t *testing.T) {
	s := loadCase(t, caseFor("ec-p256-sec1.pem"))
	size := int64(MaxEd25519MessageSize + 1<<20)
	r := &countingReader{remaining: size}
	sig, err := s.Sign(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	if r.n != size {
		t.Fatalf("read %d bytes, want %d", r.n, size)
	}
	h := sha256.New()
	if _, err := io.Copy(h, &countingReader{remaining: size}); err != nil {
		t.Fatal(err)
	}
	if !ecdsa.VerifyASN1(s.PublicKey().(*ecdsa.PublicKey), h.Sum(nil), sig) {
		t.Fatal("streamed signature does not verify")
	}
}

func TestEd25519MessageLimit(t *testing.T) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSigner(priv, "")
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Sign(context.Background(), &countingReader{remaining: MaxEd25519MessageSize + 1})
	if !errors.Is(err, ErrMessageTooLarge) {
		t.Fatalf("over the limit: %v, want ErrMessageTooLarge", err)
	}
	msg := make([]byte, 1000)
	sig := signBytes(t, s, msg)
	if !ed25519.Verify(priv.Public().(ed25519.PublicKey), msg, sig) {
		t.Fatal("Ed25519 signature does not verify")
	}
}

func TestSignHonoursContext(t *testing.T) {
	s := loadCase(t, caseFor("ec-p256-sec1.pem"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := s.Sign(ctx, &countingReader{remaining: 1 << 20})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled context: %v, want context.Canceled", err)
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestSignReadError(t *testing.T) {
	for _, c := range []keyCase{caseFor("ec-p256-sec1.pem"), caseFor("ed25519-pkcs8.pem")} {
		s := loadCase(t, c)
		if _, err := s.Sign(context.Background(), failingReader{}); err == nil || !strings.Contains(err.Error(), "disk on fire") {
			t.Errorf("%s: read error lost: %v", c.name, err)
		}
	}
}

// TestSignBlob: the .sig contents decode in package verify and verify
// there, for a cosign key and an Ed25519 key.
func TestSignBlob(t *testing.T) {
	msg := []byte("blob contents\n")
	for _, file := range []string{"cosign-cli.key", "ed25519-pkcs8.pem"} {
		s := loadCase(t, caseFor(file))
		out, err := SignBlob(context.Background(), s, bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		if bytes.ContainsAny(out, "\n\r ") {
			t.Errorf("%s: SignBlob output has whitespace: %q", file, out)
		}
		sig, err := verify.DecodeSignature(out)
		if err != nil {
			t.Fatal(err)
		}
		if err := acceptedByVerify(t, s.PublicKey(), s.Algorithm(), msg, sig); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// TestSignDeterministic: a key in this process signs the same bytes with
// the same signature (RFC 6979 for ECDSA), so that a release prepared
// again after a killed publish matches what was already published; and
// RSA-PSS, which cannot be, still verifies.
func TestSignDeterministic(t *testing.T) {
	kp, err := GenerateCosignKeyPair(Password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	cosignSigner, err := LoadCosignKey(kp.PrivatePEM, Password("pw"))
	if err != nil {
		t.Fatal(err)
	}
	ec, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ecSigner, err := NewSigner(ec, "")
	if err != nil {
		t.Fatal(err)
	}
	_, edPriv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	edKey, err := NewSigner(edPriv, "")
	if err != nil {
		t.Fatal(err)
	}
	msg := []byte("a SHA256SUMS file\n")
	for name, s := range map[string]Signer{"cosign": cosignSigner, "ecdsa-p384": ecSigner, "ed25519": edKey} {
		a, b := signBytes(t, s, msg), signBytes(t, s, msg)
		if !bytes.Equal(a, b) {
			t.Errorf("%s: two signatures of the same bytes differ", name)
		}
		if err := stdVerify(s.PublicKey(), s.Algorithm(), msg, a); err != nil {
			t.Errorf("%s: %v", name, err)
		}
		if c := signBytes(t, s, []byte("other bytes\n")); bytes.Equal(a, c) {
			t.Errorf("%s: different bytes, same signature", name)
		}
	}
}

package sign_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// Generate an Ed25519 signing key, write it (private 0600, public 0644),
// and load it back to sign with.
func ExampleGenerateEd25519Key() {
	dir, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	kp, err := sign.GenerateEd25519Key()
	if err != nil {
		log.Fatal(err)
	}
	priv, pub := filepath.Join(dir, "release.key"), filepath.Join(dir, "release.pub")
	if err := kp.WriteFiles(priv, pub, false); err != nil {
		log.Fatal(err)
	}
	// Writing again without overwrite refuses: keys are never clobbered.
	err = kp.WriteFiles(priv, pub, false)
	fmt.Println("second write refused:", err != nil)

	s, err := sign.LoadSigner(priv, nil)
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range []string{priv, pub} {
		fi, err := os.Stat(p)
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(filepath.Base(p), fi.Mode())
	}
	fmt.Println("algorithm:", s.Algorithm())
	fmt.Println("key ID length:", len(s.KeyID()))
	// Output:
	// second write refused: true
	// release.key -rw-------
	// release.pub -rw-r--r--
	// algorithm: ed25519
	// key ID length: 64
}

// Generate a cosign key pair as "cosign generate-key-pair" does; cosign
// reads these files as its own, and LoadSigner reads cosign's.
func ExampleGenerateCosignKeyPair() {
	dir, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	// In CI, pass nil to read the password from COSIGN_PASSWORD.
	kp, err := sign.GenerateCosignKeyPair(sign.Password("correct horse"))
	if err != nil {
		log.Fatal(err)
	}
	priv := filepath.Join(dir, sign.CosignKeyFile)
	if err := kp.WriteFiles(priv, filepath.Join(dir, sign.CosignPubFile), false); err != nil {
		log.Fatal(err)
	}
	fmt.Println(strings.SplitN(string(kp.PrivatePEM), "\n", 2)[0])

	s, err := sign.LoadSigner(priv, sign.Password("correct horse"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("algorithm:", s.Algorithm())

	_, err = sign.LoadSigner(priv, sign.Password("wrong"))
	fmt.Println("wrong password:", errors.Is(err, sign.ErrWrongPassword))
	// Output:
	// -----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----
	// algorithm: ecdsa-sha256
	// wrong password: true
}

// Sign a release directory with two keys: the .sig files come from the
// first (cosign-compatible), signatures.json carries both.
func ExampleSignRelease() {
	root, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	// A release laid out as relkit publishes it (normally written by the
	// release pipeline).
	must(os.MkdirAll(filepath.Join(root, "1.2.0"), 0o755))
	must(os.WriteFile(filepath.Join(root, "manifest.json"), []byte(`{"schema":"relkit.manifest/v1"}`+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "1.2.0", "SHA256SUMS"), []byte("9b1f000000000000000000000000000000000000000000000000000000000000  hello-1.2.0-linux-amd64.tar.gz\n"), 0o644))

	ecKey, err := sign.LoadSigner("testdata/keys/ec-p256-sec1-params.pem", nil) // from openssl ecparam -genkey
	if err != nil {
		log.Fatal(err)
	}
	edKey, err := sign.LoadSigner("testdata/keys/ed25519-pkcs8.pem", nil) // from openssl genpkey
	if err != nil {
		log.Fatal(err)
	}

	results, err := sign.SignRelease(context.Background(), root, ecKey, edKey)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range results {
		fmt.Printf("%s: signed by %d keys\n", r.File, len(r.Signed))
	}

	// Running it again signs nothing: published files never change.
	results, err = sign.SignRelease(context.Background(), root, ecKey, edKey)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("changed on the second run:", results[0].Changed() || results[1].Changed())

	// What a client does: verify SHA256SUMS with both keys required.
	ring, err := verify.NewKeyRing(ecKey.PublicKeyPEM(), edKey.PublicKeyPEM())
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.NewVerifier(ring, verify.WithThreshold(2))
	if err != nil {
		log.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(root, "1.2.0", "SHA256SUMS"))
	setData, _ := os.ReadFile(filepath.Join(root, "1.2.0", "signatures.json"))
	set, err := verify.ParseSignatureSet(setData)
	if err != nil {
		log.Fatal(err)
	}
	ids, err := v.VerifySignatures("SHA256SUMS", data, verify.Signatures{Set: set})
	fmt.Println("verified by", len(ids), "keys, error:", err)
	// Output:
	// manifest.json: signed by 2 keys
	// 1.2.0/SHA256SUMS: signed by 2 keys
	// changed on the second run: false
	// verified by 2 keys, error: <nil>
}

// Rotate signing keys with a root-signed keys.json.
func ExampleSignKeyBundle() {
	root, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)

	rootKey, err := sign.LoadSigner("testdata/keys/ec-p384-pkcs8.pem", nil) // kept offline
	if err != nil {
		log.Fatal(err)
	}
	oldKey, err := sign.LoadSigner("testdata/keys/ed25519-pkcs8.pem", nil)
	if err != nil {
		log.Fatal(err)
	}
	newKey, err := sign.LoadSigner("testdata/keys/ec-p256-pkcs8.pem", nil)
	if err != nil {
		log.Fatal(err)
	}

	now := time.Now()
	b := sign.NewKeyBundle(1, now, 365*24*time.Hour)
	if _, err := sign.AddBundleKey(b, oldKey.PublicKey(), time.Time{}); err != nil {
		log.Fatal(err)
	}
	if _, err := sign.SignKeyBundle(context.Background(), root, b, rootKey); err != nil {
		log.Fatal(err)
	}

	// Later: the old key leaks. Revoke it, certify a new one.
	next := sign.NextKeyBundle(b, now.Add(time.Hour), 365*24*time.Hour)
	must(sign.RevokeBundleKey(next, oldKey.KeyID(), "laptop stolen"))
	if _, err := sign.AddBundleKey(next, newKey.PublicKey(), now.Add(180*24*time.Hour)); err != nil {
		log.Fatal(err)
	}
	if _, err := sign.SignKeyBundle(context.Background(), root, next, rootKey); err != nil {
		log.Fatal(err)
	}

	// A client pinning only the root key learns the signing keys.
	ring, _ := verify.NewKeyRing(rootKey.PublicKeyPEM())
	v, _ := verify.NewVerifier(ring)
	signing, err := v.FetchKeyBundle(context.Background(), verify.Dir(root))
	if err != nil {
		log.Fatal(err)
	}
	_, trustsOld := signing.Key(oldKey.KeyID())
	_, trustsNew := signing.Key(newKey.KeyID())
	fmt.Println("serial:", next.Serial, "old trusted:", trustsOld, "new trusted:", trustsNew)
	// Output:
	// serial: 2 old trusted: false new trusted: true
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

// A maintainer rotates the root keys: version 2 of the root chain retires
// one root and adds another, signed by the old set's threshold and the
// new set's. Clients that pin version 1 follow it without a new binary.
func ExampleSignRoot() {
	dir, err := os.MkdirTemp("", "relkit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	r1, err := sign.LoadSigner("testdata/keys/ec-p384-pkcs8.pem", nil) // kept offline
	must(err)
	r2, err := sign.LoadSigner("testdata/keys/ed25519-pkcs8.pem", nil)
	must(err)
	r3, err := sign.LoadSigner("testdata/keys/ec-p256-pkcs8.pem", nil)
	must(err)

	// Version 1: the roots the program pins, 2 of 2.
	v1 := sign.NewRoot("hello", 2, time.Now(), 365*24*time.Hour)
	for _, s := range []sign.Signer{r1, r2} {
		_, err := sign.AddRootKey(v1, s.PublicKey())
		must(err)
	}
	_, err = sign.SignRoot(context.Background(), dir, v1, r1, r2)
	must(err)

	// Version 2: r1 retired, r3 in.
	v2 := sign.NextRoot(v1, time.Now(), 365*24*time.Hour)
	must(sign.RevokeRootKey(v2, r1.KeyID(), "retired"))
	_, err = sign.AddRootKey(v2, r3.PublicKey())
	must(err)
	if _, err := sign.SignRoot(context.Background(), dir, v2, r2, r3); errors.Is(err, sign.ErrBadBundle) {
		fmt.Println("refused without the old threshold")
	}
	path, err := sign.SignRoot(context.Background(), dir, v2, r1, r2, r3)
	must(err)
	fmt.Println(filepath.Base(filepath.Dir(path))+"/"+filepath.Base(path), "version", v2.Version, "threshold", v2.Threshold, "revoked", len(v2.Revoked))
	// Output:
	// refused without the old threshold
	// root/2.json version 2 threshold 2 revoked 1
}

// Example makes a cosign key pair and signs a staged release directory
// with it, as a release job does.
func Example() {
	ctx := context.Background()
	defer inTempDir()()                           // a release tool runs in its work tree
	os.Setenv("COSIGN_PASSWORD", "correct horse") // a CI secret
	defer os.Unsetenv("COSIGN_PASSWORD")
	stageExample("dist/release") // manifest.json and 1.2.0/SHA256SUMS, as package release stages them

	kp, err := sign.GenerateCosignKeyPair(sign.EnvPassword) // like `cosign generate-key-pair`
	if err != nil {
		log.Fatal(err)
	}
	err = kp.WriteFiles("cosign.key", "cosign.pub", false) // 0600 and 0644
	if err != nil {
		log.Fatal(err)
	}
	s, err := sign.LoadSigner("cosign.key", sign.EnvPassword)
	if err != nil {
		log.Fatal(err)
	}
	res, err := sign.SignRelease(ctx, "dist/release", s) // SHA256SUMS.sig, manifest.json.sig, signatures.json
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range res {
		fmt.Println("signed", r.File)
	}
	// Output:
	// signed manifest.json
	// signed 1.2.0/SHA256SUMS
}

// stageExample writes a minimal staged release below root.
func stageExample(root string) {
	must(os.MkdirAll(filepath.Join(root, "1.2.0"), 0o755))
	must(os.WriteFile(filepath.Join(root, "manifest.json"), []byte(`{"schema":"relkit.manifest/v1"}`+"\n"), 0o644))
	must(os.WriteFile(filepath.Join(root, "1.2.0", "SHA256SUMS"), []byte("9b1f000000000000000000000000000000000000000000000000000000000000  hello-1.2.0-linux-amd64.tar.gz\n"), 0o644))
}

// inTempDir moves into a new temporary directory and returns the function
// that moves back and removes it.
func inTempDir() func() {
	dir, err := os.MkdirTemp("", "relkit-example")
	must(err)
	back, err := os.Getwd()
	must(err)
	must(os.Chdir(dir))
	return func() {
		os.Chdir(back)
		os.RemoveAll(dir)
	}
}

package verify_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

// A self-updater verifies the signed manifest, then the artifact it
// selected while copying it to disk.
func ExampleVerifier_VerifyManifest() {
	ctx := context.Background()
	pub, priv, _ := ed25519.GenerateKey(rand.Reader) // in real life: pinned PEM via verify.NewKeyRing

	// What the publisher did: a manifest listing one artifact, signed.
	body := []byte("the hello binary, archived\n")
	sum := sha256.Sum256(body)
	m := manifest.New("hello")
	_, err := m.Add(manifest.Release{Version: "1.2.0", Date: time.Now(), Commit: "4f9c2e0d1b2a39485766a5b4c3d2e1f001234567", Artifacts: []manifest.Artifact{{
		Name: "hello-1.2.0-linux-amd64.tar.gz", Path: "1.2.0/hello-1.2.0-linux-amd64.tar.gz", Kind: manifest.KindArchive,
		OS: "linux", Arch: "amd64", Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]),
	}}})
	if err != nil {
		panic(err)
	}
	m.Touch(time.Now(), 24*time.Hour)
	data, _ := m.Marshal()
	sig := verify.EncodeSignature(ed25519.Sign(priv, data))

	// What the client does.
	keys := &verify.KeyRing{}
	keys.Add(pub)
	state := verify.NewFileState(filepath.Join(os.TempDir(), fmt.Sprintf("relkit-example-%d.json", time.Now().UnixNano())))
	defer os.Remove(state.Path())
	v, err := verify.NewVerifier(keys, verify.WithState(state), verify.WithProject("hello"))
	if err != nil {
		panic(err)
	}
	got, err := v.VerifyManifest(ctx, data, verify.Signatures{Detached: sig})
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	sel, _ := got.Select(manifest.Query{Channel: "stable", Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	fmt.Println("manifest serial", got.Serial, "selects", sel.Artifact.Name)

	var disk bytes.Buffer // a temporary file in real life
	if _, err := verify.Copy(ctx, &disk, bytes.NewReader(body), verify.ExpectArtifact(sel.Artifact)); err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("artifact verified:", disk.Len(), "bytes")

	// A tampered manifest is refused.
	tampered := bytes.Replace(data, []byte(`"amd64"`), []byte(`"arm64"`), 1)
	_, err = v.VerifyManifest(ctx, tampered, verify.Signatures{Detached: sig})
	fmt.Println("tampered manifest refused:", errors.Is(err, verify.ErrBadSignature))
	// Output:
	// manifest serial 1 selects hello-1.2.0-linux-amd64.tar.gz
	// artifact verified: 27 bytes
	// tampered manifest refused: true
}

// An auditor (or a release pipeline after publishing) verifies everything
// a release directory holds and prints the report.
func ExampleVerifier_VerifyRelease() {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	dir, _ := os.MkdirTemp("", "relkit-example")
	defer os.RemoveAll(dir)

	// A flat release (as GitHub release assets are): one archive, its
	// SHA256SUMS and the signature, no manifest, SBOM or provenance.
	body := []byte("archive bytes\n")
	sum := sha256.Sum256(body)
	sums := hex.EncodeToString(sum[:]) + "  hello-1.2.0-linux-amd64.tar.gz\n"
	os.WriteFile(filepath.Join(dir, "hello-1.2.0-linux-amd64.tar.gz"), body, 0o644)
	os.WriteFile(filepath.Join(dir, "SHA256SUMS"), []byte(sums), 0o644)
	os.WriteFile(filepath.Join(dir, "SHA256SUMS.sig"), verify.EncodeSignature(ed25519.Sign(priv, []byte(sums))), 0o644)

	keys := &verify.KeyRing{}
	keys.Add(pub)
	v, _ := verify.NewVerifier(keys)
	rep, err := v.VerifyRelease(context.Background(), verify.Dir(dir), verify.ReleaseOptions{Version: "1.2.0", Dir: "."})
	fmt.Println("ok:", rep.OK, "error:", err)
	for _, c := range rep.Checks {
		fmt.Printf("%-8s %s\n", c.Status, c.Name)
	}
	fmt.Println(strings.Contains(rep.Markdown(), "| signature SHA256SUMS | pass |"))
	// Output:
	// ok: true error: <nil>
	// missing  manifest manifest.json
	// pass     signature SHA256SUMS
	// pass     checksum hello-1.2.0-linux-amd64.tar.gz
	// missing  sbom sbom.spdx.json
	// missing  provenance provenance.intoto.json
	// true
}

// Copy checks a stream while passing it on; a wrong byte shows up as a
// typed error naming the file and both digests.
func ExampleCopy() {
	want := verify.Expected{Name: "hello.tar.gz", SHA256: "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824", Size: 5}
	_, err := verify.Copy(context.Background(), &bytes.Buffer{}, strings.NewReader("hellO"), want)
	var mismatch *verify.ChecksumMismatchError
	if errors.As(err, &mismatch) {
		fmt.Println("refused", mismatch.Name, "want", mismatch.Want[:12], "got", mismatch.Got[:12])
	}
	_, err = verify.Copy(context.Background(), &bytes.Buffer{}, strings.NewReader("hello, and more"), want)
	fmt.Println(err)
	// Output:
	// refused hello.tar.gz want 2cf24dba5fb0 got 04a6f55face2
	// hello.tar.gz: more than the expected 5 bytes
}

// Signing keys rotate without a new client binary: the client pins only a
// root key, which certifies the current signing keys in keys.json.
func ExampleVerifier_VerifyKeyBundle() {
	ctx := context.Background()
	rootPub, rootPriv, _ := ed25519.GenerateKey(rand.Reader) // offline, pinned in the client
	signPub, signPriv, _ := ed25519.GenerateKey(rand.Reader) // used by CI
	oldPub, _, _ := ed25519.GenerateKey(rand.Reader)         // retired after a leak

	// The publisher writes keys.json and signs it with the root key.
	signPEM, _ := verify.MarshalPublicKey(signPub)
	signID, _ := verify.KeyID(signPub)
	oldID, _ := verify.KeyID(oldPub)
	bundle := &verify.KeyBundle{Serial: 2, Issued: time.Now(), Expires: time.Now().Add(365 * 24 * time.Hour),
		Keys:    []verify.BundleKey{{KeyID: signID, PublicKey: string(signPEM)}},
		Revoked: []verify.RevokedKey{{KeyID: oldID, Reason: "leaked"}}}
	data, _ := bundle.Marshal()
	rootSig := verify.EncodeSignature(ed25519.Sign(rootPriv, data))

	// The client trusts the root, and through it the signing key.
	roots := &verify.KeyRing{}
	roots.Add(rootPub)
	rv, _ := verify.NewVerifier(roots)
	signing, err := rv.VerifyKeyBundle(ctx, data, verify.Signatures{Detached: rootSig})
	if err != nil {
		fmt.Println("refused:", err)
		return
	}
	fmt.Println("signing keys:", signing.Len())
	_, err = signing.Add(oldPub)
	fmt.Println("revoked key refused:", errors.Is(err, verify.ErrRevoked))

	v, _ := verify.NewVerifier(signing)
	sums := []byte("...  hello-1.2.0-linux-amd64.tar.gz\n")
	_, err = v.VerifySignatures("SHA256SUMS", sums, verify.Signatures{Detached: verify.EncodeSignature(ed25519.Sign(signPriv, sums))})
	fmt.Println("SHA256SUMS verified:", err == nil)
	// Output:
	// signing keys: 1
	// revoked key refused: true
	// SHA256SUMS verified: true
}

// A library that receives a ready Verifier binds a copy of it to its own
// project and state without changing the caller's.
func ExampleVerifier_With() {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	keys := &verify.KeyRing{}
	keys.Add(pub)
	given, _ := verify.NewVerifier(keys) // any project, in-memory state
	state := verify.NewMemoryState()     // a FileState in real life
	v, err := given.With(verify.WithProject("hello"), verify.WithState(state))
	if err != nil {
		panic(err)
	}
	fmt.Printf("given: project %q; copy: project %q, threshold %d\n", given.Project(), v.Project(), v.Threshold())
	// Output:
	// given: project ""; copy: project "hello", threshold 1
}

// A self-updater pins two root keys (2 of 2) and nothing else. The
// publisher certifies the signing key in keys.json, and later rotates the
// roots (root/2.json retires r1, adds r3); the client follows the
// rotation and then refuses r1.
func ExampleTrust_Verifier() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "relkit-example")
	defer os.RemoveAll(dir)
	type key struct {
		pub  ed25519.PublicKey
		priv ed25519.PrivateKey
		id   string
	}
	gen := func() key {
		pub, priv, _ := ed25519.GenerateKey(rand.Reader)
		id, _ := verify.KeyID(pub)
		return key{pub, priv, id}
	}
	r1, r2, r3, signing := gen(), gen(), gen(), gen()
	pemOf := func(k key) string { p, _ := verify.MarshalPublicKey(k.pub); return string(p) }
	now := time.Now()

	// What the publisher writes (package sign does this: SignKeyBundle, SignRoot).
	publishKeys := func(roots ...key) {
		b := &verify.KeyBundle{Project: "hello", Serial: now.Unix(), Issued: now, Expires: now.Add(time.Hour),
			Keys: []verify.BundleKey{{KeyID: signing.id, PublicKey: pemOf(signing)}}}
		data, _ := b.Marshal()
		set := &verify.SignatureSet{}
		for _, r := range roots {
			sum := sha256.Sum256(data)
			set.Add(verify.SignatureEntry{KeyID: r.id, Algorithm: verify.AlgEd25519, File: manifest.KeysFile, SHA256: hex.EncodeToString(sum[:]), Signature: ed25519.Sign(r.priv, data)})
		}
		sigs, _ := set.Marshal()
		os.WriteFile(filepath.Join(dir, manifest.KeysFile), data, 0o644)
		os.WriteFile(filepath.Join(dir, manifest.SignaturesFile), sigs, 0o644)
	}
	publishKeys(r1, r2)

	// What the client does.
	roots := &verify.KeyRing{}
	roots.Add(r1.pub)
	roots.Add(r2.pub)
	statePath := filepath.Join(dir, "client-state.json") // next to the binary in real life
	loc := verify.Dir(dir)                               // or verify.NewHTTP, verify.NewForge
	trust := &verify.Trust{Roots: roots, Project: "hello", State: verify.NewFileState(statePath)}
	v, err := trust.Verifier(ctx, loc) // root chain, then keys.json, then the signing keys
	if err == nil {
		fmt.Println("trusts the signing key certified by r1+r2, for", v.Project())
	}

	// The root rotation: signed by the old set (r1, r2) and the new (r2, r3).
	next := &verify.Root{Project: "hello", Version: 2, Threshold: 2, Issued: now, Expires: now.Add(24 * time.Hour),
		Keys:    []verify.BundleKey{{KeyID: r2.id, PublicKey: pemOf(r2)}, {KeyID: r3.id, PublicKey: pemOf(r3)}},
		Revoked: []verify.RevokedKey{{KeyID: r1.id, Reason: "retired"}}}
	payload, _ := next.Marshal()
	env := &verify.SignedRoot{Payload: payload}
	for _, r := range []key{r1, r2, r3} {
		env.Signatures = append(env.Signatures, verify.RootSignature{KeyID: r.id, Algorithm: verify.AlgEd25519, Signature: ed25519.Sign(r.priv, payload)})
	}
	data, _ := env.Marshal()
	os.MkdirAll(filepath.Join(dir, "root"), 0o755)
	os.WriteFile(filepath.Join(dir, filepath.FromSlash(verify.RootFile(2))), data, 0o644)

	_, err = trust.Verifier(ctx, loc)
	fmt.Println("keys.json by r1+r2 after the rotation refused:", errors.Is(err, verify.ErrRevoked))
	publishKeys(r2, r3)
	if _, err := trust.Verifier(ctx, loc); err == nil {
		fmt.Println("trusts the signing key certified by r2+r3")
	}
	// Output:
	// trusts the signing key certified by r1+r2, for hello
	// keys.json by r1+r2 after the rotation refused: true
	// trusts the signing key certified by r2+r3
}

// Example is what a self-updater does before it trusts a byte: fetch the
// signed manifest from the release root with the pinned key, then the
// artifact it selects, checked while it is written.
func Example() {
	ctx := context.Background()
	dir, _ := os.MkdirTemp("", "relkit-example")
	defer os.RemoveAll(dir)
	pinnedPEM, releaseURL, stop := serveExampleRelease(dir) // a signed release root on 127.0.0.1
	defer stop()
	statePath := filepath.Join(dir, "hello.state.json") // next to the binary in real life
	tmp, err := os.CreateTemp(dir, "hello-download-")
	if err != nil {
		log.Fatal(err)
	}
	defer tmp.Close()

	keys, err := verify.NewKeyRing(pinnedPEM)
	if err != nil {
		log.Fatal(err)
	}
	v, err := verify.NewVerifier(keys, verify.WithProject("hello"), verify.WithState(verify.NewFileState(statePath)))
	if err != nil {
		log.Fatal(err)
	}
	loc, err := verify.NewHTTP(releaseURL) // "https://releases.example.com/hello/"
	if err != nil {
		log.Fatal(err)
	}
	m, err := v.FetchManifest(ctx, loc) // signed, unexpired, serial not rolled back
	if err != nil {
		log.Fatal(err)
	}
	sel, err := m.Select(manifest.Query{Platform: manifest.Platform{OS: "linux", Arch: "amd64"}})
	if err != nil {
		log.Fatal(err)
	}
	n, err := verify.FetchArtifact(ctx, loc, sel.Artifact, tmp) // size and SHA-256 checked while writing
	if err != nil {
		log.Fatal(err) // discard tmp: it holds unverified bytes
	}
	fmt.Println("serial", m.Serial, "verified", sel.Artifact.Name, n, "bytes")
	// Output:
	// serial 1 verified hello-1.2.0-linux-amd64.tar.gz 27 bytes
}

// serveExampleRelease writes a release root for hello 1.2.0 into
// dir/www, signed by a new Ed25519 key, and serves it on 127.0.0.1. It
// returns the public key (PEM), the root's URL and the function that
// stops the server.
func serveExampleRelease(dir string) (pubPEM []byte, url string, stop func()) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	www := filepath.Join(dir, "www")
	body := []byte("the hello binary, archived\n")
	sum := sha256.Sum256(body)
	m := manifest.New("hello")
	_, err := m.Add(manifest.Release{Version: "1.2.0", Date: time.Now(), Artifacts: []manifest.Artifact{{
		Name: "hello-1.2.0-linux-amd64.tar.gz", Path: "1.2.0/hello-1.2.0-linux-amd64.tar.gz", Kind: manifest.KindArchive,
		OS: "linux", Arch: "amd64", Size: int64(len(body)), SHA256: hex.EncodeToString(sum[:]),
	}}})
	if err != nil {
		log.Fatal(err)
	}
	m.Touch(time.Now(), 24*time.Hour)
	data, _ := m.Marshal()
	if err := os.MkdirAll(filepath.Join(www, "1.2.0"), 0o755); err != nil {
		log.Fatal(err)
	}
	os.WriteFile(filepath.Join(www, "1.2.0", "hello-1.2.0-linux-amd64.tar.gz"), body, 0o644)
	os.WriteFile(filepath.Join(www, "manifest.json"), data, 0o644)
	os.WriteFile(filepath.Join(www, "manifest.json.sig"), verify.EncodeSignature(ed25519.Sign(priv, data)), 0o644)
	srv := httptest.NewServer(http.FileServer(http.Dir(www)))
	pubPEM, err = verify.MarshalPublicKey(pub)
	if err != nil {
		log.Fatal(err)
	}
	return pubPEM, srv.URL + "/", srv.Close
}

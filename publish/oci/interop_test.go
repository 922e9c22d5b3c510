package oci_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/v1/remote/transport"

	"github.com/relkit/relkit/internal/registrytest"
	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

// TestInteropDockerRegistry pushes a signed two-platform release to a real
// docker-registry and checks it with the tools users have: skopeo sees the
// index with both platforms and its annotations, cosign verifies the
// signature, and the linux/arm64 binary copied out by skopeo is the input.
// A second push changes nothing.
func TestInteropDockerRegistry(t *testing.T) {
	reg := registrytest.Start(t)
	skopeo := testenv.Tool(t, "skopeo")
	cosign := testenv.Tool(t, "cosign")
	signer, pub := testKey(t)
	c := newClient(t, oci.WithSigner(signer))
	repo := reg.Host + "/example/hello"
	spec := testSpec(t, repo, "1.2.0", 1)

	res := push(t, c, spec)
	if got, want := tagNames(res), []string{"1.2.0", "1.2", "1", "latest", "sha-" + testCommit[:7]}; !slices.Equal(got, want) {
		t.Fatalf("tags = %v, want %v", got, want)
	}
	for _, tr := range res.Tags {
		if tr.Action != oci.TagCreated {
			t.Errorf("tag %s: %s, want created", tr.Name, tr.Action)
		}
		if d := digestOf(t, repo, tr.Name); d != res.Digest {
			t.Errorf("tag %s points at %s, want %s", tr.Name, d, res.Digest)
		}
	}
	if len(res.Skipped) != 1 || res.Skipped[0].Platform.OS != "darwin" {
		t.Errorf("skipped = %v, want the darwin binary", res.Skipped)
	}
	if !res.Signed || res.Signature == "" {
		t.Errorf("signed = %v, signature %q", res.Signed, res.Signature)
	}
	t.Logf("first push: %+v", res.Stats)

	// skopeo: the raw index, with both platforms and the annotations.
	out, err := exec.Command(skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+repo+":latest").Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v %s", err, stderr(err))
	}
	var idx struct {
		MediaType string `json:"mediaType"`
		Manifests []struct {
			Digest   string `json:"digest"`
			Platform struct {
				OS           string `json:"os"`
				Architecture string `json:"architecture"`
			} `json:"platform"`
		} `json:"manifests"`
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal(out, &idx); err != nil {
		t.Fatalf("skopeo output: %v\n%s", err, out)
	}
	if idx.MediaType != "application/vnd.oci.image.index.v1+json" {
		t.Errorf("mediaType = %q", idx.MediaType)
	}
	var plats []string
	for _, m := range idx.Manifests {
		plats = append(plats, m.Platform.OS+"/"+m.Platform.Architecture)
	}
	if !slices.Equal(plats, []string{"linux/amd64", "linux/arm64"}) {
		t.Errorf("platforms = %v", plats)
	}
	for k, want := range map[string]string{
		oci.AnnotationVersion:  "1.2.0",
		oci.AnnotationRevision: testCommit,
		oci.AnnotationCreated:  "2026-11-20T12:00:00Z",
		oci.AnnotationSource:   "https://github.com/example/hello",
		oci.AnnotationTitle:    "hello",
	} {
		if got := idx.Annotations[k]; got != want {
			t.Errorf("index annotation %s = %q, want %q", k, got, want)
		}
	}

	// cosign verify accepts the signature with the key, and refuses another key.
	env := append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	verifyCmd := func(pubKey string) ([]byte, error) {
		cmd := exec.Command(cosign, "verify", "--key", pubKey, "--insecure-ignore-tlog=true",
			"--allow-insecure-registry", "--allow-http-registry", res.Ref())
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	if out, err := verifyCmd(pub); err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
	_, otherPub := testKey(t)
	if out, err := verifyCmd(otherPub); err == nil {
		t.Fatalf("cosign verify accepted another key:\n%s", out)
	}

	// The linux/arm64 binary, copied out by skopeo, is the input.
	dst := t.TempDir()
	cp := exec.Command(skopeo, "copy", "--src-tls-verify=false", "--override-os", "linux", "--override-arch", "arm64",
		"docker://"+repo+":1.2.0", "dir:"+dst)
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	var m struct {
		Layers []struct{ Digest string } `json:"layers"`
	}
	if err := json.Unmarshal(mustRead(t, filepath.Join(dst, "manifest.json")), &m); err != nil || len(m.Layers) != 1 {
		t.Fatalf("copied manifest: %v, %d layers", err, len(m.Layers))
	}
	layer, err := os.Open(filepath.Join(dst, m.Layers[0].Digest[len("sha256:"):]))
	if err != nil {
		t.Fatal(err)
	}
	defer layer.Close()
	got := extractFile(t, layer, "usr/local/bin/hello")
	if want := mustRead(t, spec.Binaries[1].Path); !bytes.Equal(got, want) {
		t.Fatalf("linux/arm64 binary from the image differs from the input (%d vs %d bytes)", len(got), len(want))
	}

	// Pushing the same release again: same digest, nothing uploaded.
	again := push(t, c, testSpec(t, repo, "1.2.0", 1))
	if again.Digest != res.Digest {
		t.Fatalf("re-push digest %s, first %s", again.Digest, res.Digest)
	}
	if again.Stats.BlobUploads != 0 || again.Stats.ManifestPuts != 0 {
		t.Errorf("re-push uploaded: %+v", again.Stats)
	}
	if again.Signed {
		t.Error("re-push signed again")
	}
	for _, tr := range again.Tags {
		if tr.Action != oci.TagUnchanged {
			t.Errorf("re-push tag %s: %s", tr.Name, tr.Action)
		}
	}
	t.Logf("re-push: %+v", again.Stats)
}

func stderr(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

// TestInteropCosignKeyFile signs with a key made by "cosign
// generate-key-pair" and loaded with package sign, as a release does, and
// checks the signature with "cosign verify".
func TestInteropCosignKeyFile(t *testing.T) {
	reg := registrytest.Start(t)
	cosign := testenv.Tool(t, "cosign")
	dir := t.TempDir()
	env := append(os.Environ(), "COSIGN_PASSWORD=relkit-test", "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	gen := exec.Command(cosign, "generate-key-pair")
	gen.Dir, gen.Env = dir, env
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("cosign generate-key-pair: %v\n%s", err, out)
	}
	signer, err := sign.LoadSigner(filepath.Join(dir, sign.CosignKeyFile), sign.Password("relkit-test"))
	if err != nil {
		t.Fatal(err)
	}
	res := push(t, newClient(t, oci.WithSigner(signer)), testSpec(t, reg.Host+"/hello", "0.9.0-rc.2", 4))
	cmd := exec.Command(cosign, "verify", "--key", filepath.Join(dir, sign.CosignPubFile), "--insecure-ignore-tlog=true",
		"--allow-http-registry", res.Ref())
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte(res.Digest)) {
		t.Errorf("cosign verify output does not name the digest:\n%s", out)
	}
}

// TestDockerConfigAuth pushes to a registry that requires a password,
// with the credentials "docker login" would have written to
// $DOCKER_CONFIG/config.json, read through the default keychain; without
// them the push is refused.
func TestDockerConfigAuth(t *testing.T) {
	reg := registrytest.StartAuth(t, "releaser", "s3cret-pass")
	cfgDir := t.TempDir()
	t.Setenv("DOCKER_CONFIG", cfgDir)
	spec := testSpec(t, reg.Host+"/private/hello", "1.0.0", 1)
	c, err := oci.New(oci.WithTempDir(t.TempDir())) // authn.DefaultKeychain
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Push(context.Background(), spec)
	var te *transport.Error
	if !errors.As(err, &te) || te.StatusCode != http.StatusUnauthorized {
		t.Fatalf("push without credentials: err = %v, want a 401 *transport.Error", err)
	}
	auth := base64.StdEncoding.EncodeToString([]byte("releaser:s3cret-pass"))
	cfg := `{"auths":{"` + reg.Host + `":{"auth":"` + auth + `"}}}`
	if err := os.WriteFile(filepath.Join(cfgDir, "config.json"), []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	res, err := c.Push(context.Background(), spec)
	if err != nil {
		t.Fatalf("push with docker config credentials: %v", err)
	}
	if tagAction(t, res, "latest") != oci.TagCreated {
		t.Errorf("tags = %+v", res.Tags)
	}
}

// TestInteropLayout writes the image as an OCI layout, reads it with
// skopeo, and copies it with skopeo into docker-registry: the registry
// then holds the same index digest Push would make.
func TestInteropLayout(t *testing.T) {
	reg := registrytest.Start(t)
	skopeo := testenv.Tool(t, "skopeo")
	im := build(t, newClient(t), testSpec(t, "", "1.2.0", 1))
	dir := filepath.Join(t.TempDir(), "image")
	if err := im.WriteLayout(dir); err != nil {
		t.Fatal(err)
	}
	if err := im.WriteLayout(dir); err == nil {
		t.Error("WriteLayout into a non-empty directory succeeded")
	}
	out, err := exec.Command(skopeo, "inspect", "--raw", "oci:"+dir+":1.2.0").Output()
	if err != nil {
		t.Fatalf("skopeo inspect: %v %s", err, stderr(err))
	}
	raw, err := im.Index.RawManifest()
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(bytes.TrimSpace(out), raw) {
		t.Errorf("skopeo read another index from the layout:\n%s", out)
	}
	cp := exec.Command(skopeo, "copy", "--all", "--preserve-digests", "--dest-tls-verify=false",
		"oci:"+dir+":1.2.0", "docker://"+reg.Host+"/hello:copied")
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	if d := digestOf(t, reg.Host+"/hello", "copied"); d != im.Digest {
		t.Errorf("copied index %s, built %s", d, im.Digest)
	}
}

// TestInteropRSAKey signs with an RSA key (PKCS#1 v1.5, as "openssl
// genrsa" keys sign by default) and checks it with "cosign verify".
func TestInteropRSAKey(t *testing.T) {
	reg := registrytest.Start(t)
	cosign := testenv.Tool(t, "cosign")
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := sign.NewSigner(k, verify.AlgRSAPKCS1v15SHA256)
	if err != nil {
		t.Fatal(err)
	}
	der, _ := x509.MarshalPKIXPublicKey(&k.PublicKey)
	pub := filepath.Join(t.TempDir(), "rsa.pub")
	if err := os.WriteFile(pub, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	res := push(t, newClient(t, oci.WithSigner(signer)), testSpec(t, reg.Host+"/hello", "1.0.0", 2))
	cmd := exec.Command(cosign, "verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-http-registry", res.Ref())
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
}

package oci_test

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/internal/registrytest"
	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/sign"
)

// sigLayer is one signature of the signature image, as read back.
type sigLayer struct {
	digest    string
	mediaType string
	payload   []byte
	sig       []byte
}

// readSignatures reads the image at the cosign signature tag of res with
// go-containerregistry alone and checks its envelope: an OCI manifest with
// an OCI config, whose rootfs lists the layers.
func readSignatures(t *testing.T, res *oci.Result) []sigLayer {
	t.Helper()
	ref, err := name.ParseReference(res.Signature)
	if err != nil {
		t.Fatal(err)
	}
	if want := res.Repository + ":" + strings.Replace(res.Digest, ":", "-", 1) + ".sig"; ref.Name() != want {
		t.Fatalf("signature tag %s, want %s", ref.Name(), want)
	}
	img, err := remote.Image(ref, remote.WithAuthFromKeychain(anonymous{}))
	if err != nil {
		t.Fatal(err)
	}
	m, err := img.Manifest()
	if err != nil {
		t.Fatal(err)
	}
	if m.MediaType != "application/vnd.oci.image.manifest.v1+json" || m.Config.MediaType != "application/vnd.oci.image.config.v1+json" {
		t.Errorf("signature image media types %q, config %q; want OCI's, as cosign writes", m.MediaType, m.Config.MediaType)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if len(cf.RootFS.DiffIDs) != len(m.Layers) {
		t.Errorf("config lists %d layers, manifest %d", len(cf.RootFS.DiffIDs), len(m.Layers))
	}
	var out []sigLayer
	for i, d := range m.Layers {
		l, err := img.LayerByDigest(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		rc, err := l.Compressed()
		if err != nil {
			t.Fatal(err)
		}
		payload, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		if sum := sha256.Sum256(payload); d.Digest.Hex != hex.EncodeToString(sum[:]) || cf.RootFS.DiffIDs[i] != d.Digest {
			t.Errorf("layer %d: digest %s, diff ID %s, for a payload hashing to %x (a signature layer is stored uncompressed)", i, d.Digest, cf.RootFS.DiffIDs[i], sum)
		}
		b64, ok := d.Annotations["dev.cosignproject.cosign/signature"]
		if !ok {
			t.Fatalf("layer %d has no dev.cosignproject.cosign/signature annotation: %v", i, d.Annotations)
		}
		sig, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatalf("layer %d: signature annotation: %v", i, err)
		}
		out = append(out, sigLayer{digest: d.Digest.String(), mediaType: string(d.MediaType), payload: payload, sig: sig})
	}
	return out
}

// checkSigLayer checks one signature layer: cosign's simple-signing media
// type, the payload cosign writes for the index, byte for byte, and a
// signature by s over it.
func checkSigLayer(t *testing.T, l sigLayer, res *oci.Result, s *sign.KeySigner) {
	t.Helper()
	if l.mediaType != "application/vnd.dev.cosign.simplesigning.v1+json" {
		t.Errorf("layer media type %q", l.mediaType)
	}
	want := `{"critical":{"identity":{"docker-reference":"` + res.Repository + `"},"image":{"docker-manifest-digest":"` +
		res.Digest + `"},"type":"cosign container image signature"},"optional":null}`
	if string(l.payload) != want {
		t.Errorf("payload\n%s\nwant\n%s", l.payload, want)
	}
	sum := sha256.Sum256(l.payload)
	if !ecdsa.VerifyASN1(s.PublicKey().(*ecdsa.PublicKey), sum[:], l.sig) {
		t.Errorf("signature layer %s is not signed by key %s", l.digest, s.KeyID())
	}
	var p struct {
		Critical struct {
			Type string `json:"type"`
		} `json:"critical"`
	}
	if err := json.Unmarshal(l.payload, &p); err != nil || p.Critical.Type != "cosign container image signature" {
		t.Errorf("payload type %q, %v", p.Critical.Type, err)
	}
}

// TestSignatureImage: the signature Push attaches is the image "cosign
// sign --key" writes: at sha256-<hex>.sig, one uncompressed layer per
// signature with cosign's media type, payload and annotation. A push with a
// second key appends its signature and keeps the first; a push with a key
// that already signed writes nothing.
func TestSignatureImage(t *testing.T) {
	srv := httptest.NewServer(registry.New(registry.Logger(log.New(io.Discard, "", 0))))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	a, _ := testKey(t)
	b, _ := testKey(t)
	spec := testSpec(t, host+"/example/hello", "1.0.0", 1)

	first := push(t, newClient(t, oci.WithSigner(a)), spec)
	if !first.Signed {
		t.Fatal("first push did not sign")
	}
	sigs := readSignatures(t, first)
	if len(sigs) != 1 {
		t.Fatalf("%d signatures after one signed push", len(sigs))
	}
	checkSigLayer(t, sigs[0], first, a)

	second := push(t, newClient(t, oci.WithSigner(b)), spec)
	if !second.Signed || second.Digest != first.Digest || second.Signature != first.Signature {
		t.Fatalf("push with a second key: signed %v, digest %s (first %s), signature %s", second.Signed, second.Digest, first.Digest, second.Signature)
	}
	sigs = readSignatures(t, second)
	if len(sigs) != 2 {
		t.Fatalf("%d signatures after pushes with two keys, want 2", len(sigs))
	}
	if sigs[0].digest != readSignatures(t, first)[0].digest {
		t.Error("the first signature changed")
	}
	checkSigLayer(t, sigs[0], second, a)
	checkSigLayer(t, sigs[1], second, b)

	for _, s := range []*sign.KeySigner{a, b} {
		again := push(t, newClient(t, oci.WithSigner(s)), spec)
		if again.Signed {
			t.Errorf("re-push with key %s signed again", s.KeyID())
		}
	}
	if n := len(readSignatures(t, first)); n != 2 {
		t.Errorf("%d signatures after re-pushes, want 2", n)
	}
}

// TestInteropCosignVerifiesBothKeys: a signature image shared with "cosign
// sign": after a push signed by one key, "cosign sign" with a key it
// generated, and a push signed by a second key, "cosign verify" accepts
// the image with each of the three public keys, and a re-push with the
// first key finds its signature among cosign's and writes nothing.
func TestInteropCosignVerifiesBothKeys(t *testing.T) {
	reg := registrytest.Start(t)
	cosign := testenv.Tool(t, "cosign")
	a, pubA := testKey(t)
	b, pubB := testKey(t)
	keys := t.TempDir()
	env := append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir(), "COSIGN_PASSWORD=pw")
	run := func(args ...string) {
		t.Helper()
		cmd := exec.Command(cosign, args...)
		cmd.Dir, cmd.Env = keys, env
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("cosign %s: %v\n%s", args[0], err, out)
		}
	}
	run("generate-key-pair")
	spec := testSpec(t, reg.Host+"/example/hello", "1.0.0", 1)
	first := push(t, newClient(t, oci.WithSigner(a)), spec)
	run("sign", "--key", "cosign.key", "--tlog-upload=false", "--yes", "--allow-insecure-registry", "--allow-http-registry", first.Ref())
	if n := len(readSignatures(t, first)); n != 2 {
		t.Fatalf("%d signatures after cosign sign, want 2 (cosign appends to the same image)", n)
	}
	res := push(t, newClient(t, oci.WithSigner(b)), spec)
	if !res.Signed {
		t.Fatal("push with a second key did not sign")
	}
	if sigs := readSignatures(t, res); len(sigs) != 3 {
		t.Fatalf("%d signatures after the second key's push, want 3", len(sigs))
	} else {
		checkSigLayer(t, sigs[0], res, a)
		checkSigLayer(t, sigs[2], res, b)
	}
	if again := push(t, newClient(t, oci.WithSigner(a)), spec); again.Signed {
		t.Error("re-push with the first key signed again")
	}
	for _, pub := range []string{pubA, pubB, filepath.Join(keys, "cosign.pub")} {
		run("verify", "--key", pub, "--insecure-ignore-tlog=true", "--allow-insecure-registry", "--allow-http-registry", res.Ref())
	}
}

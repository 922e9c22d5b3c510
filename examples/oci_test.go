package examples_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/relkit/relkit/internal/registrytest"
	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

// TestReleaseWithImage runs the release example with --image against a real
// docker-registry: a dry run pushes nothing; the release pushes a signed
// index with both linux platforms whose digest is the one manifest.json
// records, as skopeo and cosign see it.
func TestReleaseWithImage(t *testing.T) {
	reg := registrytest.Start(t)
	skopeo := testenv.Tool(t, "skopeo")
	kdir, env := keys(t)
	env = append(env, "DOCKER_CONFIG="+t.TempDir())
	src, pub := project(t), t.TempDir()
	repo := reg.Host + "/hello"
	args := []string{"--project", "hello", "--version", "1.0.0", "--key", filepath.Join(kdir, "cosign.key"),
		"--targets", "linux/amd64,linux/arm64", "--to", "dir:" + pub, "--dist", filepath.Join(src, "dist"), "--image", repo}

	out := run(t, src, env, true, "release", append(args, "--dry-run")...)
	if !strings.Contains(out, "would push "+repo+"@sha256:") {
		t.Errorf("dry run printed no image:\n%s", out)
	}
	inspect := func(ref string) ([]byte, error) {
		cmd := exec.Command(skopeo, "inspect", "--raw", "--tls-verify=false", "docker://"+ref)
		cmd.Env = append(os.Environ(), env...)
		return cmd.Output()
	}
	// The registry answers, and has no such image.
	if raw, err := inspect(repo + ":1.0.0"); err == nil || !strings.Contains(stderrOf(err), "unknown") {
		t.Fatalf("after the dry run, skopeo inspect: %v %s\n%s", err, stderrOf(err), raw)
	}

	run(t, src, env, true, "release", args...)
	m, err := manifest.LoadFile(filepath.Join(pub, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	rel, ok := m.Release("1.0.0")
	if !ok {
		t.Fatal("published manifest lacks 1.0.0")
	}
	index, ok := rel.Artifact("hello-1.0.0-image")
	if !ok || index.Kind != manifest.KindImage {
		t.Fatalf("published manifest has no image record: %+v", rel.Artifacts)
	}
	for _, tag := range []string{"1.0.0", "latest"} {
		raw, err := inspect(repo + ":" + tag)
		if err != nil {
			t.Fatalf("skopeo inspect %s: %v %s", tag, err, stderrOf(err))
		}
		sum := sha256.Sum256(raw)
		if got := hex.EncodeToString(sum[:]); got != index.SHA256 {
			t.Errorf("%s:%s is sha256:%s, manifest.json records sha256:%s", repo, tag, got, index.SHA256)
		}
		var idx struct {
			Manifests []struct {
				Platform struct{ OS, Architecture string }
			}
		}
		if err := json.Unmarshal(raw, &idx); err != nil {
			t.Fatalf("skopeo output: %v\n%s", err, raw)
		}
		var plats []string
		for _, d := range idx.Manifests {
			plats = append(plats, d.Platform.OS+"/"+d.Platform.Architecture)
		}
		if !slices.Equal(plats, []string{"linux/amd64", "linux/arm64"}) {
			t.Errorf("%s:%s platforms %v", repo, tag, plats)
		}
	}

	// The linux/arm64 binary, copied out of the image by skopeo, is the one
	// in the published archive.
	dst := t.TempDir()
	cp := exec.Command(skopeo, "copy", "--src-tls-verify=false", "--override-os", "linux", "--override-arch", "arm64",
		"docker://"+repo+":1.0.0", "dir:"+dst)
	cp.Env = append(os.Environ(), env...)
	if out, err := cp.CombinedOutput(); err != nil {
		t.Fatalf("skopeo copy: %v\n%s", err, out)
	}
	var im struct{ Layers []struct{ Digest string } }
	if data, err := os.ReadFile(filepath.Join(dst, "manifest.json")); err != nil || json.Unmarshal(data, &im) != nil || len(im.Layers) != 1 {
		t.Fatalf("copied image manifest: %v, %+v", err, im)
	}
	fromImage := fileInTarGz(t, filepath.Join(dst, strings.TrimPrefix(im.Layers[0].Digest, "sha256:")), "hello")
	fromArchive := fileInTarGz(t, filepath.Join(pub, "1.0.0", "hello-1.0.0-linux-arm64.tar.gz"), "hello")
	if len(fromImage) == 0 || !bytes.Equal(fromImage, fromArchive) {
		t.Errorf("linux/arm64 binary in the image (%d bytes) is not the released one (%d bytes)", len(fromImage), len(fromArchive))
	}

	// The index is signed with the release key.
	cosign := testenv.Tool(t, "cosign")
	cmd := exec.Command(cosign, "verify", "--key", filepath.Join(kdir, "cosign.pub"), "--insecure-ignore-tlog=true",
		"--allow-insecure-registry", "--allow-http-registry", repo+"@sha256:"+index.SHA256)
	cmd.Env = append(os.Environ(), "HOME="+t.TempDir(), "TUF_ROOT="+t.TempDir(), "DOCKER_CONFIG="+t.TempDir())
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cosign verify: %v\n%s", err, out)
	}
}

// fileInTarGz returns the content of the one regular file whose base name
// is name in a .tar.gz file.
func fileInTarGz(t *testing.T, file, name string) []byte {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	tr := tar.NewReader(zr)
	var found []byte
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if h.Typeflag != tar.TypeReg || path.Base(h.Name) != name {
			continue
		}
		if found != nil {
			t.Fatalf("%s holds %s twice", file, name)
		}
		if found, err = io.ReadAll(tr); err != nil {
			t.Fatal(err)
		}
	}
	if found == nil {
		t.Fatalf("%s holds no %s", file, name)
	}
	return found
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

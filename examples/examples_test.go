// Package examples_test runs every example program end to end against
// local servers: a directory served on 127.0.0.1, a real S3-compatible
// server (versitygw), and the GitHub API test server.
package examples_test

import (
	"context"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/relkit/relkit/internal/s3test"
	"github.com/relkit/relkit/internal/testenv"
	"github.com/relkit/relkit/manifest"
)

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// bin returns the path of an example binary, building all of them once.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "relkit-examples-")
		if buildErr != nil {
			return
		}
		for _, e := range []string{"quickstart", "release", "selfupdate", "verify", "keys"} {
			out, err := exec.Command("go", "build", "-o", filepath.Join(binDir, e), "./"+e).CombinedOutput()
			if err != nil {
				buildErr = &buildError{e, string(out), err}
				return
			}
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

type buildError struct {
	name, out string
	err       error
}

func (e *buildError) Error() string {
	return "go build " + e.name + ": " + e.err.Error() + "\n" + e.out
}

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// run runs an example binary in dir with extra environment, failing the
// test when its exit status is not what want says.
func run(t *testing.T, dir string, env []string, wantOK bool, name string, args ...string) string {
	t.Helper()
	cmd := exec.Command(bin(t, name), args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	if (err == nil) != wantOK {
		t.Fatalf("%s %s: err=%v, want ok=%v\n%s", name, strings.Join(args, " "), err, wantOK, out)
	}
	return string(out)
}

func TestQuickstart(t *testing.T) {
	keep := t.TempDir()
	out := run(t, "..", nil, true, "quickstart", "--keep", keep)
	for _, want := range []string{"hello 1.0.0", "update available: 1.0.0 -> 1.1.0", "updated hello from 1.0.0 to 1.1.0", "hello 1.1.0", "refusing to downgrade"} {
		if !strings.Contains(out, want) {
			t.Errorf("quickstart output lacks %q:\n%s", want, out)
		}
	}
	exe := filepath.Join(keep, "bin", "hello")
	if out, err := exec.Command(exe, "version").Output(); err != nil || strings.TrimSpace(string(out)) != "hello 1.1.0" {
		t.Errorf("installed demo reports %q, %v", out, err)
	}
	// The release root the tour publishes is a v2 root: the demo's update
	// check read index.json.
	if _, err := os.Stat(filepath.Join(keep, "site", "index.json")); err != nil {
		t.Errorf("the quickstart's release root has no index.json: %v", err)
	}
}

// project makes a throwaway git repository holding a tiny Go program.
func project(t *testing.T) string {
	t.Helper()
	testenv.Tool(t, "git")
	dir := t.TempDir()
	files := map[string]string{
		"go.mod":  "module example.com/hello\n\ngo 1.26\n",
		"main.go": "package main\n\nimport \"fmt\"\n\nvar version = \"dev\"\n\nfunc main() { fmt.Println(\"hello\", version) }\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{{"init", "-q"}, {"add", "."}, {"-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "hello"}} {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	return dir
}

// keys generates a cosign key pair with the keys example.
func keys(t *testing.T) (dir string, env []string) {
	dir = t.TempDir()
	env = []string{"COSIGN_PASSWORD=example"}
	out := run(t, dir, env, true, "keys", "generate", "--out", dir)
	if !strings.Contains(out, "ECDSA P-256 public key, key id ") {
		t.Fatalf("keys generate printed:\n%s", out)
	}
	return dir, env
}

func host() string { return runtime.GOOS + "/" + runtime.GOARCH }

func TestReleaseToDirectoryThenVerifyAndRotate(t *testing.T) {
	kdir, env := keys(t)
	src, pub := project(t), t.TempDir()
	key := filepath.Join(kdir, "cosign.key")
	run(t, src, env, true, "release", "--project", "hello", "--version", "1.0.0", "--key", key, "--targets", host(), "--to", "dir:"+pub, "--dist", filepath.Join(src, "dist"))
	run(t, src, env, true, "release", "--project", "hello", "--version", "1.1.0", "--key", key, "--targets", host(), "--to", "dir:"+pub, "--dist", filepath.Join(src, "dist"))
	// A published version is never reused.
	run(t, src, env, false, "release", "--project", "hello", "--version", "1.1.0", "--key", key, "--targets", host(), "--to", "dir:"+pub, "--dist", filepath.Join(src, "dist"))
	m, err := manifest.LoadFile(filepath.Join(pub, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if m.Aliases["latest"] != "1.1.0" || len(m.Releases) != 2 {
		t.Fatalf("published manifest: latest=%s, %d releases", m.Aliases["latest"], len(m.Releases))
	}

	// Running the channel: a nightly, a refresh, a yank, a prune, each a
	// signed change of the published manifest that keeps the rest.
	run(t, src, env, true, "release", "--project", "hello", "--version", "1.2.0-nightly.1", "--channel", "nightly", "--key", key, "--targets", host(), "--to", "dir:"+pub, "--dist", filepath.Join(src, "dist"))
	run(t, src, env, true, "release", "--project", "hello", "--version", "1.2.0-nightly.2", "--channel", "nightly", "--key", key, "--targets", host(), "--to", "dir:"+pub, "--dist", filepath.Join(src, "dist"))
	if out := run(t, src, env, true, "release", "refresh", "--project", "hello", "--key", key, "--to", "dir:"+pub); !strings.Contains(out, "refresh: manifest serial 5") {
		t.Errorf("refresh printed:\n%s", out)
	}
	run(t, src, env, false, "release", "yank", "--project", "hello", "--key", key, "--to", "dir:"+pub, "1.0.0") // no reason
	run(t, src, env, true, "release", "yank", "--project", "hello", "--key", key, "--to", "dir:"+pub, "--reason", "corrupts the config", "1.0.0")
	if out := run(t, src, env, true, "release", "prune", "--project", "hello", "--key", key, "--to", "dir:"+pub, "--channel", "nightly", "--keep", "1"); !strings.Contains(out, "removed [1.2.0-nightly.1]") {
		t.Errorf("prune printed:\n%s", out)
	}
	if m, err = manifest.LoadFile(filepath.Join(pub, "manifest.json")); err != nil {
		t.Fatal(err)
	}
	if r, _ := m.Release("1.0.0"); m.Serial != 7 || len(m.Releases) != 3 || r.Status != manifest.StatusYanked || m.Channels["nightly"] != "1.2.0-nightly.2" {
		t.Fatalf("after refresh, yank and prune: serial %d, %d releases, channels %v", m.Serial, len(m.Releases), m.Channels)
	}

	// The verify example accepts the release from the directory and over HTTP.
	pubKey := filepath.Join(kdir, "cosign.pub")
	out := run(t, "", nil, true, "verify", "--key", pubKey, pub)
	if !strings.Contains(out, "1.1.0") {
		t.Errorf("verify report:\n%s", out)
	}
	url := serve(t, pub)
	out = run(t, "", nil, true, "verify", "--key", pubKey, "--version", "1.0.0", "--json", url)
	if !strings.Contains(out, `"ok": true`) {
		t.Errorf("verify --json report:\n%s", out)
	}
	// A tampered artifact makes it fail, with the report saying what failed.
	latest, _ := m.Release(m.Aliases["latest"])
	name := latest.Artifacts[0].Path
	if err := os.WriteFile(filepath.Join(pub, name), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	out = run(t, "", nil, false, "verify", "--key", pubKey, url)
	if !strings.Contains(strings.ToLower(out), "fail") {
		t.Errorf("verify of a tampered release printed:\n%s", out)
	}
	// Another key is refused.
	other, _ := keys(t)
	run(t, "", nil, false, "verify", "--key", filepath.Join(other, "cosign.pub"), pub)

	// keys rotate: the root key certifies a new signing key in keys.json.
	run(t, kdir, env, true, "keys", "generate", "--type", "ed25519", "--name", "signing", "--out", kdir)
	out = run(t, kdir, env, true, "keys", "rotate", "--root", key, "--dir", pub, "--add", filepath.Join(kdir, "signing.pub"))
	if !strings.Contains(out, "serial 1, 1 key(s)") {
		t.Errorf("keys rotate printed:\n%s", out)
	}
	out = run(t, kdir, env, true, "keys", "rotate", "--root", key, "--dir", pub, "--revoke", strings.Fields(strings.SplitN(out, "certified ", 2)[1])[0], "--reason", "test")
	if !strings.Contains(out, "serial 2, 0 key(s), 1 revoked") {
		t.Errorf("keys rotate --revoke printed:\n%s", out)
	}
}

func serve(t *testing.T, dir string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.FileServer(http.Dir(dir))}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

func TestReleaseToS3(t *testing.T) {
	srv := s3test.Start(t)
	kdir, env := keys(t)
	src := project(t)
	env = append(env, "AWS_ACCESS_KEY_ID="+srv.AccessKey, "AWS_SECRET_ACCESS_KEY="+srv.SecretKey, "AWS_REGION="+s3test.Region,
		"AWS_CONFIG_FILE=/dev/null", "AWS_SHARED_CREDENTIALS_FILE=/dev/null", "AWS_EC2_METADATA_DISABLED=true")
	args := []string{"--project", "hello", "--version", "2.0.0", "--key", filepath.Join(kdir, "cosign.key"), "--targets", host(),
		"--to", "s3://" + srv.Bucket + "/hello", "--s3-endpoint", srv.Endpoint, "--dist", filepath.Join(src, "dist")}
	out := run(t, src, env, true, "release", append(args, "--dry-run")...)
	if !strings.Contains(out, "manifest.json") {
		t.Errorf("dry run printed no plan:\n%s", out)
	}
	if keys := listKeys(t, srv); len(keys) != 0 {
		t.Fatalf("dry run uploaded %v", keys)
	}
	run(t, src, env, true, "release", args...)
	keys := listKeys(t, srv)
	for _, want := range []string{"hello/manifest.json", "hello/manifest.json.sig", "hello/2.0.0/SHA256SUMS", "hello/2.0.0/SHA256SUMS.sig", "hello/2.0.0/sbom.spdx.json"} {
		if !keys[want] {
			t.Errorf("bucket lacks %s (has %v)", want, keys)
		}
	}
}

func listKeys(t *testing.T, srv *s3test.Server) map[string]bool {
	t.Helper()
	out, err := srv.Client().ListObjectsV2(context.Background(), &awss3.ListObjectsV2Input{Bucket: aws.String(srv.Bucket)})
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]bool{}
	for _, o := range out.Contents {
		keys[aws.ToString(o.Key)] = true
	}
	return keys
}

package install

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
)

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInstallUpgradeCheckEndToEnd(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	v1 := f.release("1.0.0")
	srv := f.serve()
	dir := t.TempDir()
	var progressCalls int
	var lastDone, lastTotal int64
	cfg := f.config(srv.URL+"/", dir)
	cfg.Progress = func(done, total int64) { progressCalls++; lastDone, lastTotal = done, total }
	in := f.installer(cfg)

	u, err := in.Check(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Available || u.Installed != "" || u.Latest.Release.Version != "1.0.0" {
		t.Fatalf("check before install: %+v", u)
	}
	if got := srv.requests(".tar.gz"); len(got) != 0 {
		t.Fatalf("Check downloaded an artifact: %v", got)
	}

	res, err := in.Install(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !res.Changed || res.Version != "1.0.0" || res.Previous != "" {
		t.Fatalf("result %+v", res)
	}
	bin := filepath.Join(dir, "hello")
	if got := readFile(t, bin); got != string(v1["hello"]) {
		t.Fatalf("installed %q", got)
	}
	if fi, _ := os.Stat(bin); fi.Mode().Perm() != 0o755 {
		t.Fatalf("new binary mode %v, want 0755", fi.Mode())
	}
	if progressCalls == 0 || lastDone != res.Artifact.Size || lastTotal != res.Artifact.Size {
		t.Fatalf("progress: %d calls, last %d/%d, artifact %d", progressCalls, lastDone, lastTotal, res.Artifact.Size)
	}
	rec, err := ReadReceipt(dir, "hello")
	if err != nil {
		t.Fatal(err)
	}
	if rec.Version != "1.0.0" || rec.SHA256 != res.Artifact.SHA256 || rec.Binaries[0].Size != int64(len(v1["hello"])) || !strings.HasPrefix(rec.Source, srv.URL) {
		t.Fatalf("receipt %+v", rec)
	}

	// Up to date: Check says so, Install changes nothing.
	u, err = in.Check(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if u.Available || u.Installed != "1.0.0" || u.InstalledFrom != "receipt" {
		t.Fatalf("check when up to date: %+v", u)
	}
	res, err = in.Install(ctx, manifest.Query{})
	if err != nil || res.Changed {
		t.Fatalf("reinstall of the same version: %+v, %v", res, err)
	}

	// A new release: Check reports it without downloading it.
	os.Chmod(bin, 0o750)
	v2 := f.release("1.1.0")
	before := len(srv.requests(".tar.gz"))
	u, err = in.Check(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if !u.Available || u.Installed != "1.0.0" || u.Latest.Release.Version != "1.1.0" || !strings.Contains(u.Reason, "1.0.0 -> 1.1.0") {
		t.Fatalf("check with an update: %+v", u)
	}
	if len(srv.requests(".tar.gz")) != before {
		t.Fatal("Check downloaded an artifact")
	}
	res, err = in.Install(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.1.0" || res.Previous != "1.0.0" || readFile(t, bin) != string(v2["hello"]) {
		t.Fatalf("upgrade: %+v", res)
	}
	if fi, _ := os.Stat(bin); fi.Mode().Perm() != 0o750 {
		t.Fatalf("upgrade did not keep the mode: %v", fi.Mode())
	}
	if got := readFile(t, backupFileOf(t, dir, "hello", "hello")); got != string(v1["hello"]) {
		t.Fatalf("backup holds %q", got)
	}
	if l := leftovers(t, dir); len(l) != 0 {
		t.Fatalf("leftover files: %v", l)
	}

	// A failed upgrade (health check) keeps 1.1.0 and the 1.0.0 backup.
	f.publish("1.2.0", f.artifactName("1.2.0"), tarGz(t, []entry{{name: "hello", body: []byte("#!/bin/sh\nexit 1\n")}}))
	if _, err := in.Install(ctx, manifest.Query{}); !errors.Is(err, ErrHealthCheck) {
		t.Fatalf("broken 1.2.0: %v", err)
	}
	if readFile(t, bin) != string(v2["hello"]) {
		t.Fatal("failed upgrade left 1.2.0 in place")
	}

	// Rollback restores 1.0.0, a second rollback goes back to 1.1.0.
	res, err = in.Rollback(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.0.0" || readFile(t, bin) != string(v1["hello"]) {
		t.Fatalf("rollback: %+v, binary %q", res, readFile(t, bin))
	}
	if rec, _ := ReadReceipt(dir, "hello"); rec == nil || rec.Version != "1.0.0" {
		t.Fatalf("receipt after rollback: %+v", rec)
	}
	if _, err := in.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	if readFile(t, bin) != string(v2["hello"]) {
		t.Fatal("second rollback did not return to 1.1.0")
	}

	// A binary replaced by other means is not what the receipt says.
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho hello 0.0.1-custom\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	u, err = in.Check(ctx, manifest.Query{})
	if err != nil || u.Installed != "" || !u.Available || !strings.Contains(strings.Join(u.Warnings, ";"), "changed since") {
		t.Fatalf("check after a manual replacement: %+v %v", u, err)
	}
}

func TestDowngradeRefusedUnlessAllowed(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	v1 := f.release("1.9.0")
	v2 := f.release("1.10.0") // string compare would call this older
	srv := f.serve()
	dir := t.TempDir()
	in := f.installer(f.config(srv.URL, dir))
	if _, err := in.Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "hello")
	if readFile(t, bin) != string(v2["hello"]) {
		t.Fatal("stable is not 1.10.0")
	}
	_, err := in.Install(ctx, manifest.Query{Version: "1.9.0"})
	var de *DowngradeError
	if !errors.As(err, &de) || !errors.Is(err, ErrDowngrade) || de.Installed != "1.10.0" || de.Candidate != "1.9.0" {
		t.Fatalf("want DowngradeError, got %v", err)
	}
	if readFile(t, bin) != string(v2["hello"]) {
		t.Fatal("refused downgrade touched the binary")
	}
	u, err := in.Check(ctx, manifest.Query{Version: "1.9.0"})
	if err != nil || !u.Downgrade || u.Available {
		t.Fatalf("check of a downgrade: %+v %v", u, err)
	}

	res, err := in.Install(ctx, manifest.Query{Version: "v1.9.0"}, AllowDowngrade())
	if err != nil {
		t.Fatal(err)
	}
	if res.Version != "1.9.0" || readFile(t, bin) != string(v1["hello"]) {
		t.Fatalf("allowed downgrade: %+v", res)
	}
}

func TestHealthCheckFailureRestoresTheSet(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "banger")
	names := []string{"banger", "bangerd", "banger-vsock-agent"}
	f.release("0.1.2", names...)
	// 0.1.3's banger reports the wrong version.
	var es []entry
	for _, n := range names {
		body := script(n, "0.1.3")
		if n == "banger" {
			body = script(n, "0.1.2")
		}
		es = append(es, entry{name: n, body: body})
	}
	f.publish("0.1.3", f.artifactName("0.1.3"), tarGz(t, es))
	srv := f.serve()
	dir := t.TempDir()
	cfg := f.config(srv.URL, dir)
	cfg.Binaries = names
	in := f.installer(cfg)
	if _, err := in.Install(ctx, manifest.Query{Version: "0.1.2"}); err != nil {
		t.Fatal(err)
	}
	before := snapshot(t, dir)
	_, err := in.Install(ctx, manifest.Query{Version: "0.1.3"})
	var he *HealthCheckError
	if !errors.As(err, &he) || !he.RolledBack || !errors.Is(err, ErrHealthCheck) || !strings.Contains(he.Output, "0.1.2") {
		t.Fatalf("want a rolled-back HealthCheckError, got %v", err)
	}
	if after := snapshot(t, dir); !equalMaps(before, after) {
		t.Fatalf("set not restored:\nbefore %v\nafter  %v", before, after)
	}
	if rec, _ := ReadReceipt(dir, "banger"); rec == nil || rec.Version != "0.1.2" {
		t.Fatalf("receipt after failed health check: %+v", rec)
	}
	if _, err := os.Stat(journalPath(dir, "banger")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatal("journal left behind")
	}

	// A caller's health check replaces the default.
	cfg.Health.Check = func(ctx context.Context, bin, version string) error { return errors.New("service did not come back") }
	_, err = f.installer(cfg).Install(ctx, manifest.Query{Version: "0.1.3"})
	if !errors.As(err, &he) || !he.RolledBack {
		t.Fatalf("caller health check: %v", err)
	}
	if after := snapshot(t, dir); !equalMaps(before, after) {
		t.Fatal("set not restored after the caller's health check failed")
	}
}

func equalMaps(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if bv, ok := b[k]; !ok || bv != v {
			return false
		}
	}
	return true
}

func TestResumeAfterCutConnection(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	// A big binary (padded script) so the cut lands mid-body.
	body := append(script("hello", "2.0.0"), []byte("# "+randomHex(3<<20)+"\n")...)
	f.publish("2.0.0", f.artifactName("2.0.0"), tarGz(t, []entry{{name: "hello", body: body}}))
	srv := f.serve()
	cut := true
	archive := filepath.Join(f.root, "2.0.0", f.artifactName("2.0.0"))
	size := fileSize(t, archive)
	srv.setFault(func(w http.ResponseWriter, r *http.Request) bool {
		if !strings.HasSuffix(r.URL.Path, ".tar.gz") || !cut {
			return false
		}
		cut = false
		// Promise the whole file, send half, and drop the connection.
		data, _ := os.ReadFile(archive)
		w.Header().Set("Content-Length", itoa(size))
		w.Header().Set("Accept-Ranges", "bytes")
		fi, _ := os.Stat(archive)
		w.Header().Set("Last-Modified", fi.ModTime().UTC().Format(http.TimeFormat))
		w.WriteHeader(200)
		w.Write(data[:size/2])
		w.(http.Flusher).Flush()
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
		return true
	})
	dir := t.TempDir()
	in := f.installer(f.config(srv.URL, dir))
	res, err := in.Install(ctx, manifest.Query{})
	if err != nil {
		t.Fatal(err)
	}
	if readFile(t, filepath.Join(dir, "hello")) != string(body) || res.Version != "2.0.0" {
		t.Fatal("wrong bytes after resume")
	}
	reqs := srv.requests(".tar.gz")
	if len(reqs) != 2 || !strings.Contains(reqs[1], "bytes=") || strings.HasSuffix(reqs[1], "bytes=0-") {
		t.Fatalf("want one cut request and one ranged resume, got %v", reqs)
	}
}

func fileSize(t testing.TB, p string) int64 {
	t.Helper()
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

func itoa(n int64) string { return fmtInt(n) }

func TestNoTrustIsAnError(t *testing.T) {
	_, err := New(Config{Project: "hello", Source: "https://example.invalid/", Dir: t.TempDir()})
	if !errors.Is(err, ErrNoTrust) {
		t.Fatalf("want ErrNoTrust, got %v", err)
	}
	_, err = New(Config{Project: "hello", Source: "https://example.invalid/", Dir: t.TempDir(), Trust: &verify.Trust{Keys: &verify.KeyRing{}}})
	if !errors.Is(err, ErrNoTrust) {
		t.Fatalf("empty ring: want ErrNoTrust, got %v", err)
	}
	var ce *ConfigError
	_, err = New(Config{Binaries: []string{"../evil", "ok", "ok"}})
	if !errors.As(err, &ce) || len(ce.Problems) < 5 {
		t.Fatalf("want every problem listed, got %v", err)
	}
}

func TestYankedSkippedDeprecatedWarned(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	v1 := f.release("1.0.0")
	f.release("1.1.0")
	if _, err := f.m.Yank("1.1.0", "eats config files"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.m.Deprecate("1.0.0", "use 1.2"); err != nil {
		t.Fatal(err)
	}
	f.release("0.9.0")
	f.sign()
	srv := f.serve()
	dir := t.TempDir()
	in := f.installer(f.config(srv.URL, dir))
	_, err := in.Install(ctx, manifest.Query{Version: "1.1.0"})
	var nm *manifest.NoMatchError
	if !errors.As(err, &nm) || !strings.Contains(err.Error(), "yanked") {
		t.Fatalf("yanked: %v", err)
	}
	u, err := in.Check(ctx, manifest.Query{})
	if err != nil || u.Latest.Release.Version != "0.9.0" {
		t.Fatalf("stable should skip yanked and deprecated: %+v %v", u, err)
	}
	res, err := in.Install(ctx, manifest.Query{Version: "1.0.0"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) == 0 || !strings.Contains(strings.Join(res.Warnings, ";"), "deprecated") {
		t.Fatalf("no deprecation warning: %+v", res)
	}
	if readFile(t, filepath.Join(dir, "hello")) != string(v1["hello"]) {
		t.Fatal("deprecated release not installed")
	}
}

func TestConstraintAndAlias(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.2.0")
	f.release("1.3.0")
	f.release("2.0.0")
	srv := f.serve()
	in := f.installer(f.config(srv.URL, t.TempDir()))
	for _, tc := range []struct {
		q    manifest.Query
		want string
	}{
		{manifest.Query{Constraint: ">=1.2, <2"}, "1.3.0"},
		{manifest.Query{Alias: "1.2"}, "1.2.0"},
		{manifest.Query{Alias: "latest"}, "2.0.0"},
		{manifest.Query{Channel: "stable"}, "2.0.0"},
	} {
		q, want := tc.q, tc.want
		u, err := in.Check(ctx, q)
		if err != nil || u.Latest.Release.Version != want {
			t.Errorf("%v: got %+v %v, want %s", q, u, err, want)
		}
	}
}

func TestLockedInstallRefused(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	dir := t.TempDir()
	in := f.installer(f.config(f.root, dir))
	unlock, err := acquireLock(context.Background(), lockPath(dir, "hello"), 0, f.now.Local, nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = in.Install(context.Background(), manifest.Query{})
	var le *LockedError
	if !errors.As(err, &le) || !errors.Is(err, ErrLocked) || !strings.Contains(le.Holder, "pid") {
		t.Fatalf("want LockedError, got %v", err)
	}
	unlock()
	if _, err := in.Install(context.Background(), manifest.Query{}); err != nil {
		t.Fatalf("after unlock: %v", err)
	}
}

func TestNotWritableBeforeDownload(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	// A regular file as the directory fails for every user (root too).
	notDir := filepath.Join(t.TempDir(), "file")
	os.WriteFile(notDir, nil, 0o644)
	for _, dir := range []string{notDir, filepath.Join(t.TempDir(), "missing")} {
		_, err := f.installer(f.config(srv.URL, dir)).Install(context.Background(), manifest.Query{})
		var nw *NotWritableError
		// A missing directory says to create it (issue 16); another
		// problem suggests the permission to write there.
		hint := "sudo"
		if strings.HasSuffix(dir, "missing") {
			hint = "mkdir -p"
		}
		if !errors.As(err, &nw) || !errors.Is(err, ErrNotWritable) || nw.Dir != dir || !strings.Contains(err.Error(), hint) {
			t.Fatalf("%s: want NotWritableError naming it, got %v", dir, err)
		}
	}
	if os.Geteuid() != 0 {
		ro := t.TempDir()
		os.Chmod(ro, 0o555)
		defer os.Chmod(ro, 0o755)
		_, err := f.installer(f.config(srv.URL, ro)).Install(context.Background(), manifest.Query{})
		if !errors.Is(err, ErrNotWritable) || !errors.Is(err, fs.ErrPermission) {
			t.Fatalf("read-only dir: %v", err)
		}
	}
	if got := srv.requests("/"); len(got) != 0 {
		t.Fatalf("requests made before the writability check failed: %v", got)
	}
}

func TestLocalSources(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	v1 := f.release("1.0.0")
	bare := script("hello", "1.1.0")
	bareName := "hello-1.1.0-" + f.plat.OS + "-" + f.plat.Arch
	f.publish("1.1.0", bareName, bare)

	t.Run("directory", func(t *testing.T) {
		dir := t.TempDir()
		res, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.0.0"})
		if err != nil || res.Version != "1.0.0" || readFile(t, filepath.Join(dir, "hello")) != string(v1["hello"]) {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("manifest path", func(t *testing.T) {
		dir := t.TempDir()
		res, err := f.installer(f.config(filepath.Join(f.root, "manifest.json"), dir)).Install(ctx, manifest.Query{})
		if err != nil || res.Version != "1.1.0" || readFile(t, filepath.Join(dir, "hello")) != string(bare) {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("archive", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(f.root, "1.0.0", f.artifactName("1.0.0"))
		res, err := f.installer(f.config(src, dir)).Install(ctx, manifest.Query{})
		if err != nil || res.Version != "1.0.0" || readFile(t, filepath.Join(dir, "hello")) != string(v1["hello"]) {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("bare binary", func(t *testing.T) {
		dir := t.TempDir()
		src := filepath.Join(f.root, "1.1.0", bareName)
		res, err := f.installer(f.config(src, dir)).Install(ctx, manifest.Query{})
		if err != nil || res.Version != "1.1.0" || readFile(t, filepath.Join(dir, "hello")) != string(bare) {
			t.Fatalf("%+v %v", res, err)
		}
	})
	t.Run("archive without signed sums", func(t *testing.T) {
		lone := filepath.Join(t.TempDir(), f.artifactName("1.0.0"))
		os.WriteFile(lone, []byte("x"), 0o644)
		_, err := f.installer(f.config(lone, t.TempDir())).Install(ctx, manifest.Query{})
		if err == nil || !strings.Contains(err.Error(), "SHA256SUMS") {
			t.Fatalf("want a refusal naming SHA256SUMS, got %v", err)
		}
	})
}

func TestConfirm(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	srv := f.serve()
	dir := t.TempDir()
	cfg := f.config(srv.URL, dir)
	var asked *Update
	cfg.Confirm = func(ctx context.Context, u *Update) (bool, error) { asked = u; return false, nil }
	_, err := f.installer(cfg).Install(ctx, manifest.Query{})
	if !errors.Is(err, ErrDeclined) || asked == nil || asked.Latest.Release.Version != "1.0.0" || !asked.Available {
		t.Fatalf("declined: %v, asked %+v", err, asked)
	}
	if got := srv.requests(".tar.gz"); len(got) != 0 {
		t.Fatalf("downloaded before confirmation: %v", got)
	}
	if _, err := os.Stat(filepath.Join(dir, "hello")); err == nil {
		t.Fatal("installed although declined")
	}
	cfg.Confirm = func(ctx context.Context, u *Update) (bool, error) { return true, nil }
	if _, err := f.installer(cfg).Install(ctx, manifest.Query{}); err != nil {
		t.Fatal(err)
	}
}

func TestDefaultClientUsesEnvironmentProxy(t *testing.T) {
	tr, ok := defaultClient().Transport.(*http.Transport)
	if !ok || tr.Proxy == nil || tr.ResponseHeaderTimeout == 0 {
		t.Fatalf("default transport %+v", tr)
	}
	// http.ProxyFromEnvironment reads the environment once per process, so
	// check that the default transport uses that very function.
	if reflect.ValueOf(tr.Proxy).Pointer() != reflect.ValueOf(http.ProxyFromEnvironment).Pointer() {
		t.Fatal("default transport does not take proxies from the environment")
	}
}

func TestCheckDoesNotCreateTheDirectory(t *testing.T) {
	f := newFixture(t, "hello")
	f.release("1.0.0")
	dir := filepath.Join(t.TempDir(), "not", "yet")
	u, err := f.installer(f.config(f.root, dir)).Check(context.Background(), manifest.Query{})
	if err != nil || !u.Available {
		t.Fatalf("%+v %v", u, err)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Fatal("Check created the install directory")
	}
}

//go:build attack12

package attack12

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/internal/s3test"
	s3store "github.com/relkit/relkit/publish/s3"
)

// TestENOSPCS3: versitygw's posix backend on a small tmpfs, filled to
// every level in 4 KiB steps; the publish goes through S3.
func TestENOSPCS3(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root")
	}
	bin, err := s3test.LookPath()
	if err != nil {
		t.Skip(err)
	}
	ctx := context.Background()
	mnt := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", mnt).CombinedOutput(); err != nil {
		t.Skipf("mount: %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", mnt).Run() })
	os.MkdirAll(filepath.Join(mnt, "gw"), 0o755)
	lctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	srv, err := s3test.Launch(lctx, s3test.Config{Binary: bin, Dir: filepath.Join(mnt, "gw")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	st, err := s3store.New(ctx, srv.Bucket, s3store.WithConfig(srv.Config()), s3store.WithEndpoint(srv.Endpoint),
		s3store.WithPathStyle(), s3store.WithPrefix("p"), s3store.WithTimeout(10*time.Second, 64<<10))
	if err != nil {
		t.Fatal(err)
	}
	s := newSigner(t)
	pub, _ := check.ParsePub(s.PublicKeyPEM())
	read := check.DirReader(srv.ObjectPath(srv.Bucket, "p"))
	base, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
	if err := harness.Publish(ctx, st, base, s); err != nil {
		t.Fatal(err)
	}
	published := []string{"1.0.0"}
	fails := 0
	var v2 v2track
	defer func() { t.Logf("%s", v2.summary()) }()
	setRootDir("s3:p", srv.ObjectPath(srv.Bucket, "p"))
	for i := 1; i <= 60; i++ {
		v := fmt.Sprintf("1.%d.0", i)
		staged, _ := harness.Prepare(ctx, s, t.TempDir(), v, "", nil)
		free := int64(i-1) * 4096
		filler := fill(t, mnt, free)
		perr := harness.Publish(ctx, st, staged, s)
		res, cerr := check.Root(read, pub)
		if cerr != nil {
			t.Errorf("BUG %d KiB free: root does not verify after %v: %v", free/1024, perr, cerr)
			saveEvidence(t, fmt.Sprintf("level %d KiB", free/1024), "s3:p", fmt.Sprintf("%v\npublish: %v", cerr, perr))
		} else if m := res.Missing(published); len(m) > 0 {
			t.Errorf("BUG %d KiB free: missing %v", free/1024, m)
		} else if perr != nil {
			v2.kill(t, fmt.Sprintf("level %d KiB free (publish: %.300v)", free/1024, perr), "s3:p", res, 1)
		} else {
			v2.conv(t, fmt.Sprintf("level %d KiB free (publish returned nil)", free/1024), "s3:p", res)
		}
		os.Remove(filler)
		if perr == nil {
			published = append(published, v)
			t.Logf("fits with %d KiB free", free/1024)
			break
		}
		fails++
		if i < 3 || i%8 == 0 {
			t.Logf("%d KiB free: %.250v", free/1024, perr)
		}
		if err := harness.Publish(ctx, st, staged, s); err != nil {
			t.Errorf("BUG %d KiB: re-run fails: %v", free/1024, err)
			continue
		}
		published = append(published, v)
		res, cerr = check.Root(read, pub)
		if cerr != nil || len(res.Missing(published)) > 0 || !res.LegacySigOK || !res.LegacySetOK {
			t.Errorf("BUG %d KiB: re-run did not converge: %v %+v", free/1024, cerr, res)
		} else {
			v2.conv(t, fmt.Sprintf("level %d KiB re-run", free/1024), "s3:p", res)
		}
	}
	t.Logf("%d publishes failed for lack of space", fails)
}

package install_test

import (
	"bytes"
	"testing"

	kzstd "github.com/klauspost/compress/zstd"
	uxz "github.com/ulikunitz/xz"

	"github.com/relkit/relkit/install"
	_ "github.com/relkit/relkit/install/xz"
	_ "github.com/relkit/relkit/install/zstd"
)

func xzCompress(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := uxz.NewWriter(&buf)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zstdCompress(t testing.TB, raw []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	w, err := kzstd.NewWriter(&buf, kzstd.WithEncoderConcurrency(1))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestHostileArchivesXZ runs the hostile-archive table (zip-slip, links,
// devices, sparse entries, size and ratio bombs, caps, corrupt streams)
// with .tar.xz archives read through install/xz, then installs a good
// one: the same refusals as for tar.gz.
func TestHostileArchivesXZ(t *testing.T) { install.HostileTable(t, ".tar.xz", xzCompress) }

// TestHostileArchivesZstd is TestHostileArchivesXZ for .tar.zst through
// install/zstd.
func TestHostileArchivesZstd(t *testing.T) { install.HostileTable(t, ".tar.zst", zstdCompress) }

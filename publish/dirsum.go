package publish

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/relkit/relkit/internal/atomicfile"
)

// SumsDir is the directory in the root of a [DirStore] that holds its
// digest sidecars: for each published file, its SHA-256 together with the
// size, modification time, change time and inode it had when it was
// hashed. Stat trusts a sidecar only while the file still has exactly
// those (a write, a truncation, a rename over it or a touch changes the
// change time, which no user can set), and hashes the file otherwise, so a
// re-run of a complete publish reads no published byte and a changed file
// is still caught. Set [DirStore.Rehash] to hash every file regardless.
const SumsDir = ".relkit-sums"

// sidecar is the identity of a file's content at the time it was hashed.
type sidecar struct {
	sha256 string
	id     fileID
}

func (d *DirStore) sidecarPath(name string) string {
	return filepath.Join(d.root, SumsDir, filepath.FromSlash(name)+".sha256")
}

// cachedSum returns the SHA-256 the sidecar records for name when fi still
// matches it, else "".
func (d *DirStore) cachedSum(name string, fi fs.FileInfo) string {
	if d.Rehash {
		return ""
	}
	id, ok := idOf(fi)
	if !ok {
		return ""
	}
	data, err := os.ReadFile(d.sidecarPath(name))
	if err != nil || len(data) > 512 {
		return ""
	}
	sc, ok := parseSidecar(string(data))
	if !ok || sc.id != id {
		return ""
	}
	return sc.sha256
}

// remember writes name's sidecar for the file as it is now; best effort
// (a missing sidecar only costs a hash).
func (d *DirStore) remember(name, path, sum string) {
	fi, err := os.Lstat(path)
	if err != nil {
		return
	}
	id, ok := idOf(fi)
	if !ok {
		return
	}
	sp := d.sidecarPath(name)
	if err := os.MkdirAll(filepath.Dir(sp), 0o755); err != nil {
		return
	}
	writeUnsynced(sp, formatSidecar(sidecar{sha256: sum, id: id}))
}

// writeUnsynced replaces name with data through a temporary file and a
// rename, without fsync: readers see the old or the new content, and a
// crash may leave it missing or empty, never a valid record of another
// file (a sidecar is trusted only when it parses and matches).
func writeUnsynced(name, data string) {
	f, err := os.CreateTemp(filepath.Dir(name), atomicfile.TempPattern)
	if err != nil {
		return
	}
	_, err = f.WriteString(data)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), name)
	}
	if err != nil {
		os.Remove(f.Name())
	}
}

func (d *DirStore) forget(name string) { os.Remove(d.sidecarPath(name)) }

func formatSidecar(s sidecar) string {
	return fmt.Sprintf("%s %d %d %d %d %d\n", s.sha256, s.id.size, s.id.mtime, s.id.ctime, s.id.ino, s.id.dev)
}

func parseSidecar(s string) (sidecar, bool) {
	f := strings.Fields(s)
	if len(f) != 6 || !isHexSum(f[0]) {
		return sidecar{}, false
	}
	var n [5]int64
	for i := range n {
		v, err := strconv.ParseInt(f[i+1], 10, 64)
		if err != nil {
			return sidecar{}, false
		}
		n[i] = v
	}
	return sidecar{sha256: f[0], id: fileID{size: n[0], mtime: n[1], ctime: n[2], ino: uint64(n[3]), dev: uint64(n[4])}}, true
}

func isHexSum(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

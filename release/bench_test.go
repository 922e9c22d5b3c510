package release

import (
	"testing"
)

// BenchmarkPackageChecksums packages the four shared test binaries and
// writes SHA256SUMS; bench/release/run.sh compares the same work with
// tar czf + sha256sum.
func BenchmarkPackageChecksums(b *testing.B) {
	bins := sharedBinaries(b)
	var size int64
	for _, bin := range bins {
		n, _, err := hashFile(bin.Path)
		if err != nil {
			b.Fatal(err)
		}
		size += n
	}
	b.SetBytes(size)
	for b.Loop() {
		st := &State{Project: "hello", Version: testVersion(), Date: testDate, Root: b.TempDir(), Binaries: bins}
		if err := (&Package{}).Run(b.Context(), st); err != nil {
			b.Fatal(err)
		}
		if err := (Checksums{}).Run(b.Context(), st); err != nil {
			b.Fatal(err)
		}
	}
}

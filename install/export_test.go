package install

import (
	"testing"
	"time"
)

// HostileTable runs the hostile-archive table with archives named ext
// (".tar.xz") made by compress (an uncompressed tar in, the archive out),
// for the external tests of the decoder packages, which package install's
// own tests cannot import.
func HostileTable(t *testing.T, ext string, compress func(t testing.TB, raw []byte) []byte) {
	testHostile(t, tarCodec{ext: ext, compress: compress})
}

// WithoutDecoders unregisters every Decoder until the test ends, to test
// the install of an archive no linked package reads.
func WithoutDecoders(t *testing.T) {
	decodersMu.Lock()
	saved := decoders
	decoders = nil
	decodersMu.Unlock()
	t.Cleanup(func() {
		decodersMu.Lock()
		decoders = saved
		decodersMu.Unlock()
	})
}

// setForgeRetryWait sets the wait before the one retry of a missing
// manifest.json on a forge until the test ends.
func setForgeRetryWait(t *testing.T, d time.Duration) {
	saved := forgeRetryWait
	forgeRetryWait = d
	t.Cleanup(func() { forgeRetryWait = saved })
}

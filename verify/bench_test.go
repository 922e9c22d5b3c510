package verify

import (
	"bytes"
	"crypto/sha256"
	"io"
	"testing"
)

const benchSize = 64 << 20

func benchData(b *testing.B) ([]byte, Expected) {
	data := bytes.Repeat([]byte("relkit benchmark data 0123456789\n"), benchSize/33)
	return data, Expected{Name: "bench", SHA256: sha256hex(data), Size: int64(len(data))}
}

// BenchmarkVerify hashes and verifies 64 MiB in one pass (Verify).
func BenchmarkVerify(b *testing.B) {
	data, want := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if err := Verify(bg, bytes.NewReader(data), want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCopy streams 64 MiB to a writer while verifying (Copy), as an
// installer writing to disk does.
func BenchmarkCopy(b *testing.B) {
	data, want := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := Copy(bg, io.Discard, bytes.NewReader(data), want); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkBareSHA256 is the floor: io.Copy into crypto/sha256.
func BenchmarkBareSHA256(b *testing.B) {
	data, _ := benchData(b)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		h := sha256.New()
		if _, err := io.Copy(h, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
		h.Sum(nil)
	}
}

// BenchmarkVerifySignatures verifies a P-256 signature over a 4 KiB
// SHA256SUMS.
func BenchmarkVerifySignatures(b *testing.B) {
	k := newKey(b, "p256")
	msg := bytes.Repeat([]byte("a"), 4096)
	v := verifier(b, ring(b, k))
	sig := EncodeSignature(k.sign(b, msg))
	for b.Loop() {
		if _, err := v.VerifySignatures("SHA256SUMS", msg, Signatures{Detached: sig}); err != nil {
			b.Fatal(err)
		}
	}
}

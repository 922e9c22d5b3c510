package sign

import (
	"bytes"
	"context"
	"crypto/sha256"
	"io"
	"testing"
)

// Signing a stream costs one SHA-256 pass plus one private-key operation;
// BenchmarkSHA256 is the bar (the hash alone) for the streaming signers.

const benchSize = 16 << 20

func benchSign(b *testing.B, file string) {
	s := loadCase(b, caseFor(file))
	data := bytes.Repeat([]byte("relkit "), benchSize/7)
	b.SetBytes(int64(len(data)))
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.Sign(context.Background(), bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSHA256(b *testing.B) {
	data := bytes.Repeat([]byte("relkit "), benchSize/7)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		h := sha256.New()
		if _, err := io.Copy(h, bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSignECDSAP256(b *testing.B) { benchSign(b, "ec-p256-sec1.pem") }
func BenchmarkSignEd25519(b *testing.B)   { benchSign(b, "ed25519-pkcs8.pem") }
func BenchmarkSignRSA3072(b *testing.B)   { benchSign(b, "rsa3072-pkcs1.pem") }

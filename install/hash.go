package install

import (
	"crypto/sha256"
	"encoding/hex"
	"hash"
)

// hasher is a SHA-256 with a hex result, for the receipt's record of
// installed files (verification of downloads goes through package verify).
type hasher struct{ hash.Hash }

func newHash() hasher        { return hasher{sha256.New()} }
func (h hasher) hex() string { return hex.EncodeToString(h.Sum(nil)) }

// asyncHasher hashes what is written to it on its own goroutine, so that
// decompressing an archive and hashing its contents use two cores. Call
// sum exactly once, even after an error, to stop the goroutine.
type asyncHasher struct {
	h    hash.Hash
	work chan []byte
	free chan []byte
	done chan struct{}
}

const asyncBuffers, asyncBufSize = 4, 256 << 10

func newAsyncHasher() *asyncHasher {
	a := &asyncHasher{
		h:    sha256.New(),
		work: make(chan []byte, asyncBuffers),
		free: make(chan []byte, asyncBuffers),
		done: make(chan struct{}),
	}
	for range asyncBuffers {
		a.free <- make([]byte, 0, asyncBufSize)
	}
	go func() {
		for b := range a.work {
			a.h.Write(b)
			a.free <- b[:0]
		}
		close(a.done)
	}()
	return a
}

// Write copies p to the hashing goroutine; it never fails.
func (a *asyncHasher) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		b := <-a.free
		k := min(len(p), cap(b))
		a.work <- append(b, p[:k]...)
		p = p[k:]
	}
	return n, nil
}

// sum waits for the goroutine and returns the lowercase hex digest.
func (a *asyncHasher) sum() string {
	close(a.work)
	<-a.done
	return hex.EncodeToString(a.h.Sum(nil))
}

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

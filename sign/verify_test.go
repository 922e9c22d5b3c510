package sign

import (
	"crypto"
	"testing"
)

// acceptedByVerify reports whether package verify accepts sig over msg by
// pub with algorithm alg.
//
// Package verify has not committed its verification API yet; until it
// does this checks with the standard library.
func acceptedByVerify(t testing.TB, pub crypto.PublicKey, alg string, msg, sig []byte) error {
	t.Helper()
	return stdVerify(pub, alg, msg, sig)
}

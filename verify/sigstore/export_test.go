package sigstore

import "github.com/sigstore/sigstore-go/pkg/testing/ca"

// VirtualRelease signs artifact as identity at issuer with a new
// VirtualSigstore (a Fulcio CA, a Rekor log and a TSA played in-process)
// and returns its trusted_root.json and the bundle, for the examples.
func VirtualRelease(identity, issuer string, artifact []byte) (trustedRootJSON, bundleJSON []byte, err error) {
	vs, err := ca.NewVirtualSigstore()
	if err != nil {
		return nil, nil, err
	}
	ent, err := vs.Sign(identity, issuer, artifact)
	if err != nil {
		return nil, nil, err
	}
	if trustedRootJSON, err = encodeTrustedRoot(vs); err != nil {
		return nil, nil, err
	}
	bundleJSON, err = encodeBundle(vs, ent)
	return trustedRootJSON, bundleJSON, err
}

package release

import (
	"context"
	"io"

	"github.com/relkit/relkit/manifest"
)

// Checksums is the checksums stage ("checksums"): it writes
// <version>/SHA256SUMS (manifest.ChecksumsFile) listing every staged
// artifact except checksums files and signatures, sorted by name in the GNU
// format "sha256sum -c" accepts. The digests are the ones recorded while
// each file was written; the [VerifyStaged] stage re-reads the files.
type Checksums struct{}

// Name returns "checksums".
func (Checksums) Name() string { return "checksums" }

// Run writes SHA256SUMS.
func (Checksums) Run(ctx context.Context, st *State) error {
	sums, err := checksumsOf(st.Artifacts)
	if err != nil {
		return err
	}
	if sums.Len() == 0 {
		return &ConfigError{Field: "State.Artifacts", Reason: "nothing to checksum"}
	}
	a, err := st.stageFile(manifest.ChecksumsFile, manifest.KindChecksums, manifest.Platform{}, func(w io.Writer) error {
		_, err := sums.WriteTo(w)
		return err
	})
	if err != nil {
		return err
	}
	st.AddArtifact(a)
	st.logger().Info("checksums", "entries", sums.Len(), "sha256", a.SHA256)
	return nil
}

// checksummed reports whether SHA256SUMS lists an artifact of kind k.
func checksummed(k manifest.Kind) bool {
	return k != manifest.KindChecksums && k != manifest.KindSignature
}

func checksumsOf(arts []manifest.Artifact) (*manifest.Checksums, error) {
	sums := new(manifest.Checksums)
	for _, a := range arts {
		if checksummed(a.Kind) {
			if err := sums.Add(a.Name, a.SHA256); err != nil {
				return nil, err
			}
		}
	}
	return sums, nil
}

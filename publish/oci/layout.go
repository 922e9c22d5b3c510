package oci

import (
	"errors"
	"fmt"
	"os"

	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// AnnotationRefName is the OCI image layout annotation naming an entry of
// a layout's index.json.
const AnnotationRefName = "org.opencontainers.image.ref.name"

// WriteLayout writes the image as an OCI image layout in dir, which must
// not exist or be empty: oci-layout, blobs/sha256/... and an index.json
// with one entry, the image index, named by its version tag
// (org.opencontainers.image.ref.name "1.2.0"). Tools read it as
// "oci:<dir>:<version>": "skopeo inspect --raw oci:dist/image:1.2.0",
// "skopeo copy --all oci:dist/image:1.2.0 docker://...". It is for
// inspecting a dry run and for moving an image to a registry relkit cannot
// reach; Push does not need it.
func (im *Image) WriteLayout(dir string) error {
	if im == nil || im.Index == nil || im.dir == "" {
		return errors.New("oci: WriteLayout: image is nil or closed")
	}
	if ents, err := os.ReadDir(dir); err == nil && len(ents) > 0 {
		return fmt.Errorf("oci: WriteLayout: %s is not empty", dir)
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("oci: WriteLayout: %w", err)
	}
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return fmt.Errorf("oci: WriteLayout: %w", err)
	}
	if err := p.AppendIndex(im.Index, layout.WithAnnotations(map[string]string{AnnotationRefName: versionTag(im.Version)})); err != nil {
		return fmt.Errorf("oci: WriteLayout: %w", err)
	}
	return nil
}

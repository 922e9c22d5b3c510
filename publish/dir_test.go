package publish_test

import (
	"testing"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

func TestDirStoreConformance(t *testing.T) {
	publishtest.Run(t, func(t *testing.T) publish.Store {
		s, err := publish.NewDirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

package publishtest_test

import (
	"testing"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

// TestConformance is the package doc's sample, run as written: the
// suite against publish's DirStore, a fresh directory per store.
func TestConformance(t *testing.T) {
	publishtest.Run(t, func(t *testing.T) publish.Store {
		s, err := publish.NewDirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

package publish_test

import (
	"testing"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/publishtest"
)

func TestDirStoreConformance(t *testing.T) {
	publishtest.RunWith(t, func(t *testing.T) publish.Store {
		s, err := publish.NewDirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return s
	}, publishtest.Options{Reopen: func(t *testing.T, s publish.Store) publish.Store {
		o, err := publish.NewDirStore(s.(*publish.DirStore).Root())
		if err != nil {
			t.Fatal(err)
		}
		return o
	}})
}

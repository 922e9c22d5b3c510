package publish_test

import (
	"fmt"
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

// TestDirStoreString: a DirStore used as a verify.Location (release's
// remote verification) prints as its directory in errors.
func TestDirStoreString(t *testing.T) {
	dir := t.TempDir()
	d, err := publish.NewDirStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(d); got != d.Root() {
		t.Errorf("fmt.Sprint(DirStore) = %q, want %q", got, d.Root())
	}
}

package install

import (
	"context"
	"errors"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// TestCallOptionsApplyToOneCall: AllowDowngrade and Reinstall change the
// Check or Install they are passed to, and no later call of the same
// Installer; passed together, their order does not matter.
func TestCallOptionsApplyToOneCall(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	for _, v := range []string{"1.0.0", "1.1.0", "1.2.0"} {
		f.release(v)
	}
	in := f.installer(f.config(f.root, t.TempDir()))
	if _, err := in.Install(ctx, manifest.Query{Version: "1.2.0"}); err != nil {
		t.Fatal(err)
	}
	older := manifest.Query{Version: "1.1.0"}

	// AllowDowngrade: this Check says Install would downgrade; the next
	// Check, without it, says it would not.
	if u, err := in.Check(ctx, older, AllowDowngrade()); err != nil || !u.Downgrade || !u.Available {
		t.Fatalf("Check with AllowDowngrade: %+v, %v; want an available downgrade", u, err)
	}
	if u, err := in.Check(ctx, older); err != nil || !u.Downgrade || u.Available {
		t.Fatalf("Check after one with AllowDowngrade: %+v, %v; want a downgrade that is not available", u, err)
	}
	res, err := in.Install(ctx, older, AllowDowngrade(), Reinstall())
	if err != nil || res.Version != "1.1.0" || !res.Changed {
		t.Fatalf("Install 1.1.0 with AllowDowngrade: %+v, %v", res, err)
	}
	if _, err := in.Install(ctx, manifest.Query{Version: "1.0.0"}); !errors.Is(err, ErrDowngrade) {
		t.Fatalf("Install 1.0.0 after one with AllowDowngrade: %v, want ErrDowngrade", err)
	}

	// Reinstall: this Install replaces the installed version; the next,
	// without it, does not.
	if u, err := in.Check(ctx, older, Reinstall()); err != nil || u.Downgrade || !u.Available {
		t.Fatalf("Check of the installed version with Reinstall: %+v, %v; want available", u, err)
	}
	if u, err := in.Check(ctx, older); err != nil || u.Available {
		t.Fatalf("Check of the installed version: %+v, %v; want not available", u, err)
	}
	if res, err := in.Install(ctx, older, Reinstall(), AllowDowngrade()); err != nil || !res.Changed {
		t.Fatalf("Install of the installed version with Reinstall: %+v, %v; want it replaced", res, err)
	}
	if res, err := in.Install(ctx, older); err != nil || res.Changed {
		t.Fatalf("Install of the installed version after one with Reinstall: %+v, %v; want nothing replaced", res, err)
	}
}

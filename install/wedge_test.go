//go:build !windows

package install

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/relkit/relkit/manifest"
)

// runs returns what the installed binary says its version is ("" when
// it does not run).
func runs(t *testing.T, dir string) string {
	t.Helper()
	out, err := exec.Command(filepath.Join(dir, "hello"), "version").Output()
	if err != nil {
		return ""
	}
	f := strings.Fields(string(out))
	if len(f) != 2 {
		return ""
	}
	return f[1]
}

// consistent fails unless the binary runs and prints one of versions, and
// the receipt, when there is one, names the version the binary prints.
func consistent(t *testing.T, dir, when string, versions ...string) string {
	t.Helper()
	got := runs(t, dir)
	ok := false
	for _, v := range versions {
		ok = ok || got == v
	}
	if !ok {
		t.Fatalf("%s: the binary prints %q, want one of %v", when, got, versions)
	}
	r, err := ReadReceipt(dir, "hello")
	switch {
	case errors.Is(err, ErrNotInstalled):
	case err != nil:
		t.Fatalf("%s: receipt: %v", when, err)
	case r.Version != got:
		t.Fatalf("%s: the receipt says %s but the binary is %s", when, r.Version, got)
	}
	return got
}

// TestFaultAtEveryFileOperation fails each file operation of an upgrade
// in turn (EIO at the n-th operation: creates, writes, syncs, renames,
// links, removes, directory syncs, chmods). After each failure the binary
// must run as the old or the new version with a receipt that agrees, and
// recovery must make progress: the next Install (no fault) installs the
// new version and a Rollback then restores the old one.
func TestFaultAtEveryFileOperation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	// Count the operations of a clean upgrade.
	var total atomic.Int64
	dir := setup(t)
	injectFaults(t, func(op, path string) error { total.Add(1); return nil })
	if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"}); err != nil {
		t.Fatal(err)
	}
	faultHook.Store(nil)
	n := int(total.Load())
	if n < 20 {
		t.Fatalf("only %d file operations seen: the hook is not wired in", n)
	}
	failed := 0
	for i := 1; i <= n; i++ {
		dir := setup(t)
		var count atomic.Int64
		var what atomic.Value
		injectFaults(t, func(op, path string) error {
			if count.Add(1) == int64(i) {
				what.Store(op + " " + filepath.Base(path))
				return syscall.EIO
			}
			return nil
		})
		_, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"})
		faultHook.Store(nil)
		at, _ := what.Load().(string)
		if err != nil {
			failed++
			if !errors.Is(err, ErrLocalIO) || !errors.Is(err, syscall.EIO) {
				t.Errorf("EIO at %s (op %d): not reported as a local I/O error: %v", at, i, err)
			}
		}
		consistent(t, dir, "after EIO at "+at, "1.0.0", "1.1.0")
		if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"}); err != nil {
			t.Fatalf("EIO at %s (op %d): the next install does not make progress: %v", at, i, err)
		}
		if v := consistent(t, dir, "reinstall after EIO at "+at, "1.1.0"); v != "1.1.0" {
			t.Fatalf("EIO at %s: %s installed", at, v)
		}
		if _, err := f.installer(f.config(f.root, dir)).Rollback(ctx); err != nil {
			t.Fatalf("EIO at %s (op %d): rollback after recovery: %v", at, i, err)
		}
		consistent(t, dir, "rollback after EIO at "+at, "1.0.0")
		if l := leftovers(t, dir); len(l) != 0 {
			t.Fatalf("EIO at %s: leftovers %v", at, l)
		}
	}
	t.Logf("%d file operations, %d injected failures failed the install", n, failed)
	if failed == 0 {
		t.Fatal("no injected failure failed the install: the faults are not reaching the operations")
	}
}

// TestFaultAtEveryRollbackOperation: the same, failing each file
// operation of a Rollback from 1.1.0 to 1.0.0 in turn. A failed Rollback
// leaves 1.1.0 or 1.0.0 with a receipt that agrees, and the next
// Rollback (no fault) gets to 1.0.0.
func TestFaultAtEveryRollbackOperation(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	setup := func(t *testing.T) string {
		dir := t.TempDir()
		for _, v := range []string{"1.0.0", "1.1.0"} {
			if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: v}); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	var total atomic.Int64
	dir := setup(t)
	injectFaults(t, func(op, path string) error { total.Add(1); return nil })
	if _, err := f.installer(f.config(f.root, dir)).Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	faultHook.Store(nil)
	n := int(total.Load())
	failed := 0
	for i := 1; i <= n; i++ {
		dir := setup(t)
		var count atomic.Int64
		var what atomic.Value
		injectFaults(t, func(op, path string) error {
			if count.Add(1) == int64(i) {
				what.Store(op + " " + filepath.Base(path))
				return syscall.EIO
			}
			return nil
		})
		_, err := f.installer(f.config(f.root, dir)).Rollback(ctx)
		faultHook.Store(nil)
		at, _ := what.Load().(string)
		consistent(t, dir, "after EIO at "+at, "1.0.0", "1.1.0")
		if err != nil {
			failed++
			if !errors.Is(err, ErrLocalIO) || !errors.Is(err, syscall.EIO) {
				t.Errorf("EIO at %s (op %d): not reported as a local I/O error: %v", at, i, err)
			}
			if _, err := f.installer(f.config(f.root, dir)).Rollback(ctx); err != nil {
				t.Fatalf("EIO at %s (op %d): the next rollback does not make progress: %v", at, i, err)
			}
		}
		if v := consistent(t, dir, "rollback after EIO at "+at, "1.0.0"); v != "1.0.0" {
			t.Fatalf("EIO at %s: %s after the rollback", at, v)
		}
		if l := leftovers(t, dir); len(l) != 0 {
			t.Fatalf("EIO at %s: leftovers %v", at, l)
		}
	}
	t.Logf("%d file operations, %d injected failures failed the rollback", n, failed)
	if failed == 0 {
		t.Fatal("no injected failure failed the rollback")
	}
}

// TestJournalDirSyncErrorDoesNotWedge: the directory sync right after
// journal.json is renamed into place fails. The install fails, but the
// next Install and Rollback work (the issue saw every later run fail
// with "undo interrupted install ... no such file or directory").
func TestJournalDirSyncErrorDoesNotWedge(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	dir := t.TempDir()
	if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	var armed, fired atomic.Bool
	injectFaults(t, func(op, path string) error {
		if op == "rename" && filepath.Base(path) == "journal.json" {
			armed.Store(true)
			return nil
		}
		if op == "syncdir" && armed.Load() && !fired.Load() {
			fired.Store(true)
			return syscall.EIO
		}
		return nil
	})
	_, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"})
	faultHook.Store(nil)
	if !fired.Load() || err == nil {
		t.Fatalf("the fault did not fire (%v) or the install succeeded (%v)", fired.Load(), err)
	}
	if !errors.Is(err, ErrLocalIO) {
		t.Fatalf("want a local I/O error, got %v", err)
	}
	consistent(t, dir, "after the failed sync", "1.0.0")
	if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"}); err != nil {
		t.Fatalf("wedged: %v", err)
	}
	consistent(t, dir, "after the next install", "1.1.0")
	if _, err := f.installer(f.config(f.root, dir)).Rollback(ctx); err != nil {
		t.Fatalf("wedged rollback: %v", err)
	}
	consistent(t, dir, "after rollback", "1.0.0")
}

// TestReceiptSyncErrorKeepsReceiptAndBinaryAgreeing: the directory sync
// after receipt.json is renamed into place fails; the install is undone,
// and the receipt must be undone with it.
func TestReceiptSyncErrorKeepsReceiptAndBinaryAgreeing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	dir := t.TempDir()
	if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
		t.Fatal(err)
	}
	var armed, fired atomic.Bool
	injectFaults(t, func(op, path string) error {
		if op == "rename" && filepath.Base(path) == "receipt.json" {
			armed.Store(true)
			return nil
		}
		if op == "syncdir" && armed.Load() && !fired.Load() {
			fired.Store(true)
			return syscall.EIO
		}
		return nil
	})
	_, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"})
	faultHook.Store(nil)
	if !fired.Load() || err == nil {
		t.Fatalf("the fault did not fire (%v) or the install succeeded (%v)", fired.Load(), err)
	}
	consistent(t, dir, "after the failed receipt sync", "1.0.0", "1.1.0")
}

// TestUnreadableJournal: an empty or corrupt journal. When the binaries
// are still the ones the receipt describes (the swap never started, or
// it committed), recovery discards the journal with a warning and goes
// on. When they are not, Install and Rollback fail with a *JournalError
// and touch nothing, and DiscardJournal is the way out.
func TestUnreadableJournal(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, "hello")
	f.release("1.0.0")
	f.release("1.1.0")
	for _, content := range []string{"", "{\"schema\": \"relkit.jour", "\x00\x00\x00\x00"} {
		dir := t.TempDir()
		if _, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.0.0"}); err != nil {
			t.Fatal(err)
		}
		jp := filepath.Join(StateDir(dir, "hello"), "journal.json")
		os.WriteFile(jp, []byte(content), 0o644)
		res, err := f.installer(f.config(f.root, dir)).Install(ctx, manifest.Query{Version: "1.1.0"})
		if err != nil {
			t.Fatalf("journal %q with the binaries as the receipt says: %v", content, err)
		}
		if !strings.Contains(strings.Join(res.Warnings, ";"), "journal") {
			t.Fatalf("no warning about the discarded journal: %v", res.Warnings)
		}
		consistent(t, dir, "after discarding", "1.1.0")

		// Now the binary is not what the receipt says (a half-done swap
		// whose journal was lost): refuse, touch nothing, then the way out.
		os.WriteFile(jp, []byte(content), 0o644)
		bin := filepath.Join(dir, "hello")
		os.Remove(bin)
		os.WriteFile(bin, script("hello", "1.0.0"), 0o755)
		in := f.installer(f.config(f.root, dir))
		for _, op := range []func() error{
			func() error { _, err := in.Install(ctx, manifest.Query{Version: "1.1.0"}); return err },
			func() error { _, err := in.Rollback(ctx); return err },
		} {
			var je *JournalError
			if err := op(); !errors.As(err, &je) || !errors.Is(err, ErrBadJournal) || je.Path != jp || !strings.Contains(err.Error(), "DiscardJournal") {
				t.Fatalf("want a *JournalError for %s naming the way out, got %v", jp, err)
			}
			if got := readFile(t, bin); got != string(script("hello", "1.0.0")) {
				t.Fatalf("the binary changed: %q", got)
			}
		}
		moved, err := in.DiscardJournal(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(moved); err != nil || moved == jp {
			t.Fatalf("the journal was not kept aside: %q %v", moved, err)
		}
		consistent(t, dir, "after DiscardJournal", "1.0.0")
		if _, err := in.Install(ctx, manifest.Query{Version: "1.1.0"}); err != nil {
			t.Fatalf("install after DiscardJournal: %v", err)
		}
		consistent(t, dir, "install after DiscardJournal", "1.1.0")
		if _, err := in.DiscardJournal(ctx); !errors.Is(err, fs.ErrNotExist) {
			t.Fatalf("DiscardJournal with no journal: %v", err)
		}
	}
}

//go:build linux && amd64

package install

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/testenv"
)

// wineTests are the Windows-only tests (windows_test.go) that must pass
// under Wine: the move-aside swap of a running .exe, rollback and restore
// while it runs, and the lock. TestWindowsUnderWine runs every
// TestWindows* test (TestWindowsSymlinkedStateDirectory skips: Wine 8's
// CreateSymbolicLinkW makes no link); RELKIT_WINE_RUN replaces that
// pattern, to run more of the package under Wine by hand.
var wineTests = []string{
	"TestWindowsUpgradeAndRollback", "TestWindowsReplaceRunningExe",
	"TestWindowsHealthCheckFailureWhileRunning", "TestWindowsLock",
}

// TestWindowsUnderWine cross-compiles this package's tests for
// windows/amd64 and runs the Windows swap, rollback and lock tests under
// Wine (Debian's wine64), in a fresh Wine prefix. Without Wine it skips,
// or fails when RELKIT_INTEROP=1.
//
// Go 1.24 and later need ProcessPrng from bcryptprimitives.dll, which Wine
// 8.0 (Debian 12) lacks; the test then puts a forwarder DLL in the prefix
// that exports it as advapi32's SystemFunction036 (RtlGenRandom).
//
// What Wine 8.0 does not run faithfully, with Go 1.26:
//
//   - os.RemoveAll and os.Root's Remove fail with "Invalid function": Wine
//     answers FileDispositionInformationEx with STATUS_NOT_IMPLEMENTED,
//     not one of the statuses Go falls back on. So t.TempDir's cleanup
//     fails in every test (windows_test.go removes its directories file
//     by file instead), and so do install's own removals of backup sets
//     (backup-* directories accumulate; a restore reports the error).
//   - os.Symlink reports success and makes nothing.
//   - A directory cannot be removed while an os.Root handle to it is
//     open (the Installer's directory source keeps one: it has no Close).
//
// What it does run as Windows does: a running .exe cannot be opened for
// writing, can be renamed, and its moved-aside file cannot be deleted
// until the process exits.
//
// The rest of the package's tests (RELKIT_WINE_RUN=. , skipping
// TestConcurrentInstallsDoNotRace) mostly fail on Windows for reasons of
// their own, not Wine's: the fixture's release() writes a tar.gz under the
// .zip name Windows artifacts get; its binaries are "#!/bin/sh" scripts,
// which the default health check cannot run; tests name the primary
// binary "hello" where Windows' is "hello.exe" (lockPath, StateDir); and
// TestConcurrentInstallsDoNotRace waits, without a bound, for a request
// for a ".tar.gz" that never comes.
func TestWindowsUnderWine(t *testing.T) {
	wine := wineBinary(t)
	goTool, err := exec.LookPath("go")
	if err != nil {
		goTool = filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	dir := t.TempDir()
	exe := filepath.Join(dir, "install.test.exe")
	build := exec.CommandContext(ctx, goTool, "test", "-c", "-o", exe, ".")
	build.Env = append(os.Environ(), "GOOS=windows", "GOARCH=amd64", "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go test -c for windows/amd64: %v\n%s", err, out)
	}

	prefix := filepath.Join(dir, "wineprefix")
	env := append(os.Environ(), "WINEPREFIX="+prefix, "WINEDEBUG=-all", "WINEDLLOVERRIDES=mscoree,mshtml=d", "DISPLAY=")
	wineserver := filepath.Join(filepath.Dir(wine), "wineserver")
	t.Cleanup(func() {
		// The prefix's wineserver outlives the last Windows process for a
		// few seconds; stop it (only this prefix's).
		kill := exec.Command(wineserver, "-k")
		kill.Env = env
		kill.Run()
	})
	boot := exec.CommandContext(ctx, wine, "wineboot", "--init")
	boot.Env = env
	if out, err := boot.CombinedOutput(); err != nil {
		t.Fatalf("wineboot --init: %v\n%s", err, out)
	}
	sys32 := filepath.Join(prefix, "drive_c", "windows", "system32")
	if _, err := os.Stat(filepath.Join(sys32, "bcryptprimitives.dll")); errors.Is(err, fs.ErrNotExist) {
		dll := forwarderDLL("bcryptprimitives.dll", "ProcessPrng", "advapi32.SystemFunction036")
		if err := os.WriteFile(filepath.Join(sys32, "bcryptprimitives.dll"), dll, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Log("Wine has no bcryptprimitives.dll: using a forwarder of ProcessPrng to advapi32.SystemFunction036")
	}

	pattern := "^TestWindows"
	if p := os.Getenv("RELKIT_WINE_RUN"); p != "" {
		pattern = p
	}
	run := exec.CommandContext(ctx, wine, exe, "-test.run", pattern, "-test.v", "-test.count=1", "-test.timeout=5m")
	run.Env, run.Dir = env, dir
	out, err := run.CombinedOutput()
	t.Logf("wine %s -test.run %s:\n%s", filepath.Base(exe), pattern, out)
	if err != nil {
		t.Fatalf("the Windows tests failed under Wine: %v", err)
	}
	if os.Getenv("RELKIT_WINE_RUN") == "" {
		for _, name := range wineTests {
			if !regexp.MustCompile(`(?m)^--- PASS: ` + name + ` `).Match(out) {
				t.Errorf("%s did not pass under Wine", name)
			}
		}
	}
}

// wineBinary finds Wine's 64-bit loader: wine64 or wine on PATH, or
// Debian's /usr/lib/wine/wine64 (the wine64 package puts nothing on PATH).
func wineBinary(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"wine64", "wine"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if fi, err := os.Stat("/usr/lib/wine/wine64"); err == nil && fi.Mode()&0o111 != 0 {
		return "/usr/lib/wine/wine64"
	}
	return testenv.Tool(t, "wine64") // skips, or fails under RELKIT_INTEROP=1
}

// forwarderDLL returns a minimal PE32+ (x86-64) DLL named dllName with no
// code, whose one export, export, is forwarded to target ("dll.Function").
func forwarderDLL(dllName, export, target string) []byte {
	const (
		fileAlign = 0x200
		sectRVA   = 0x1000
		dirSize   = 40 // IMAGE_EXPORT_DIRECTORY
	)
	le := binary.LittleEndian
	eatRVA := sectRVA + dirSize
	namesRVA := eatRVA + 4
	ordinalsRVA := namesRVA + 4
	dllNameRVA := ordinalsRVA + 2
	exportRVA := dllNameRVA + len(dllName) + 1
	targetRVA := exportRVA + len(export) + 1
	end := targetRVA + len(target) + 1

	var sec bytes.Buffer
	put := func(b *bytes.Buffer, vs ...any) {
		for _, v := range vs {
			binary.Write(b, le, v)
		}
	}
	put(&sec, uint32(0), uint32(0), uint32(0), uint32(dllNameRVA), // flags, time, version, name
		uint32(1), uint32(1), uint32(1), // ordinal base, functions, names
		uint32(eatRVA), uint32(namesRVA), uint32(ordinalsRVA),
		uint32(targetRVA), // the function's RVA lies inside the export directory: a forwarder
		uint32(exportRVA), uint16(0))
	sec.WriteString(dllName + "\x00" + export + "\x00" + target + "\x00")
	raw := sec.Bytes()
	rawSize := (len(raw) + fileAlign - 1) / fileAlign * fileAlign

	var f bytes.Buffer
	dos := make([]byte, 0x40)
	copy(dos, "MZ")
	le.PutUint32(dos[0x3c:], 0x40) // e_lfanew
	f.Write(dos)
	f.WriteString("PE\x00\x00")
	// COFF header: AMD64, one section, a PE32+ optional header, and
	// EXECUTABLE_IMAGE | LARGE_ADDRESS_AWARE | DLL.
	put(&f, uint16(0x8664), uint16(1), uint32(0), uint32(0), uint32(0), uint16(240), uint16(0x2022))
	// Optional header.
	put(&f, uint16(0x20b), uint8(1), uint8(0),
		uint32(0), uint32(rawSize), uint32(0), // code, initialized, uninitialized sizes
		uint32(0), uint32(sectRVA), // no entry point; base of code
		uint64(0x180000000), uint32(0x1000), uint32(fileAlign),
		uint16(6), uint16(0), uint16(0), uint16(0), uint16(6), uint16(0), // OS, image, subsystem versions
		uint32(0), uint32(sectRVA+0x1000), uint32(fileAlign), uint32(0), // win32 version, image, headers, checksum
		uint16(3), uint16(0x100), // console subsystem; NX compatible
		uint64(0x100000), uint64(0x1000), uint64(0x100000), uint64(0x1000), // stack and heap
		uint32(0), uint32(16), // loader flags, data directories
		uint32(sectRVA), uint32(end-sectRVA)) // the export directory
	f.Write(make([]byte, 15*8))
	// Section header: initialized, readable data.
	name := make([]byte, 8)
	copy(name, ".edata")
	f.Write(name)
	put(&f, uint32(len(raw)), uint32(sectRVA), uint32(rawSize), uint32(fileAlign),
		uint32(0), uint32(0), uint16(0), uint16(0), uint32(0x40000040))
	f.Write(make([]byte, fileAlign-f.Len()))
	f.Write(raw)
	f.Write(make([]byte, rawSize-len(raw)))
	return f.Bytes()
}

package install

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"
)

// ErrManaged is wrapped by a [*ManagedError]: the binary belongs to a
// package manager.
var ErrManaged = errors.New("binary managed by a package manager")

// ManagedError reports that a binary Install would replace belongs to a
// package manager (dpkg, rpm, Homebrew, Scoop) or was put there by `go
// install`. Replacing it would leave the package manager's records wrong
// and its next upgrade would undo the update, so Install refuses unless
// the call passes [AllowManaged]. Command is what the user should run instead.
type ManagedError struct {
	// Path is the binary.
	Path string
	// Manager is "dpkg", "rpm", "homebrew", "scoop" or "go".
	Manager string
	// Package is the package (formula, app, module) that owns it.
	Package string
	// Command updates it the package manager's way ("sudo apt upgrade
	// hello", "brew upgrade hello").
	Command string
}

// Error implements the error interface.
func (e *ManagedError) Error() string {
	return fmt.Sprintf("%s belongs to %s (package %s): update it with `%s` (or pass install.AllowManaged() to replace it anyway)",
		e.Path, e.Manager, e.Package, e.Command)
}

// Unwrap returns [ErrManaged].
func (e *ManagedError) Unwrap() error { return ErrManaged }

// Where the package managers keep their records; variables so that tests
// can point them at fixtures.
var (
	dpkgInfoDir = "/var/lib/dpkg/info"
	rpmCommand  = "rpm"
	rpmDBDirs   = []string{"/var/lib/rpm", "/usr/lib/sysimage/rpm"}
)

// scanUserDirs makes systemPath true everywhere (for tests whose
// fixtures live in the temporary directory).
var scanUserDirs = false

// systemPath reports whether one of paths is somewhere dpkg or rpm could
// have installed it: not below the home directory, the temporary
// directory or /usr/local, where distribution packages install nothing
// (Debian policy 9.1, the FHS). It spares the self-updater of a user's
// ~/.local/bin the package database scan.
func systemPath(paths []string) bool {
	if scanUserDirs {
		return true
	}
	roots := []string{os.TempDir(), "/tmp", "/var/tmp", "/usr/local", "/home"}
	if home, err := os.UserHomeDir(); err == nil && home != "/" {
		roots = append(roots, home)
	}
	for _, p := range paths {
		under := false
		for _, r := range roots {
			if rel, err := filepath.Rel(r, p); err == nil && rel != ".." && !strings.HasPrefix(rel, "../") {
				under = true
			}
		}
		if !under {
			return true
		}
	}
	return false
}

// Bounds of the dpkg database scan.
const (
	maxDpkgLists    = 100000
	maxDpkgListSize = 64 << 20
)

// checkManaged returns a *ManagedError when a binary of the install is
// owned by a package manager, unless the call allows it (AllowManaged).
func (in *Installer) checkManaged(ctx context.Context, c call) error {
	if c.allowManaged {
		return nil
	}
	for _, b := range in.cfg.Binaries {
		p := filepath.Join(in.cfg.Dir, b)
		if _, err := os.Lstat(p); err != nil {
			continue // nothing there yet: nothing to take over
		}
		hasReceipt := false
		if b == in.primary() {
			_, err := os.Stat(ReceiptPath(in.cfg.Dir, b))
			hasReceipt = err == nil
		}
		if me := managedBy(ctx, p, b, hasReceipt); me != nil {
			return me
		}
	}
	return nil
}

// managedBy finds the package manager owning the binary at p (name is its
// file name); nil when none does. hasReceipt says that relkit installed it
// (which rules out `go install`, not a package manager that owns the path).
func managedBy(ctx context.Context, p, name string, hasReceipt bool) *ManagedError {
	abs, err := filepath.Abs(p)
	if err != nil {
		return nil
	}
	candidates := []string{abs}
	if real, err := filepath.EvalSymlinks(abs); err == nil && real != abs {
		candidates = append(candidates, real)
	}
	if dir, err := filepath.EvalSymlinks(filepath.Dir(abs)); err == nil {
		if alt := filepath.Join(dir, name); alt != abs {
			candidates = append(candidates, alt)
		}
	}
	for _, c := range candidates {
		if me := brewOwner(abs, c); me != nil {
			return me
		}
		if me := scoopOwner(abs, c); me != nil {
			return me
		}
	}
	if runtime.GOOS == "linux" && systemPath(candidates) {
		if pkg := dpkgOwner(candidates); pkg != "" {
			return &ManagedError{Path: abs, Manager: "dpkg", Package: pkg, Command: "sudo apt upgrade " + pkg}
		}
		if pkg := rpmOwner(ctx, candidates); pkg != "" {
			return &ManagedError{Path: abs, Manager: "rpm", Package: pkg, Command: "sudo dnf upgrade " + pkg}
		}
	}
	if !hasReceipt {
		if me := goInstalled(abs); me != nil {
			return me
		}
	}
	return nil
}

// brewOwner recognises a Homebrew keg (<prefix>/Cellar/<formula>/<version>/...)
// or cask (<prefix>/Caskroom/<cask>/...).
func brewOwner(abs, p string) *ManagedError {
	parts := strings.Split(filepath.ToSlash(p), "/")
	for i := 0; i+2 < len(parts); i++ {
		switch parts[i] {
		case "Cellar":
			if i+3 < len(parts) {
				return &ManagedError{Path: abs, Manager: "homebrew", Package: parts[i+1], Command: "brew upgrade " + parts[i+1]}
			}
		case "Caskroom":
			return &ManagedError{Path: abs, Manager: "homebrew", Package: parts[i+1], Command: "brew upgrade --cask " + parts[i+1]}
		}
	}
	return nil
}

// scoopOwner recognises a Scoop app (<scoop>/apps/<app>/<version or
// current>/...) or shim (<scoop>/shims/<name>).
func scoopOwner(abs, p string) *ManagedError {
	parts := strings.Split(filepath.ToSlash(p), "/")
	for i := 0; i+1 < len(parts); i++ {
		if !strings.EqualFold(parts[i], "scoop") {
			continue
		}
		switch {
		case i+3 < len(parts) && strings.EqualFold(parts[i+1], "apps"):
			return &ManagedError{Path: abs, Manager: "scoop", Package: parts[i+2], Command: "scoop update " + parts[i+2]}
		case i+2 < len(parts) && strings.EqualFold(parts[i+1], "shims"):
			app := strings.TrimSuffix(strings.TrimSuffix(parts[i+2], ".exe"), ".shim")
			return &ManagedError{Path: abs, Manager: "scoop", Package: app, Command: "scoop update " + app}
		}
	}
	return nil
}

// dpkgOwner returns the dpkg package listing one of paths in its file
// list (<dpkgInfoDir>/<package>[:<arch>].list), or "".
func dpkgOwner(paths []string) string {
	entries, err := os.ReadDir(dpkgInfoDir)
	if err != nil {
		return ""
	}
	want := map[string]bool{}
	for _, p := range paths {
		want[filepath.ToSlash(p)] = true
	}
	for i, e := range entries {
		if i >= maxDpkgLists {
			break
		}
		name, ok := strings.CutSuffix(e.Name(), ".list")
		if !ok || !e.Type().IsRegular() {
			continue
		}
		if listHas(filepath.Join(dpkgInfoDir, e.Name()), want) {
			pkg, _, _ := strings.Cut(name, ":")
			return pkg
		}
	}
	return ""
}

func listHas(file string, want map[string]bool) bool {
	f, err := os.Open(file)
	if err != nil {
		return false
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxDpkgListSize))
	if err != nil {
		return false
	}
	for p := range want {
		if bytes.HasPrefix(data, []byte(p+"\n")) || bytes.Contains(data, []byte("\n"+p+"\n")) ||
			bytes.HasSuffix(data, []byte("\n"+p)) || string(data) == p {
			return true
		}
	}
	return false
}

// rpmOwner asks rpm which package owns one of paths, when this machine
// has an rpm database; "" when none does.
func rpmOwner(ctx context.Context, paths []string) string {
	haveDB := false
	for _, d := range rpmDBDirs {
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			haveDB = true
		}
	}
	if !haveDB {
		return ""
	}
	bin, err := exec.LookPath(rpmCommand)
	if err != nil {
		return ""
	}
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	for _, p := range paths {
		var out bytes.Buffer
		cmd := exec.CommandContext(ctx, bin, "-qf", "--queryformat", "%{NAME}\n", p)
		cmd.Stdout = &out
		if cmd.Run() != nil { // exit 1: not owned
			continue
		}
		if name := strings.TrimSpace(strings.SplitN(out.String(), "\n", 2)[0]); name != "" && !strings.Contains(name, " ") {
			return name
		}
	}
	return ""
}

// goInstalled recognises a binary `go install` put in GOBIN or
// GOPATH/bin: a Go binary with module information there, which relkit did
// not install (no receipt).
func goInstalled(abs string) *ManagedError {
	dir := filepath.Dir(abs)
	var bins []string
	if d := os.Getenv("GOBIN"); d != "" {
		bins = append(bins, d)
	}
	gopath := os.Getenv("GOPATH")
	if gopath == "" {
		if home, err := os.UserHomeDir(); err == nil {
			gopath = filepath.Join(home, "go")
		}
	}
	for _, p := range filepath.SplitList(gopath) {
		if p != "" {
			bins = append(bins, filepath.Join(p, "bin"))
		}
	}
	match := false
	for _, b := range bins {
		if a, err := filepath.Abs(b); err == nil && a == dir {
			match = true
		}
	}
	if !match {
		return nil
	}
	pkg, _, _, ok := goBuildInfo(abs)
	if !ok {
		return nil
	}
	return &ManagedError{Path: abs, Manager: "go", Package: pkg, Command: "go install " + pkg + "@latest"}
}

// buildInfoMagic starts the Go build information blob (debug/buildinfo's
// format), aligned to 16 bytes in the binary.
var buildInfoMagic = []byte("\xff Go buildinf:")

// Bounds of the build information search.
const (
	maxBuildInfoScan = 512 << 20
	maxModInfo       = 1 << 20
)

// goBuildInfo returns the main package path, the main module and its
// version recorded in a Go binary's build information ("path\t<pkg>" and
// "mod\t<module>\t<version>" of its module information), without
// debug/buildinfo and the object-file readers it links: the blob is found
// by its magic and read in the format Go 1.18 and later write (flag 2:
// inline strings). ok is false for anything else.
func goBuildInfo(file string) (pkg, mod, version string, ok bool) {
	f, err := os.Open(file)
	if err != nil {
		return "", "", "", false
	}
	defer f.Close()
	const chunk = 1 << 20
	buf := make([]byte, chunk+64)
	var off int64
	carry := 0
	for off < maxBuildInfoScan {
		n, err := io.ReadFull(f, buf[carry:])
		data := buf[:carry+n]
		for i := 0; i+32 <= len(data); i += 16 {
			// The magic also occurs elsewhere (this package's own
			// copy of it, in the binary's read-only data): check the
			// header, and go on searching when it does not parse.
			if !bytes.Equal(data[i:i+len(buildInfoMagic)], buildInfoMagic) {
				continue
			}
			if ps := data[i+14]; (ps != 4 && ps != 8) || data[i+15]&^3 != 0 || data[i+15]&2 == 0 {
				continue
			}
			rest := make([]byte, maxModInfo)
			m, _ := f.ReadAt(rest, off+int64(i)+32)
			if pkg, mod, version, ok := parseModInfo(rest[:m]); ok {
				return pkg, mod, version, true
			}
		}
		if err != nil { // EOF
			return "", "", "", false
		}
		// Keep the 16-aligned tail that could hold the start of a blob.
		keep := 48
		copy(buf, data[len(data)-keep:])
		carry = keep
		off += int64(len(data) - keep)
	}
	return "", "", "", false
}

// parseModInfo reads the version and module-information strings (each
// an unsigned varint length and the bytes) and returns the "path" line and
// the "mod" line's module and version.
func parseModInfo(b []byte) (pkg, mod, version string, ok bool) {
	var strs [2]string
	for i := range strs {
		l, n := binaryUvarint(b)
		if n <= 0 || uint64(len(b)-n) < l {
			return "", "", "", false
		}
		strs[i] = string(b[n : n+int(l)])
		b = b[n+int(l):]
	}
	info := strs[1]
	if len(info) < 33 || info[len(info)-17] != '\n' { // Go wraps it in two 16-byte sentinels
		return "", "", "", false
	}
	info = info[16 : len(info)-16]
	for _, line := range strings.Split(info, "\n") {
		if p, found := strings.CutPrefix(line, "path\t"); found && p != "" {
			pkg = p
		}
		if m, found := strings.CutPrefix(line, "mod\t"); found {
			f := strings.Split(m, "\t")
			mod = f[0]
			if len(f) > 1 {
				version = f[1]
			}
		}
	}
	return pkg, mod, version, pkg != ""
}

// binaryUvarint is encoding/binary.Uvarint.
func binaryUvarint(b []byte) (uint64, int) {
	var x uint64
	var s uint
	for i, c := range b {
		if i == 10 {
			return 0, -1
		}
		if c < 0x80 {
			return x | uint64(c)<<s, i + 1
		}
		x |= uint64(c&0x7f) << s
		s += 7
	}
	return 0, 0
}

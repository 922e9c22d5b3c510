package manifest

import (
	"fmt"
	"strings"
)

// Platform is an operating system and CPU architecture in Go's naming
// (GOOS/GOARCH): "linux"/"amd64", "darwin"/"arm64", "windows"/"amd64".
type Platform struct {
	OS   string
	Arch string
}

// String returns "os/arch".
func (p Platform) String() string { return p.OS + "/" + p.Arch }

// ArchiveExt returns the archive extension releases use for the platform:
// ".zip" for windows, ".tar.gz" otherwise.
func (p Platform) ArchiveExt() string {
	if p.OS == "windows" {
		return ".zip"
	}
	return ".tar.gz"
}

// ExeSuffix returns ".exe" for windows and "" otherwise.
func (p Platform) ExeSuffix() string {
	if p.OS == "windows" {
		return ".exe"
	}
	return ""
}

// PlatformError reports an operating system or architecture name that
// relkit does not know.
type PlatformError struct {
	Input string
	Part  string // "os", "arch" or "platform"
}

// Error implements the error interface.
func (e *PlatformError) Error() string {
	return fmt.Sprintf("unknown %s %q", e.Part, e.Input)
}

var osAliases = map[string]string{
	"linux": "linux", "darwin": "darwin", "macos": "darwin", "osx": "darwin", "mac": "darwin", "apple-darwin": "darwin",
	"windows": "windows", "win": "windows", "win32": "windows", "win64": "windows",
	"freebsd": "freebsd", "openbsd": "openbsd", "netbsd": "netbsd", "dragonfly": "dragonfly",
	"illumos": "illumos", "solaris": "solaris", "aix": "aix", "plan9": "plan9",
	"android": "android", "ios": "ios", "js": "js", "wasip1": "wasip1",
}

var archAliases = map[string]string{
	"amd64": "amd64", "x86_64": "amd64", "x64": "amd64", "x86-64": "amd64",
	"arm64": "arm64", "aarch64": "arm64", "armv8": "arm64",
	"386": "386", "i386": "386", "i686": "386", "x86": "386",
	"arm": "arm", "armv7": "arm", "armv7l": "arm", "armv6": "arm", "armhf": "arm",
	"riscv64": "riscv64", "ppc64le": "ppc64le", "ppc64": "ppc64", "s390x": "s390x",
	"mips": "mips", "mipsle": "mipsle", "mips64": "mips64", "mips64le": "mips64le",
	"loong64": "loong64", "wasm": "wasm",
}

// NormalizeOS returns Go's name for an operating system name met in the
// wild ("macos", "osx" → "darwin"; "win" → "windows"), case-insensitively.
func NormalizeOS(s string) (string, error) {
	if v, ok := osAliases[strings.ToLower(s)]; ok {
		return v, nil
	}
	return "", &PlatformError{Input: s, Part: "os"}
}

// NormalizeArch returns Go's name for an architecture name met in the wild
// ("x86_64", "x64" → "amd64"; "aarch64" → "arm64"), case-insensitively.
func NormalizeArch(s string) (string, error) {
	if v, ok := archAliases[strings.ToLower(s)]; ok {
		return v, nil
	}
	return "", &PlatformError{Input: s, Part: "arch"}
}

// ParsePlatform parses "os/arch" (also "os-arch" or "os_arch"), normalising
// both names with [NormalizeOS] and [NormalizeArch].
func ParsePlatform(s string) (Platform, error) {
	i := strings.IndexAny(s, "/-_")
	if i <= 0 || i == len(s)-1 {
		return Platform{}, &PlatformError{Input: s, Part: "platform"}
	}
	// "x86_64" contains '_' and "x86-64" '-': split at the first separator
	// after the OS name only.
	osName, arch := s[:i], s[i+1:]
	o, err := NormalizeOS(osName)
	if err != nil {
		return Platform{}, err
	}
	a, err := NormalizeArch(arch)
	if err != nil {
		return Platform{}, err
	}
	return Platform{OS: o, Arch: a}, nil
}

package manifest

import (
	"errors"
	"testing"
)

func TestParseTag(t *testing.T) {
	for _, tc := range []struct {
		in                                string
		prefix, module, version, codename string
		v                                 bool
	}{
		{in: "v1.2.3", version: "1.2.3", v: true},
		{in: "1.2.3", version: "1.2.3"},
		{in: "v1.2.3-rc.1", version: "1.2.3-rc.1", v: true},
		{in: "module-authority-v1.2.3", prefix: "module-authority", module: "authority", version: "1.2.3", v: true},
		{in: "module-policy-engine-v0.4.0-rc.2", prefix: "module-policy-engine", module: "policy-engine", version: "0.4.0-rc.2", v: true},
		{in: "suite-2026.04-nova", prefix: "suite", version: "2026.04", codename: "nova"},
		{in: "suite-2026.04.1-Nova", prefix: "suite", version: "2026.04.1", codename: "Nova"},
		{in: "suite-2026.04-rc.1", prefix: "suite", version: "2026.04-rc.1"},
		{in: "suite-2026.04-rc", prefix: "suite", version: "2026.04-rc"},
		{in: "hello/v1.2.3", prefix: "hello", module: "hello", version: "1.2.3", v: true},
		{in: "tools/cli/v2.0.0", prefix: "tools/cli", module: "tools/cli", version: "2.0.0", v: true},
		{in: "release-v1.0.0", prefix: "release", version: "1.0.0", v: true},
	} {
		tag, err := ParseTag(tc.in)
		if err != nil {
			t.Errorf("ParseTag(%q): %v", tc.in, err)
			continue
		}
		if tag.Prefix != tc.prefix || tag.Module != tc.module || tag.Version.String() != tc.version || tag.Codename != tc.codename || tag.V != tc.v || tag.String() != tc.in {
			t.Errorf("ParseTag(%q) = %+v (version %s)", tc.in, tag, tag.Version)
		}
	}
}

func TestParseTagInvalid(t *testing.T) {
	for _, tc := range []struct {
		in, part string
		version  bool // wraps a *VersionError
	}{
		{"", "tag", false},
		{"release", "version", false},
		{"module--v1.2.3", "module", false},
		{"v1.2", "version", true},
		{"module-x-v1.02.3", "version", true},
		{"v1.2.3 beta", "tag", false},
		{"v1.2.3~1", "tag", false},
		{"/v1.2.3", "prefix", false},
		{"hello/", "version", true},
	} {
		_, err := ParseTag(tc.in)
		var te *TagError
		if !errors.As(err, &te) {
			t.Errorf("ParseTag(%q) = %v, want *TagError", tc.in, err)
			continue
		}
		if te.Part != tc.part {
			t.Errorf("ParseTag(%q): part %q, want %q (%v)", tc.in, te.Part, tc.part, err)
		}
		var ve *VersionError
		if errors.As(err, &ve) != tc.version {
			t.Errorf("ParseTag(%q): wraps VersionError = %v, want %v", tc.in, !tc.version, tc.version)
		}
	}
}

func TestPlatforms(t *testing.T) {
	for _, tc := range []struct{ in, os, arch string }{
		{"linux/amd64", "linux", "amd64"},
		{"Linux-x86_64", "linux", "amd64"},
		{"linux_x64", "linux", "amd64"},
		{"macos/aarch64", "darwin", "arm64"},
		{"osx-arm64", "darwin", "arm64"},
		{"win/x64", "windows", "amd64"},
		{"windows-i686", "windows", "386"},
		{"linux/armv7l", "linux", "arm"},
		{"linux/x86-64", "linux", "amd64"},
	} {
		p, err := ParsePlatform(tc.in)
		if err != nil || p.OS != tc.os || p.Arch != tc.arch {
			t.Errorf("ParsePlatform(%q) = %v, %v; want %s/%s", tc.in, p, err, tc.os, tc.arch)
		}
	}
	for _, in := range []string{"", "linux", "linux/", "/amd64", "beos/amd64", "linux/vax"} {
		_, err := ParsePlatform(in)
		var pe *PlatformError
		if !errors.As(err, &pe) {
			t.Errorf("ParsePlatform(%q) = %v, want *PlatformError", in, err)
		}
	}
	w := Platform{OS: "windows", Arch: "amd64"}
	l := Platform{OS: "linux", Arch: "arm64"}
	if w.ArchiveExt() != ".zip" || w.ExeSuffix() != ".exe" || l.ArchiveExt() != ".tar.gz" || l.ExeSuffix() != "" {
		t.Errorf("archive/exe conventions wrong: %q %q %q %q", w.ArchiveExt(), w.ExeSuffix(), l.ArchiveExt(), l.ExeSuffix())
	}
}

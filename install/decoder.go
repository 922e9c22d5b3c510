package install

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"strings"
	"sync"
)

// A Decoder unpacks one compression format of tar archives for the
// installer. The installer itself reads only tar.gz and zip, so that a
// self-updater that needs nothing else links no other decompressor. A
// program whose releases ship other formats imports the package that
// registers the decoder, for its side effect:
//
//	import _ "github.com/relkit/relkit/install/xz"   // .tar.xz
//	import _ "github.com/relkit/relkit/install/zstd" // .tar.zst
//
// The decompressed stream goes through exactly the checks a tar.gz's
// does: entry names, links, devices, sparse entries, the size and entry
// caps, and the decompression-ratio cap, measured on the compressed bytes
// read (see [Limits]).
type Decoder struct {
	// Exts are the lower-case archive name endings the decoder reads
	// (".tar.xz", ".txz"); at least one.
	Exts []string
	// Magic is the compressed stream's first bytes, to recognise an
	// archive whose name says nothing; optional.
	Magic []byte
	// NewReader returns the decompressed stream of r. An error (r is not
	// in this format) refuses the archive with ErrUnsafeArchive.
	NewReader func(r io.Reader) (io.ReadCloser, error)
}

var (
	decodersMu sync.RWMutex
	decoders   []*Decoder
)

// knownDecoders names the packages that register the formats relkit
// releases can ship, for the error that says which one to import.
var knownDecoders = map[string]string{
	".tar.xz":  "github.com/relkit/relkit/install/xz",
	".txz":     "github.com/relkit/relkit/install/xz",
	".tar.zst": "github.com/relkit/relkit/install/zstd",
	".tzst":    "github.com/relkit/relkit/install/zstd",
}

// RegisterDecoder makes the installer read archives in d's format. It is
// meant to be called from the init function of a decoder package
// (install/xz, install/zstd). It panics when d has no extension or no
// NewReader, or claims an extension already registered (or ".tar.gz",
// ".tgz", ".zip"), since that is a programming error.
func RegisterDecoder(d Decoder) {
	if len(d.Exts) == 0 || d.NewReader == nil {
		panic("install: RegisterDecoder: a Decoder needs Exts and NewReader")
	}
	decodersMu.Lock()
	defer decodersMu.Unlock()
	for _, e := range d.Exts {
		if e != strings.ToLower(e) || !strings.HasPrefix(e, ".") {
			panic(fmt.Sprintf("install: RegisterDecoder: extension %q must be lower case and start with a dot", e))
		}
		switch e {
		case ".tar.gz", ".tgz", ".zip":
			panic(fmt.Sprintf("install: RegisterDecoder: %s is built in", e))
		}
		for _, o := range decoders {
			for _, oe := range o.Exts {
				if oe == e {
					panic(fmt.Sprintf("install: RegisterDecoder: %s registered twice", e))
				}
			}
		}
	}
	dc := d
	dc.Exts = append([]string(nil), d.Exts...)
	dc.Magic = append([]byte(nil), d.Magic...)
	decoders = append(decoders, &dc)
}

// lookupDecoder returns the registered decoder for an archive, by its
// name, else (f non-nil) by its first bytes; nil when none.
func lookupDecoder(name string, f io.ReaderAt) *Decoder {
	lower := strings.ToLower(name)
	decodersMu.RLock()
	defer decodersMu.RUnlock()
	for _, d := range decoders {
		for _, e := range d.Exts {
			if strings.HasSuffix(lower, e) {
				return d
			}
		}
	}
	if f == nil {
		return nil
	}
	var magic [16]byte
	n, _ := f.ReadAt(magic[:], 0)
	for _, d := range decoders {
		if len(d.Magic) > 0 && bytes.HasPrefix(magic[:n], d.Magic) {
			return d
		}
	}
	return nil
}

// decodedExt reports whether name ends in an extension a decoder package
// reads (registered or not), and returns it.
func decodedExt(name string) (string, bool) {
	lower := strings.ToLower(name)
	for e := range knownDecoders {
		if strings.HasSuffix(lower, e) {
			return e, true
		}
	}
	decodersMu.RLock()
	defer decodersMu.RUnlock()
	for _, d := range decoders {
		for _, e := range d.Exts {
			if strings.HasSuffix(lower, e) {
				return e, true
			}
		}
	}
	return "", false
}

// checkDecodable refuses, before anything is downloaded, an archive whose
// name says it needs a decoder this program does not link, naming the
// package to import.
func checkDecodable(name string) error {
	e, ok := decodedExt(name)
	if !ok || lookupDecoder(name, nil) != nil {
		return nil
	}
	reason := fmt.Sprintf("a %s archive, and this program registers no decoder for it", e)
	if pkg := knownDecoders[e]; pkg != "" {
		reason += fmt.Sprintf(": import _ %q to install it, or publish a .tar.gz too", pkg)
	}
	return &ArchiveError{Archive: name, Reason: reason, Err: ErrUnsafeArchive}
}

// decompressor opens the tar stream of a compressed archive: gzip, or the
// extractor's registered decoder.
func (x *extractor) decompressor(r io.Reader) (io.ReadCloser, error) {
	if x.decoder == nil {
		zr, err := gzip.NewReader(r)
		if err != nil {
			return nil, x.errf("", ErrUnsafeArchive, "not a gzip stream: %v", err)
		}
		return zr, nil
	}
	zr, err := x.decoder.NewReader(r)
	if err != nil {
		return nil, x.errf("", ErrUnsafeArchive, "not a %s stream: %v", strings.TrimPrefix(x.decoder.Exts[0], ".tar."), err)
	}
	return zr, nil
}

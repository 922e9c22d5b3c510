package xz

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"

	"github.com/ulikunitz/xz/lzma"
)

// The .xz container (https://tukaani.org/xz/xz-file-format.txt), read
// here block by block so that every block's dictionary size is checked
// before the LZMA2 decoder (github.com/ulikunitz/xz/lzma) allocates it.

var (
	footerMagic = []byte("YZ")
	crc64Table  = crc64.MakeTable(crc64.ECMA)
)

// ErrFormat is wrapped by every error about a malformed .xz stream.
var ErrFormat = errors.New("xz: malformed stream")

func formatErr(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrFormat, fmt.Sprintf(format, a...))
}

// countingByteReader counts the bytes consumed from a bufio.Reader.
type countingByteReader struct {
	r *bufio.Reader
	n int64
}

func (c *countingByteReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

func (c *countingByteReader) ReadByte() (byte, error) {
	b, err := c.r.ReadByte()
	if err == nil {
		c.n++
	}
	return b, err
}

// streamReader decodes a sequence of .xz streams (with stream padding).
type streamReader struct {
	in      *bufio.Reader
	check   byte // the current stream's check type
	started bool // a stream header has been read
	streams int  // streams read so far

	// The current block, nil between blocks.
	block     *lzma.Reader2
	blockIn   *countingByteReader
	hdrLen    int64
	wantComp  int64 // declared compressed size, -1 when absent
	wantUnc   int64 // declared uncompressed size, -1 when absent
	unc       int64
	blockHash hash.Hash

	records [][2]int64 // (unpadded, uncompressed) per block of the stream
	err     error
}

func newStreamReader(r *bufio.Reader) *streamReader { return &streamReader{in: r} }

// Read implements io.Reader.
func (s *streamReader) Read(p []byte) (int, error) {
	for s.err == nil {
		if s.block != nil {
			n, err := s.block.Read(p)
			s.unc += int64(n)
			if n > 0 {
				s.blockHash.Write(p[:n])
			}
			if s.wantUnc >= 0 && s.unc > s.wantUnc {
				s.err = formatErr("block decompresses past its declared size")
				return n, s.err
			}
			if errors.Is(err, io.EOF) {
				s.err = s.endBlock()
				if n > 0 {
					return n, nil
				}
				continue
			}
			if err != nil {
				s.err = err
			}
			return n, s.err
		}
		if s.err = s.next(); s.err != nil {
			break
		}
	}
	return 0, s.err
}

// checkSize is the size of a check type's field.
func checkSize(t byte) int {
	switch {
	case t == 0:
		return 0
	case t <= 3:
		return 4
	case t <= 6:
		return 8
	case t <= 9:
		return 16
	case t <= 12:
		return 32
	}
	return 64
}

func (s *streamReader) newHash() hash.Hash {
	switch s.check {
	case 0x01:
		return crc32.NewIEEE()
	case 0x04:
		return crc64.New(crc64Table)
	case 0x0a:
		return sha256.New()
	}
	return nil
}

// next reads what follows: a stream header, a block header (and starts
// the block), or the index and footer. io.EOF at a stream boundary ends
// the input.
func (s *streamReader) next() error {
	if !s.started {
		return s.streamHeader()
	}
	b, err := s.in.ReadByte()
	if err != nil {
		return unexpected(err)
	}
	if b == 0 {
		return s.index()
	}
	return s.blockHeader(b)
}

func unexpected(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// streamHeader reads a stream header, after any stream padding; io.EOF
// when the input ends at a stream boundary (but not before the first).
func (s *streamReader) streamHeader() error {
	var hdr [12]byte
	for {
		if _, err := io.ReadFull(s.in, hdr[:4]); err != nil {
			if errors.Is(err, io.EOF) && s.streams > 0 {
				return io.EOF
			}
			return unexpected(err)
		}
		if !bytes.Equal(hdr[:4], []byte{0, 0, 0, 0}) {
			break // stream padding is zeros, four at a time
		}
	}
	if _, err := io.ReadFull(s.in, hdr[4:]); err != nil {
		return unexpected(err)
	}
	if !bytes.Equal(hdr[:6], Magic) {
		return formatErr("not an xz stream header")
	}
	if crc32.ChecksumIEEE(hdr[6:8]) != binary.LittleEndian.Uint32(hdr[8:]) {
		return formatErr("stream header checksum")
	}
	if hdr[6] != 0 || hdr[7]&0xf0 != 0 {
		return formatErr("unsupported stream flags")
	}
	s.check, s.started, s.records = hdr[7]&0x0f, true, s.records[:0]
	s.streams++
	if s.newHash() == nil && s.check != 0 {
		return formatErr("unsupported check type %#x", s.check)
	}
	return nil
}

// blockHeader reads a block header whose first byte is b, checks its
// dictionary size, and starts the block's decoder.
func (s *streamReader) blockHeader(b byte) error {
	size := (int(b) + 1) * 4
	h := make([]byte, size)
	h[0] = b
	if _, err := io.ReadFull(s.in, h[1:]); err != nil {
		return unexpected(err)
	}
	if crc32.ChecksumIEEE(h[:size-4]) != binary.LittleEndian.Uint32(h[size-4:]) {
		return formatErr("block header checksum")
	}
	flags := h[1]
	if flags&0x3c != 0 {
		return formatErr("reserved block flags")
	}
	rest := h[2 : size-4]
	s.wantComp, s.wantUnc = -1, -1
	if flags&0x40 != 0 {
		v, n := uvarint(rest)
		if n <= 0 || v == 0 || v > 1<<62 {
			return formatErr("block compressed size")
		}
		s.wantComp, rest = int64(v), rest[n:]
	}
	if flags&0x80 != 0 {
		v, n := uvarint(rest)
		if n <= 0 || v > 1<<62 {
			return formatErr("block uncompressed size")
		}
		s.wantUnc, rest = int64(v), rest[n:]
	}
	if flags&3 != 0 {
		return formatErr("a filter chain (BCJ, delta) this reader does not decode: only LZMA2")
	}
	id, n := uvarint(rest)
	if n <= 0 || id != 0x21 {
		return formatErr("filter %#x, want LZMA2 (0x21)", id)
	}
	rest = rest[n:]
	psize, n := uvarint(rest)
	if n <= 0 || psize != 1 || len(rest) < n+1 {
		return formatErr("LZMA2 properties")
	}
	dict, ok := lzma2DictSize(rest[n])
	if !ok {
		return formatErr("LZMA2 dictionary size %#x", rest[n])
	}
	for _, pad := range rest[n+1:] {
		if pad != 0 {
			return formatErr("non-zero block header padding")
		}
	}
	if dict > MaxDictSize {
		return &DictTooLargeError{Size: dict}
	}
	if dict < lzma.MinDictCap {
		dict = lzma.MinDictCap
	}
	s.blockIn = &countingByteReader{r: s.in}
	var in io.Reader = s.blockIn
	if s.wantComp >= 0 {
		in = &limitedByteReader{c: s.blockIn, left: s.wantComp}
	}
	r2, err := lzma.Reader2Config{DictCap: int(dict)}.NewReader2(in)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrFormat, err)
	}
	s.block, s.hdrLen, s.unc = r2, int64(size), 0
	s.blockHash = s.newHash()
	if s.blockHash == nil {
		s.blockHash = nopHash{}
	}
	return nil
}

// limitedByteReader stops a block's decoder at its declared compressed
// size.
type limitedByteReader struct {
	c    *countingByteReader
	left int64
}

func (l *limitedByteReader) Read(p []byte) (int, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > l.left {
		p = p[:l.left]
	}
	n, err := l.c.Read(p)
	l.left -= int64(n)
	return n, err
}

func (l *limitedByteReader) ReadByte() (byte, error) {
	if l.left <= 0 {
		return 0, io.EOF
	}
	b, err := l.c.ReadByte()
	if err == nil {
		l.left--
	}
	return b, err
}

// endBlock reads a block's padding and check once its data ended.
func (s *streamReader) endBlock() error {
	comp := s.blockIn.n
	s.block = nil
	if s.wantComp >= 0 && comp != s.wantComp {
		return formatErr("block compressed size %d, header says %d", comp, s.wantComp)
	}
	if s.wantUnc >= 0 && s.unc != s.wantUnc {
		return formatErr("block uncompressed size %d, header says %d", s.unc, s.wantUnc)
	}
	pad := int((4 - (s.hdrLen+comp)%4) % 4)
	buf := make([]byte, pad+checkSize(s.check))
	if _, err := io.ReadFull(s.in, buf); err != nil {
		return unexpected(err)
	}
	for _, b := range buf[:pad] {
		if b != 0 {
			return formatErr("non-zero block padding")
		}
	}
	if s.check != 0 {
		sum := s.blockHash.Sum(nil)
		if s.check == 0x04 || s.check == 0x01 { // little-endian on disk
			for i, j := 0, len(sum)-1; i < j; i, j = i+1, j-1 {
				sum[i], sum[j] = sum[j], sum[i]
			}
		}
		if !bytes.Equal(sum, buf[pad:]) {
			return formatErr("block check mismatch (corrupt data)")
		}
	}
	s.records = append(s.records, [2]int64{s.hdrLen + comp + int64(checkSize(s.check)), s.unc})
	return nil
}

// index reads the index (its indicator byte already read) and the stream
// footer, checking them against the blocks decoded.
func (s *streamReader) index() error {
	crc := crc32.NewIEEE()
	crc.Write([]byte{0})
	r := io.TeeReader(s.in, crc)
	br := &teeByteReader{r: r}
	count, err := binary.ReadUvarint(br)
	if err != nil {
		return formatErr("index: %v", err)
	}
	if count != uint64(len(s.records)) {
		return formatErr("index lists %d blocks, the stream has %d", count, len(s.records))
	}
	size := int64(1 + br.n)
	for i := range s.records {
		before := br.n
		unpadded, err1 := binary.ReadUvarint(br)
		unc, err2 := binary.ReadUvarint(br)
		if err1 != nil || err2 != nil {
			return formatErr("index record %d", i)
		}
		if int64(unpadded) != s.records[i][0] || int64(unc) != s.records[i][1] {
			return formatErr("index record %d disagrees with its block", i)
		}
		size += int64(br.n - before)
	}
	pad := int((4 - size%4) % 4)
	buf := make([]byte, pad)
	if _, err := io.ReadFull(r, buf); err != nil {
		return unexpected(err)
	}
	for _, b := range buf {
		if b != 0 {
			return formatErr("non-zero index padding")
		}
	}
	size += int64(pad)
	want := crc.Sum32()
	var tail [4 + 12]byte // index CRC32, footer
	if _, err := io.ReadFull(s.in, tail[:]); err != nil {
		return unexpected(err)
	}
	if binary.LittleEndian.Uint32(tail[:4]) != want {
		return formatErr("index checksum")
	}
	size += 4
	f := tail[4:]
	if !bytes.Equal(f[10:], footerMagic) || crc32.ChecksumIEEE(f[4:10]) != binary.LittleEndian.Uint32(f[:4]) {
		return formatErr("stream footer")
	}
	if (int64(binary.LittleEndian.Uint32(f[4:8]))+1)*4 != size || f[8] != 0 || f[9] != s.check {
		return formatErr("stream footer disagrees with the index or the header")
	}
	s.started = false // another stream, stream padding, or the end
	return nil
}

// teeByteReader reads single bytes from r, counting them.
type teeByteReader struct {
	r io.Reader
	n int
	b [1]byte
}

func (t *teeByteReader) ReadByte() (byte, error) {
	if _, err := io.ReadFull(t.r, t.b[:]); err != nil {
		return 0, unexpected(err)
	}
	t.n++
	return t.b[0], nil
}

// nopHash is the check of a stream without one.
type nopHash struct{}

func (nopHash) Write(p []byte) (int, error) { return len(p), nil }
func (nopHash) Sum(b []byte) []byte         { return b }
func (nopHash) Reset()                      {}
func (nopHash) Size() int                   { return 0 }
func (nopHash) BlockSize() int              { return 1 }

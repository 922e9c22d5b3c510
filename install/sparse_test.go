package install

import (
	"fmt"
	"strconv"
	"testing"
)

// ustarBlock is a hand-made ustar header block (archive/tar's Writer
// cannot write the PAX records of a sparse file).
func ustarBlock(name string, typ byte, size int) []byte {
	b := make([]byte, 512)
	copy(b[0:100], name)
	copy(b[100:108], "0000755\x00")
	copy(b[108:116], "0000000\x00")
	copy(b[116:124], "0000000\x00")
	copy(b[124:136], fmt.Sprintf("%011o\x00", size))
	copy(b[136:148], fmt.Sprintf("%011o\x00", 1000000000))
	b[156] = typ
	copy(b[257:263], "ustar\x00")
	copy(b[263:265], "00")
	for i := 148; i < 156; i++ {
		b[i] = ' '
	}
	sum := 0
	for _, c := range b {
		sum += int(c)
	}
	copy(b[148:156], fmt.Sprintf("%06o\x00 ", sum))
	return b
}

func pad512(b []byte) []byte {
	for len(b)%512 != 0 {
		b = append(b, 0)
	}
	return b
}

// paxRecord encodes one PAX record ("<len> key=value\n").
func paxRecord(k, v string) string {
	s := " " + k + "=" + v + "\n"
	n := len(s) + 1
	for len(strconv.Itoa(n))+len(s) != n {
		n = len(strconv.Itoa(n)) + len(s)
	}
	return strconv.Itoa(n) + s
}

// sparseEntry is a GNU sparse file (PAX format 1.0): data at offset 0,
// then a hole up to realSize. It takes a few hundred bytes in the
// archive and decompresses, through archive/tar, to realSize bytes.
type sparseEntry struct {
	name     string
	data     []byte
	realSize int64
}

// sparseTarGz is a tar.gz of sparse entries, then regular ones.
func sparseTarGz(t testing.TB, sparse []sparseEntry, regular []entry) []byte {
	t.Helper()
	return gzBytes(t, sparseTar(sparse, regular))
}

// sparseTar is an uncompressed tar of sparse entries, then regular ones.
func sparseTar(sparse []sparseEntry, regular []entry) []byte {
	var raw []byte
	for _, s := range sparse {
		pax := paxRecord("GNU.sparse.major", "1") + paxRecord("GNU.sparse.minor", "0") +
			paxRecord("GNU.sparse.name", s.name) + paxRecord("GNU.sparse.realsize", strconv.FormatInt(s.realSize, 10))
		raw = append(raw, ustarBlock("PaxHeaders/"+s.name, 'x', len(pax))...)
		raw = append(raw, pad512([]byte(pax))...)
		sparseMap := pad512([]byte(fmt.Sprintf("1\n0\n%d\n", len(s.data))))
		body := append(sparseMap, s.data...)
		raw = append(raw, ustarBlock("GNUSparseFile.0/"+s.name, '0', len(body))...)
		raw = append(raw, pad512(body)...)
	}
	for _, e := range regular {
		raw = append(raw, ustarBlock(e.name, '0', len(e.body))...)
		raw = append(raw, pad512(append([]byte(nil), e.body...))...)
	}
	raw = append(raw, make([]byte, 1024)...)
	return raw
}

// Command install is the helper of bench/install/run.sh: it prepares a
// signed release with one large binary, serves it on loopback, and
// installs it with package install, reporting the wall time and the
// process's peak RSS.
//
//	install prepare -dir D -size N    release roots in D/release (tar.gz) and D/release-zst (tar.zst), key in D/pub.pem
//	install serve -root R -url-file F serve R on 127.0.0.1, write the URL to F
//	install install -url U -dir BIN -key PEM
//	install bare -url U -dir BIN      the limit: download, hash and decompress on two goroutines
//
// bare is the physical limit of the job relkit's install does, with the
// I/O a client cannot avoid and nothing else: one goroutine reads the HTTP
// body and hashes it (SHA-256; with -keep it also writes it to a
// temporary file, as relkit does to resume), handing each chunk over to
// the other, which decompresses
// (compress/gzip, or klauspost zstd for .tar.zst), reads the tar, writes
// the binary, fsyncs and renames it into place. No manifest, signature,
// limits, backup or health check.
package main

import (
	"archive/tar"
	"bufio"
	"compress/gzip"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/relkit/relkit/install"
	_ "github.com/relkit/relkit/install/zstd" // the tar.zst install
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"

	"github.com/klauspost/compress/zstd"
)

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: install prepare|serve|install [flags]")
	}
	var err error
	switch os.Args[1] {
	case "prepare":
		err = prepare(os.Args[2:])
	case "serve":
		err = serve(os.Args[2:])
	case "install":
		err = runInstall(os.Args[2:])
	case "bare":
		err = runBare(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		log.Fatal(err)
	}
}

const version = "1.0.0"

// binary writes a runnable script of size bytes: it prints its version
// and exits before the padding. The padding is real executables (the Go
// toolchain's, repeated: what release archives hold, about 2.5:1 under
// gzip) or, with payload "random", random base64 (about 1.3:1, nearly
// all literals: the worst case for an inflater).
func binary(w io.Writer, size int64, payload, toolDir string) error {
	head := "#!/bin/sh\necho hello " + version + "\nexit 0\n"
	bw := bufio.NewWriterSize(w, 1<<20)
	bw.WriteString(head)
	left := size - int64(len(head))
	if payload == "real" {
		var files []string
		for _, d := range []string{toolDir, filepath.Join(toolDir, "..", "..", "..", "bin")} {
			des, err := os.ReadDir(d)
			if err != nil {
				return err
			}
			for _, de := range des {
				if de.Type().IsRegular() {
					files = append(files, filepath.Join(d, de.Name()))
				}
			}
		}
		if len(files) == 0 {
			return fmt.Errorf("no executables in %s", toolDir)
		}
		for i := 0; left > 0; i++ {
			f, err := os.Open(files[i%len(files)])
			if err != nil {
				return err
			}
			n, err := io.Copy(bw, io.LimitReader(f, left))
			f.Close()
			if err != nil {
				return err
			}
			left -= n
		}
		return bw.Flush()
	}
	raw := make([]byte, 57*1024)
	line := make([]byte, base64.StdEncoding.EncodedLen(len(raw)))
	for left > 0 {
		rand.Read(raw)
		base64.StdEncoding.Encode(line, raw)
		n := min(int64(len(line)), left)
		bw.Write(line[:n])
		left -= n
	}
	return bw.Flush()
}

func prepare(args []string) error {
	fs := flag.NewFlagSet("prepare", flag.ExitOnError)
	dir := fs.String("dir", "", "work directory")
	size := fs.Int64("size", 512<<20, "binary size in bytes")
	payload := fs.String("payload", "real", `"real" (Go toolchain executables) or "random" (random base64)`)
	fs.Parse(args)
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		log.Fatalf("go env GOROOT: %v", err)
	}
	toolDir := filepath.Join(strings.TrimSpace(string(goroot)), "pkg", "tool", runtime.GOOS+"_"+runtime.GOARCH)
	binPath := filepath.Join(*dir, "payload")
	bf, err := os.Create(binPath)
	if err != nil {
		return err
	}
	if err := binary(bf, *size, *payload, toolDir); err != nil {
		return err
	}
	if err := bf.Close(); err != nil {
		return err
	}
	defer os.Remove(binPath)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	for _, format := range []string{"tar.gz", "tar.zst"} {
		root := filepath.Join(*dir, "release")
		if format == "tar.zst" {
			root += "-zst"
		}
		if err := prepareRoot(root, format, binPath, *size, *payload, key); err != nil {
			return err
		}
	}
	pub, err := verify.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(*dir, "pub.pem"), pub, 0o644)
}

// prepareRoot writes a signed release root holding binPath in one archive
// of format (tar.gz at the default level, or tar.zst as release.Package
// writes it: the default level, one goroutine).
func prepareRoot(root, format, binPath string, size int64, payload string, key *ecdsa.PrivateKey) error {
	name := fmt.Sprintf("hello-%s-%s-%s.%s", version, runtime.GOOS, runtime.GOARCH, format)
	if err := os.MkdirAll(filepath.Join(root, version), 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(root, version, name))
	if err != nil {
		return err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	var zw io.WriteCloser
	if format == "tar.zst" {
		zw, err = zstd.NewWriter(cw, zstd.WithEncoderConcurrency(1), zstd.WithEncoderLevel(zstd.SpeedDefault), zstd.WithEncoderCRC(true))
	} else {
		zw, err = gzip.NewWriterLevel(cw, gzip.DefaultCompression)
	}
	if err != nil {
		return err
	}
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: size, Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
		return err
	}
	bin, err := os.Open(binPath)
	if err != nil {
		return err
	}
	_, err = io.Copy(tw, bin)
	bin.Close()
	if err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	if err := zw.Close(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	sum := hex.EncodeToString(h.Sum(nil))
	sums := &manifest.Checksums{}
	sums.Add(name, sum)
	if err := os.WriteFile(filepath.Join(root, version, "SHA256SUMS"), sums.Marshal(), 0o644); err != nil {
		return err
	}
	m := manifest.New("hello")
	now := time.Now().UTC().Truncate(time.Second)
	if _, err := m.Add(manifest.Release{Version: version, Date: now, Artifacts: []manifest.Artifact{{
		Name: name, Path: version + "/" + name, Kind: manifest.KindArchive, OS: runtime.GOOS, Arch: runtime.GOARCH,
		Size: cw.n, SHA256: sum,
	}}}); err != nil {
		return err
	}
	m.Touch(now, 24*time.Hour)
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	digest := sha256.Sum256(data)
	sig, err := ecdsa.SignASN1(rand.Reader, key, digest[:])
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "manifest.json"), data, 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(root, "manifest.json.sig"), verify.EncodeSignature(sig), 0o644); err != nil {
		return err
	}
	fmt.Printf("artifact %s: %d bytes (binary %d bytes, %s payload)\n", name, cw.n, size, payload)
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func serve(args []string) error {
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	root := fs.String("root", "", "directory to serve")
	urlFile := fs.String("url-file", "", "where to write the URL")
	fs.Parse(args)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	url := "http://" + ln.Addr().String() + "/"
	if err := os.WriteFile(*urlFile, []byte(url), 0o644); err != nil {
		return err
	}
	return http.Serve(ln, http.FileServer(http.Dir(*root)))
}

func runInstall(args []string) error {
	fs := flag.NewFlagSet("install", flag.ExitOnError)
	url := fs.String("url", "", "release root URL")
	dir := fs.String("dir", "", "install directory")
	keyFile := fs.String("key", "", "public key PEM")
	verbose := fs.Bool("v", false, "log each step with its time")
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile to this file")
	fs.Parse(args)
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	pem, err := os.ReadFile(*keyFile)
	if err != nil {
		return err
	}
	ring, err := verify.NewKeyRing(pem)
	if err != nil {
		return err
	}
	cfg := install.Config{Project: "hello", Source: *url, Dir: *dir, Trust: &verify.Trust{Keys: ring}}
	if *verbose {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	in, err := install.New(cfg)
	if err != nil {
		return err
	}
	start := time.Now()
	res, err := in.Install(context.Background(), manifest.Query{})
	if err != nil {
		return err
	}
	fmt.Printf("installed %s %s in %.3fs, peak RSS %s\n", res.Project, res.Version, time.Since(start).Seconds(), peakRSS())
	return nil
}

// peakRSS returns VmHWM from /proc/self/status, or "unknown".
func peakRSS() string {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return "unknown"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			return strings.TrimSpace(v)
		}
	}
	return "unknown"
}

// runBare is the limit: see the package comment.
func runBare(args []string) error {
	fs := flag.NewFlagSet("bare", flag.ExitOnError)
	url := fs.String("url", "", "URL of the artifact")
	sum := fs.String("sha256", "", "its SHA-256")
	dir := fs.String("dir", "", "install directory")
	keep := fs.Bool("keep", false, "also write the archive to a temporary file, as relkit does (to resume)")
	fs.Parse(args)
	start := time.Now()
	resp, err := http.Get(*url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("GET %s: %s", *url, resp.Status)
	}
	var archive *os.File
	if *keep {
		if archive, err = os.CreateTemp(*dir, ".bare-download-*"); err != nil {
			return err
		}
		defer os.Remove(archive.Name())
		defer archive.Close()
	}
	// Two goroutines: this one reads the body, hashes it and hands
	// each full 256 KiB chunk over; the other decompresses from the
	// chunks (one copy, into its read buffer) and writes the binary.
	const chunk, chunks = 256 << 10, 8
	cr := &chanReader{full: make(chan []byte, chunks), free: make(chan []byte, chunks)}
	for range chunks {
		cr.free <- make([]byte, chunk)
	}
	done := make(chan error, 1)
	go func() { done <- unpack(cr, *url, *dir) }()
	h := sha256.New()
	for {
		b := <-cr.free
		n, rerr := io.ReadFull(resp.Body, b[:chunk])
		if n > 0 {
			if archive != nil {
				if _, err := archive.Write(b[:n]); err != nil {
					return err
				}
			}
			h.Write(b[:n])
			cr.full <- b[:n]
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	close(cr.full)
	if err := <-done; err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != *sum {
		return fmt.Errorf("sha256 %s, want %s", got, *sum)
	}
	fmt.Printf("bare install in %.3fs, peak RSS %s\n", time.Since(start).Seconds(), peakRSS())
	return nil
}

// chanReader reads the chunks sent on full and returns each to free.
type chanReader struct {
	full, free chan []byte
	cur, buf   []byte
}

func (c *chanReader) Read(p []byte) (int, error) {
	for len(c.cur) == 0 {
		if c.buf != nil {
			c.free <- c.buf
			c.buf = nil
		}
		b, ok := <-c.full
		if !ok {
			return 0, io.EOF
		}
		c.cur, c.buf = b, b
	}
	n := copy(p, c.cur)
	c.cur = c.cur[n:]
	return n, nil
}

func unpack(r io.Reader, name, dir string) error {
	defer io.Copy(io.Discard, r) // never leave the reader blocked
	var zr io.Reader
	if strings.HasSuffix(name, ".tar.zst") {
		d, err := zstd.NewReader(r, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true))
		if err != nil {
			return err
		}
		defer d.Close()
		zr = d
	} else {
		g, err := gzip.NewReader(bufio.NewReaderSize(r, 256<<10))
		if err != nil {
			return err
		}
		zr = g
	}
	tr := tar.NewReader(zr)
	hdr, err := tr.Next()
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, ".bare-new-*")
	if err != nil {
		return err
	}
	// 256 KiB writes (the decompressor returns 32 KiB at a time), as
	// relkit does.
	buf := make([]byte, 256<<10)
	for {
		n, rerr := io.ReadFull(tr, buf)
		if n > 0 {
			if _, err := f.Write(buf[:n]); err != nil {
				return err
			}
		}
		if rerr == io.EOF || rerr == io.ErrUnexpectedEOF {
			break
		}
		if rerr != nil {
			return rerr
		}
	}
	if err := f.Chmod(0o755); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return err
	}
	return os.Rename(f.Name(), filepath.Join(dir, path.Base(hdr.Name)))
}

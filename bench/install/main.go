// Command install is the helper of bench/install/run.sh: it prepares a
// signed release with one large binary, serves it on loopback, and
// installs it with package install, reporting the wall time and the
// process's peak RSS.
//
//	install prepare -dir D -size N    release root in D/release, key in D/pub.pem
//	install serve -root R -url-file F serve R on 127.0.0.1, write the URL to F
//	install install -url U -dir BIN -key PEM
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
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/relkit/relkit/install"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/verify"
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
	root := filepath.Join(*dir, "release")
	name := fmt.Sprintf("hello-%s-%s-%s.tar.gz", version, runtime.GOOS, runtime.GOARCH)
	if err := os.MkdirAll(filepath.Join(root, version), 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(root, version, name))
	if err != nil {
		return err
	}
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	zw, _ := gzip.NewWriterLevel(cw, gzip.DefaultCompression)
	tw := tar.NewWriter(zw)
	if err := tw.WriteHeader(&tar.Header{Name: "hello", Mode: 0o755, Size: *size, Typeflag: tar.TypeReg, ModTime: time.Now()}); err != nil {
		return err
	}
	if err := binary(tw, *size, *payload, toolDir); err != nil {
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
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
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
	pub, err := verify.MarshalPublicKey(&key.PublicKey)
	if err != nil {
		return err
	}
	fmt.Printf("artifact %s: %d bytes (binary %d bytes, %s payload)\n", name, cw.n, *size, *payload)
	return os.WriteFile(filepath.Join(*dir, "pub.pem"), pub, 0o644)
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
	cfg := install.Config{Project: "hello", Source: *url, Dir: *dir, Keys: ring}
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

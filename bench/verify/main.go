// Command verifybench times one way of hashing a file, for run.sh:
//
//	verifybench -mode relkit -sha256 HEX FILE   verify.VerifyFile (size + SHA-256, one pass)
//	verifybench -mode bare FILE                 io.Copy into crypto/sha256
//
// It prints the elapsed seconds on stdout.
package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/relkit/relkit/verify"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "verifybench:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := flag.String("mode", "relkit", "relkit or bare")
	sum := flag.String("sha256", "", "expected digest (relkit mode)")
	flag.Parse()
	if flag.NArg() != 1 {
		return fmt.Errorf("usage: verifybench -mode relkit|bare [-sha256 HEX] FILE")
	}
	name := flag.Arg(0)
	start := time.Now()
	switch *mode {
	case "relkit":
		fi, err := os.Stat(name)
		if err != nil {
			return err
		}
		if err := verify.VerifyFile(context.Background(), name, verify.Expected{Name: name, SHA256: *sum, Size: fi.Size()}); err != nil {
			return err
		}
	case "bare":
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			return err
		}
		_ = hex.EncodeToString(h.Sum(nil))
	default:
		return fmt.Errorf("unknown mode %q", *mode)
	}
	fmt.Printf("%.3f\n", time.Since(start).Seconds())
	return nil
}

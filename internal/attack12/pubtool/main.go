//go:build attack12

// Command pubtool is the attack12 writer process: it publishes or amends
// with relkit into a directory or an S3 prefix.
//
//	pubtool publish -staged ROOT -dest DIR|s3:BUCKET/PREFIX -key key.pem
//	pubtool amend -op refresh|yank|deprecate|prune -dest ... -key key.pem [-version V] [-keep N -channel C]
//	pubtool reader -dest DIR -key key.pem -dur 5s   (polls verify.FetchManifest; prints each failure)
//
// S3 uses AWS_ENDPOINT_URL / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
// Exit 0 on success, 1 on error (the error printed on stderr, with its %T).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	s3store "github.com/relkit/relkit/publish/s3"
	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/verify"
)

func store(ctx context.Context, dest string) (publish.Store, verify.Location, error) {
	if rest, ok := strings.CutPrefix(dest, "s3:"); ok {
		bucket, prefix, _ := strings.Cut(rest, "/")
		st, err := s3store.New(ctx, bucket, s3store.WithEndpoint(os.Getenv("AWS_ENDPOINT_URL")), s3store.WithPathStyle(),
			s3store.WithRegion("us-east-1"),
			s3store.WithStaticCredentials(os.Getenv("AWS_ACCESS_KEY_ID"), os.Getenv("AWS_SECRET_ACCESS_KEY"), ""),
			s3store.WithPrefix(prefix), s3store.WithTimeout(20*time.Second, 1024))
		return st, st, err
	}
	st, err := publish.NewDirStore(dest)
	if err != nil {
		return nil, nil, err
	}
	return st, verify.Dir(dest), nil
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: pubtool publish|amend|reader ...")
		os.Exit(2)
	}
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	staged := fs.String("staged", "", "staged release root")
	dest := fs.String("dest", "", "destination")
	key := fs.String("key", "", "private key PEM")
	op := fs.String("op", "refresh", "amend op")
	version := fs.String("version", "", "version for yank/deprecate/prune")
	keep := fs.Int("keep", 0, "prune: keep N")
	channel := fs.String("channel", "", "prune: channel")
	dur := fs.Duration("dur", 5*time.Second, "reader duration")
	timeout := fs.Duration("timeout", 60*time.Second, "overall timeout")
	fs.Parse(os.Args[2:])
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	s, err := harness.LoadSigner(*key)
	if err != nil {
		fail(err)
	}
	st, loc, err := store(ctx, *dest)
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "publish":
		if err := harness.Publish(ctx, st, *staged, s); err != nil {
			fail(err)
		}
	case "amend":
		ac, err := harness.Amend(st, s)
		if err != nil {
			fail(err)
		}
		var res *release.AmendResult
		switch *op {
		case "refresh":
			res, err = release.Refresh(ctx, ac)
		case "yank":
			res, err = release.Yank(ctx, ac, *version, "attack12")
		case "deprecate":
			res, err = release.Deprecate(ctx, ac, *version, "attack12")
		case "prune":
			pol := manifest.RetentionPolicy{Keep: *keep}
			if *channel != "" {
				pol.Channels = strings.Split(*channel, ",")
			}
			if *version != "" {
				pol.Versions = strings.Split(*version, ",")
			}
			res, err = release.Prune(ctx, ac, pol)
		default:
			fail(fmt.Errorf("unknown op %q", *op))
		}
		if err != nil {
			fail(err)
		}
		fmt.Printf("serial %d changed %v removed %v\n", res.Root.Serial, res.Root.Changed, res.Removed)
	case "reader":
		r, _ := verify.NewKeyRing(s.PublicKeyPEM())
		end := time.Now().Add(*dur)
		n, bad := 0, 0
		for time.Now().Before(end) {
			v, _ := verify.NewVerifier(r, verify.WithProject("hello"))
			_, err := v.FetchManifest(ctx, loc)
			n++
			if n%500 == 0 {
				fmt.Printf("reads %d failures %d\n", n, bad)
			}
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				bad++
				fmt.Printf("FAIL %s: %v\n", time.Now().Format(time.RFC3339Nano), err)
			}
		}
		fmt.Printf("reads %d failures %d\n", n, bad)
		if bad > 0 {
			os.Exit(3)
		}
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "ERROR %T: %v\n", err, err)
	var re *publish.RaceError
	var he *manifest.HistoryError
	var rooterr *publish.RootError
	switch {
	case errors.As(err, &re):
		fmt.Fprintln(os.Stderr, "TYPE RaceError")
	case errors.As(err, &he):
		fmt.Fprintln(os.Stderr, "TYPE HistoryError")
	case errors.As(err, &rooterr):
		fmt.Fprintln(os.Stderr, "TYPE RootError")
	}
	os.Exit(1)
}

//go:build attack12

// Command pubtool is the attack12 writer process: it publishes or amends
// with relkit into a directory or an S3 prefix.
//
//	pubtool publish -staged ROOT -dest DIR|s3:BUCKET/PREFIX -key key.pem
//	pubtool amend -op refresh|yank|deprecate|prune -dest ... -key key.pem [-version V] [-keep N -channel C]
//	pubtool reader -dest DIR -key key.pem -dur 5s   (polls verify.FetchManifest and verify.FetchIndex+SelectRelease; prints each failure)
//
// S3 uses AWS_ENDPOINT_URL / AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.
// Exit 0 on success, 1 on error (the error printed on stderr, with its %T).
package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
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
	seedN := fs.Int("n", 300, "seed: releases")
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
		reader(ctx, s.PublicKeyPEM(), loc, *dur)
	case "seed":
		// A root listing -n old releases (manifest.json and its sigs/
		// signature only, no index): stage the first release against
		// harness.SeedHistory(n) and publish it to get a sharded index.
		m, err := harness.SeedHistory(*seedN)
		if err != nil {
			fail(err)
		}
		data, err := m.Marshal()
		if err != nil {
			fail(err)
		}
		sig, err := s.Sign(ctx, bytes.NewReader(data))
		if err != nil {
			fail(err)
		}
		p, err := publish.New(st)
		if err != nil {
			fail(err)
		}
		if _, err := p.UpdateRoot(ctx, func(context.Context, []byte, publish.Opener) (*publish.RootFiles, error) {
			return &publish.RootFiles{Manifest: data, Signature: []byte(base64.StdEncoding.EncodeToString(sig))}, nil
		}); err != nil {
			fail(err)
		}
	}
}

// reader polls manifest.json (verify.FetchManifest) and index.json
// (verify.FetchIndex, then verify.SelectRelease of the stable channel for
// linux/amd64) until dur has passed; any verification error is a FAIL
// line. Each stream keeps its own MemoryState across polls (so a serial
// going back is a rollback error; the index may lag the manifest, so they
// do not share one). Once an index was seen, its absence is a FAIL too.
// A NoMatchError from the index is a FAIL when the manifest of the same
// serial answers the query.
func reader(ctx context.Context, pubPEM []byte, loc verify.Location, dur time.Duration) {
	r, _ := verify.NewKeyRing(pubPEM)
	mstate, istate := verify.NewMemoryState(), verify.NewMemoryState()
	q := manifest.Query{Channel: manifest.ChannelStable, Platform: manifest.Platform{OS: "linux", Arch: "amd64"}}
	end := time.Now().Add(dur)
	term := make(chan os.Signal, 1)
	signal.Notify(term, syscall.SIGTERM)
	stopped := func() bool {
		select {
		case <-term:
			return true
		default:
			return false
		}
	}
	n, bad, ixReads, ixBad, shardsRead, nomatch, lagged := 0, 0, 0, 0, 0, 0, 0
	seenIndex := false
	var lastM, lastI int64
	report := func() {
		fmt.Printf("reads %d failures %d index-reads %d index-failures %d shard-selects %d nomatch-agreed %d index-behind-manifest %d last-serials m%d i%d\n",
			n, bad, ixReads, ixBad, shardsRead, nomatch, lagged, lastM, lastI)
	}
	for i := 0; time.Now().Before(end) && i < 10_000_000 && !stopped(); i++ {
		v, _ := verify.NewVerifier(r, verify.WithProject("hello"), verify.WithState(mstate))
		m, err := v.FetchManifest(ctx, loc)
		n++
		if n%500 == 0 {
			report()
		}
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			bad++
			fmt.Printf("FAIL manifest %s: %v\n", time.Now().Format(time.RFC3339Nano), err)
		}
		if m != nil {
			lastM = m.Serial
		}
		vi, _ := verify.NewVerifier(r, verify.WithProject("hello"), verify.WithState(istate))
		ix, err := vi.FetchIndex(ctx, loc)
		ixReads++
		switch {
		case errors.Is(err, verify.ErrIndexNotPublished) && !seenIndex:
			continue
		case err != nil:
			ixBad++
			fmt.Printf("FAIL index %s: FetchIndex: %v\n", time.Now().Format(time.RFC3339Nano), err)
			continue
		}
		seenIndex = true
		lastI = ix.Serial
		if m != nil && ix.Serial < m.Serial {
			lagged++
		}
		shards := len(ix.Shards)
		_, err = verify.SelectRelease(ctx, loc, ix, q)
		if err != nil {
			var nm *manifest.NoMatchError
			if errors.As(err, &nm) && m != nil {
				if _, merr := m.Select(q); merr != nil || m.Serial != ix.Serial {
					nomatch++
					continue
				}
			}
			ixBad++
			fmt.Printf("FAIL index %s: SelectRelease(stable) of index serial %d (%d shards): %v\n", time.Now().Format(time.RFC3339Nano), ix.Serial, shards, err)
			continue
		}
		// Also read an old release through its shard when there is one.
		if shards > 0 {
			old := ix.Shards[len(ix.Shards)-1].Oldest
			if _, ok, err := verify.FetchRelease(ctx, loc, ix, old); err != nil || !ok {
				ixBad++
				fmt.Printf("FAIL index %s: FetchRelease(%s) through shard of index serial %d: ok %v: %v\n", time.Now().Format(time.RFC3339Nano), old, ix.Serial, ok, err)
				continue
			}
			shardsRead++
		}
	}
	report()
	if bad > 0 || ixBad > 0 {
		os.Exit(3)
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

// Command pipeline times the whole release.Prepare of
// release/testdata/hello for four targets (linux/amd64, linux/arm64,
// darwin/arm64, windows/amd64: build, package, SBOM, provenance,
// checksums, sign, manifest, verify) and, interleaved in the same run,
// the four bare `go build`s it runs (same flags, two at a time, as the
// build stage), and prints the medians and relkit/bare. The bare builds
// are the physical limit of the job: everything Prepare adds is on top.
//
// Every Prepare run's archives are compared with the first run's: a
// difference (an unreproducible archive) fails the benchmark.
//
// It is a command of the bench module (bench/go.mod): run it from bench/,
// where -repo's default ("..") is the relkit checkout that holds
// release/testdata/hello.
//
//	cd bench && go run ./pipeline [-runs 5] [-parallel 2]
//	cd bench && go run ./pipeline -once -dist D   # one Prepare into D (for whole-process timing)
//	cd bench && go run ./pipeline -bare -dist D   # the four bare builds into D
package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/relkit/relkit/release"
	"github.com/relkit/relkit/sign"
)

// pkg is the main package both sides build, relative to -repo.
const pkg = "./release/testdata/hello"

// repo is the relkit checkout (-repo): the builds run there.
var repo = ".."

func main() {
	log.SetFlags(0)
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	runs := flag.Int("runs", 5, "runs of each side (the median is reported)")
	parallel := flag.Int("parallel", release.DefaultParallel, "builds (and archives) at once, both sides")
	once := flag.Bool("once", false, "run one Prepare into -dist and exit")
	bare := flag.Bool("bare", false, "run the four bare builds into -dist and exit")
	dist := flag.String("dist", "", "output directory for -once and -bare")
	verbose := flag.Bool("v", false, "log each stage with its time")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of this process to the file")
	skipStages := flag.String("skip", "", "stages Prepare skips, comma-separated (to see what each costs)")
	flag.StringVar(&repo, "repo", repo, "the relkit checkout holding "+pkg+" (the default is right from bench/)")
	flag.Parse()
	if *skipStages != "" {
		skip = strings.Split(*skipStages, ",")
	}
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
	if *verbose {
		logger = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	signer, err := sign.NewSigner(key, "")
	if err != nil {
		return err
	}
	if *once || *bare {
		if *dist == "" {
			return errors.New("-dist is required with -once and -bare")
		}
		if *bare {
			return bareBuilds(*dist, *parallel)
		}
		return prepare(*dist, *parallel, signer)
	}
	tmp, err := os.MkdirTemp("", "relkit-pipeline-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	// Warm the build cache for both sides.
	if err := bareBuilds(filepath.Join(tmp, "warm"), *parallel); err != nil {
		return err
	}
	var relkitT, bareT []time.Duration
	var first map[string][]byte
	for i := range *runs {
		timeOne := func(f func() error) time.Duration {
			start := time.Now()
			if err := f(); err != nil {
				log.Fatal(err)
			}
			return time.Since(start)
		}
		d := filepath.Join(tmp, fmt.Sprint("r", i))
		b := filepath.Join(tmp, fmt.Sprint("b", i))
		relkitRun := func() { relkitT = append(relkitT, timeOne(func() error { return prepare(d, *parallel, signer) })) }
		bareRun := func() { bareT = append(bareT, timeOne(func() error { return bareBuilds(b, *parallel) })) }
		if i%2 == 0 {
			relkitRun()
			bareRun()
		} else {
			bareRun()
			relkitRun()
		}
		arch, err := archives(d)
		if err != nil {
			return err
		}
		if first == nil {
			first = arch
		} else if err := same(first, arch); err != nil {
			return fmt.Errorf("run %d: %w", i, err)
		}
		os.RemoveAll(d)
		os.RemoveAll(b)
		fmt.Printf("run %d: relkit Prepare %.3fs  bare builds %.3fs\n", i+1, relkitT[i].Seconds(), bareT[i].Seconds())
	}
	r, b := median(relkitT), median(bareT)
	fmt.Printf("\n%d archives byte-identical across %d runs\n", len(first), *runs)
	fmt.Printf("median: relkit Prepare (4 targets, parallel %d) %.3fs, bare go build x4 %.3fs\n", *parallel, r.Seconds(), b.Seconds())
	fmt.Printf("ratio relkit/bare: %.2f (target <= 1.2; the bare builds are the limit)\n", float64(r)/float64(b))
	return nil
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

var logger = slog.New(slog.DiscardHandler)

var skip []string

var date = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

func prepare(dist string, parallel int, signer sign.Signer) error {
	_, err := release.Prepare(context.Background(), release.Config{
		Project: "hello", Repo: repo, Dist: dist, Clean: true, Version: "1.2.0", SourceDate: date,
		Snapshot: true,
		Build: &release.Build{
			Mains:    []release.Main{{Package: pkg}},
			Targets:  release.DefaultTargets(),
			Vars:     release.LinkVars{Version: "main.version"},
			Parallel: parallel, NoVCS: true,
		},
		Package:   release.Package{Parallel: parallel},
		SourceURI: "git+https://github.com/relkit/relkit",
		Signers:   []sign.Signer{signer},
		Now:       func() time.Time { return date },
		Logger:    logger,
		Skip:      skip,
	})
	return err
}

// bareBuilds runs the go builds the build stage runs, parallel at a time.
func bareBuilds(dir string, parallel int) error {
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i, p := range release.DefaultTargets() {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			out := filepath.Join(dir, p.OS+"_"+p.Arch, "hello"+p.ExeSuffix())
			cmd := exec.Command("go", "build", "-trimpath", "-buildvcs=false", "-ldflags=-buildid= -X=main.version=1.2.0", "-o", out, pkg)
			cmd.Dir = repo
			cmd.Env = append(os.Environ(), "GOOS="+p.OS, "GOARCH="+p.Arch, "CGO_ENABLED=0")
			if b, err := cmd.CombinedOutput(); err != nil {
				errs[i] = fmt.Errorf("go build %s: %v\n%s", p, err, b)
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// archives reads every archive of a staged release.
func archives(dist string) (map[string][]byte, error) {
	out := map[string][]byte{}
	files, err := filepath.Glob(filepath.Join(dist, "release", "*", "hello-*"))
	if err != nil {
		return nil, err
	}
	for _, f := range files {
		if !strings.HasSuffix(f, ".tar.gz") && !strings.HasSuffix(f, ".zip") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		out[filepath.Base(f)] = b
	}
	if len(out) != 4 {
		return nil, fmt.Errorf("%s: %d archives, want 4", dist, len(out))
	}
	return out, nil
}

func same(a, b map[string][]byte) error {
	for name, x := range a {
		if !bytes.Equal(x, b[name]) {
			return fmt.Errorf("%s differs between runs: not reproducible", name)
		}
	}
	return nil
}

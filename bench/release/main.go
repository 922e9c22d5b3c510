// Command release-bench packages and checksums four binaries with relkit's
// release stages (Package + Checksums: reproducible tar.gz/zip hashed while
// written, then SHA256SUMS) and, in the same run, with `tar czf` and
// `sha256sum`, and prints the median times and their ratio.
//
// It is driven by bench/release/run.sh, which builds the binaries.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release"
)

func main() {
	if err := run(); err != nil {
		log.Fatal(err)
	}
}

func run() error {
	binDir := flag.String("bins", "", "directory with <os>_<arch>/<binary> files")
	runs := flag.Int("runs", 5, "runs per tool (the median is reported)")
	parallel := flag.Int("parallel", release.DefaultParallel, "relkit: archives written at once")
	flag.Parse()
	if *binDir == "" {
		return fmt.Errorf("-bins is required")
	}
	bins, err := findBinaries(*binDir)
	if err != nil {
		return err
	}
	var total int64
	for _, b := range bins {
		fi, err := os.Stat(b.Path)
		if err != nil {
			return err
		}
		total += fi.Size()
	}
	fmt.Printf("%d binaries, %.1f MiB in total, %d runs each, median reported\n", len(bins), float64(total)/(1<<20), *runs)

	var relkitTimes, shellTimes []time.Duration
	for i := 0; i < *runs; i++ {
		// Alternate the order so neither side always gets a warmer cache.
		if i%2 == 0 {
			relkitTimes = append(relkitTimes, must(timeRelkit(bins, *parallel)))
			shellTimes = append(shellTimes, must(timeShell(bins)))
		} else {
			shellTimes = append(shellTimes, must(timeShell(bins)))
			relkitTimes = append(relkitTimes, must(timeRelkit(bins, *parallel)))
		}
	}
	r, s := median(relkitTimes), median(shellTimes)
	fmt.Printf("relkit Package+Checksums (parallel %d): %8.1f ms\n", *parallel, ms(r))
	fmt.Printf("tar czf + sha256sum (sequential):    %8.1f ms\n", ms(s))
	fmt.Printf("ratio relkit/shell: %.2f (below 1 means relkit is faster)\n", float64(r)/float64(s))
	return nil
}

func must(d time.Duration, err error) time.Duration {
	if err != nil {
		log.Fatal(err)
	}
	return d
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func findBinaries(dir string) ([]release.Binary, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var bins []release.Binary
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		p, err := manifest.ParsePlatform(e.Name())
		if err != nil {
			continue
		}
		files, err := os.ReadDir(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			bins = append(bins, release.Binary{Name: f.Name(), Path: filepath.Join(dir, e.Name(), f.Name()), Platform: p})
		}
	}
	if len(bins) == 0 {
		return nil, fmt.Errorf("no binaries under %s/<os>_<arch>/", dir)
	}
	return bins, nil
}

func timeRelkit(bins []release.Binary, parallel int) (time.Duration, error) {
	root, err := os.MkdirTemp("", "relkit-bench-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(root)
	st := &release.State{
		Project: "hello", Version: manifest.MustParseVersion("1.2.0"),
		Date: time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC), Root: root, Binaries: bins,
	}
	p := &release.Pipeline{Stages: []release.Stage{&release.Package{Parallel: parallel}, release.Checksums{}}, Logger: discard()}
	start := time.Now()
	if err := p.Run(context.Background(), st); err != nil {
		return 0, err
	}
	return time.Since(start), nil
}

func timeShell(bins []release.Binary) (time.Duration, error) {
	root, err := os.MkdirTemp("", "relkit-bench-sh-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(root)
	var script strings.Builder
	script.WriteString("set -e\n")
	var names []string
	for _, b := range bins {
		name := fmt.Sprintf("hello-1.2.0-%s-%s.tar.gz", b.Platform.OS, b.Platform.Arch)
		names = append(names, name)
		fmt.Fprintf(&script, "tar -czf %q -C %q %q\n", filepath.Join(root, name), filepath.Dir(b.Path), filepath.Base(b.Path))
	}
	fmt.Fprintf(&script, "cd %q && sha256sum %s > SHA256SUMS\n", root, strings.Join(names, " "))
	start := time.Now()
	out, err := exec.Command("sh", "-c", script.String()).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("shell: %v\n%s", err, out)
	}
	return time.Since(start), nil
}

package release

import (
	"context"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/relkit/relkit/manifest"
)

// Packaging while building: when [Config.Pipeline] runs the build stage
// followed by the package stage, the build stage writes a platform's
// archives as soon as that platform's binaries are built, while the other
// targets build, so that compression overlaps with the compiler and
// linker instead of following them. The package stage then keeps each of
// those archives only when everything it was made from is unchanged (the
// same entries, and each source file the same file with the same size and
// modification time, the same source date); otherwise, or when the early
// write failed, it writes the archive again, exactly as without the
// overlap. The archive bytes are the same either way: they depend only on
// the entries and the source date.
//
// The check is what make and rsync trust: a stage inserted between build
// and package that rewrites a binary in place, keeping its size, inode
// and modification time (within a file system's timestamp granularity),
// would go unnoticed. Such a stage should write a new file and point
// State.Binaries at it.

// earlyArchives are the archives written during the build.
type earlyArchives struct {
	p    *Package
	date time.Time
	sem  chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	done map[string]earlyArchive // by archive name
}

// earlyArchive is one archive written during the build, with what it was
// made from.
type earlyArchive struct {
	art     manifest.Artifact
	path    string
	entries []entry
	stats   []os.FileInfo // of entries[i].src, taken before writing
}

// startEarly prepares the early packaging for st, or returns nil when the
// package stage would refuse its configuration (it reports why itself).
func (p *Package) startEarly(st *State) *earlyArchives {
	if p == nil || p.checkState(st, false) != nil {
		return nil
	}
	if _, err := p.extraEntries(); err != nil {
		return nil
	}
	limit := p.Parallel
	if limit <= 0 {
		limit = DefaultParallel
	}
	return &earlyArchives{p: p, date: st.Date, sem: make(chan struct{}, limit), done: map[string]earlyArchive{}}
}

// platformBuilt writes the archives of one platform whose binaries are
// all built, in the background. Failures are dropped: the package stage
// writes those archives again and reports the error.
func (e *earlyArchives) platformBuilt(ctx context.Context, st *State, bins []Binary) {
	e.wg.Go(func() {
		select {
		case e.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-e.sem }()
		extra, err := e.p.extraEntries()
		if err != nil {
			return
		}
		jobs, err := e.p.plan(bins, extra)
		if err != nil {
			return
		}
		for _, j := range jobs {
			stats := make([]os.FileInfo, len(j.entries))
			for i, en := range j.entries {
				if stats[i], err = os.Stat(en.src); err != nil {
					return
				}
			}
			a, err := e.p.write(ctx, st, j)
			if err != nil {
				return
			}
			e.mu.Lock()
			e.done[a.Name] = earlyArchive{art: a, path: st.VersionDir() + string(os.PathSeparator) + a.Name, entries: j.entries, stats: stats}
			e.mu.Unlock()
		}
	})
}

// wait waits for every early archive; with failed set (the build failed)
// it removes them.
func (e *earlyArchives) wait(failed bool) {
	e.wg.Wait()
	if failed {
		for _, a := range e.done {
			os.Remove(a.path)
		}
		e.done = nil
	}
}

// take returns the early archive named name when it was made from exactly
// what job j would write it from.
func (e *earlyArchives) take(name string, j archiveJob, date time.Time) (manifest.Artifact, bool) {
	if e == nil {
		return manifest.Artifact{}, false
	}
	e.mu.Lock()
	a, ok := e.done[name]
	e.mu.Unlock()
	if !ok || !e.date.Equal(date) || !slices.Equal(a.entries, j.entries) {
		return manifest.Artifact{}, false
	}
	for i, en := range a.entries {
		fi, err := os.Stat(en.src)
		if err != nil || !os.SameFile(fi, a.stats[i]) || fi.Size() != a.stats[i].Size() || !fi.ModTime().Equal(a.stats[i].ModTime()) {
			return manifest.Artifact{}, false
		}
	}
	return a.art, true
}

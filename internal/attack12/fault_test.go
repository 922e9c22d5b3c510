//go:build attack12

package attack12

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/relkit/relkit/internal/attack12/check"
	"github.com/relkit/relkit/internal/attack12/harness"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/release"
)

type httpErr struct{ code int }

func (e *httpErr) Error() string       { return fmt.Sprintf("injected HTTP %d", e.code) }
func (e *httpErr) HTTPStatusCode() int { return e.code }

// faultStore injects err at the nth call (1-based) of Stat/Open/Put.
// mode "once": only the nth call fails, before doing anything (a 503).
// mode "after": the nth call is performed, then reports ECONNRESET (the
// answer is lost). mode "from": every call from the nth fails with EIO.
type faultStore struct {
	publish.Store
	mu    sync.Mutex
	n     int
	at    int
	mode  string
	log   []string
	fired string
}

func (f *faultStore) hit(op, name string) (fire bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	f.log = append(f.log, op+" "+name)
	fire = f.at > 0 && (f.n == f.at || f.mode == "from" && f.n > f.at)
	if fire && f.fired == "" {
		f.fired = fmt.Sprintf("%s %s", op, name)
	}
	return fire
}

func (f *faultStore) err() error {
	switch f.mode {
	case "once":
		return &httpErr{503}
	case "after":
		return &os.PathError{Op: "write", Path: "x", Err: syscall.ECONNRESET}
	}
	return &os.PathError{Op: "read", Path: "x", Err: syscall.EIO}
}

func (f *faultStore) Stat(ctx context.Context, name string) (publish.Object, error) {
	if f.hit("stat", name) {
		if f.mode == "after" {
			f.Store.Stat(ctx, name)
		}
		return publish.Object{}, f.err()
	}
	return f.Store.Stat(ctx, name)
}

func (f *faultStore) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	if f.hit("open", name) {
		if f.mode == "after" {
			if rc, err := f.Store.Open(ctx, name); err == nil {
				rc.Close()
			}
		}
		return nil, f.err()
	}
	return f.Store.Open(ctx, name)
}

func (f *faultStore) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	if f.hit("put", name) {
		if f.mode == "after" {
			if err := f.Store.Put(ctx, name, r, info); err != nil {
				return err
			}
		}
		return f.err()
	}
	return f.Store.Put(ctx, name, r, info)
}

func cpDir(t *testing.T, from string) string {
	to := t.TempDir()
	if out, err := exec.Command("cp", "-a", from+"/.", to).CombinedOutput(); err != nil {
		t.Fatal(err, string(out))
	}
	return to
}

// TestFaults: for every call N of a publish (and of a refresh), inject a
// fault there; check the root, then re-run without faults.
func TestFaults(t *testing.T) {
	ctx := context.Background()
	s := newSigner(t)
	pub, _ := check.ParsePub(s.PublicKeyPEM())
	base, _ := harness.Prepare(ctx, s, t.TempDir(), "1.0.0", "", nil)
	next, _ := harness.Prepare(ctx, s, t.TempDir(), "1.1.0", "", nil)
	tmpl := t.TempDir()
	st0, _ := publish.NewDirStore(tmpl)
	if err := harness.Publish(ctx, st0, base, s); err != nil {
		t.Fatal(err)
	}
	type opFn func(st publish.Store) error
	ops := map[string]opFn{
		"publish": func(st publish.Store) error { return harness.Publish(ctx, st, next, s) },
		"refresh": func(st publish.Store) error {
			ac, _ := harness.Amend(st, s)
			_, err := release.Refresh(ctx, ac)
			return err
		},
	}
	var totalV2 v2track
	defer func() { t.Logf("%s", totalV2.summary()) }()
	for _, opName := range []string{"publish", "refresh"} {
		op := ops[opName]
		// Count the calls of a clean run.
		d := cpDir(t, tmpl)
		ds, _ := publish.NewDirStore(d)
		clean := &faultStore{Store: ds}
		if err := op(clean); err != nil {
			t.Fatal(err)
		}
		total := clean.n
		t.Logf("%s: a clean run makes %d store calls", opName, total)
		for _, mode := range []string{"once", "after", "from"} {
			failedAt := map[string][]string{}
			okCount := 0
			for at := 1; at <= total+2; at++ {
				d := cpDir(t, tmpl)
				ds, _ := publish.NewDirStore(d)
				f := &faultStore{Store: ds, at: at, mode: mode}
				err := op(f)
				res, cerr := check.Root(check.DirReader(d), pub)
				what := fmt.Sprintf("%s/%s at call %d (%s)", opName, mode, at, f.fired)
				if cerr != nil {
					t.Errorf("BUG %s: root does not verify: %v", what, cerr)
					saveEvidence(t, what, d, fmt.Sprintf("%v\nrun: %v", cerr, err))
					continue
				}
				v2 := v2track{lastIdx: 1}
				if err == nil {
					v2.conv(t, what+" (run reported success)", d, res)
				} else {
					v2.kill(t, fmt.Sprintf("%s (run: %.200v)", what, err), d, res, 1)
				}
				totalV2.afterKill += v2.afterKill
				totalV2.lagged += v2.lagged
				totalV2.converged += v2.converged
				if len(res.Missing([]string{"1.0.0"})) > 0 {
					t.Errorf("BUG %s/%s at call %d: 1.0.0 lost", opName, mode, at)
				}
				if err == nil {
					okCount++
					if opName == "publish" && len(res.Missing([]string{"1.1.0"})) > 0 {
						t.Errorf("BUG %s/%s at %d (%s): success reported but 1.1.0 not listed", opName, mode, at, f.fired)
					}
					if !res.LegacySigOK || !res.LegacySetOK {
						t.Errorf("%s/%s at %d (%s): success reported but legacy files not repaired (sig %v set %v)", opName, mode, at, f.fired, res.LegacySigOK, res.LegacySetOK)
					}
				} else if mode != "from" {
					// A single transient fault: retried everywhere?
					k := strings.SplitN(err.Error(), ":", 4)
					key := f.fired
					failedAt[key] = append(failedAt[key], fmt.Sprintf("%d %T %.160v", at, errors.Unwrap(err), strings.Join(k, ":")))
				}
				// Re-run without faults.
				if err := op(ds); err != nil {
					t.Errorf("BUG %s/%s at %d (%s): re-run without faults fails: %v", opName, mode, at, f.fired, err)
					continue
				}
				res, cerr = check.Root(check.DirReader(d), pub)
				if cerr != nil || len(res.Missing([]string{"1.0.0"})) > 0 || (opName == "publish" && len(res.Missing([]string{"1.1.0"})) > 0) || !res.LegacySigOK || !res.LegacySetOK {
					t.Errorf("BUG %s/%s at %d: re-run did not converge: %v %+v", opName, mode, at, cerr, res)
				} else {
					v2.conv(t, what+" re-run", d, res)
					totalV2.converged++
				}
			}
			var keys []string
			for k := range failedAt {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				t.Logf("%s/%s: a single transient fault at %q fails the whole run: %v", opName, mode, k, failedAt[k])
			}
			t.Logf("%s/%s: %d of %d fault points succeeded", opName, mode, okCount, total+2)
		}
	}
}

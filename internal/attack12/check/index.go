//go:build attack12

package check

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"strconv"
	"strings"
	"time"
)

// IndexResult is what the checker found in index.json and its shards.
type IndexResult struct {
	SHA256   string
	Serial   int64
	Project  string
	Expires  string
	Updated  string
	Channels map[string]string
	Aliases  map[string]string
	// Versions: the index's releases, then each shard's, in file order
	// (newest first when sound).
	Versions []string
	// Releases: the decoded release objects by version (for the
	// converged comparison with manifest.json).
	Releases   map[string]any
	Shards     int
	HeadCount  int
	SetUsed    bool // verified through the .signatures.json set (else .sig)
	ShardPaths []string
}

// Now is the checker's clock (expiry).
var Now = time.Now

type rawRelease struct {
	Version string `json:"version"`
}

// indexOf checks index.json of a root, independently of relkit: the
// content-addressed signature over its exact bytes (the set
// sigs/index.json.<sha256>.signatures.json when present, else the base64
// ASN.1 .sig), schema, project (want, when not empty), expiry, the head
// (at most 32 releases, strictly newest first) and every shard it names
// (path = shards/<sha256>.json, size and SHA-256 of the bytes, schema,
// project, count, newest/oldest, order, ranges disjoint and below the
// head). It returns (nil, nil) when the root has no index.json.
func indexOf(read Reader, verify func(h []byte, det, set []byte) (bool, bool), want string) (*IndexResult, error) {
	data, err := read("index.json")
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	hh := sha256.Sum256(data)
	h := hh[:]
	sum := hex.EncodeToString(h)
	res := &IndexResult{SHA256: sum, Releases: map[string]any{}}
	set, serr := read("sigs/index.json." + sum + ".signatures.json")
	switch {
	case serr == nil:
		if _, ok := verify(h, nil, set); !ok {
			return res, fmt.Errorf("check: sigs/ set of index.json %s does not verify", sum[:12])
		}
		res.SetUsed = true
	case errors.Is(serr, os.ErrNotExist):
		det, derr := read("sigs/index.json." + sum + ".sig")
		if derr != nil {
			return res, fmt.Errorf("check: no sigs/ signature of index.json %s: %v", sum[:12], derr)
		}
		if ok, _ := verify(h, det, nil); !ok {
			return res, fmt.Errorf("check: sigs/ .sig of index.json %s does not verify", sum[:12])
		}
	default:
		return res, serr
	}
	var ix struct {
		Schema   string            `json:"schema"`
		Project  string            `json:"project"`
		Serial   int64             `json:"serial"`
		Updated  string            `json:"updated"`
		Expires  string            `json:"expires"`
		Channels map[string]string `json:"channels"`
		Aliases  map[string]string `json:"aliases"`
		Releases []json.RawMessage `json:"releases"`
		Shards   []struct {
			Path   string `json:"path"`
			SHA256 string `json:"sha256"`
			Size   int64  `json:"size"`
			Count  int    `json:"count"`
			Newest string `json:"newest"`
			Oldest string `json:"oldest"`
		} `json:"shards"`
	}
	if err := json.Unmarshal(data, &ix); err != nil {
		return res, fmt.Errorf("check: index.json %s: %v", sum[:12], err)
	}
	res.Serial, res.Project, res.Expires, res.Updated = ix.Serial, ix.Project, ix.Expires, ix.Updated
	res.Channels, res.Aliases, res.Shards, res.HeadCount = ix.Channels, ix.Aliases, len(ix.Shards), len(ix.Releases)
	if ix.Schema != "relkit.manifest/v2" {
		return res, fmt.Errorf("check: index.json schema %q", ix.Schema)
	}
	if ix.Project == "" || want != "" && ix.Project != want {
		return res, fmt.Errorf("check: index.json project %q, want %q", ix.Project, want)
	}
	exp, err := time.Parse(time.RFC3339, ix.Expires)
	if err != nil {
		return res, fmt.Errorf("check: index.json expires %q: %v", ix.Expires, err)
	}
	if !Now().Before(exp) {
		return res, fmt.Errorf("check: index.json expired at %s", ix.Expires)
	}
	if len(ix.Releases) > 32 {
		return res, fmt.Errorf("check: index.json lists %d releases in full (max 32)", len(ix.Releases))
	}
	if len(ix.Shards) > 0 && len(ix.Releases) != 32 {
		return res, fmt.Errorf("check: index.json has shards but only %d releases in its head", len(ix.Releases))
	}
	seen := map[string]bool{}
	var prev string
	addRel := func(where string, raw json.RawMessage) error {
		var r rawRelease
		if err := json.Unmarshal(raw, &r); err != nil {
			return fmt.Errorf("check: %s: release: %v", where, err)
		}
		var full any
		if err := json.Unmarshal(raw, &full); err != nil {
			return fmt.Errorf("check: %s: release: %v", where, err)
		}
		if _, err := parseSemver(r.Version); err != nil {
			return fmt.Errorf("check: %s: version %q: %v", where, r.Version, err)
		}
		if seen[r.Version] {
			return fmt.Errorf("check: %s: version %s listed twice in index+shards", where, r.Version)
		}
		if prev != "" && compareSemver(prev, r.Version) <= 0 {
			return fmt.Errorf("check: %s: %s after %s (not strictly newest first across index and shards)", where, r.Version, prev)
		}
		seen[r.Version], prev = true, r.Version
		res.Versions = append(res.Versions, r.Version)
		res.Releases[r.Version] = full
		return nil
	}
	for _, raw := range ix.Releases {
		if err := addRel("index.json", raw); err != nil {
			return res, err
		}
	}
	for i, s := range ix.Shards {
		where := fmt.Sprintf("index.json shards[%d] %s", i, s.Path)
		if len(s.SHA256) != 64 || strings.ToLower(s.SHA256) != s.SHA256 {
			return res, fmt.Errorf("check: %s: sha256 %q", where, s.SHA256)
		}
		if s.Path != "shards/"+s.SHA256+".json" {
			return res, fmt.Errorf("check: %s: path is not shards/<sha256>.json", where)
		}
		res.ShardPaths = append(res.ShardPaths, s.Path)
		b, err := read(s.Path)
		if err != nil {
			return res, fmt.Errorf("check: %s: named by index %s (serial %d) but not readable: %v", where, sum[:12], ix.Serial, err)
		}
		if int64(len(b)) != s.Size {
			return res, fmt.Errorf("check: %s: %d bytes, index says %d", where, len(b), s.Size)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != s.SHA256 {
			return res, fmt.Errorf("check: %s: SHA-256 %x, index says %s", where, got, s.SHA256)
		}
		var sh struct {
			Schema   string            `json:"schema"`
			Project  string            `json:"project"`
			Releases []json.RawMessage `json:"releases"`
		}
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&sh); err != nil {
			return res, fmt.Errorf("check: %s: %v", where, err)
		}
		if sh.Schema != "relkit.shard/v2" || sh.Project != ix.Project {
			return res, fmt.Errorf("check: %s: schema %q project %q", where, sh.Schema, sh.Project)
		}
		if len(sh.Releases) != s.Count || s.Count == 0 {
			return res, fmt.Errorf("check: %s: %d releases, index says %d", where, len(sh.Releases), s.Count)
		}
		first := len(res.Versions)
		for _, raw := range sh.Releases {
			if err := addRel(where, raw); err != nil {
				return res, err
			}
		}
		if res.Versions[first] != s.Newest || res.Versions[len(res.Versions)-1] != s.Oldest {
			return res, fmt.Errorf("check: %s: range %s..%s, index says %s..%s", where, res.Versions[len(res.Versions)-1], res.Versions[first], s.Oldest, s.Newest)
		}
	}
	for name, v := range ix.Channels {
		if !seen[v] {
			return res, fmt.Errorf("check: index.json channel %s -> %s, in neither the index nor its shards", name, v)
		}
	}
	for name, v := range ix.Aliases {
		if !seen[v] {
			return res, fmt.Errorf("check: index.json alias %s -> %s, in neither the index nor its shards", name, v)
		}
	}
	return res, nil
}

// Converged checks that the root's index lists exactly what its
// manifest.json lists: the same serial, project, dates, channels,
// aliases, and the same release objects in the same order.
func (r *Result) Converged() error {
	if r.NoManifest {
		return errors.New("check: converged: no manifest.json")
	}
	ix := r.Index
	if ix == nil {
		return fmt.Errorf("check: converged: manifest.json serial %d but no index.json", r.Serial)
	}
	var p []string
	if ix.Serial != r.Serial {
		p = append(p, fmt.Sprintf("index serial %d, manifest serial %d", ix.Serial, r.Serial))
	}
	if ix.Project != r.Project {
		p = append(p, fmt.Sprintf("project %q vs %q", ix.Project, r.Project))
	}
	if !sameTime(ix.Expires, r.Expires) || !sameTime(ix.Updated, r.Updated) {
		p = append(p, fmt.Sprintf("dates index updated %s expires %s, manifest %s %s", ix.Updated, ix.Expires, r.Updated, r.Expires))
	}
	if !reflect.DeepEqual(nz(ix.Channels), nz(r.Channels)) {
		p = append(p, fmt.Sprintf("channels index %v manifest %v", ix.Channels, r.Channels))
	}
	if !reflect.DeepEqual(nz(ix.Aliases), nz(r.Aliases)) {
		p = append(p, fmt.Sprintf("aliases index %v manifest %v", ix.Aliases, r.Aliases))
	}
	if !slicesEqual(ix.Versions, r.Versions) {
		p = append(p, fmt.Sprintf("versions differ: index+shards %d %s, manifest %d %s (only in index %v, only in manifest %v)",
			len(ix.Versions), brief(ix.Versions), len(r.Versions), brief(r.Versions), diff(ix.Versions, r.Versions), diff(r.Versions, ix.Versions)))
	}
	nd := 0
	for v, m := range r.Releases {
		if x, ok := ix.Releases[v]; ok && !reflect.DeepEqual(x, m) {
			if nd < 3 {
				p = append(p, fmt.Sprintf("release %s differs between index+shards and manifest (status index %v, manifest %v)", v, field(x, "status"), field(m, "status")))
			}
			nd++
		}
	}
	if nd > 3 {
		p = append(p, fmt.Sprintf("... %d releases differ in all", nd))
	}
	if len(p) > 0 {
		return fmt.Errorf("check: not converged: %s", strings.Join(p, "; "))
	}
	return nil
}

// Lag is manifest serial - index serial (0 when converged; -1 without an index).
func (r *Result) Lag() int64 {
	if r.Index == nil {
		return -1
	}
	return r.Serial - r.Index.Serial
}

func field(v any, k string) any {
	if m, ok := v.(map[string]any); ok {
		return m[k]
	}
	return nil
}

func sameTime(a, b string) bool {
	if a == b {
		return true
	}
	ta, e1 := time.Parse(time.RFC3339Nano, a)
	tb, e2 := time.Parse(time.RFC3339Nano, b)
	return e1 == nil && e2 == nil && ta.Equal(tb)
}

func nz(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func slicesEqual(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func diff(a, b []string) []string {
	in := map[string]bool{}
	for _, v := range b {
		in[v] = true
	}
	var out []string
	for _, v := range a {
		if !in[v] {
			out = append(out, v)
		}
	}
	if len(out) > 10 {
		out = append(out[:10], "...")
	}
	return out
}

func brief(v []string) string {
	if len(v) <= 6 {
		return fmt.Sprint(v)
	}
	return fmt.Sprintf("[%s %s %s ... %s %s]", v[0], v[1], v[2], v[len(v)-2], v[len(v)-1])
}

// semver: MAJOR.MINOR.PATCH[-PRE][+BUILD], optional leading v.
type semver struct {
	n   [3]uint64
	pre []string
}

func parseSemver(s string) (semver, error) {
	var v semver
	s = strings.TrimPrefix(s, "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	core, pre, hasPre := strings.Cut(s, "-")
	parts := strings.Split(core, ".")
	if len(parts) != 3 {
		return v, errors.New("not MAJOR.MINOR.PATCH")
	}
	for i, p := range parts {
		n, err := strconv.ParseUint(p, 10, 64)
		if err != nil {
			return v, err
		}
		v.n[i] = n
	}
	if hasPre {
		v.pre = strings.Split(pre, ".")
	}
	return v, nil
}

func compareSemver(a, b string) int {
	x, _ := parseSemver(a)
	y, _ := parseSemver(b)
	for i := range 3 {
		if x.n[i] != y.n[i] {
			if x.n[i] < y.n[i] {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(x.pre) == 0 && len(y.pre) == 0:
		return 0
	case len(x.pre) == 0:
		return 1
	case len(y.pre) == 0:
		return -1
	}
	for i := 0; i < len(x.pre) && i < len(y.pre); i++ {
		p, q := x.pre[i], y.pre[i]
		pn, e1 := strconv.ParseUint(p, 10, 64)
		qn, e2 := strconv.ParseUint(q, 10, 64)
		switch {
		case e1 == nil && e2 == nil:
			if pn != qn {
				if pn < qn {
					return -1
				}
				return 1
			}
		case e1 == nil:
			return -1
		case e2 == nil:
			return 1
		case p != q:
			if p < q {
				return -1
			}
			return 1
		}
	}
	switch {
	case len(x.pre) < len(y.pre):
		return -1
	case len(x.pre) > len(y.pre):
		return 1
	}
	return 0
}

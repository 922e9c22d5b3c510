package manifest

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// The v2 layout: a small signed index and immutable shards (see
// docs/wire-format.md, "Manifest v2").
const (
	// IndexFile is the name of the v2 release index at the root of a
	// release location: what a client reads for an update check.
	IndexFile = "index.json"
	// ShardsDir is the root directory of the v2 shards
	// (shards/<sha256>.json), written before the index that names them
	// and never changed afterwards.
	ShardsDir = "shards"
	// IndexSchema is the schema of index.json.
	IndexSchema = "relkit.manifest/v2"
	// ShardSchema is the schema of a shard.
	ShardSchema = "relkit.shard/v2"
	// IndexHead is how many of the newest releases (by version) the index
	// lists in full; older ones are in shards.
	IndexHead = 32
	// ShardReleases is how many releases a shard holds: shards are cut
	// from the oldest release up, so only the newest shard changes when
	// a release moves out of the index's head.
	ShardReleases = 256
	// MaxIndexSize is the largest index.json ParseIndex accepts (4 MiB).
	MaxIndexSize = 4 << 20
	// MaxShardSize is the largest shard ParseShard accepts (16 MiB).
	MaxShardSize = MaxManifestSize
)

// Index is the v2 release index, index.json: the manifest's project,
// serial, dates, channels and aliases, its newest [IndexHead] releases
// in full, and a reference to each shard holding the older ones. It is
// signed like manifest.json (content-addressed signatures under sigs/),
// carries the manifest's serial and expiry, and commits to every shard by
// SHA-256 and size, so a client that fetches only the index and, when a
// query needs it, one shard, gets the same protection against rollback,
// freeze and mix-and-match as a client of the whole manifest.
//
// A publisher makes it with [Split]. A client verifies it (verify
// package), then calls [Index.Select]; when the answer may be in a shard
// not read yet, Select returns a *[ShardNeededError] naming it, and
// [Index.AddShard] checks and adds the shard's bytes.
type Index struct {
	// Schema is [IndexSchema].
	Schema string `json:"schema"`
	// Project, Serial, Updated, Expires, Channels and Aliases are those
	// of the manifest the index was split from.
	Project  string            `json:"project"`
	Serial   int64             `json:"serial"`
	Updated  time.Time         `json:"updated,omitzero"`
	Expires  time.Time         `json:"expires,omitzero"`
	Channels map[string]string `json:"channels,omitempty"`
	Aliases  map[string]string `json:"aliases,omitempty"`
	// Releases are the newest releases, newest first.
	Releases []Release `json:"releases"`
	// Shards reference the older releases, newest shard first; their
	// version ranges are disjoint and below every release of Releases.
	Shards []ShardRef `json:"shards,omitempty"`

	loaded []bool            // per Shards entry: added with AddShard
	paths  map[string]string // artifact path -> version, of the releases held (built by AddShard)
	scan   *rangeScan        // the last range query's scan (see rangeBest)
}

// ShardRef is the index's commitment to one shard.
type ShardRef struct {
	// Path is "shards/<sha256>.json".
	Path string `json:"path"`
	// SHA256 and Size are those of the shard's bytes.
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Count is the number of releases in the shard.
	Count int `json:"count"`
	// Newest and Oldest are its first and last release versions.
	Newest string `json:"newest"`
	Oldest string `json:"oldest"`
}

// Shard is one shard file: a run of consecutive releases, newest first.
type Shard struct {
	// Schema is [ShardSchema].
	Schema string `json:"schema"`
	// Project is the project the releases belong to.
	Project string `json:"project"`
	// Releases are the shard's releases, newest first.
	Releases []Release `json:"releases"`
}

// ShardFile is a shard's path below the root and its bytes.
type ShardFile struct {
	Path string
	Data []byte
}

// ShardPath returns the path of the shard whose bytes have the lowercase
// hex SHA-256 sum: "shards/<sum>.json".
func ShardPath(sum string) string { return path.Join(ShardsDir, strings.ToLower(sum)+".json") }

// Split divides a valid manifest into its v2 index and shards: the
// newest [IndexHead] releases stay in the index, the rest go into shards
// of [ShardReleases] releases cut from the oldest. The result is
// deterministic: the same manifest always splits into the same bytes.
// Publish the shards before the index that names them.
func Split(m *Manifest) (*Index, []ShardFile, error) {
	if err := m.Validate(); err != nil {
		return nil, nil, err
	}
	ix := &Index{Schema: IndexSchema, Project: m.Project, Serial: m.Serial, Updated: utc(m.Updated), Expires: utc(m.Expires),
		Channels: m.Channels, Aliases: m.Aliases}
	head := min(len(m.Releases), IndexHead)
	ix.Releases = slices.Clone(m.Releases[:head])
	rest := m.Releases[head:] // newest first
	var files []ShardFile
	n := len(rest)
	for lo := 0; lo < n; lo += ShardReleases { // lo counts from the oldest
		hi := min(n, lo+ShardReleases)
		chunk := rest[n-hi : n-lo] // newest first
		sh := &Shard{Schema: ShardSchema, Project: m.Project, Releases: chunk}
		data, err := marshalJSON(sh)
		if err != nil {
			return nil, nil, err
		}
		sum := sha256Hex(data)
		ref := ShardRef{Path: ShardPath(sum), SHA256: sum, Size: int64(len(data)), Count: len(chunk),
			Newest: chunk[0].Version, Oldest: chunk[len(chunk)-1].Version}
		ix.Shards = append(ix.Shards, ref)
		files = append(files, ShardFile{Path: ref.Path, Data: data})
	}
	slices.Reverse(ix.Shards) // newest first
	slices.Reverse(files)
	ix.loaded = make([]bool, len(ix.Shards))
	return ix, files, nil
}

func sha256Hex(data []byte) string {
	h := sha256.Sum256(data)
	return hex.EncodeToString(h[:])
}

// marshalJSON is the deterministic encoding Marshal uses.
func marshalJSON(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return nil, fmt.Errorf("manifest: encode: %w", err)
	}
	return buf.Bytes(), nil
}

// Marshal encodes the index deterministically, as [Manifest.Marshal]
// does. Signatures cover these bytes.
func (ix *Index) Marshal() ([]byte, error) {
	c := *ix
	c.Updated, c.Expires = utc(c.Updated), utc(c.Expires)
	if c.Releases == nil {
		c.Releases = []Release{}
	}
	return marshalJSON(&c)
}

// ParseIndex decodes index.json. It refuses other schemas with a
// *[SchemaError] and inputs over [MaxIndexSize]; it does not call
// Validate.
func ParseIndex(data []byte) (*Index, error) {
	if len(data) > MaxIndexSize {
		return nil, fmt.Errorf("index: %w: %d bytes, limit %d", ErrTooLarge, len(data), MaxIndexSize)
	}
	ix := new(Index)
	if err := json.Unmarshal(data, ix); err != nil {
		var probe struct {
			Schema *string `json:"schema"`
		}
		if perr := json.Unmarshal(data, &probe); perr == nil && probe.Schema != nil && *probe.Schema != IndexSchema {
			return nil, fmt.Errorf("index: %w", &SchemaError{Schema: *probe.Schema, want: IndexSchema})
		}
		return nil, fmt.Errorf("index: %w", err)
	}
	if ix.Schema != IndexSchema {
		return nil, fmt.Errorf("index: %w", &SchemaError{Schema: ix.Schema, want: IndexSchema})
	}
	if ix.Releases == nil {
		ix.Releases = []Release{}
	}
	ix.loaded = make([]bool, len(ix.Shards))
	return ix, nil
}

// view is the index's releases as a manifest (for the shared checks and
// for Select).
func (ix *Index) view() *Manifest {
	return &Manifest{Schema: Schema, Project: ix.Project, Serial: ix.Serial, Updated: ix.Updated, Expires: ix.Expires,
		Channels: ix.Channels, Aliases: ix.Aliases, Releases: ix.Releases}
}

// Validate checks the index as [Manifest.Validate] checks a manifest,
// except that a channel or alias may point at a version inside a shard's
// range (checked when the shard is added), and checks the shard
// references: well-formed, newest first, disjoint, below the index's own
// releases, at most 1,000,000 releases in all. It returns a
// *[ValidationError] listing every problem, or nil.
func (ix *Index) Validate() error {
	var p problems
	if ix.Schema != IndexSchema {
		p.add("schema", "unsupported schema %q (want %s)", ix.Schema, IndexSchema)
	}
	if len(ix.loaded) != len(ix.Shards) {
		ix.loaded = make([]bool, len(ix.Shards))
	}
	var valid [][2]Version // the well-formed ranges, newest first
	var below Version      // every shard must be older than this
	if n := len(ix.Releases); n > 0 {
		below, _ = ParseVersion(ix.Releases[n-1].Version)
	}
	total := len(ix.Releases)
	for i, s := range ix.Shards {
		f := "shards[" + strconv.Itoa(i) + "]"
		if !isLowerHex(s.SHA256, 64) {
			p.add(f+".sha256", "%q is not 64 lowercase hex digits", s.SHA256)
		} else if s.Path != ShardPath(s.SHA256) {
			p.add(f+".path", "%q is not %q", s.Path, ShardPath(s.SHA256))
		}
		if s.Size <= 0 || s.Size > MaxShardSize {
			p.add(f+".size", "%d is not in 1..%d", s.Size, MaxShardSize)
		}
		if s.Count <= 0 || s.Count > maxShardCount {
			p.add(f+".count", "%d is not in 1..%d", s.Count, maxShardCount)
		}
		total += max(s.Count, 0)
		nv, err1 := ParseVersion(s.Newest)
		ov, err2 := ParseVersion(s.Oldest)
		switch {
		case err1 != nil || err2 != nil:
			p.add(f, "newest %q and oldest %q must be versions", s.Newest, s.Oldest)
		case Compare(nv, ov) < 0:
			p.add(f, "newest %s is older than oldest %s", s.Newest, s.Oldest)
		case !below.IsZero() && Compare(nv, below) >= 0:
			p.add(f, "newest %s is not below %s (shards must be older than the releases before them, newest first, disjoint)", s.Newest, below)
		default:
			valid = append(valid, [2]Version{ov, nv})
			below = ov
		}
	}
	if total > 1_000_000 {
		p.add("shards", "%d releases in all: more than 1,000,000", total)
	}
	// The valid ranges are disjoint and newest first (checked above), so
	// a pointer (the aliases grow with every minor ever released) is
	// looked up by binary search.
	covered := func(v Version) bool {
		i := sort.Search(len(valid), func(k int) bool { return Compare(valid[k][0], v) <= 0 })
		return i < len(valid) && Compare(v, valid[i][1]) <= 0
	}
	ix.view().validate(&p, covered)
	if len(p) > 0 {
		return &ValidationError{Problems: p}
	}
	return nil
}

// ShardNeededError is what [Index.Select] and [Index.Release] return when
// the answer may be in a shard not yet added: fetch Shard.Path, check
// and add it with [Index.AddShard], and ask again.
type ShardNeededError struct {
	Shard ShardRef
}

// Error implements error.
func (e *ShardNeededError) Error() string {
	return fmt.Sprintf("releases %s to %s are in %s, not read yet", e.Shard.Oldest, e.Shard.Newest, e.Shard.Path)
}

// ShardError reports shard bytes that do not match the index's
// commitment, or that do not hold what the reference says.
type ShardError struct {
	Path   string
	Reason string
	Err    error
}

// Error implements error.
func (e *ShardError) Error() string {
	s := "shard " + e.Path + ": " + e.Reason
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *ShardError) Unwrap() error { return e.Err }

// AddShard checks data against the index's reference to the shard at
// path (size, SHA-256, schema, project, count, version range, every
// release valid and in order) and adds its releases to the index's view.
// A mismatch is a *[ShardError] and adds nothing. Adding a shard twice is
// a no-op.
func (ix *Index) AddShard(path string, data []byte) error {
	i := slices.IndexFunc(ix.Shards, func(s ShardRef) bool { return s.Path == path })
	if i < 0 {
		return &ShardError{Path: path, Reason: "the index names no such shard"}
	}
	if len(ix.loaded) != len(ix.Shards) {
		ix.loaded = make([]bool, len(ix.Shards))
	}
	if ix.loaded[i] {
		return nil
	}
	ref := ix.Shards[i]
	if int64(len(data)) != ref.Size {
		return &ShardError{Path: path, Reason: fmt.Sprintf("%d bytes, the index says %d", len(data), ref.Size)}
	}
	if sum := sha256Hex(data); sum != ref.SHA256 {
		return &ShardError{Path: path, Reason: fmt.Sprintf("SHA-256 %s, the index says %s", sum, ref.SHA256)}
	}
	sh, err := ParseShard(data)
	if err != nil {
		return &ShardError{Path: path, Reason: "does not parse", Err: err}
	}
	if sh.Project != ix.Project {
		return &ShardError{Path: path, Reason: fmt.Sprintf("project %q, the index is for %q", sh.Project, ix.Project)}
	}
	if len(sh.Releases) != ref.Count || len(sh.Releases) == 0 ||
		sh.Releases[0].Version != ref.Newest || sh.Releases[len(sh.Releases)-1].Version != ref.Oldest {
		return &ShardError{Path: path, Reason: "its releases are not the count and range the index names"}
	}
	// The shard's own releases (strictly newest first, so with the first
	// and last checked above every one lies in [Oldest, Newest], a range
	// disjoint from the index's others; duplicates, fields, paths among
	// themselves), then what crosses into the rest: paths already used,
	// and the channels and aliases whose version lies in this shard's
	// range. Each AddShard costs the shard's size, not the history's.
	var p problems
	own := &Manifest{Schema: Schema, Project: ix.Project, Releases: sh.Releases}
	own.validate(&p, nil)
	if len(p) > 0 {
		return &ShardError{Path: path, Reason: "invalid", Err: &ValidationError{Problems: p}}
	}
	if ix.paths == nil {
		ix.paths = make(map[string]string, 10*len(ix.Releases))
		for _, r := range ix.Releases {
			for _, a := range r.Artifacts {
				if a.Path != "" {
					ix.paths[a.Path] = r.Version
				}
			}
		}
	}
	for _, r := range sh.Releases {
		for _, a := range r.Artifacts {
			if other, dup := ix.paths[a.Path]; dup && a.Path != "" {
				p.add("releases", "%s: artifact path %q is also used by release %s", r.Version, a.Path, other)
			}
		}
	}
	lo, _ := ParseVersion(ref.Oldest)
	hi, _ := ParseVersion(ref.Newest)
	byVersion := make(map[string]*Release, len(sh.Releases))
	for j := range sh.Releases {
		v, _ := ParseVersion(sh.Releases[j].Version)
		byVersion[precedenceKey(v)] = &sh.Releases[j]
	}
	checkPointer := func(field, version string, alias bool) {
		v, err := ParseVersion(version)
		if err != nil || Compare(v, lo) < 0 || Compare(v, hi) > 0 {
			return // not this shard's
		}
		r, ok := byVersion[precedenceKey(v)]
		switch {
		case !ok:
			p.add(field, "points at %q, which is not a release", version)
		case r.Status == StatusYanked:
			p.add(field, "points at yanked release %s", version)
		case alias && v.IsPrerelease():
			p.add(field, "points at pre-release %s", version)
		}
	}
	for _, name := range sortedKeys(ix.Channels) {
		checkPointer("channels."+name, ix.Channels[name], false)
	}
	for _, name := range sortedKeys(ix.Aliases) {
		checkPointer("aliases."+name, ix.Aliases[name], true)
	}
	if len(p) > 0 {
		return &ShardError{Path: path, Reason: "invalid", Err: &ValidationError{Problems: p}}
	}
	for _, r := range sh.Releases {
		for _, a := range r.Artifacts {
			if a.Path != "" {
				ix.paths[a.Path] = r.Version
			}
		}
	}
	// Splice: the ranges are disjoint and newest first, so the shard
	// goes in one piece before the first release older than its oldest.
	at := sort.Search(len(ix.Releases), func(k int) bool {
		v, err := ParseVersion(ix.Releases[k].Version)
		return err == nil && Compare(v, lo) < 0
	})
	ix.Releases = slices.Insert(ix.Releases, at, sh.Releases...)
	ix.loaded[i] = true
	return nil
}

// ParseShard decodes a shard. It refuses other schemas with a
// *[SchemaError] and inputs over [MaxShardSize].
func ParseShard(data []byte) (*Shard, error) {
	if len(data) > MaxShardSize {
		return nil, fmt.Errorf("shard: %w: %d bytes, limit %d", ErrTooLarge, len(data), MaxShardSize)
	}
	sh := new(Shard)
	if err := json.Unmarshal(data, sh); err != nil {
		return nil, fmt.Errorf("shard: %w", err)
	}
	if sh.Schema != ShardSchema {
		return nil, fmt.Errorf("shard: %w", &SchemaError{Schema: sh.Schema, want: ShardSchema})
	}
	return sh, nil
}

// needFor returns the first shard not yet added whose range holds v.
func (ix *Index) needFor(v Version) (ShardRef, bool) {
	for i, s := range ix.Shards {
		if ix.loaded != nil && ix.loaded[i] {
			continue
		}
		ov, e1 := ParseVersion(s.Oldest)
		nv, e2 := ParseVersion(s.Newest)
		if e1 == nil && e2 == nil && Compare(v, ov) >= 0 && Compare(v, nv) <= 0 {
			return s, true
		}
	}
	return ShardRef{}, false
}

// Release returns the release with the given version from the releases
// the index holds now (its own and those of the shards added), whether it
// exists, and a *[ShardNeededError] when it may be in a shard not added
// yet.
func (ix *Index) Release(version string) (*Release, bool, error) {
	if r, ok := ix.view().Release(version); ok {
		return r, true, nil
	}
	v, err := ParseVersion(version)
	if err != nil {
		return nil, false, nil
	}
	if s, ok := ix.needFor(v); ok {
		return nil, false, &ShardNeededError{Shard: s}
	}
	return nil, false, nil
}

// Select answers q as [Manifest.Select] does over the whole history. When
// the answer may lie in a shard not added yet it returns a
// *[ShardNeededError] instead: add that shard and call Select again (at
// most len(Shards) rounds). An update check that asks for a channel or
// alias whose release is in the index needs no shard.
func (ix *Index) Select(q Query) (Selection, error) {
	view := ix.view()
	set := 0
	for _, s := range []string{q.Version, q.Channel, q.Alias, q.Constraint} {
		if s != "" {
			set++
		}
	}
	if set > 1 {
		return view.Select(q) // the error
	}
	if q.Constraint == "" {
		target := q.Version
		switch {
		case q.Alias != "":
			target = ix.Aliases[q.Alias]
		case q.Version == "":
			ch := q.Channel
			if ch == "" {
				ch = ChannelStable
			}
			target = ix.Channels[ch]
		}
		if target != "" {
			if _, ok, err := ix.Release(target); !ok && err != nil {
				return Selection{}, err
			}
		}
		return view.Select(q)
	}
	// A range: shards are disjoint and ordered, so a match is final
	// unless a shard not added yet holds newer versions than it. The
	// releases are scanned once per query however many rounds it takes
	// (the scan state is kept between calls), then Manifest.Select gives
	// the answer, with its reasons, over everything read.
	best, err := ix.rangeBest(q)
	if err != nil {
		return Selection{}, err
	}
	for i, s := range ix.Shards {
		if ix.loaded[i] {
			continue
		}
		nv, perr := ParseVersion(s.Newest)
		if perr != nil {
			continue
		}
		if best.IsZero() || Compare(nv, best) > 0 {
			return Selection{}, &ShardNeededError{Shard: s}
		}
	}
	return view.Select(q)
}

// rangeScan is what rangeBest has scanned for one range query.
type rangeScan struct {
	query   string
	head    bool   // the index's own releases scanned
	scanned []bool // per Shards entry
	best    Version
}

// rangeBest returns the newest release Select could choose for the range
// query q among the releases held now (the zero Version when none),
// scanning only those not scanned for q before.
func (ix *Index) rangeBest(q Query) (Version, error) {
	c, err := ParseConstraint(q.Constraint)
	if err != nil {
		return Version{}, err
	}
	if q.Platform.OS != "" || q.Platform.Arch != "" {
		o, err := NormalizeOS(q.Platform.OS)
		if err != nil {
			return Version{}, err
		}
		a, err := NormalizeArch(q.Platform.Arch)
		if err != nil {
			return Version{}, err
		}
		q.Platform = Platform{OS: o, Arch: a}
	}
	kinds := q.Kinds
	if len(kinds) == 0 {
		kinds = []Kind{KindArchive, KindBinary}
	}
	key := fmt.Sprintf("%s|%v|%s|%v", q.Constraint, q.Prerelease, q.Platform, kinds)
	if len(ix.loaded) != len(ix.Shards) {
		ix.loaded = make([]bool, len(ix.Shards))
	}
	if ix.scan == nil || ix.scan.query != key {
		ix.scan = &rangeScan{query: key, scanned: make([]bool, len(ix.Shards))}
	}
	sc := ix.scan
	consider := func(rs []Release) {
		for i := range rs {
			r := &rs[i]
			v, err := ParseVersion(r.Version)
			if err != nil || (!sc.best.IsZero() && Compare(v, sc.best) <= 0) {
				continue
			}
			if v.IsPrerelease() && !q.Prerelease {
				continue
			}
			if !c.Check(v) && !(q.Prerelease && c.Check(releaseOf(v))) {
				continue
			}
			if r.Status != StatusActive {
				continue
			}
			if _, ok := pickArtifact(r, q.Platform, kinds); ok {
				sc.best = v
				return // newest first: the first match is this run's best
			}
		}
	}
	if !sc.head {
		consider(ix.Releases[:ix.headLen()])
		sc.head = true
	}
	for i := range ix.Shards {
		if ix.loaded[i] && !sc.scanned[i] {
			consider(ix.shardReleases(i))
			sc.scanned[i] = true
		}
	}
	return sc.best, nil
}

// headLen is the number of the index's own releases: those newer than
// every shard (they come first in Releases).
func (ix *Index) headLen() int {
	if len(ix.Shards) == 0 {
		return len(ix.Releases)
	}
	top, err := ParseVersion(ix.Shards[0].Newest)
	if err != nil {
		return len(ix.Releases)
	}
	return sort.Search(len(ix.Releases), func(k int) bool {
		v, err := ParseVersion(ix.Releases[k].Version)
		return err == nil && Compare(v, top) <= 0
	})
}

// shardReleases returns the releases of the added shard i within
// Releases.
func (ix *Index) shardReleases(i int) []Release {
	lo, err1 := ParseVersion(ix.Shards[i].Oldest)
	hi, err2 := ParseVersion(ix.Shards[i].Newest)
	if err1 != nil || err2 != nil {
		return nil
	}
	from := sort.Search(len(ix.Releases), func(k int) bool {
		v, err := ParseVersion(ix.Releases[k].Version)
		return err == nil && Compare(v, hi) <= 0
	})
	to := sort.Search(len(ix.Releases), func(k int) bool {
		v, err := ParseVersion(ix.Releases[k].Version)
		return err == nil && Compare(v, lo) < 0
	})
	if from > to {
		return nil
	}
	return ix.Releases[from:to]
}

// Manifest returns the releases the index holds now (its own and those
// of the shards added) as a manifest, with the index's project, serial,
// dates, channels and aliases: enough for [Manifest.Select],
// [Manifest.Release] and verify.CheckArtifact on those releases. It is
// not the whole history: never publish it.
func (ix *Index) Manifest() *Manifest {
	m := ix.view()
	m.Releases = slices.Clone(m.Releases)
	return m
}

// maxShardCount bounds a shard reference's release count.
const maxShardCount = 4 * ShardReleases

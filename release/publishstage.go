package release

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/sign"
)

// Publisher publishes a staged directory. *publish.Publisher implements
// it (with any provider: publish.DirStore, publish/s3, publish/github).
type Publisher interface {
	Publish(ctx context.Context, dir string) (*publish.Result, error)
}

// PublishStage is the publish stage ("publish"): it hands the staged root to
// the Publisher, which uploads artifacts first and manifest.json last (the
// commit point), skips what is already there and refuses different bytes
// under a published name. The URLs end up in State.Published.
//
// With Signers (and Keys), the manifest committed is not the staged one:
// at the commit point the Publisher reads the destination's current
// manifest.json, which is verified with Keys, and the staged release is
// merged into it and signed again with Signers (see
// [publish.Publisher.PublishMerge]). So a release prepared against a stale
// base, or racing another publisher, never drops a published release. The
// Publisher must then be a *publish.Publisher. Without Signers the staged
// manifest is published as it is, and refused if it would lose history.
type PublishStage struct {
	Publisher Publisher
	// Signers sign the merged manifest (each must be among Keys); Keys
	// verify the published one, which must carry Threshold of them (the
	// clients' threshold; default: the number of Signers).
	Signers   []sign.Signer
	Keys      [][]byte
	Threshold int
	// TTL is the merged manifest's lifetime; 0 means DefaultManifestTTL.
	TTL time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time
}

// Name returns "publish".
func (p *PublishStage) Name() string { return "publish" }

// Publishes reports true: snapshot mode skips this stage.
func (p *PublishStage) Publishes() bool { return true }

// Run publishes.
func (p *PublishStage) Run(ctx context.Context, st *State) error {
	if p.Publisher == nil {
		return &ConfigError{Field: "Publish.Publisher", Reason: "required"}
	}
	var res *publish.Result
	var err error
	if len(p.Signers) > 0 {
		pm, ok := p.Publisher.(interface {
			PublishMerge(context.Context, string, publish.MergeFunc) (*publish.Result, error)
		})
		if !ok {
			return &ConfigError{Field: "Publish.Publisher", Reason: fmt.Sprintf("%T cannot merge at the commit point (use a *publish.Publisher, or no Signers)", p.Publisher)}
		}
		if len(p.Keys) == 0 {
			return &ConfigError{Field: "Keys", Reason: "required to verify the published manifest before merging"}
		}
		policy, err := newRootPolicy(st.Project, p.Keys, p.Threshold, p.Signers, p.TTL, p.Now)
		if err != nil {
			return err
		}
		mg, err := newMerger(st, st.Root, policy)
		if err != nil {
			return err
		}
		res, err = pm.PublishMerge(ctx, st.Root, mg.merge)
		if err != nil {
			return err
		}
	} else if res, err = p.Publisher.Publish(ctx, st.Root); err != nil {
		return err
	}
	if res.Root != nil {
		st.Serial = res.Root.Serial
	}
	if st.Published == nil {
		st.Published = map[string]string{}
	}
	for _, a := range res.Assets {
		st.Published[a.Name] = a.URL
	}
	st.logger().Info("published", "url", res.URL, "uploaded", res.Uploaded, "skipped", res.Skipped, "replaced", res.Replaced, "bytes", res.BytesUploaded)
	return nil
}

// SummaryFile is the base name of the post-release summary
// (release-summary.md and release-summary.json).
const SummaryFile = "release-summary"

// Summary is the summary stage ("summary"): it writes
// release-summary.md and release-summary.json (LLStack's post-release
// report) into Dir: the release, every artifact with size and SHA-256 and
// public URL, the images pushed (reference by digest, tags), what was
// verified, and whether the release is complete.
// It runs in snapshot mode too (URLs are then empty).
type Summary struct {
	// Dir is where the summary is written; empty means State.Work (never
	// the staged root, which is published).
	Dir string
}

// Name returns "summary".
func (s *Summary) Name() string { return "summary" }

// ReleaseSummary is the content of release-summary.json.
type ReleaseSummary struct {
	Project   string            `json:"project"`
	Version   string            `json:"version"`
	Tag       string            `json:"tag,omitempty"`
	Commit    string            `json:"commit,omitempty"`
	Date      time.Time         `json:"date"`
	Snapshot  bool              `json:"snapshot"`
	Artifacts []SummaryAsset    `json:"artifacts"`
	Verified  []string          `json:"verified"`
	Reports   []SummaryReport   `json:"reports,omitempty"`
	Published map[string]string `json:"published,omitempty"`
	Images    []SummaryImage    `json:"images,omitempty"`
	// Serial and Expires describe the published manifest (zero when
	// nothing was published or it was not read back).
	Serial  int64     `json:"serial,omitempty"`
	Expires time.Time `json:"expires,omitzero"`
}

// SummaryImage is a container image pushed by [ImagePush].
type SummaryImage struct {
	// Ref is the image index by digest ("ghcr.io/example/hello@sha256:...").
	Ref string `json:"ref"`
	// Signature is the tag holding its cosign signature; empty when
	// unsigned.
	Signature string `json:"signature,omitempty"`
	// Tags are the tags and what the push did with each.
	Tags []oci.TagResult `json:"tags"`
}

// SummaryAsset is one artifact in a summary.
type SummaryAsset struct {
	manifest.Artifact
	URL string `json:"url,omitempty"`
}

// SummaryReport is a verification outcome in a summary.
type SummaryReport struct {
	Where  string `json:"where"`
	OK     bool   `json:"ok"`
	Checks int    `json:"checks"`
}

// Run writes the two files.
func (s *Summary) Run(ctx context.Context, st *State) error {
	dir := s.Dir
	if dir == "" {
		dir = st.Work
	}
	if dir == "" {
		return &ConfigError{Field: "Summary.Dir", Reason: "not set and State.Work is empty"}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	sum := st.Summary()
	if _, err := writeAtomic(filepath.Join(dir, SummaryFile+".json"), 0o644, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(sum)
	}); err != nil {
		return err
	}
	if _, err := writeAtomic(filepath.Join(dir, SummaryFile+".md"), 0o644, func(w io.Writer) error {
		_, err := io.WriteString(w, sum.Markdown())
		return err
	}); err != nil {
		return err
	}
	st.logger().Info("summary", "dir", dir)
	return nil
}

// Summary returns the release summary of st.
func (st *State) Summary() *ReleaseSummary {
	sum := &ReleaseSummary{
		Project: st.Project, Version: st.Version.String(), Tag: st.Tag, Commit: st.Commit,
		Date: st.Date, Snapshot: st.Snapshot, Verified: slices.Clone(st.Verified), Published: st.Published,
		Serial: st.Serial, Expires: st.Expires,
	}
	if sum.Verified == nil {
		sum.Verified = []string{}
	}
	for _, a := range st.Artifacts {
		sum.Artifacts = append(sum.Artifacts, SummaryAsset{Artifact: a, URL: st.Published[a.Path]})
	}
	for _, r := range st.Pushed {
		sum.Images = append(sum.Images, SummaryImage{Ref: r.Ref(), Signature: r.Signature, Tags: r.Tags})
	}
	for _, r := range st.Reports {
		sum.Reports = append(sum.Reports, SummaryReport{Where: r.Where, OK: r.Report.OK, Checks: len(r.Report.Checks)})
	}
	return sum
}

// Markdown renders the summary.
func (s *ReleaseSummary) Markdown() string {
	var b strings.Builder
	fmt.Fprintf(&b, "# %s %s\n\n", s.Project, s.Version)
	if s.Snapshot {
		b.WriteString("Snapshot: nothing was published.\n\n")
	}
	if s.Tag != "" || s.Commit != "" {
		fmt.Fprintf(&b, "Tag `%s`, commit `%s`, source date %s.\n\n", s.Tag, s.Commit, s.Date.UTC().Format(time.RFC3339))
	}
	if s.Serial != 0 || !s.Expires.IsZero() {
		fmt.Fprintf(&b, "Published manifest: serial %d", s.Serial)
		if !s.Expires.IsZero() {
			fmt.Fprintf(&b, ", expires %s (refresh it before then)", s.Expires.UTC().Format(time.RFC3339))
		}
		b.WriteString(".\n\n")
	}
	b.WriteString("## Artifacts\n\n| file | kind | platform | size | sha256 |\n|---|---|---|---:|---|\n")
	for _, a := range s.Artifacts {
		name := a.Name
		if a.URL != "" {
			name = "[" + a.Name + "](" + a.URL + ")"
		}
		plat := ""
		if a.OS != "" {
			plat = a.OS + "/" + a.Arch
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %d | `%s` |\n", name, a.Kind, plat, a.Size, a.SHA256)
	}
	if len(s.Images) > 0 {
		b.WriteString("\n## Images\n\n")
		for _, im := range s.Images {
			fmt.Fprintf(&b, "- `%s`\n", im.Ref)
			for _, t := range im.Tags {
				line := fmt.Sprintf("  - tag `%s`: %s", t.Name, t.Action)
				if t.Reason != "" {
					line += " (" + t.Reason + ")"
				}
				b.WriteString(line + "\n")
			}
			if im.Signature != "" {
				fmt.Fprintf(&b, "  - signature `%s`\n", im.Signature)
			}
		}
	}
	if len(s.Reports) > 0 {
		b.WriteString("\n## Verification\n\n")
		for _, r := range s.Reports {
			status := "passed"
			if !r.OK {
				status = "FAILED"
			}
			fmt.Fprintf(&b, "- %s: %s (%d checks)\n", r.Where, status, r.Checks)
		}
	}
	if len(s.Verified) > 0 {
		b.WriteString("\n<details><summary>Checks that passed</summary>\n\n")
		for _, v := range s.Verified {
			fmt.Fprintf(&b, "- %s\n", v)
		}
		b.WriteString("\n</details>\n")
	}
	return b.String()
}

package release

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"path"
	"path/filepath"
	"time"

	"github.com/relkit/relkit/manifest"
)

// DefaultManifestTTL is how long a manifest stays valid after it is
// written when [UpdateManifest.TTL] is zero: 90 days. Publish (re-sign)
// again before then, or clients refuse it as expired.
const DefaultManifestTTL = 90 * 24 * time.Hour

// UpdateManifest is the manifest stage ("manifest"): it adds the release
// (every staged artifact, the channel, the notes) to the destination's
// current manifest with [manifest.Manifest.Add] — which moves channels and
// rolling aliases, increments the serial, and refuses a version already
// published with other bytes — sets its expiry with
// [manifest.Manifest.Touch], validates it, and writes <root>/manifest.json.
// The caller's Published manifest is not modified.
type UpdateManifest struct {
	// Published is the destination's current manifest; nil starts a new
	// one for State.Project.
	Published *manifest.Manifest
	// Channel is the release's channel; empty means stable, or edge for
	// a pre-release.
	Channel string
	// TTL is the manifest's lifetime; 0 means [DefaultManifestTTL].
	TTL time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Name returns "manifest".
func (u *UpdateManifest) Name() string { return "manifest" }

// Release returns the manifest entry for the release in st.
func (st *State) Release(channel string) manifest.Release {
	rel := manifest.Release{
		Version: st.Version.String(), Tag: st.Tag, Date: st.Date, Commit: st.Commit,
		Channel: channel, Artifacts: append([]manifest.Artifact(nil), st.Artifacts...),
	}
	if _, ok := st.Artifact(manifest.NotesFile); ok {
		rel.Notes = path.Join(st.Version.String(), manifest.NotesFile)
	}
	return rel
}

// Run writes manifest.json.
func (u *UpdateManifest) Run(ctx context.Context, st *State) error {
	if err := st.needVersion(); err != nil {
		return err
	}
	var m *manifest.Manifest
	if u.Published != nil {
		// Work on a copy.
		data, err := u.Published.Marshal()
		if err != nil {
			return err
		}
		if m, err = manifest.ParsePublished(data); err != nil {
			return err
		}
		if m.Project != st.Project {
			return &ConfigError{Field: "UpdateManifest.Published", Reason: fmt.Sprintf("manifest is for project %q, not %q", m.Project, st.Project)}
		}
	} else {
		m = manifest.New(st.Project)
	}
	if _, err := m.Add(st.Release(u.Channel)); err != nil {
		return err
	}
	now := time.Now
	if u.Now != nil {
		now = u.Now
	}
	ttl := u.TTL
	if ttl == 0 {
		ttl = DefaultManifestTTL
	}
	m.Touch(now(), ttl)
	if err := m.Validate(); err != nil {
		return err
	}
	data, err := m.Marshal()
	if err != nil {
		return err
	}
	if _, err := writeAtomic(filepath.Join(st.Root, manifest.File), 0o644, func(w io.Writer) error {
		_, err := io.Copy(w, bytes.NewReader(data))
		return err
	}); err != nil {
		return err
	}
	st.logger().Info("manifest", "serial", m.Serial, "channels", m.Channels, "expires", m.Expires)
	return nil
}

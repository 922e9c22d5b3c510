package release

import (
	"context"
	"errors"

	"github.com/relkit/relkit/release/tap"
)

// TapStage is the stage ("taps") that runs tap.Update (package
// release/tap: the Homebrew cask and the Scoop manifest of the published
// release) after the publish stage: append it to the stages of a publish
// (it reports Publishes, so a snapshot skips it). The pipeline stops at
// the first failure, so a release whose publish or remote verification
// failed never reaches a tap; and tap.Update reads the published manifest
// in any case. Config.Version and Config.Project default to the state's.
type TapStage struct {
	Config tap.Config
}

// Name returns "taps".
func (t *TapStage) Name() string { return "taps" }

// Publishes reports true: snapshot mode skips this stage.
func (t *TapStage) Publishes() bool { return true }

// Run updates the taps with the state's version.
func (t *TapStage) Run(ctx context.Context, st *State) error {
	c := t.Config
	if c.Version == "" {
		c.Version = st.Version.String()
	}
	if c.Project == "" {
		c.Project = st.Project
	}
	res, err := tap.Update(ctx, c)
	if err != nil {
		return tapConfigError(err)
	}
	for _, u := range res.Updates {
		st.logger().Info("tap", "repo", u.Repo, "file", u.File, "changed", u.Changed, "commit", u.Commit)
	}
	return nil
}

// tapCheck is the stage ("tap-check") Prepare runs before the build when
// Config.Taps is set.
type tapCheck struct{ c tap.Config }

func (t *tapCheck) Name() string { return "tap-check" }

func (t *tapCheck) Run(ctx context.Context, st *State) error {
	c := t.c
	if c.Project == "" {
		c.Project = st.Project
	}
	return tapConfigError(c.Check(ctx))
}

// tapConfigError reports a *tap.ConfigError as the *ConfigError of the
// Config field ("Taps.Description"); other errors are returned as they
// are.
func tapConfigError(err error) error {
	var ce *tap.ConfigError
	if errors.As(err, &ce) {
		return &ConfigError{Field: "Taps." + ce.Field, Reason: ce.Reason}
	}
	return err
}

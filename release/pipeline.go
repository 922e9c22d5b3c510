package release

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"
)

// A Stage is one step of a release: it has a name (unique in a
// [Pipeline], used to skip it and in logs and errors) and does one job on
// the shared [State].
//
// Run must honour ctx, must leave State consistent when it fails (append
// only complete artifacts), and should return errors the caller can branch
// on (the pipeline wraps them in a *[StageError]).
type Stage interface {
	Name() string
	Run(ctx context.Context, st *State) error
}

// Publishing is implemented by stages that change something outside the
// staged directory (upload, remote manifest update). A [Pipeline] in
// snapshot mode skips every stage whose Publishes method reports true.
type Publishing interface {
	Publishes() bool
}

// StageFunc adapts a function to a [Stage] with the given name.
func StageFunc(name string, run func(ctx context.Context, st *State) error) Stage {
	return stageFunc{name: name, run: run}
}

type stageFunc struct {
	name string
	run  func(ctx context.Context, st *State) error
}

func (s stageFunc) Name() string                             { return s.name }
func (s stageFunc) Run(ctx context.Context, st *State) error { return s.run(ctx, st) }

// Pipeline runs stages in order. The zero value runs nothing; set Stages.
type Pipeline struct {
	// Stages run in this order.
	Stages []Stage
	// Skip names stages not to run. Naming a stage that is not in Stages
	// is an error (a typo must not silently run a stage).
	Skip []string
	// Snapshot runs everything except the stages that publish (see
	// [Publishing]): build, package, checksum, sign and verify locally,
	// and leave the staged directory for inspection.
	Snapshot bool
	// Logger receives one record when each stage starts, ends or is
	// skipped, and every record a stage logs through [State.Log].
	// Default (nil): discard them; pass slog.Default() to log where the
	// program logs.
	Logger *slog.Logger
}

// StageError reports the stage that failed. Err is the stage's error;
// errors.Is and errors.As see through StageError.
type StageError struct {
	Stage string
	Err   error
}

// Error implements the error interface.
func (e *StageError) Error() string { return "release: " + e.Stage + ": " + e.Err.Error() }

// Unwrap returns the stage's error.
func (e *StageError) Unwrap() error { return e.Err }

// ConfigError reports a pipeline or stage configured inconsistently,
// before anything ran.
type ConfigError struct {
	Field  string
	Reason string
}

// Error implements the error interface.
func (e *ConfigError) Error() string { return "release: config: " + e.Field + ": " + e.Reason }

// Check reports configuration errors: duplicate or empty stage names and
// skip names that match no stage.
func (p *Pipeline) Check() error {
	seen := map[string]bool{}
	var errs []error
	for i, s := range p.Stages {
		if s == nil {
			errs = append(errs, &ConfigError{Field: fmt.Sprintf("Stages[%d]", i), Reason: "nil stage"})
			continue
		}
		n := s.Name()
		switch {
		case n == "":
			errs = append(errs, &ConfigError{Field: fmt.Sprintf("Stages[%d]", i), Reason: "empty stage name"})
		case seen[n]:
			errs = append(errs, &ConfigError{Field: fmt.Sprintf("Stages[%d]", i), Reason: fmt.Sprintf("duplicate stage name %q", n)})
		}
		seen[n] = true
	}
	for _, s := range p.Skip {
		if !seen[s] {
			errs = append(errs, &ConfigError{Field: "Skip", Reason: fmt.Sprintf("no stage named %q (stages: %s)", s, strings.Join(p.Names(), ", "))})
		}
	}
	return errors.Join(errs...)
}

// Names returns the stage names in order.
func (p *Pipeline) Names() []string {
	names := make([]string, 0, len(p.Stages))
	for _, s := range p.Stages {
		if s != nil {
			names = append(names, s.Name())
		}
	}
	return names
}

// Run checks the configuration and runs every stage in order, stopping at
// the first failure, which it returns as a *[StageError]. Stages named in
// Skip, and publishing stages in snapshot mode, are logged and skipped.
// st.Log is set to the pipeline's logger for the duration of each stage,
// with a "stage" attribute.
func (p *Pipeline) Run(ctx context.Context, st *State) error {
	if err := p.Check(); err != nil {
		return err
	}
	if st == nil {
		return &ConfigError{Field: "State", Reason: "nil"}
	}
	log := p.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	st.Snapshot = st.Snapshot || p.Snapshot
	for _, s := range p.Stages {
		name := s.Name()
		stageLog := log.With("stage", name)
		if slices.Contains(p.Skip, name) {
			stageLog.Info("skip", "reason", "skipped by name")
			continue
		}
		if pub, ok := s.(Publishing); ok && pub.Publishes() && st.Snapshot {
			stageLog.Info("skip", "reason", "snapshot")
			continue
		}
		if err := ctx.Err(); err != nil {
			return &StageError{Stage: name, Err: err}
		}
		st.Log = stageLog
		start := time.Now()
		stageLog.Info("start")
		err := s.Run(ctx, st)
		st.Log = nil
		if err != nil {
			stageLog.Error("failed", "err", err, "elapsed", time.Since(start).Round(time.Millisecond))
			return &StageError{Stage: name, Err: err}
		}
		stageLog.Info("done", "elapsed", time.Since(start).Round(time.Millisecond))
	}
	return nil
}

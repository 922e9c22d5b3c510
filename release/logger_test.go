package release_test

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"testing"

	"github.com/relkit/relkit/release"
)

// A library logs only where it is told to: a Pipeline without a Logger
// writes nothing, not even to slog.Default, and one with a Logger gets
// every stage's records.
func TestPipelineLoggerDefaultDiscards(t *testing.T) {
	var def bytes.Buffer
	old := slog.Default()
	slog.SetDefault(slog.New(slog.NewTextHandler(&def, nil)))
	t.Cleanup(func() { slog.SetDefault(old) })

	stage := release.StageFunc("hello", func(ctx context.Context, st *release.State) error {
		st.Log.Info("from the stage")
		return nil
	})
	if err := (&release.Pipeline{Stages: []release.Stage{stage}}).Run(t.Context(), &release.State{}); err != nil {
		t.Fatal(err)
	}
	if def.Len() != 0 {
		t.Errorf("a Pipeline without a Logger wrote to slog.Default:\n%s", def.String())
	}

	var given bytes.Buffer
	p := &release.Pipeline{Stages: []release.Stage{stage}, Logger: slog.New(slog.NewTextHandler(&given, nil))}
	if err := p.Run(t.Context(), &release.State{}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(given.String(), "from the stage") || !strings.Contains(given.String(), "stage=hello") {
		t.Errorf("the given Logger got:\n%s", given.String())
	}
	if def.Len() != 0 {
		t.Errorf("slog.Default got records:\n%s", def.String())
	}
}

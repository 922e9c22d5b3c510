package release

import (
	"context"
	"errors"
	"testing"
)

type pubStage struct{ ran *[]string }

func (p pubStage) Name() string    { return "upload" }
func (p pubStage) Publishes() bool { return true }
func (p pubStage) Run(ctx context.Context, st *State) error {
	*p.ran = append(*p.ran, "upload")
	return nil
}

func TestPipelineOrderSkipSnapshot(t *testing.T) {
	var ran []string
	rec := func(name string) Stage {
		return StageFunc(name, func(ctx context.Context, st *State) error {
			if st.Log == nil {
				t.Errorf("stage %s: st.Log not set", name)
			}
			ran = append(ran, name)
			return nil
		})
	}
	stages := []Stage{rec("a"), rec("b"), pubStage{&ran}, rec("c")}

	for _, tc := range []struct {
		name     string
		skip     []string
		snapshot bool
		want     []string
	}{
		{"all", nil, false, []string{"a", "b", "upload", "c"}},
		{"skip b", []string{"b"}, false, []string{"a", "upload", "c"}},
		{"snapshot", nil, true, []string{"a", "b", "c"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ran = nil
			p := &Pipeline{Stages: stages, Skip: tc.skip, Snapshot: tc.snapshot, Logger: testLogger(t)}
			if err := p.Run(t.Context(), &State{}); err != nil {
				t.Fatal(err)
			}
			if len(ran) != len(tc.want) {
				t.Fatalf("ran %v, want %v", ran, tc.want)
			}
			for i := range ran {
				if ran[i] != tc.want[i] {
					t.Fatalf("ran %v, want %v", ran, tc.want)
				}
			}
		})
	}
}

func TestPipelineStopsAtFailure(t *testing.T) {
	boom := errors.New("boom")
	var ran []string
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{
		StageFunc("one", func(context.Context, *State) error { ran = append(ran, "one"); return nil }),
		StageFunc("two", func(context.Context, *State) error { return boom }),
		StageFunc("three", func(context.Context, *State) error { ran = append(ran, "three"); return nil }),
	}}
	err := p.Run(t.Context(), &State{})
	var se *StageError
	if !errors.As(err, &se) || se.Stage != "two" || !errors.Is(err, boom) {
		t.Fatalf("err = %v, want StageError{two, boom}", err)
	}
	if len(ran) != 1 {
		t.Fatalf("ran %v after a failure", ran)
	}
}

func TestPipelineConfigErrors(t *testing.T) {
	noop := func(context.Context, *State) error { return nil }
	for _, p := range []*Pipeline{
		{Stages: []Stage{StageFunc("a", noop), StageFunc("a", noop)}},
		{Stages: []Stage{StageFunc("a", noop)}, Skip: []string{"bulid"}},
		{Stages: []Stage{StageFunc("", noop)}},
		{Stages: []Stage{nil}},
	} {
		err := p.Run(t.Context(), &State{})
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%v: err = %v, want *ConfigError", p.Names(), err)
		}
	}
}

func TestPipelineCanceled(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	p := &Pipeline{Stages: []Stage{StageFunc("a", func(context.Context, *State) error { t.Error("ran"); return nil })}}
	if err := p.Run(ctx, &State{}); !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

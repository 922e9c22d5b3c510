package oci_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/relkit/relkit/internal/registrytest"
	"github.com/relkit/relkit/publish/oci"
)

func TestPrereleaseLeavesLatest(t *testing.T) {
	reg := registrytest.Start(t)
	c := newClient(t)
	repo := reg.Host + "/hello"
	stable := push(t, c, testSpec(t, repo, "1.2.0", 1))

	rc := push(t, c, testSpec(t, repo, "1.3.0-rc.1", 2))
	if rc.Digest == stable.Digest {
		t.Fatal("different binaries made the same digest")
	}
	if got, want := tagNames(rc), []string{"1.3.0-rc.1", "sha-" + testCommit[:7]}; !slices.Equal(got, want) {
		t.Errorf("rc tags = %v, want %v", got, want)
	}
	for _, tag := range []string{"latest", "1", "1.2", "1.2.0"} {
		if d := digestOf(t, repo, tag); d != stable.Digest {
			t.Errorf("after the rc, %s = %s, want the stable %s", tag, d, stable.Digest)
		}
	}
	if d := digestOf(t, repo, "1.3.0-rc.1"); d != rc.Digest {
		t.Errorf("1.3.0-rc.1 = %s, want %s", d, rc.Digest)
	}
	if d := digestOf(t, repo, "1.3"); d != "" {
		t.Errorf("the rc created tag 1.3 (%s)", d)
	}
}

func TestLatestNeverMovesBackwards(t *testing.T) {
	reg := registrytest.Start(t)
	c := newClient(t)
	repo := reg.Host + "/hello"
	push(t, c, testSpec(t, repo, "1.2.0", 1))
	v13 := push(t, c, testSpec(t, repo, "1.3.0", 2))
	for _, tag := range []string{"latest", "1"} {
		if a := tagAction(t, v13, tag); a != oci.TagMoved {
			t.Errorf("1.3.0: %s %s, want moved", tag, a)
		}
	}

	// A hotfix of the older minor: moves 1.2, creates 1.2.1, keeps latest and 1.
	v121 := push(t, c, testSpec(t, repo, "1.2.1", 3))
	want := map[string]oci.TagAction{"1.2.1": oci.TagCreated, "1.2": oci.TagMoved, "1": oci.TagKept, "latest": oci.TagKept}
	for tag, a := range want {
		if got := tagAction(t, v121, tag); got != a {
			t.Errorf("1.2.1: %s %s, want %s", tag, got, a)
		}
	}
	for _, tr := range v121.Tags {
		if tr.Action == oci.TagKept && (tr.PreviousVersion != "1.3.0" || tr.Reason == "") {
			t.Errorf("kept %s: previous version %q, reason %q", tr.Name, tr.PreviousVersion, tr.Reason)
		}
	}
	for tag, d := range map[string]string{"latest": v13.Digest, "1": v13.Digest, "1.2": v121.Digest, "1.3": v13.Digest} {
		if got := digestOf(t, repo, tag); got != d {
			t.Errorf("%s = %s, want %s", tag, got, d)
		}
	}

	// Re-pushing the old 1.2.0 changes nothing.
	old := push(t, c, testSpec(t, repo, "1.2.0", 1))
	if old.Stats.BlobUploads != 0 || old.Stats.ManifestPuts != 0 {
		t.Errorf("re-push of 1.2.0 uploaded: %+v", old.Stats)
	}
	if d := digestOf(t, repo, "latest"); d != v13.Digest {
		t.Errorf("after re-pushing 1.2.0, latest = %s", d)
	}
}

func TestVersionTagNeverMoves(t *testing.T) {
	reg := registrytest.Start(t)
	c := newClient(t)
	repo := reg.Host + "/hello"
	first := push(t, c, testSpec(t, repo, "1.2.0", 1))

	// The same version with other bytes: refused before any upload.
	im, err := c.Build(context.Background(), testSpec(t, repo, "1.2.0", 99))
	if err != nil {
		t.Fatal(err)
	}
	defer im.Close()
	_, err = c.PushImage(context.Background(), repo, im)
	var tce *oci.TagConflictError
	if !errors.As(err, &tce) {
		t.Fatalf("err = %v, want *TagConflictError", err)
	}
	if tce.Tag != "1.2.0" || tce.Have != first.Digest || tce.Want != im.Digest {
		t.Errorf("conflict = %+v", tce)
	}
	ref, _ := name.NewDigest(repo + "@" + im.Digest)
	if _, err := remote.Head(ref); err == nil {
		t.Error("the refused index was uploaded")
	}
	for _, p := range im.Platforms {
		ref, _ := name.NewDigest(repo + "@" + p.Digest)
		if _, err := remote.Head(ref); err == nil {
			t.Errorf("the refused %s image was uploaded", p.Platform)
		}
	}
	if d := digestOf(t, repo, "latest"); d != first.Digest {
		t.Errorf("latest = %s, want %s", d, first.Digest)
	}
}

func TestEdgeTags(t *testing.T) {
	reg := registrytest.Start(t)
	c := newClient(t)
	repo := reg.Host + "/hello"
	stable := push(t, c, testSpec(t, repo, "1.2.0", 1))
	spec := testSpec(t, repo, "1.3.0-dev.4", 5)
	spec.Channel = "edge"
	edge := push(t, c, spec)
	if got, want := tagNames(edge), []string{"1.3.0-dev.4", "edge", "nightly-2026-11-20", "sha-" + testCommit[:7]}; !slices.Equal(got, want) {
		t.Fatalf("edge tags = %v, want %v", got, want)
	}
	// sha-<commit> pointed at the 1.2.0 build of the same commit and moves
	// to the newer version.
	if a := tagAction(t, edge, "sha-"+testCommit[:7]); a != oci.TagMoved {
		t.Errorf("sha tag: %s, want moved", a)
	}
	if d := digestOf(t, repo, "edge"); d != edge.Digest {
		t.Errorf("edge = %s", d)
	}
	if d := digestOf(t, repo, "latest"); d != stable.Digest {
		t.Errorf("an edge build moved latest to %s", d)
	}
}

func TestPushSpecErrors(t *testing.T) {
	c := newClient(t)
	for _, repo := range []string{"", "127.0.0.1:5000/hello:1.0", "127.0.0.1:5000/Hello", "127.0.0.1:5000/hello@sha256:" + strings.Repeat("0", 64)} {
		_, err := c.Push(context.Background(), testSpec(t, repo, "1.0.0", 1))
		var se *oci.SpecError
		if !errors.As(err, &se) || se.Field != "Repository" {
			t.Errorf("repository %q: err = %v, want a Repository *SpecError", repo, err)
		}
	}
	im := build(t, c, testSpec(t, "", "1.0.0", 1))
	im.Close()
	if _, err := c.PushImage(context.Background(), "127.0.0.1:5000/hello", im); err == nil {
		t.Error("PushImage of a closed image succeeded")
	}
}

// TestLatestFromOtherTools: a "latest" pushed by another tool is moved
// when its version label (as docker/metadata-action writes it) is older,
// kept when it is newer, and kept when it has no version at all.
func TestLatestFromOtherTools(t *testing.T) {
	reg := registrytest.Start(t)
	c := newClient(t)
	for _, tc := range []struct {
		label string // org.opencontainers.image.version label of the foreign latest; "" for none
		want  oci.TagAction
	}{
		{"0.9.0", oci.TagMoved},
		{"v3.0.0", oci.TagKept},
		{"", oci.TagKept},
		{"nightly", oci.TagKept},
	} {
		repo := reg.Host + "/foreign" + strings.ReplaceAll(tc.label, ".", "") + "/hello"
		img, err := random.Image(256, 1)
		if err != nil {
			t.Fatal(err)
		}
		if tc.label != "" {
			cf, _ := img.ConfigFile()
			cf = cf.DeepCopy()
			cf.Config.Labels = map[string]string{oci.AnnotationVersion: tc.label}
			if img, err = mutate.ConfigFile(img, cf); err != nil {
				t.Fatal(err)
			}
		}
		ref, _ := name.ParseReference(repo + ":latest")
		if err := remote.Write(ref, img); err != nil {
			t.Fatal(err)
		}
		foreign, _ := img.Digest()

		res := push(t, c, testSpec(t, repo, "1.0.0", 1))
		var latest oci.TagResult
		for _, tr := range res.Tags {
			if tr.Name == "latest" {
				latest = tr
			}
		}
		if latest.Action != tc.want || latest.Previous != foreign.String() || latest.PreviousVersion != tc.label {
			t.Errorf("foreign latest %q: %+v, want %s from %s", tc.label, latest, tc.want, foreign)
		}
		if tc.want == oci.TagKept && latest.Reason == "" {
			t.Errorf("foreign latest %q kept with no reason", tc.label)
		}
		wantDigest := res.Digest
		if tc.want == oci.TagKept {
			wantDigest = foreign.String()
		}
		if d := digestOf(t, repo, "latest"); d != wantDigest {
			t.Errorf("foreign latest %q: latest = %s, want %s", tc.label, d, wantDigest)
		}
	}
}

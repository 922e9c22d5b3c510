package release

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/relkit/relkit/internal/registrytest"
	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/oci"
	"github.com/relkit/relkit/release/provenance"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

var linuxTargets = []manifest.Platform{{OS: "linux", Arch: "amd64"}, {OS: "linux", Arch: "arm64"}}

// imageRelease prepares release 1.2.0 of the shared linux binaries with
// image, from a tagged repository, into dist.
func imageRelease(t *testing.T, dist string, signer sign.Signer, image *ImageConfig) *State {
	t.Helper()
	return imageReleaseOf(t, "v1.2.0", dist, signer, image)
}

// imageReleaseOf prepares the release of tag like imageRelease.
func imageReleaseOf(t *testing.T, tag, dist string, signer sign.Signer, image *ImageConfig) *State {
	t.Helper()
	r := releaseRepo(t, tag)
	var bins []Binary
	for _, p := range linuxTargets {
		bins = append(bins, onlyPlatform(sharedBinaries(t), p)...)
	}
	st, err := Prepare(t.Context(), Config{
		Project: "hello", Dist: dist, Repo: r.dir,
		Guard:     Guard{RequireV: true}.Strict(),
		Prebuilt:  bins,
		Package:   Package{Level: gzip.BestSpeed},
		SourceURI: "git+https://github.com/example/hello",
		Signers:   []sign.Signer{signer},
		Image:     image,
		Now:       func() time.Time { return testDate.Add(time.Hour) },
		Logger:    testLogger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// TestImageEndToEnd prepares a release with a linux/amd64+arm64 image,
// publishes it to a directory and a real docker-registry, twice, and
// checks that the signed release ties the image digests: manifest.json,
// SHA256SUMS, the SBOM and the provenance name them, the registry serves
// exactly the recorded index under the release's tags, and verify accepts
// the published directory.
func TestImageEndToEnd(t *testing.T) {
	reg := registrytest.Start(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir()) // no credentials from the machine
	signer, pub := newSigner(t)
	image := &ImageConfig{Spec: oci.Spec{Repository: reg.Host + "/hello", Source: "https://github.com/example/hello"}, Signer: signer}

	dist := t.TempDir()
	st := imageRelease(t, dist, signer, image)
	root := filepath.Join(dist, "release")

	// The staged release records the index and both platform images, as
	// files holding the manifests (SHA-256 = image digest).
	var images []manifest.Artifact
	for _, a := range st.Artifacts {
		if a.Kind == manifest.KindImage {
			images = append(images, a)
		}
	}
	names := []string{"hello-1.2.0-image", "hello-1.2.0-image-linux-amd64", "hello-1.2.0-image-linux-arm64"}
	if len(images) != 3 {
		t.Fatalf("staged image records %+v, want %v", images, names)
	}
	index := images[0]
	for i, a := range images {
		if a.Name != names[i] || a.Path != "1.2.0/"+names[i] {
			t.Errorf("image record %d: %+v, want name %s", i, a, names[i])
		}
		size, sum, err := hashFile(filepath.Join(root, a.Path))
		if err != nil || size != a.Size || sum != a.SHA256 {
			t.Errorf("%s: staged file %d bytes sha256 %s (%v), record %d %s", a.Name, size, sum, err, a.Size, a.SHA256)
		}
	}
	var idx struct {
		Manifests []struct {
			Digest   string
			Platform struct{ OS, Architecture string }
		}
		Annotations map[string]string
	}
	data, err := os.ReadFile(filepath.Join(root, index.Path))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &idx); err != nil {
		t.Fatal(err)
	}
	if len(idx.Manifests) != 2 || idx.Manifests[0].Digest != "sha256:"+images[1].SHA256 || idx.Manifests[1].Platform.Architecture != "arm64" ||
		idx.Annotations[oci.AnnotationVersion] != "1.2.0" {
		t.Errorf("staged index manifest:\n%s", data)
	}

	// manifest.json, SHA256SUMS, SBOM and provenance name the image digests.
	m, err := manifest.LoadFile(filepath.Join(root, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	rel, _ := m.Release("1.2.0")
	for _, want := range images {
		if got, ok := rel.Artifact(want.Name); !ok || *got != want {
			t.Errorf("manifest.json: %s = %+v, want %+v", want.Name, got, want)
		}
	}
	sums, err := os.ReadFile(filepath.Join(root, "1.2.0", manifest.ChecksumsFile))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sums, []byte(index.SHA256+"  "+index.Name+"\n")) {
		t.Errorf("SHA256SUMS lacks the index:\n%s", sums)
	}
	var doc spdxDocument
	readJSON(t, filepath.Join(root, "1.2.0", manifest.SBOMFile), &doc)
	found := false
	for _, p := range doc.Packages {
		if p.PackageFileName == index.Name && len(p.Checksums) == 1 && p.Checksums[0].ChecksumValue == index.SHA256 && p.PrimaryPackagePurpose == "CONTAINER" {
			found = true
		}
	}
	if !found || !slices.Contains(doc.Relationships, spdxRelationship{"SPDXRef-DOCUMENT", "DESCRIBES", spdxID("Image", index.Name)}) ||
		!slices.Contains(doc.Relationships, spdxRelationship{spdxID("Image", index.Name), "CONTAINS", spdxID("Image", images[2].Name)}) {
		t.Errorf("SBOM does not describe the image index %s: %+v", index.SHA256, doc.Relationships)
	}
	var stmt provenance.Statement
	readJSON(t, filepath.Join(root, "1.2.0", manifest.ProvenanceFile), &stmt)
	for _, a := range images {
		if !slices.ContainsFunc(stmt.Subject, func(s provenance.Subject) bool { return s.Name == a.Name && s.Digest["sha256"] == a.SHA256 }) {
			t.Errorf("provenance subjects lack %s sha256:%s: %+v", a.Name, a.SHA256, stmt.Subject)
		}
	}

	// Publish: the image goes to the registry, then the files.
	pubDir := t.TempDir()
	store, err := publish.NewDirStore(pubDir)
	if err != nil {
		t.Fatal(err)
	}
	pubr, err := publish.New(store)
	if err != nil {
		t.Fatal(err)
	}
	cfg := PublishConfig{Root: root, Publisher: pubr, Keys: [][]byte{pub}, Remote: verify.Dir(pubDir), Image: image, Logger: testLogger(t)}
	pst, err := Publish(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(pst.Pushed) != 1 {
		t.Fatalf("pushed %d images", len(pst.Pushed))
	}
	res := pst.Pushed[0]
	if res.Digest != "sha256:"+index.SHA256 || !res.Signed || res.Stats.BlobUploads == 0 {
		t.Errorf("first push: digest %s (recorded sha256:%s), signed %v, %d blob uploads", res.Digest, index.SHA256, res.Signed, res.Stats.BlobUploads)
	}
	wantTags := []string{"1.2.0", "1.2", "1", "latest", "sha-" + st.Commit[:7]}
	for _, tag := range wantTags {
		if got := registryDigest(t, reg, "hello", tag); got != "sha256:"+index.SHA256 {
			t.Errorf("registry tag %s -> %q, want the recorded index sha256:%s", tag, got, index.SHA256)
		}
	}
	for _, a := range images[1:] {
		if got := registryDigest(t, reg, "hello", "sha256:"+a.SHA256); got != "sha256:"+a.SHA256 {
			t.Errorf("registry lacks %s sha256:%s (got %q)", a.Name, a.SHA256, got)
		}
	}
	if got := registryDigest(t, reg, "hello", "sha256-"+index.SHA256+".sig"); got == "" {
		t.Error("registry has no cosign signature tag for the index")
	}
	summary, err := os.ReadFile(filepath.Join(dist, SummaryFile+".md"))
	if err != nil || !bytes.Contains(summary, []byte(res.Ref())) || !bytes.Contains(summary, []byte("tag `latest`: created")) {
		t.Errorf("summary lacks the image (%v):\n%s", err, summary)
	}

	// The published directory passes verify as a client checks it.
	ring, err := verify.NewKeyRing(pub)
	if err != nil {
		t.Fatal(err)
	}
	v, err := verify.NewVerifier(ring, verify.WithProject("hello"))
	if err != nil {
		t.Fatal(err)
	}
	rep, err := v.VerifyRelease(t.Context(), verify.Dir(pubDir), verify.ReleaseOptions{Version: "1.2.0", RequireManifest: true})
	if err != nil {
		t.Fatalf("verify.VerifyRelease of the published directory: %v\n%+v", err, rep)
	}
	for _, want := range []string{"checksum " + index.Name, "sbom agrees: " + index.Name, "provenance agrees: " + index.Name} {
		if !slices.ContainsFunc(rep.Checks, func(c verify.Check) bool { return c.Name == want && c.Status == verify.Pass }) {
			t.Errorf("verify report has no passing %q check", want)
		}
	}

	// A second publish changes nothing: no upload, tags unchanged, the
	// signature kept, manifest.json the same bytes.
	before, _ := os.ReadFile(filepath.Join(pubDir, manifest.File))
	pst, err = Publish(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	res = pst.Pushed[0]
	if res.Digest != "sha256:"+index.SHA256 || res.Signed || res.Stats.BlobUploads != 0 || res.Stats.ManifestPuts != 0 {
		t.Errorf("second push: digest %s, signed %v, stats %+v; want nothing written", res.Digest, res.Signed, res.Stats)
	}
	for _, tr := range res.Tags {
		if tr.Action != oci.TagUnchanged {
			t.Errorf("second push: tag %s %s", tr.Name, tr.Action)
		}
	}
	if after, _ := os.ReadFile(filepath.Join(pubDir, manifest.File)); !bytes.Equal(before, after) {
		t.Error("second publish rewrote manifest.json")
	}
}

// TestImagePushRefusesDrift: publishing with an image configuration that
// builds another index than the recorded one fails before anything is
// pushed or published.
func TestImagePushRefusesDrift(t *testing.T) {
	reg := registrytest.Start(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	signer, pub := newSigner(t)
	dist := t.TempDir()
	imageRelease(t, dist, signer, &ImageConfig{Signer: signer})

	pubDir := t.TempDir()
	store, err := publish.NewDirStore(pubDir)
	if err != nil {
		t.Fatal(err)
	}
	pubr, err := publish.New(store)
	if err != nil {
		t.Fatal(err)
	}
	other := &ImageConfig{Spec: oci.Spec{Repository: reg.Host + "/hello", Labels: map[string]string{"org.example.drift": "yes"}}, Signer: signer}
	_, err = Publish(t.Context(), PublishConfig{Root: filepath.Join(dist, "release"), Publisher: pubr, Keys: [][]byte{pub}, Image: other, Logger: testLogger(t)})
	var mismatch *oci.DigestMismatchError
	if !errors.As(err, &mismatch) {
		t.Fatalf("publish with another image config: err = %v, want *oci.DigestMismatchError", err)
	}
	if entries, _ := os.ReadDir(pubDir); len(entries) != 0 {
		t.Errorf("a refused image push still published %d entries", len(entries))
	}
	if got := registryDigest(t, reg, "hello", "1.2.0"); got != "" {
		t.Errorf("a refused image push still tagged 1.2.0 -> %s", got)
	}
}

// TestImagePushNeedsRecord: a release staged without an image cannot push one.
func TestImagePushNeedsRecord(t *testing.T) {
	st := emptyState(t)
	err := (&ImagePush{Image: &ImageConfig{Spec: oci.Spec{Repository: "127.0.0.1:1/hello"}}}).Run(t.Context(), st)
	if !errors.Is(err, ErrNoImage) {
		t.Fatalf("err = %v, want ErrNoImage", err)
	}
	err = (&ImagePush{Image: &ImageConfig{}}).Run(t.Context(), st)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "ImageConfig.Spec.Repository" {
		t.Fatalf("err = %v, want a ConfigError for the repository", err)
	}
}

// TestImageBuildChecks: an image of a pre-release on the stable channel and
// an image without a matching binary are refused before anything is built.
func TestImageBuildChecks(t *testing.T) {
	st := lightState(t)
	err := (&ImageBuild{Image: &ImageConfig{Binary: "nope"}}).Run(t.Context(), st)
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Field != "ImageConfig.Binary" {
		t.Errorf("missing binary: err = %v", err)
	}
	st.Version = manifest.MustParseVersion("1.3.0-rc.1")
	err = (&ImageBuild{Image: &ImageConfig{Spec: oci.Spec{Channel: manifest.ChannelStable}}}).Run(t.Context(), st)
	if !errors.Is(err, manifest.ErrPrereleaseOnStable) {
		t.Errorf("pre-release on stable: err = %v", err)
	}
	if arts := st.Artifacts; len(arts) != 0 {
		t.Errorf("refused image stage staged %+v", arts)
	}
	// The Spec fields the release fills in are refused, not overwritten
	// behind the user's back.
	err = (&ImageBuild{Image: &ImageConfig{Spec: oci.Spec{Version: "9.9.9", Project: "other"}}}).Run(t.Context(), st)
	if !errors.As(err, &ce) || ce.Field != "ImageConfig.Spec" || !strings.Contains(ce.Reason, "Project, Version") {
		t.Errorf("pipeline-owned Spec fields: err = %v", err)
	}
}

// TestImagePrerelease: a release candidate, which the manifest puts on the
// edge channel, pushes only its own tags; "latest" and "1" stay on the
// stable release.
func TestImagePrerelease(t *testing.T) {
	reg := registrytest.Start(t)
	t.Setenv("DOCKER_CONFIG", t.TempDir())
	signer, pub := newSigner(t)
	image := &ImageConfig{Spec: oci.Spec{Repository: reg.Host + "/hello"}, Signer: signer}
	publishTo := func(st *State) *State {
		t.Helper()
		store, err := publish.NewDirStore(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		pubr, err := publish.New(store)
		if err != nil {
			t.Fatal(err)
		}
		pst, err := Publish(t.Context(), PublishConfig{Root: st.Root, Publisher: pubr, Keys: [][]byte{pub}, Image: image, Logger: testLogger(t)})
		if err != nil {
			t.Fatal(err)
		}
		return pst
	}
	stable := publishTo(imageRelease(t, t.TempDir(), signer, image)).Pushed[0].Digest
	rc := imageReleaseOf(t, "v1.3.0-rc.1", t.TempDir(), signer, image)
	m, err := manifest.LoadFile(filepath.Join(rc.Root, manifest.File))
	if err != nil {
		t.Fatal(err)
	}
	if rel, _ := m.Release("1.3.0-rc.1"); rel.Channel != manifest.ChannelEdge {
		t.Fatalf("staged rc channel %q, want edge (the manifest's default for a pre-release)", rel.Channel)
	}
	res := publishTo(rc).Pushed[0]
	var tags []string
	for _, tr := range res.Tags {
		tags = append(tags, tr.Name)
	}
	if !slices.Equal(tags, []string{"1.3.0-rc.1", "sha-" + rc.Commit[:7]}) {
		t.Errorf("rc push tags %v", tags)
	}
	for tag, want := range map[string]string{"latest": stable, "1": stable, "1.3.0-rc.1": res.Digest, "edge": ""} {
		if got := registryDigest(t, reg, "hello", tag); got != want {
			t.Errorf("after the rc: %s -> %q, want %q", tag, got, want)
		}
	}
}

func TestImageChannel(t *testing.T) {
	rc, final := manifest.MustParseVersion("1.3.0-rc.1"), manifest.MustParseVersion("1.3.0")
	for _, c := range []struct {
		image, rel string
		v          manifest.Version
		want       string
	}{
		{"", "", final, ""},
		{"", manifest.ChannelStable, final, manifest.ChannelStable},
		{"", manifest.ChannelNightly, final, manifest.ChannelNightly},
		{"", manifest.ChannelEdge, rc, ""},
		{"", manifest.ChannelNightly, rc, manifest.ChannelNightly},
		{manifest.ChannelEdge, manifest.ChannelEdge, rc, manifest.ChannelEdge},
		{"beta", manifest.ChannelStable, final, "beta"},
	} {
		if got := (&ImageConfig{Spec: oci.Spec{Channel: c.image}}).channel(c.v, c.rel); got != c.want {
			t.Errorf("ImageConfig.Channel %q, release %s on %q: %q, want %q", c.image, c.v, c.rel, got, c.want)
		}
	}
}

// TestImageBuildLayout: the image stage also writes an OCI layout whose
// index is the recorded one.
func TestImageBuildLayout(t *testing.T) {
	st := lightState(t)
	layout := filepath.Join(t.TempDir(), "image")
	if err := (&ImageBuild{Image: &ImageConfig{}, Layout: layout}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	index, ok := st.Artifact("hello-1.2.0-image")
	if !ok {
		t.Fatalf("no index record in %+v", st.Artifacts)
	}
	var idx struct{ Manifests []struct{ Digest string } }
	readJSON(t, filepath.Join(layout, "index.json"), &idx)
	if len(idx.Manifests) != 1 || idx.Manifests[0].Digest != "sha256:"+index.SHA256 {
		t.Errorf("layout index.json %+v, want the recorded index sha256:%s", idx, index.SHA256)
	}
	size, sum, err := hashFile(filepath.Join(layout, "blobs", "sha256", index.SHA256))
	if err != nil || size != index.Size || sum != index.SHA256 {
		t.Errorf("layout blob of the index: %d bytes sha256 %s (%v), want %d %s", size, sum, err, index.Size, index.SHA256)
	}
}

// registryDigest returns the digest reg serves for repo:ref (a tag or a
// digest), or "" when it has none.
func registryDigest(t *testing.T, reg *registrytest.Registry, repo, ref string) string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodHead, reg.URL()+"/v2/"+repo+"/manifests/"+ref, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", strings.Join([]string{
		"application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
		"application/vnd.docker.distribution.manifest.list.v2+json", "application/vnd.docker.distribution.manifest.v2+json",
	}, ", "))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == http.StatusNotFound {
		return ""
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("HEAD %s: %s", req.URL, resp.Status)
	}
	return resp.Header.Get("Docker-Content-Digest")
}

func readJSON(t *testing.T, name string, v any) {
	t.Helper()
	data, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestImageStageOptional: without Config.Image there is no image stage;
// with it, the image stage runs after packaging and before the SBOM, in
// the order PrepareStageNames documents.
func TestImageStageOptional(t *testing.T) {
	cfg := Config{Project: "hello", Dist: t.TempDir(), Prebuilt: fakeBinaries(t)}
	p, _, err := cfg.Pipeline()
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(p.Names(), "image") {
		t.Errorf("stages without Config.Image: %v", p.Names())
	}
	cfg.Image = &ImageConfig{}
	if p, _, err = cfg.Pipeline(); err != nil {
		t.Fatal(err)
	}
	names := p.Names()
	i := slices.Index(names, "image")
	if i < 0 || names[i-1] != "package" || names[i+1] != "sbom" {
		t.Errorf("stages with Config.Image: %v", names)
	}
	// Every stage appears in PrepareStageNames, in that order.
	last := -1
	for _, n := range names {
		j := slices.Index(PrepareStageNames(), n)
		if n == "prebuilt" {
			j = slices.Index(PrepareStageNames(), "build")
		}
		if j <= last {
			t.Errorf("stage %s out of PrepareStageNames order %v (stages %v)", n, PrepareStageNames(), names)
		}
		last = j
	}
}

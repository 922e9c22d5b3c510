package release

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/provenance"
)

func TestProvenanceSubjectsMatchSHA256SUMS(t *testing.T) {
	st := stagedState(t)
	st.Binaries = onlyPlatform(st.Binaries, manifest.Platform{OS: "linux", Arch: "amd64"})
	st.Binaries = append(st.Binaries, fakeBinaries(t)[0])
	repo := "git+https://github.com/example/hello"
	p := &Pipeline{Logger: testLogger(t), Stages: []Stage{
		&Package{}, &SBOM{}, &Provenance{SourceURI: repo}, Checksums{},
	}}
	if err := p.Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(st.VersionDir(), manifest.ProvenanceFile))
	if err != nil {
		t.Fatal(err)
	}
	var stmt provenance.Statement
	if err := json.Unmarshal(data, &stmt); err != nil {
		t.Fatal(err)
	}
	if stmt.Type != provenance.InTotoStatementType || stmt.PredicateType != provenance.SLSAProvenanceType {
		t.Errorf("types %q %q", stmt.Type, stmt.PredicateType)
	}
	f, _ := os.Open(filepath.Join(st.VersionDir(), manifest.ChecksumsFile))
	sums, err := manifest.ParseChecksums(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Every subject is in SHA256SUMS with the same digest, and every
	// SHA256SUMS entry except the provenance file itself is a subject.
	subjects := map[string]string{}
	for _, s := range stmt.Subject {
		subjects[s.Name] = s.Digest["sha256"]
		e, ok := sums.Lookup(s.Name)
		if !ok || e.SHA256 != s.Digest["sha256"] {
			t.Errorf("subject %s (%s) not in SHA256SUMS as such (%+v)", s.Name, s.Digest["sha256"], e)
		}
	}
	for _, e := range sums.Entries() {
		if e.Name == manifest.ProvenanceFile {
			continue
		}
		if subjects[e.Name] != e.SHA256 {
			t.Errorf("SHA256SUMS entry %s is not a subject", e.Name)
		}
	}
	if len(stmt.Subject) != 2+1 { // archives + SBOM
		t.Errorf("%d subjects", len(stmt.Subject))
	}
	ext := stmt.Predicate.BuildDefinition.ExternalParameters
	if ext.Repository != repo || ext.Commit != testCommit || ext.Ref != "refs/tags/v1.2.0" || ext.Version != "1.2.0" ||
		len(ext.Targets) != 2 || ext.GoVersion == "" {
		t.Errorf("external parameters %+v", ext)
	}
	if stmt.Predicate.RunDetails.Builder.ID != provenance.DefaultBuilderID || stmt.Predicate.BuildDefinition.BuildType != provenance.DefaultBuildType {
		t.Errorf("builder/buildType %+v", stmt.Predicate)
	}
	if rd := stmt.Predicate.BuildDefinition.ResolvedDependencies; len(rd) != 1 || rd[0].Digest["gitCommit"] != testCommit {
		t.Errorf("resolved dependencies %+v", rd)
	}
}

func TestProvenanceNeedsRepository(t *testing.T) {
	st := lightState(t)
	var ce *ConfigError
	if err := (&Provenance{}).Run(t.Context(), st); !errors.As(err, &ce) {
		t.Fatalf("err = %v", err)
	}
}

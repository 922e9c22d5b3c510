package release

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/relkit/relkit/manifest"
)

func spdxSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	c := jsonschema.NewCompiler()
	sch, err := c.Compile("testdata/spdx-2.3.schema.json")
	if err != nil {
		t.Fatalf("compile SPDX schema: %v", err)
	}
	return sch
}

func validateJSON(t *testing.T, sch *jsonschema.Schema, data []byte) error {
	t.Helper()
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	return sch.Validate(inst)
}

func runSBOM(t *testing.T) (*State, []byte) {
	st := stagedState(t)
	if err := (&Package{Level: gzip.BestSpeed}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	if err := (&SBOM{Creators: []string{"Organization: Example"}}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(st.VersionDir(), manifest.SBOMFile))
	if err != nil {
		t.Fatal(err)
	}
	return st, data
}

func TestSBOMValidSPDX23(t *testing.T) {
	sch := spdxSchema(t)
	st, data := runSBOM(t)
	if err := validateJSON(t, sch, data); err != nil {
		t.Fatalf("SBOM does not validate against SPDX 2.3:\n%v", err)
	}
	a, ok := st.Artifact(manifest.SBOMFile)
	if !ok || a.Kind != manifest.KindSBOM {
		t.Fatalf("SBOM not recorded: %+v", st.Artifacts)
	}

	var doc spdxDocument
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.SPDXVersion != "SPDX-2.3" || doc.CreationInfo.Created != "2026-11-20T12:00:00Z" {
		t.Errorf("header %+v", doc)
	}
	ids := map[string]spdxPackage{}
	for _, p := range doc.Packages {
		if _, dup := ids[p.SPDXID]; dup {
			t.Errorf("duplicate SPDXID %s", p.SPDXID)
		}
		ids[p.SPDXID] = p
	}
	for _, r := range doc.Relationships {
		if _, ok := ids[r.RelatedSPDXElement]; !ok {
			t.Errorf("relationship to unknown element %s", r.RelatedSPDXElement)
		}
		if _, ok := ids[r.SPDXElementID]; !ok && r.SPDXElementID != "SPDXRef-DOCUMENT" {
			t.Errorf("relationship from unknown element %s", r.SPDXElementID)
		}
	}
	// Every binary is described, with its digest.
	for _, b := range st.Binaries {
		_, sum, _ := hashFile(b.Path)
		found := false
		for _, p := range doc.Packages {
			if p.Name == b.Name && len(p.Checksums) == 1 && p.Checksums[0].ChecksumValue == sum {
				found = true
			}
		}
		if !found {
			t.Errorf("no package for %s (%s) with sha256 %s", b.Name, b.Platform, sum)
		}
	}
	// Every archive is described, by file name and digest.
	for _, a := range st.Artifacts {
		if a.Kind != manifest.KindArchive {
			continue
		}
		found := false
		for _, p := range doc.Packages {
			if p.PackageFileName == a.Name && len(p.Checksums) == 1 && p.Checksums[0].ChecksumValue == a.SHA256 {
				found = true
			}
		}
		if !found {
			t.Errorf("no package for archive %s with sha256 %s", a.Name, a.SHA256)
		}
	}
	// The dependency, with version and go.sum hash.
	var dep *spdxPackage
	for _, p := range doc.Packages {
		if p.Name == "golang.org/x/mod" {
			dep = &p
		}
	}
	if dep == nil || !strings.HasPrefix(dep.VersionInfo, "v0.") {
		t.Fatalf("golang.org/x/mod missing or without version: %+v", dep)
	}
	var purl, gosum string
	for _, r := range dep.ExternalRefs {
		switch r.ReferenceType {
		case "purl":
			purl = r.ReferenceLocator
		case "gosum":
			gosum = r.ReferenceLocator
		}
	}
	if purl != "pkg:golang/golang.org/x/mod@"+dep.VersionInfo || !strings.HasPrefix(gosum, "h1:") {
		t.Errorf("x/mod refs: purl %q gosum %q", purl, gosum)
	}
}

// The schema is strict enough to catch a broken document: otherwise the
// test above proves nothing.
func TestSBOMSchemaRejectsBrokenDocuments(t *testing.T) {
	sch := spdxSchema(t)
	_, data := runSBOM(t)
	for name, mutate := range map[string]func(m map[string]any){
		"no namespace":        func(m map[string]any) { delete(m, "documentNamespace") },
		"bad created":         func(m map[string]any) { m["creationInfo"].(map[string]any)["created"] = "2026-11-20 12:00" },
		"bad SPDXID":          func(m map[string]any) { m["packages"].([]any)[0].(map[string]any)["SPDXID"] = "SPDXRef-a/b" },
		"unknown field":       func(m map[string]any) { m["packages"].([]any)[0].(map[string]any)["license"] = "MIT" },
		"bad relationship":    func(m map[string]any) { m["relationships"].([]any)[0].(map[string]any)["relationshipType"] = "USES" },
		"no downloadLocation": func(m map[string]any) { delete(m["packages"].([]any)[0].(map[string]any), "downloadLocation") },
	} {
		var m map[string]any
		json.Unmarshal(data, &m)
		mutate(m)
		b, _ := json.Marshal(m)
		if err := validateJSON(t, sch, b); err == nil {
			t.Errorf("%s: schema accepted a broken document", name)
		}
	}
}

func TestSBOMDeterministic(t *testing.T) {
	_, a := runSBOM(t)
	_, b := runSBOM(t)
	if !bytes.Equal(a, b) {
		t.Fatal("two SBOM runs differ")
	}
}

func TestSBOMNonGoBinary(t *testing.T) {
	st := emptyState(t)
	script := filepath.Join(t.TempDir(), "tool")
	os.WriteFile(script, []byte("#!/bin/sh\necho hi\n"), 0o755)
	st.Binaries = []Binary{{Name: "tool", Path: script, Platform: manifest.Platform{OS: "linux", Arch: "amd64"}}}
	if err := (&SBOM{}).Run(t.Context(), st); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(st.VersionDir(), manifest.SBOMFile))
	if err := validateJSON(t, spdxSchema(t), data); err != nil {
		t.Fatal(err)
	}
}

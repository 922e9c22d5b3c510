package release

import (
	"context"
	"debug/buildinfo"
	"io"
	"runtime"
	"slices"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
)

// ProvenanceFile is the name of the provenance statement in a release
// directory.
const ProvenanceFile = "provenance.intoto.json"

// In-toto and SLSA identifiers relkit writes.
const (
	InTotoStatementType = "https://in-toto.io/Statement/v1"
	SLSAProvenanceType  = "https://slsa.dev/provenance/v1"
	// DefaultBuildType is the buildType of relkit's provenance: the
	// external parameters are repository, ref, commit, version, goVersion
	// and targets.
	DefaultBuildType = "https://github.com/relkit/relkit/release/buildtypes/go-cross/v1"
	// DefaultBuilderID identifies relkit's release pipeline as the builder
	// when [Provenance.BuilderID] is empty.
	DefaultBuilderID = "https://github.com/relkit/relkit/release"
)

// Provenance is the provenance stage ("provenance"): it writes
// <version>/provenance.intoto.json, an in-toto Statement v1 whose predicate
// is SLSA provenance v1. The subjects are every artifact staged so far
// (archives, source archive, SBOM, notes, and the container image index
// and per-platform images of [ImageBuild], whose SHA-256 is the image
// digest) with its SHA-256 — run it after
// those stages and before [Checksums], so that SHA256SUMS lists the
// provenance file and every subject.
//
// With Signers it also writes <version>/provenance.intoto.jsonl
// ([ProvenanceDSSEFile]): the same statement in a DSSE envelope signed by
// each signer, the form and name OpenSSF Scorecard's signed-releases
// check recognises and slsa-verifier style tools read. Both files are
// listed in SHA256SUMS (so the release signature covers them) and
// verify.VerifyRelease checks each it finds, the envelope's signatures
// with the trusted keys.
//
// The statement is deterministic (no wall-clock times): the same commit
// gives the same bytes, and so does the envelope with a deterministic
// signer (an in-process ECDSA, Ed25519 or RSA PKCS#1 v1.5 key).
type Provenance struct {
	// Repository is the source repository URI
	// ("git+https://github.com/example/hello"); required.
	Repository string
	// BuilderID identifies the build platform (a CI workflow URI);
	// empty means [DefaultBuilderID].
	BuilderID string
	// BuildType overrides [DefaultBuildType].
	BuildType string
	// Signers, when set, sign the DSSE envelope ([ProvenanceDSSEFile]).
	Signers []sign.Signer
}

// Name returns "provenance".
func (p *Provenance) Name() string { return "provenance" }

// Statement is an in-toto Statement v1 (the fields relkit writes).
type Statement struct {
	Type          string        `json:"_type"`
	Subject       []Subject     `json:"subject"`
	PredicateType string        `json:"predicateType"`
	Predicate     SLSAPredicate `json:"predicate"`
}

// Subject is one artifact a statement is about.
type Subject struct {
	Name   string            `json:"name"`
	Digest map[string]string `json:"digest"`
}

// SLSAPredicate is the SLSA provenance v1 predicate.
type SLSAPredicate struct {
	BuildDefinition BuildDefinition `json:"buildDefinition"`
	RunDetails      RunDetails      `json:"runDetails"`
}

// BuildDefinition is SLSA's description of the build's inputs.
type BuildDefinition struct {
	BuildType            string               `json:"buildType"`
	ExternalParameters   ExternalParameters   `json:"externalParameters"`
	ResolvedDependencies []ResourceDescriptor `json:"resolvedDependencies,omitempty"`
}

// ExternalParameters are the inputs the release was asked for.
type ExternalParameters struct {
	Repository string   `json:"repository"`
	Ref        string   `json:"ref,omitempty"`
	Commit     string   `json:"commit,omitempty"`
	Version    string   `json:"version"`
	GoVersion  string   `json:"goVersion"`
	Targets    []string `json:"targets"`
}

// ResourceDescriptor is an in-toto resource descriptor.
type ResourceDescriptor struct {
	URI    string            `json:"uri"`
	Digest map[string]string `json:"digest,omitempty"`
}

// RunDetails names the builder.
type RunDetails struct {
	Builder Builder `json:"builder"`
}

// Builder identifies the build platform.
type Builder struct {
	ID string `json:"id"`
}

// Run writes the statement.
func (p *Provenance) Run(ctx context.Context, st *State) error {
	if p.Repository == "" {
		return &ConfigError{Field: "Provenance.Repository", Reason: "required"}
	}
	stmt := p.statement(st)
	if len(stmt.Subject) == 0 {
		return &ConfigError{Field: "State.Artifacts", Reason: "no artifacts to attest"}
	}
	a, err := st.stageFile(ProvenanceFile, manifest.KindProvenance, manifest.Platform{}, func(w io.Writer) error {
		return writeJSON(w, stmt)
	})
	if err != nil {
		return err
	}
	st.AddArtifact(a)
	if len(p.Signers) > 0 {
		if err := p.stageEnvelope(ctx, st, stmt); err != nil {
			return err
		}
	}
	st.logger().Info("provenance", "subjects", len(stmt.Subject), "signed envelope", len(p.Signers) > 0)
	return nil
}

func (p *Provenance) statement(st *State) *Statement {
	stmt := &Statement{Type: InTotoStatementType, PredicateType: SLSAProvenanceType}
	for _, a := range st.Artifacts {
		if checksummed(a.Kind) && a.Kind != manifest.KindProvenance {
			stmt.Subject = append(stmt.Subject, Subject{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256}})
		}
	}
	slices.SortFunc(stmt.Subject, func(a, b Subject) int {
		if a.Name < b.Name {
			return -1
		}
		if a.Name > b.Name {
			return 1
		}
		return 0
	})
	var targets []string
	goVersion := ""
	for _, b := range st.Binaries {
		if !slices.Contains(targets, b.Platform.String()) {
			targets = append(targets, b.Platform.String())
		}
		if goVersion == "" {
			if info, err := buildinfo.ReadFile(b.Path); err == nil {
				goVersion = info.GoVersion
			}
		}
	}
	slices.Sort(targets)
	if goVersion == "" {
		goVersion = runtime.Version()
	}
	ref := ""
	if st.Tag != "" {
		ref = "refs/tags/" + st.Tag
	}
	def := BuildDefinition{
		BuildType: p.BuildType,
		ExternalParameters: ExternalParameters{
			Repository: p.Repository, Ref: ref, Commit: st.Commit,
			Version: st.Version.String(), GoVersion: goVersion, Targets: targets,
		},
	}
	if def.BuildType == "" {
		def.BuildType = DefaultBuildType
	}
	if st.Commit != "" {
		uri := p.Repository
		if ref != "" {
			uri += "@" + ref
		}
		def.ResolvedDependencies = []ResourceDescriptor{{URI: uri, Digest: map[string]string{"gitCommit": st.Commit}}}
	}
	id := p.BuilderID
	if id == "" {
		id = DefaultBuilderID
	}
	stmt.Predicate = SLSAPredicate{BuildDefinition: def, RunDetails: RunDetails{Builder: Builder{ID: id}}}
	return stmt
}

package release

import (
	"context"
	"debug/buildinfo"
	"io"
	"runtime"
	"slices"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/release/provenance"
	"github.com/relkit/relkit/sign"
)

// Provenance is the provenance stage ("provenance"): it writes
// <version>/provenance.intoto.json ([manifest.ProvenanceFile]), an in-toto
// Statement v1 whose predicate is SLSA provenance v1 ([provenance.Statement]). The subjects are every artifact staged so far
// (archives, source archive, SBOM, notes, and the container image index
// and per-platform images of [ImageBuild], whose SHA-256 is the image
// digest) with its SHA-256 — run it after
// those stages and before [Checksums], so that SHA256SUMS lists the
// provenance file and every subject.
//
// With Signers it also writes <version>/provenance.intoto.jsonl
// ([manifest.ProvenanceDSSEFile]): the same statement in a DSSE envelope signed by
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
	// SourceURI is the source repository URI
	// ("git+https://github.com/example/hello"); required.
	SourceURI string
	// BuilderID identifies the build platform (a CI workflow URI);
	// empty means [provenance.DefaultBuilderID].
	BuilderID string
	// BuildType overrides [provenance.DefaultBuildType].
	BuildType string
	// Signers, when set, sign the DSSE envelope ([manifest.ProvenanceDSSEFile]).
	Signers []sign.Signer
}

// Name returns "provenance".
func (p *Provenance) Name() string { return "provenance" }

// Run writes the statement.
func (p *Provenance) Run(ctx context.Context, st *State) error {
	if p.SourceURI == "" {
		return &ConfigError{Field: "Provenance.SourceURI", Reason: "required"}
	}
	stmt := p.statement(st)
	if len(stmt.Subject) == 0 {
		return &ConfigError{Field: "State.Artifacts", Reason: "no artifacts to attest"}
	}
	data, err := stmt.Marshal()
	if err != nil {
		return err
	}
	a, err := st.stageFile(manifest.ProvenanceFile, manifest.KindProvenance, manifest.Platform{}, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	})
	if err != nil {
		return err
	}
	st.AddArtifact(a)
	if len(p.Signers) > 0 {
		// The envelope signs the bytes of provenance.intoto.json.
		env, err := provenance.Sign(ctx, provenance.InTotoPayloadType, data, p.Signers)
		if err != nil {
			return err
		}
		line, err := env.MarshalLine()
		if err != nil {
			return err
		}
		a, err := st.stageFile(manifest.ProvenanceDSSEFile, manifest.KindProvenance, manifest.Platform{}, func(w io.Writer) error {
			_, err := w.Write(line)
			return err
		})
		if err != nil {
			return err
		}
		st.AddArtifact(a)
	}
	st.logger().Info("provenance", "subjects", len(stmt.Subject), "signed envelope", len(p.Signers) > 0)
	return nil
}

func (p *Provenance) statement(st *State) *provenance.Statement {
	stmt := &provenance.Statement{Type: provenance.InTotoStatementType, PredicateType: provenance.SLSAProvenanceType}
	for _, a := range st.Artifacts {
		if checksummed(a.Kind) && a.Kind != manifest.KindProvenance {
			stmt.Subject = append(stmt.Subject, provenance.Subject{Name: a.Name, Digest: map[string]string{"sha256": a.SHA256}})
		}
	}
	slices.SortFunc(stmt.Subject, func(a, b provenance.Subject) int {
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
	def := provenance.BuildDefinition{
		BuildType: p.BuildType,
		ExternalParameters: provenance.ExternalParameters{
			Repository: p.SourceURI, Ref: ref, Commit: st.Commit,
			Version: st.Version.String(), GoVersion: goVersion, Targets: targets,
		},
	}
	if def.BuildType == "" {
		def.BuildType = provenance.DefaultBuildType
	}
	if st.Commit != "" {
		uri := p.SourceURI
		if ref != "" {
			uri += "@" + ref
		}
		def.ResolvedDependencies = []provenance.ResourceDescriptor{{URI: uri, Digest: map[string]string{"gitCommit": st.Commit}}}
	}
	id := p.BuilderID
	if id == "" {
		id = provenance.DefaultBuilderID
	}
	stmt.Predicate = provenance.SLSAPredicate{BuildDefinition: def, RunDetails: provenance.RunDetails{Builder: provenance.Builder{ID: id}}}
	return stmt
}

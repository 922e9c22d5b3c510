package verify

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Trust is a client's trust material as one value: the signing keys with
// their threshold, or root keys with their own threshold that certify the
// signing keys through keys.json (and, through the root chain, their own
// successors), the project the client belongs to, and the State that
// remembers what it accepted. Trust.Verifier turns it into the Verifier
// for a release location; package install takes the same value
// (install.Config.Trust).
//
// The zero values of the optional fields are the safe choices; the
// fields that weaken a protection are named Unsafe*.
type Trust struct {
	// Keys are signing keys pinned in the client. With Roots they are
	// trusted in addition to the keys keys.json certifies, unless
	// keys.json or the root chain revokes them. Set Keys, Roots or both.
	Keys *KeyRing
	// Threshold is how many distinct signing keys must sign a manifest
	// or checksums file. Default 1.
	Threshold int
	// Roots are root keys pinned in the client: they only sign keys.json
	// (the signing keys) and the next root set (root rotation, see
	// RootFile). The client then trusts the signing keys that keys.json
	// certifies.
	Roots *KeyRing
	// RootThreshold is how many distinct root keys must sign keys.json
	// (and a root rotation, together with the threshold of the new root
	// set). Default: every key in Roots. A rotated root set carries its
	// own threshold.
	RootThreshold int
	// RootVersion is the version of the pinned root set in the project's
	// root chain: the client looks for root/<RootVersion+1>.json next.
	// Default 1 (the initial root set). A client built after a root
	// rotation pins the rotated set and its version.
	RootVersion int64
	// Project is the project the client installs or checks: a manifest,
	// keys.json or root set signed for another project is refused (a
	// validly signed document of a sibling project that shares keys is
	// not ours). Required unless UnsafeAnyProject.
	Project string
	// State remembers the highest serials accepted (and the newest root
	// set, when it is a RootState), to refuse rollbacks. Use a FileState
	// for protection across runs. Required unless UnsafeMemoryState.
	State State
	// Clock is the clock for expiry checks. Default time.Now.
	Clock func() time.Time

	// UnsafeAnyProject accepts documents of any project (Project must be
	// empty).
	UnsafeAnyProject bool
	// UnsafeMemoryState keeps serials in memory when State is nil: the
	// rollback protection ends with the process.
	UnsafeMemoryState bool
	// UnsafeAllowUnboundKeys accepts a keys.json without a project field
	// (written before keys.json had one) when Project is set. Such a
	// bundle can be replayed at a sibling project sharing the roots;
	// re-sign it with a project instead (examples/keys rotate --project).
	UnsafeAllowUnboundKeys bool
}

// ErrWrongProject is returned (wrapped, via *ProjectError) for a keys.json
// or root set signed for another project than the client's, or a
// keys.json that names no project when the client has one.
var ErrWrongProject = errors.New("signed for another project")

// ProjectError reports a signed document bound to another project than
// the client's (or, for keys.json, to none).
type ProjectError struct {
	File string // "keys.json", "root/2.json"
	Want string // the client's project
	Got  string // the document's project, "" when it names none
}

// Error implements error.
func (e *ProjectError) Error() string {
	if e.Got == "" {
		return fmt.Sprintf("%s names no project, and this client is for project %q (re-sign it with a project, or allow unbound key bundles)", e.File, e.Want)
	}
	return fmt.Sprintf("%s is signed for project %q, this client is for project %q", e.File, e.Got, e.Want)
}

// Unwrap returns ErrWrongProject.
func (e *ProjectError) Unwrap() error { return ErrWrongProject }

// TrustError reports unusable trust material: a missing, empty or
// inconsistent field of a Trust. It wraps ErrNoTrustedKeys when there is
// no key at all.
type TrustError struct {
	// Problems lists what is wrong, one entry per field.
	Problems []string
	// Err is ErrNoTrustedKeys when keys are missing, else nil.
	Err error
}

// Error implements error.
func (e *TrustError) Error() string {
	return "verify: unusable trust: " + strings.Join(e.Problems, "; ")
}

// Unwrap returns ErrNoTrustedKeys when keys are missing.
func (e *TrustError) Unwrap() error { return e.Err }

// Validate checks t without fetching anything and returns a *TrustError
// listing every problem, or nil.
func (t *Trust) Validate() error {
	if t == nil {
		return &TrustError{Problems: []string{"no trust material"}, Err: ErrNoTrustedKeys}
	}
	var p []string
	var noKeys error
	bad := func(format string, a ...any) { p = append(p, fmt.Sprintf(format, a...)) }
	switch {
	case t.Keys.Len() == 0 && t.Roots.Len() == 0:
		bad("no keys: set Keys or Roots")
		noKeys = ErrNoTrustedKeys
	case t.Roots != nil && t.Roots.Len() == 0:
		bad("Roots is empty")
		noKeys = ErrNoTrustedKeys
	}
	if t.Threshold < 0 {
		bad("Threshold %d is negative", t.Threshold)
	} else if t.Roots == nil && t.Threshold > t.Keys.Len() {
		bad("Threshold %d is larger than the %d Keys", t.Threshold, t.Keys.Len())
	}
	switch {
	case t.RootThreshold < 0:
		bad("RootThreshold %d is negative", t.RootThreshold)
	case t.RootThreshold > 0 && t.Roots == nil:
		bad("RootThreshold %d without Roots", t.RootThreshold)
	case t.RootThreshold > t.Roots.Len():
		bad("RootThreshold %d is larger than the %d Roots", t.RootThreshold, t.Roots.Len())
	}
	if t.RootVersion < 0 || t.RootVersion > 0 && t.Roots == nil {
		bad("RootVersion %d: must be >= 0, and only with Roots", t.RootVersion)
	}
	switch {
	case t.Project == "" && !t.UnsafeAnyProject:
		bad("Project is required (or set UnsafeAnyProject)")
	case t.Project != "" && t.UnsafeAnyProject:
		bad("Project %q with UnsafeAnyProject", t.Project)
	}
	if t.State == nil && !t.UnsafeMemoryState {
		bad("State is required (a FileState; or set UnsafeMemoryState)")
	}
	if len(p) > 0 {
		return &TrustError{Problems: p, Err: noKeys}
	}
	return nil
}

// common returns the options shared by the root and release verifiers.
func (t *Trust) common() []Option {
	opts := []Option{WithProject(t.Project)}
	if t.State != nil {
		opts = append(opts, WithState(t.State))
	}
	if t.Clock != nil {
		opts = append(opts, WithClock(t.Clock))
	}
	return opts
}

// RootVerifier returns the Verifier that checks keys.json and the root
// chain: it trusts Roots with RootThreshold (default: all of them) and
// starts the root chain at RootVersion. Without Roots it fails with a
// *TrustError.
func (t *Trust) RootVerifier() (*Verifier, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if t.Roots == nil {
		return nil, &TrustError{Problems: []string{"no Roots"}, Err: ErrNoTrustedKeys}
	}
	th := t.RootThreshold
	if th == 0 {
		th = t.Roots.Len()
	}
	version := t.RootVersion
	if version == 0 {
		version = 1
	}
	opts := append(t.common(), WithThreshold(th), withRoots(version, t.UnsafeAllowUnboundKeys))
	return NewVerifier(t.Roots, opts...)
}

// Verifier returns the Verifier for the releases at loc. With Keys only,
// it trusts them and reads nothing. With Roots, it first follows the
// project's root chain at loc and reads keys.json (see
// Verifier.FetchKeyBundle), and trusts the signing keys keys.json
// certifies plus Keys, minus every key keys.json or the root chain
// revokes. Every refusal is a typed error: *TrustError for the trust
// material itself, and those of FetchKeyBundle.
func (t *Trust) Verifier(ctx context.Context, loc Location) (*Verifier, error) {
	if err := t.Validate(); err != nil {
		return nil, err
	}
	th := t.Threshold
	if th == 0 {
		th = 1
	}
	ring := t.Keys
	if t.Roots != nil {
		rv, err := t.RootVerifier()
		if err != nil {
			return nil, err
		}
		if ring, err = rv.FetchKeyBundle(ctx, loc); err != nil {
			return nil, err
		}
		if t.Keys != nil {
			ring.Merge(t.Keys)
		}
	}
	v, err := NewVerifier(ring, append(t.common(), WithThreshold(th))...)
	if err != nil {
		if errors.Is(err, ErrNoTrustedKeys) {
			return nil, &TrustError{Problems: []string{"keys.json certifies no usable signing key"}, Err: ErrNoTrustedKeys}
		}
		return nil, &TrustError{Problems: []string{err.Error()}}
	}
	return v, nil
}

// Command keys generates, inspects and rotates relkit signing keys.
//
//	keys generate [--type cosign|ed25519] [--out DIR] [--name NAME]
//	keys inspect FILE...
//	keys rotate --root ROOT.key [--root ROOT2.key]... --dir RELEASE_ROOT [--project NAME] [--add NEW.pub]... [--revoke KEYID --reason WHY] [--ttl 8760h]
//	keys root --sign ROOT.key [--sign KEY]... --dir RELEASE_ROOT [--project NAME] [--add NEW.pub]... [--revoke KEYID --reason WHY] [--threshold K] [--ttl 8760h]
//
// Cosign keys are encrypted with the password in COSIGN_PASSWORD, as
// `cosign generate-key-pair` does. "rotate" maintains keys.json, the bundle
// of signing keys that root keys certify, so a client that pins only the
// root keys follows a signing-key rotation without a new binary; it signs
// with every --root (a client requires its root threshold of them). The
// bundle names its project (--project, else the project of the release
// root's manifest.json, else the previous bundle's).
//
// "root" maintains the root chain, root/<n>.json, so root keys rotate
// without a new binary too. The first run writes root/1.json, the set
// clients pin (--add each root public key, --threshold of them, default
// all). Each later run writes the next version: the previous set with
// --add keys added, --revoke keys revoked for good, and --threshold. It
// must be signed (--sign) by the threshold of the previous set AND by the
// threshold of the new one, as clients check.
package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/relkit/relkit/manifest"
	"github.com/relkit/relkit/sign"
	"github.com/relkit/relkit/verify"
)

func main() {
	if err := run(context.Background(), os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("usage: keys generate | inspect | rotate | root (see the package doc)")
	}
	switch args[0] {
	case "generate":
		return generate(args[1:])
	case "inspect":
		return inspect(args[1:])
	case "rotate":
		return rotate(ctx, args[1:])
	case "root":
		return root(ctx, args[1:])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func generate(args []string) error {
	fs := flag.NewFlagSet("generate", flag.ContinueOnError)
	typ := fs.String("type", "cosign", "key type: cosign (ECDSA P-256, encrypted) or ed25519 (PEM)")
	out := fs.String("out", ".", "directory to write the key pair into")
	name := fs.String("name", "", "file name stem (default cosign or ed25519)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var kp *sign.KeyPair
	var err error
	switch *typ {
	case "cosign":
		kp, err = sign.GenerateCosignKeyPair(sign.EnvPassword)
	case "ed25519":
		kp, err = sign.GenerateEd25519Key()
	default:
		return fmt.Errorf("unknown key type %q", *typ)
	}
	if err != nil {
		return err
	}
	stem := filepath.Join(*out, *name)
	if *name == "" {
		stem = filepath.Join(*out, *typ)
	}
	if err := kp.WriteFiles(stem+".key", stem+".pub", false); err != nil {
		return err
	}
	return inspect([]string{stem + ".pub"})
}

func inspect(files []string) error {
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		var pub crypto.PublicKey
		kind := "public"
		if strings.Contains(string(data), "PRIVATE KEY") {
			s, err := sign.ParseSigner(data, sign.EnvPassword)
			if err != nil {
				return fmt.Errorf("%s: %w", f, err)
			}
			pub, kind = s.PublicKey(), "private"
		} else if pub, err = verify.ParsePublicKey(data); err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		id, err := verify.KeyID(pub)
		if err != nil {
			return err
		}
		fmt.Printf("%s: %s %s key, key id %s, algorithms %s\n", f, keyType(pub), kind, id, strings.Join(verify.Algorithms(pub), ", "))
	}
	return nil
}

func keyType(pub crypto.PublicKey) string {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA-%d", k.N.BitLen())
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return fmt.Sprintf("%T", pub)
}

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func rotate(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("rotate", flag.ContinueOnError)
	var roots list
	fs.Var(&roots, "root", "root private key that certifies the signing keys (repeatable)")
	dir := fs.String("dir", "", "release root holding keys.json")
	project := fs.String("project", "", "project the bundle is for (default: the release root's manifest.json, else the previous bundle's)")
	var add list
	fs.Var(&add, "add", "signing public key to certify (repeatable)")
	revoke := fs.String("revoke", "", "key id to revoke")
	reason := fs.String("reason", "", "why the key is revoked")
	ttl := fs.Duration("ttl", 365*24*time.Hour, "how long the new bundle is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(roots) == 0 || *dir == "" {
		return errors.New("rotate needs --root and --dir")
	}
	signers, err := loadSigners(roots)
	if err != nil {
		return err
	}
	if *project == "" {
		*project = manifestProject(*dir)
	}
	now := time.Now()
	b := sign.NewProjectKeyBundle(*project, 1, now, *ttl)
	if data, err := os.ReadFile(filepath.Join(*dir, "keys.json")); err == nil {
		prev, err := verify.ParseKeyBundle(data)
		if err != nil {
			return err
		}
		b = sign.NextKeyBundle(prev, now, *ttl)
		switch {
		case b.Project == "":
			b.Project = *project // binding an old, unbound bundle
		case *project != "" && *project != b.Project:
			return fmt.Errorf("keys.json is for project %q, not %q", b.Project, *project)
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
	}
	if b.Project == "" {
		return errors.New("rotate needs --project (no manifest.json or earlier keys.json names it): clients refuse a keys.json bound to no project")
	}
	for _, f := range add {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		pub, err := verify.ParsePublicKey(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		id, err := sign.AddBundleKey(b, pub, time.Time{})
		if err != nil {
			return err
		}
		fmt.Println("certified", id)
	}
	if *revoke != "" {
		if err := sign.RevokeBundleKey(b, *revoke, *reason); err != nil {
			return err
		}
		fmt.Println("revoked", *revoke)
	}
	if _, err := sign.SignKeyBundle(ctx, *dir, b, signers...); err != nil {
		return err
	}
	fmt.Printf("wrote %s: project %s, serial %d, %d key(s), %d revoked, expires %s\n",
		filepath.Join(*dir, "keys.json"), b.Project, b.Serial, len(b.Keys), len(b.Revoked), b.Expires.Format(time.RFC3339))
	return nil
}

func loadSigners(files []string) ([]sign.Signer, error) {
	var out []sign.Signer
	for _, f := range files {
		s, err := sign.LoadSigner(f, sign.EnvPassword)
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// manifestProject returns the project of dir/manifest.json, or "".
func manifestProject(dir string) string {
	m, err := manifest.LoadFile(filepath.Join(dir, manifest.File))
	if err != nil {
		return ""
	}
	return m.Project
}

// root writes the next version of the root chain (or version 1).
func root(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("root", flag.ContinueOnError)
	var signs, add list
	fs.Var(&signs, "sign", "private key signing the new root set: the threshold of the previous set and of the new one (repeatable)")
	fs.Var(&add, "add", "root public key to add (repeatable)")
	dir := fs.String("dir", "", "release root holding root/<n>.json")
	project := fs.String("project", "", "project (version 1 only; default: the release root's manifest.json)")
	revoke := fs.String("revoke", "", "root key id to revoke for good")
	reason := fs.String("reason", "", "why the key is revoked")
	threshold := fs.Int("threshold", 0, "how many root keys must sign (default: all for version 1, else unchanged)")
	ttl := fs.Duration("ttl", 365*24*time.Hour, "how long the new root set is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if len(signs) == 0 || *dir == "" {
		return errors.New("root needs --sign and --dir")
	}
	signers, err := loadSigners(signs)
	if err != nil {
		return err
	}
	prev, err := latestRoot(*dir)
	if err != nil {
		return err
	}
	now := time.Now()
	var r *verify.Root
	if prev == nil {
		if *project == "" {
			*project = manifestProject(*dir)
		}
		if *project == "" || len(add) == 0 {
			return errors.New("the first root set needs --project (or a manifest.json) and --add for each root public key")
		}
		r = sign.NewRoot(*project, 0, now, *ttl)
	} else {
		r = sign.NextRoot(prev, now, *ttl)
		if *project != "" && *project != r.Project {
			return fmt.Errorf("the root chain is for project %q, not %q", r.Project, *project)
		}
	}
	for _, f := range add {
		data, err := os.ReadFile(f)
		if err != nil {
			return err
		}
		pub, err := verify.ParsePublicKey(data)
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		id, err := sign.AddRootKey(r, pub)
		if err != nil {
			return err
		}
		fmt.Println("root key", id)
	}
	if *revoke != "" {
		if err := sign.RevokeRootKey(r, *revoke, *reason); err != nil {
			return err
		}
		fmt.Println("revoked root key", *revoke)
	}
	switch {
	case *threshold > 0:
		r.Threshold = *threshold
	case prev == nil:
		r.Threshold = len(r.Keys)
	}
	path, err := sign.SignRoot(ctx, *dir, r, signers...)
	if err != nil {
		return err
	}
	fmt.Printf("wrote %s: project %s, version %d, %d key(s), threshold %d, %d revoked, expires %s\n",
		path, r.Project, r.Version, len(r.Keys), r.Threshold, len(r.Revoked), r.Expires.Format(time.RFC3339))
	return nil
}

// latestRoot returns the highest version in dir/root/, or nil when there
// is none.
func latestRoot(dir string) (*verify.Root, error) {
	var latest *verify.Root
	for n := int64(1); n <= 1<<20; n++ {
		data, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(verify.RootFile(n))))
		if errors.Is(err, os.ErrNotExist) {
			return latest, nil
		}
		if err != nil {
			return nil, err
		}
		_, r, err := verify.ParseSignedRoot(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", verify.RootFile(n), err)
		}
		latest = r
	}
	return nil, errors.New("more than 1048576 root versions")
}

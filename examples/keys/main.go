// Command keys generates, inspects and rotates relkit signing keys.
//
//	keys generate [--type cosign|ed25519] [--out DIR] [--name NAME]
//	keys inspect FILE...
//	keys rotate --root ROOT.key --dir RELEASE_ROOT [--add NEW.pub]... [--revoke KEYID --reason WHY] [--ttl 8760h]
//
// Cosign keys are encrypted with the password in COSIGN_PASSWORD, as
// `cosign generate-key-pair` does. "rotate" maintains keys.json, the bundle
// of signing keys that root keys certify, so a client that pins only the
// root keys follows a signing-key rotation without a new binary.
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
		return errors.New("usage: keys generate | inspect | rotate (see the package doc)")
	}
	switch args[0] {
	case "generate":
		return generate(args[1:])
	case "inspect":
		return inspect(args[1:])
	case "rotate":
		return rotate(ctx, args[1:])
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
	root := fs.String("root", "", "root private key that certifies the signing keys")
	dir := fs.String("dir", "", "release root holding keys.json")
	var add list
	fs.Var(&add, "add", "signing public key to certify (repeatable)")
	revoke := fs.String("revoke", "", "key id to revoke")
	reason := fs.String("reason", "", "why the key is revoked")
	ttl := fs.Duration("ttl", 365*24*time.Hour, "how long the new bundle is valid")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *root == "" || *dir == "" {
		return errors.New("rotate needs --root and --dir")
	}
	signer, err := sign.LoadSigner(*root, sign.EnvPassword)
	if err != nil {
		return err
	}
	now := time.Now()
	b := sign.NewKeyBundle(1, now, *ttl)
	if data, err := os.ReadFile(filepath.Join(*dir, "keys.json")); err == nil {
		prev, err := verify.ParseKeyBundle(data)
		if err != nil {
			return err
		}
		b = sign.NextKeyBundle(prev, now, *ttl)
	} else if !errors.Is(err, os.ErrNotExist) {
		return err
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
	if _, err := sign.SignKeyBundle(ctx, *dir, b, signer); err != nil {
		return err
	}
	fmt.Printf("wrote %s: serial %d, %d key(s), %d revoked, expires %s\n",
		filepath.Join(*dir, "keys.json"), b.Serial, len(b.Keys), len(b.Revoked), b.Expires.Format(time.RFC3339))
	return nil
}

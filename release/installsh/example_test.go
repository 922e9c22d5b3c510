package installsh_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"fmt"
	"strings"

	"github.com/relkit/relkit/release/installsh"
)

// ExampleScript_Render renders install.sh for a release root served over
// https, with the public key of the release signing key embedded (in a
// release, sign.LoadSigner("cosign.key", ...).PublicKey()).
func ExampleScript_Render() {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	script, err := installsh.Script{
		Project: "hello",
		BaseURL: "https://releases.example.com/hello",
		Key:     key.Public(),
	}.Render()
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(strings.SplitN(string(script), "\n", 2)[0])
	fmt.Println(strings.Contains(string(script), `base_url="${HELLO_BASE_URL:-https://releases.example.com/hello}"`))

	// Plain http is refused, naming the field.
	_, err = installsh.Script{Project: "hello", BaseURL: "http://releases.example.com/hello", Key: key.Public()}.Render()
	var ce *installsh.ConfigError
	fmt.Println(errors.As(err, &ce), ce.Field)
	// Output:
	// #!/bin/sh
	// true
	// true BaseURL
}

// ExampleCheckKey is the drift check a release runs before publishing:
// a script that embeds another key than the signing key is refused.
func ExampleCheckKey() {
	signing, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	old, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	script, _ := installsh.Script{Project: "hello", BaseURL: "https://releases.example.com/hello", Key: old.Public()}.Render()

	err := installsh.CheckKey("scripts/install.sh", script, signing.Public())
	fmt.Println(errors.Is(err, installsh.ErrKeyDrift))
	fmt.Println(installsh.CheckKey("scripts/install.sh", script, old.Public()))
	// Output:
	// true
	// <nil>
}

package s3_test

import (
	"context"
	"fmt"
	"log"

	"github.com/relkit/relkit/publish"
	"github.com/relkit/relkit/publish/s3"
)

// Publish a staged release directory to an AWS S3 bucket, with
// credentials and region from the standard AWS chain (environment,
// profile, SSO, web identity, instance role). The example is compiled but
// not run (it has no Output): it needs AWS credentials and a bucket. The
// package's tests run the same calls against a local versitygw server.
func ExampleNew() {
	ctx := context.Background()
	store, err := s3.New(ctx, "my-releases", s3.WithPrefix("hello"))
	if err != nil {
		log.Fatal(err)
	}
	p, err := publish.New(store)
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Publish(ctx, "dist/release") // the staged directory
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range res.Assets {
		fmt.Println(a.Action, a.URL) // https://my-releases.s3.<region>.amazonaws.com/hello/...
	}
}

// Publish to Cloudflare R2: its S3 endpoint, the region "auto", and an R2
// API token's key pair.
func ExampleNew_r2() {
	store, err := s3.New(context.Background(), "releases",
		s3.WithEndpoint("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"),
		s3.WithRegion("auto"),
		s3.WithStaticCredentials("R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", ""),
		s3.WithPublicURL("https://pub-0123456789abcdef.r2.dev"),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.URL("manifest.json"))
	// Output: https://pub-0123456789abcdef.r2.dev/manifest.json
}

// Publish to a self-hosted MinIO-like server: path-style addressing, and
// larger parts for big artifacts.
func ExampleNew_selfHosted() {
	store, err := s3.New(context.Background(), "releases",
		s3.WithEndpoint("https://s3.example.internal:9000"),
		s3.WithPathStyle(),
		s3.WithRegion("us-east-1"),
		s3.WithStaticCredentials("ACCESS_KEY", "SECRET_KEY", ""),
		s3.WithPrefix("hello"),
		s3.WithMultipart(256<<20, 64<<20),
	)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(store.Key("1.2.0/SHA256SUMS"))
	fmt.Println(store.URL("1.2.0/SHA256SUMS"))
	// Output:
	// hello/1.2.0/SHA256SUMS
	// https://s3.example.internal:9000/releases/hello/1.2.0/SHA256SUMS
}

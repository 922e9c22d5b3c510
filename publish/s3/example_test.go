package s3_test

import (
	"context"
	"fmt"
	"log"

	"github.com/relkit/relkit/publish"
	s3store "github.com/relkit/relkit/publish/s3"
)

// Publish a staged release directory to an AWS S3 bucket, with
// credentials and region from the standard AWS chain (environment,
// profile, SSO, web identity, instance role).
func ExampleNew() {
	ctx := context.Background()
	store, err := s3store.New(ctx, "my-releases",
		s3store.WithPrefix("hello"),
		s3store.WithPublicURL("https://dl.example.com/hello"), // a CDN in front of the bucket
	)
	if err != nil {
		log.Fatal(err)
	}
	p, err := publish.New(store, publish.WithProgress(func(pr publish.Progress) {
		if pr.Event == publish.EventDone {
			fmt.Printf("%d/%d %s\n", pr.Files, pr.TotalFiles, pr.Name)
		}
	}))
	if err != nil {
		log.Fatal(err)
	}
	res, err := p.Publish(ctx, "dist/release")
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range res.Assets {
		fmt.Println(a.Action, a.URL)
	}
}

// Publish to Cloudflare R2: its S3 endpoint, the region "auto", and an R2
// API token's key pair.
func ExampleNew_r2() {
	store, err := s3store.New(context.Background(), "releases",
		s3store.WithEndpoint("https://0123456789abcdef0123456789abcdef.r2.cloudflarestorage.com"),
		s3store.WithRegion("auto"),
		s3store.WithStaticCredentials("R2_ACCESS_KEY_ID", "R2_SECRET_ACCESS_KEY", ""),
		s3store.WithPublicURL("https://pub-0123456789abcdef.r2.dev"),
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
	store, err := s3store.New(context.Background(), "releases",
		s3store.WithEndpoint("https://s3.example.internal:9000"),
		s3store.WithPathStyle(),
		s3store.WithRegion("us-east-1"),
		s3store.WithStaticCredentials("ACCESS_KEY", "SECRET_KEY", ""),
		s3store.WithPrefix("hello"),
		s3store.WithMultipart(256<<20, 64<<20),
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

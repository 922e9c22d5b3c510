// Package s3 publishes releases to Amazon S3 and to S3-compatible stores
// (Cloudflare R2, MinIO-like servers, versitygw, Ceph RGW, ...).
//
// A [Store] is a [publish.Store]: hand it to [publish.New] and the
// Publisher does the rest (plan, upload order, concurrency, retries,
// progress). The store maps each release file name to an object key under
// an optional prefix and moves bytes; it never decides what to upload.
//
//	store, err := s3.New(ctx, "my-releases", s3.WithPrefix("hello"))
//	if err != nil {
//		log.Fatal(err)
//	}
//	p, err := publish.New(store)
//	if err != nil {
//		log.Fatal(err)
//	}
//	res, err := p.Publish(ctx, "dist/release") // the staged directory
//
// publishes dist/release/1.2.0/hello-1.2.0-linux-amd64.tar.gz as
// s3://my-releases/hello/1.2.0/hello-1.2.0-linux-amd64.tar.gz, and so on,
// with hello/manifest.json written last.
//
// # Where it publishes
//
// Without options, [New] reads the standard AWS configuration, exactly as
// the AWS CLI does: credentials from AWS_ACCESS_KEY_ID and
// AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), AWS_PROFILE and the
// shared config and credentials files, SSO, web identity (AWS_ROLE_ARN and
// AWS_WEB_IDENTITY_TOKEN_FILE, which is how GitHub Actions' OIDC role
// assumption arrives), and container and instance roles; the region from
// AWS_REGION or the profile. [WithStaticCredentials] and [WithRegion]
// override those, and [WithConfig] takes a prepared aws.Config.
//
// S3-compatible stores need an endpoint:
//
//   - Cloudflare R2: WithEndpoint("https://<ACCOUNT_ID>.r2.cloudflarestorage.com"),
//     WithRegion("auto"), and an R2 API token's access key and secret.
//     R2 has no ACLs: serve downloads from a public bucket's r2.dev URL or
//     a custom domain, and pass that to [WithPublicURL] so the URLs in
//     [publish.Result] point there.
//   - MinIO-like servers, versitygw, Ceph RGW, Garage, SeaweedFS:
//     WithEndpoint("https://s3.example.internal:9000"), [WithPathStyle]
//     (they seldom have wildcard DNS for bucket host names), and
//     WithRegion("us-east-1") unless the server is configured otherwise.
//   - Other providers (Backblaze B2, Wasabi, DigitalOcean Spaces, ...):
//     their S3 endpoint and region, as their documentation gives them.
//
// The store relies on conditional writes (If-None-Match: * and If-Match on
// PutObject and CompleteMultipartUpload), which AWS S3 and R2 document and
// versitygw is tested with here; check your store's documentation. A
// store that rejects them (501 NotImplemented, 400) needs
// [WithoutConditionalWritesUnsafe], which checks with a HEAD request
// instead and so cannot stop a concurrent publisher from overwriting an
// object.
//
// # How objects are written
//
// Every object is uploaded with its SHA-256 in the x-amz-checksum-sha256
// header, which S3 checks before storing anything (a mismatch fails with
// 400 BadDigest, reported as an error wrapping [publish.ErrChecksum]), and
// in the user metadata x-amz-meta-sha256 ([MetadataSHA256]). The bytes are
// also verified on the way out by the *publish.Body the Publisher passes:
// a staged file that changed after planning is never published.
//
// Published objects are create-only: a put sends If-None-Match: *, so a
// key that is already taken is refused (412) atomically, even when two
// publishers race, and the Publisher then compares SHA-256s to decide
// between "already published, skip" and a [publish.ConflictError]. The
// mutable root files (manifest.json, its signature, signatures.json,
// keys.json; see [publish.IsMutable]) are replaced deliberately, with
// If-Match on the ETag seen when the Publisher planned, so a manifest that
// another publisher replaced in the meantime is reported (an error
// wrapping [publish.ErrExist]) instead of silently overwritten. Replacing
// manifest.json is the commit point: until then no client sees the new
// release.
//
// Files from [DefaultMultipartThreshold] (64 MiB) up are uploaded in parts
// of [DefaultPartSize] (see [WithMultipart], [WithPartConcurrency]). Parts
// are read straight from the staged file, so memory use stays small
// whatever the file size; each carries its own SHA-256 checksum, the whole
// file is hashed on the way, and the upload is completed, with the same
// If-None-Match or If-Match condition, only if it matches; otherwise it is
// aborted. S3 reports a multipart object's checksum as a checksum of the
// parts' checksums ("…-N"), so [Store.Stat] reads the SHA-256 from the
// metadata for those. An upload that cannot even be aborted (the network
// is gone) stays invisible but occupies storage: add a lifecycle rule
// that aborts incomplete multipart uploads after a day or so.
//
// Objects get a Content-Type from their name (application/gzip, ...) and a
// Cache-Control header: [DefaultMutableCacheControl] ("max-age=60") for
// the mutable root files, [DefaultImmutableCacheControl] for everything
// else, which never changes once published ([WithCacheControl] changes
// both). [WithPublicRead] adds the "public-read" canned ACL for buckets
// that still use ACLs; buckets with ACLs disabled (the AWS default) need a
// bucket policy for public downloads instead.
//
// # Permissions
//
// The credentials need, on the bucket (or on the prefix, as below):
//
//	{
//	  "Version": "2012-10-17",
//	  "Statement": [
//	    {"Effect": "Allow",
//	     "Action": ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"],
//	     "Resource": "arn:aws:s3:::my-releases/hello/*"},
//	    {"Effect": "Allow", "Action": "s3:ListBucket",
//	     "Resource": "arn:aws:s3:::my-releases",
//	     "Condition": {"StringLike": {"s3:prefix": "hello/*"}}}
//	  ]
//	}
//
// s3:GetObject covers HEAD (Stat) and GET (Open); s3:PutObject covers
// single and multipart uploads. s3:ListBucket is what makes S3 answer 404
// rather than 403 for a key that does not exist yet: without it every
// Stat of a new file fails with AccessDenied. [WithPublicRead] also needs
// s3:PutObjectAcl. A publish deletes nothing, so s3:DeleteObject is not
// needed (and should not be granted to a release pipeline); only the
// retention job that removes pruned releases' files (release.Prune with
// AmendConfig.DeleteFiles, through [Store.Delete]) needs it.
//
// # Errors and retries
//
// Every method returns an [*Error] naming the operation, bucket and key,
// with the HTTP status and S3 error code. It wraps [publish.ErrNotExist]
// for a missing object, [publish.ErrExist] for a refused conditional
// write, and [publish.ErrChecksum] for bytes that do not match their
// SHA-256, and it wraps the SDK's error, so [publish.IsRetryable] sees
// the status: 5xx (including 503 SlowDown) and 429 and network errors are
// retried by the Publisher, other 4xx never. The SDK's own retries are
// turned off so that the Publisher's policy is the only one.
//
// # Tests
//
// The package is tested against a real S3 server process (versitygw,
// started by relkit's internal/s3test harness on 127.0.0.1), including the
// publishtest conformance suite that every provider passes.
package s3

package s3

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/config"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/relkit/relkit/publish"
)

// Store is a [publish.Store] that publishes into an S3 bucket, under an
// optional prefix. It also implements [publish.Locator]. Make one with
// [New]; it is safe for concurrent use.
type Store struct {
	client *awss3.Client
	bucket string
	opts   options
	base   string // URL of the prefix, for URL
}

var bucketRE = regexp.MustCompile(`^[a-z0-9][a-z0-9.\-_]{1,254}$`)

// New returns a Store publishing into bucket. Without options it reads the
// standard AWS configuration (environment, shared files, SSO, roles; see
// the package documentation) and talks to AWS S3; the options point it at
// an S3-compatible service, set a prefix, credentials, multipart sizes,
// ACL and caching. ctx bounds loading the configuration.
func New(ctx context.Context, bucket string, opts ...Option) (*Store, error) {
	if !bucketRE.MatchString(bucket) {
		return nil, fmt.Errorf("s3: invalid bucket name %q", bucket)
	}
	o := defaultOptions()
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("s3: %w", err)
		}
	}
	var cfg aws.Config
	if o.cfg != nil {
		cfg = *o.cfg
	} else {
		var lopts []func(*config.LoadOptions) error
		if o.region != "" {
			lopts = append(lopts, config.WithRegion(o.region))
		}
		if o.creds != nil {
			lopts = append(lopts, config.WithCredentialsProvider(o.creds))
		}
		c, err := config.LoadDefaultConfig(ctx, lopts...)
		if err != nil {
			return nil, fmt.Errorf("s3: load AWS configuration: %w", err)
		}
		cfg = c
	}
	if o.region != "" {
		cfg.Region = o.region
	}
	if o.creds != nil {
		cfg.Credentials = o.creds
	}
	if cfg.Region == "" {
		return nil, errors.New("s3: no region: set AWS_REGION, the shared config file's region, or WithRegion")
	}
	client := awss3.NewFromConfig(cfg, func(so *awss3.Options) {
		if o.endpoint != "" {
			so.BaseEndpoint = aws.String(o.endpoint)
		}
		so.UsePathStyle = o.pathStyle
		// The Publisher retries (with back-off, only what is
		// transient); the SDK must not retry underneath it.
		so.Retryer = aws.NopRetryer{}
		// Checksums are sent explicitly (SHA-256, see Put); no CRC32
		// on top of them.
		so.RequestChecksumCalculation = aws.RequestChecksumCalculationWhenRequired
	})
	if o.endpoint == "" && cfg.BaseEndpoint != nil {
		// AWS_ENDPOINT_URL or the profile's endpoint_url: the client
		// uses it; so do the URLs.
		o.endpoint = strings.TrimRight(*cfg.BaseEndpoint, "/")
	}
	s := &Store{client: client, bucket: bucket, opts: o}
	s.base = s.baseURL(cfg.Region)
	return s, nil
}

// Bucket returns the bucket name.
func (s *Store) Bucket() string { return s.bucket }

// Prefix returns the key prefix, without slashes at either end ("" for
// the bucket's root).
func (s *Store) Prefix() string { return s.opts.prefix }

// String returns "s3://BUCKET/PREFIX" ("s3://BUCKET" without a prefix),
// so that a Store used as a verify.Location prints readably (and never
// its credentials) in messages.
func (s *Store) String() string {
	if s.opts.prefix == "" {
		return "s3://" + s.bucket
	}
	return "s3://" + s.bucket + "/" + s.opts.prefix
}

// Client returns the S3 client the store uses.
func (s *Store) Client() *awss3.Client { return s.client }

// Key returns the object key of a release file name: the prefix and the
// name joined with "/".
func (s *Store) Key(name string) string {
	if s.opts.prefix == "" {
		return name
	}
	return s.opts.prefix + "/" + name
}

func (s *Store) key(name string) (string, error) {
	if err := publish.CheckName(name); err != nil {
		return "", fmt.Errorf("s3: %w", err)
	}
	return s.Key(name), nil
}

func (s *Store) baseURL(region string) string {
	if s.opts.publicURL != "" {
		return s.opts.publicURL
	}
	var base string
	switch {
	case s.opts.endpoint != "" && s.opts.pathStyle:
		base = s.opts.endpoint + "/" + s.bucket
	case s.opts.endpoint != "":
		u, _ := url.Parse(s.opts.endpoint) // checked by WithEndpoint
		u.Host = s.bucket + "." + u.Host
		base = strings.TrimRight(u.String(), "/")
	case s.opts.pathStyle:
		base = "https://s3." + region + ".amazonaws.com/" + s.bucket
	default:
		base = "https://" + s.bucket + ".s3." + region + ".amazonaws.com"
	}
	if s.opts.prefix != "" {
		base += "/" + escapePath(s.opts.prefix)
	}
	return base
}

func escapePath(p string) string {
	parts := strings.Split(p, "/")
	for i, e := range parts {
		parts[i] = url.PathEscape(e)
	}
	return strings.Join(parts, "/")
}

// URL implements [publish.Locator]: the object's URL on the endpoint (or
// under [WithPublicURL]); URL("") is the URL of the prefix.
func (s *Store) URL(name string) string {
	if name == "" {
		return s.base + "/"
	}
	return s.base + "/" + escapePath(name)
}

// stat does the work of [Store.Stat].
func (s *Store) stat(ctx context.Context, name string) (publish.Object, error) {
	key, err := s.key(name)
	if err != nil {
		return publish.Object{}, err
	}
	ctx, cancel := s.opctx(ctx, 0)
	defer cancel()
	out, err := s.client.HeadObject(ctx, &awss3.HeadObjectInput{
		Bucket:       aws.String(s.bucket),
		Key:          aws.String(key),
		ChecksumMode: types.ChecksumModeEnabled,
	})
	if err != nil {
		return publish.Object{}, s.wrapErr("HeadObject", key, err)
	}
	return publish.Object{
		Name:    name,
		Size:    aws.ToInt64(out.ContentLength),
		SHA256:  headSHA256(out),
		Version: aws.ToString(out.ETag),
	}, nil
}

// headSHA256 returns the hex SHA-256 of an object's content from a HEAD
// answer, or "".
func headSHA256(out *awss3.HeadObjectOutput) string {
	if c := aws.ToString(out.ChecksumSHA256); c != "" && !strings.Contains(c, "-") &&
		out.ChecksumType != types.ChecksumTypeComposite {
		if raw, err := base64.StdEncoding.DecodeString(c); err == nil && len(raw) == 32 {
			return hex.EncodeToString(raw)
		}
	}
	for k, v := range out.Metadata {
		if strings.EqualFold(k, MetadataSHA256) && isHexSHA256(v) {
			return strings.ToLower(v)
		}
	}
	return ""
}

func isHexSHA256(v string) bool {
	if len(v) != 64 {
		return false
	}
	_, err := hex.DecodeString(v)
	return err == nil
}

// open does the work of [Store.Open].
func (s *Store) open(ctx context.Context, name string) (io.ReadCloser, error) {
	key, err := s.key(name)
	if err != nil {
		return nil, err
	}
	// The deadline covers the whole read: a response that stalls is
	// cut off instead of hanging the publish.
	hctx, hcancel := s.opctx(ctx, 0)
	head, err := s.client.HeadObject(hctx, &awss3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	hcancel()
	if err != nil {
		return nil, s.wrapErr("HeadObject", key, err)
	}
	gctx, gcancel := s.opctx(ctx, aws.ToInt64(head.ContentLength))
	out, err := s.client.GetObject(gctx, &awss3.GetObjectInput{
		Bucket: aws.String(s.bucket),
		Key:    aws.String(key),
	})
	if err != nil {
		gcancel()
		return nil, s.wrapErr("GetObject", key, err)
	}
	return &cancelBody{ReadCloser: out.Body, cancel: gcancel}, nil
}

// cancelBody releases a request's deadline when its body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (c *cancelBody) Close() error {
	err := c.ReadCloser.Close()
	c.cancel()
	return err
}

// opctx bounds one request: the store's timeout, plus the time the body
// of size bytes takes at the minimum throughput (see [WithTimeout]).
func (s *Store) opctx(ctx context.Context, size int64) (context.Context, context.CancelFunc) {
	d := s.opts.timeout
	if size > 0 && s.opts.minRate > 0 {
		d += time.Duration(float64(size) / float64(s.opts.minRate) * float64(time.Second))
	}
	return context.WithTimeout(ctx, d)
}

// body is what Put needs from its reader: a *publish.Body.
type body interface {
	io.ReadSeeker
	io.ReaderAt
}

// put does the work of [Store.Put].
func (s *Store) put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	b := r
	if !isHexSHA256(info.SHA256) {
		return fmt.Errorf("s3: put %s: %q is not a hex SHA-256", name, info.SHA256)
	}
	if info.Size < 0 || info.Size > MaxObjectSize {
		return fmt.Errorf("s3: put %s: size %d outside [0, %d]", name, info.Size, int64(MaxObjectSize))
	}
	cond, err := s.condition(ctx, key, info)
	if err != nil {
		return err
	}
	if info.Size >= s.opts.threshold {
		_, err = s.putMultipart(ctx, name, key, b, info, cond)
	} else {
		_, err = s.putSingle(ctx, name, key, b, info, cond)
	}
	var se *Error
	if err != nil && cond.ifMatch != nil && errors.As(err, &se) && se.kind == publish.ErrExist {
		// 412 to If-Match (or 409 ConditionalRequestConflict): the
		// object is no longer the revision that was read.
		se.kind = publish.ErrChanged
	}
	return err
}

// condition is the precondition of a put.
type condition struct {
	ifNoneMatch, ifMatch *string
}

func (s *Store) condition(ctx context.Context, key string, info publish.PutInfo) (condition, error) {
	if s.opts.noCond {
		if info.Replace && info.IfMatch == "" {
			return condition{}, nil
		}
		// Racy fallback: check first.
		hctx, cancel := s.opctx(ctx, 0)
		defer cancel()
		head, err := s.client.HeadObject(hctx, &awss3.HeadObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
		if err != nil {
			if err = s.wrapErr("HeadObject", key, err); !errors.Is(err, publish.ErrNotExist) {
				return condition{}, err
			}
			if info.Replace {
				return condition{}, &Error{Op: "HeadObject", Bucket: s.bucket, Key: key, StatusCode: 412,
					Code: "PreconditionFailed", Err: errors.New("object removed (checked without conditional writes)"), kind: publish.ErrChanged}
			}
			return condition{}, nil
		}
		if !info.Replace {
			return condition{}, &Error{Op: "HeadObject", Bucket: s.bucket, Key: key, StatusCode: 412,
				Code: "PreconditionFailed", Err: errors.New("object exists (checked without conditional writes)"), kind: publish.ErrExist}
		}
		if aws.ToString(head.ETag) != info.IfMatch {
			return condition{}, &Error{Op: "HeadObject", Bucket: s.bucket, Key: key, StatusCode: 412,
				Code: "PreconditionFailed", Err: errors.New("object replaced (checked without conditional writes)"), kind: publish.ErrChanged}
		}
		return condition{}, nil
	}
	switch {
	case !info.Replace:
		return condition{ifNoneMatch: aws.String("*")}, nil
	case info.IfMatch != "":
		return condition{ifMatch: aws.String(info.IfMatch)}, nil
	}
	return condition{}, nil
}

func (s *Store) cacheControl(name string, st publish.Stage) *string {
	cc := s.opts.ccImmutable
	if publish.IsMutable(name) || st == publish.StageIndex || st == publish.StageManifest {
		cc = s.opts.ccMutable
	}
	if cc == "" {
		return nil
	}
	return aws.String(cc)
}

func (s *Store) acl() types.ObjectCannedACL {
	if s.opts.publicRead {
		return types.ObjectCannedACLPublicRead
	}
	return ""
}

func contentType(info publish.PutInfo, key string) *string {
	if info.ContentType != "" {
		return aws.String(info.ContentType)
	}
	return aws.String(guessContentType(path.Base(key)))
}

// b64 returns the base64 of the raw digest of a hex SHA-256.
func b64(hexSum string) string {
	raw, _ := hex.DecodeString(hexSum)
	return base64.StdEncoding.EncodeToString(raw)
}

// unsignedPayload signs requests with the payload hash "UNSIGNED-PAYLOAD"
// instead of the body's SHA-256: the body's integrity is protected by the
// x-amz-checksum-sha256 header, which is signed and which S3 checks, so
// hashing the body a second time for the signature (on both ends) would
// buy nothing. AWS SDKs do the same over HTTPS.
func unsignedPayload(o *awss3.Options) {
	o.APIOptions = append(o.APIOptions, func(st *middleware.Stack) error {
		return st.Initialize.Add(middleware.InitializeMiddlewareFunc("relkitUnsignedPayload",
			func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
				return next.HandleInitialize(v4.SetPayloadHash(ctx, "UNSIGNED-PAYLOAD"), in)
			}), middleware.After)
	})
}

// errRecorder remembers the first error other than io.EOF that a body
// returned, so that a *publish.ChecksumError surfaces even when the HTTP
// stack replaces it with its own error.
type errRecorder struct {
	body
	mu  sync.Mutex
	err error
}

func (r *errRecorder) Read(p []byte) (int, error) {
	n, err := r.body.Read(p)
	if err != nil && err != io.EOF {
		r.mu.Lock()
		if r.err == nil {
			r.err = err
		}
		r.mu.Unlock()
	}
	return n, err
}

func (r *errRecorder) readErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

func (s *Store) putSingle(ctx context.Context, name, key string, b body, info publish.PutInfo, cond condition) (string, error) {
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("s3: put %s: rewind: %w", key, err)
	}
	rec := &errRecorder{body: b}
	ctx, cancel := s.opctx(ctx, info.Size)
	defer cancel()
	out, err := s.client.PutObject(ctx, &awss3.PutObjectInput{
		Bucket:            aws.String(s.bucket),
		Key:               aws.String(key),
		Body:              rec,
		ContentLength:     aws.Int64(info.Size),
		ContentType:       contentType(info, key),
		CacheControl:      s.cacheControl(name, info.Stage),
		ACL:               s.acl(),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		ChecksumSHA256:    aws.String(b64(info.SHA256)),
		Metadata:          map[string]string{MetadataSHA256: info.SHA256},
		IfNoneMatch:       cond.ifNoneMatch,
		IfMatch:           cond.ifMatch,
	}, unsignedPayload)
	if rerr := rec.readErr(); rerr != nil && (err != nil || errors.Is(rerr, publish.ErrChecksum)) {
		// The staged file changed or could not be read; S3 refused
		// the bytes (their digest did not match) or the request was
		// cut short.
		if err == nil {
			// Cannot happen with a server that checks digests; say so
			// loudly rather than report success.
			return "", fmt.Errorf("s3: put %s: the server accepted bytes that failed verification: %w", key, rerr)
		}
		return "", s.wrapErr("PutObject", key, rerr)
	}
	if err != nil {
		return "", s.wrapErr("PutObject", key, err)
	}
	return aws.ToString(out.ETag), nil
}

// ConditionalWrites reports whether the store replaces manifest.json
// atomically on a condition (If-Match, If-None-Match): false only with
// [WithoutConditionalWritesUnsafe], where two racing publishers can lose a
// release.
func (s *Store) ConditionalWrites() bool { return !s.opts.noCond }

// del does the work of [Store.Delete].
func (s *Store) del(ctx context.Context, name string) error {
	key, err := s.key(name)
	if err != nil {
		return err
	}
	ctx, cancel := s.opctx(ctx, 0)
	defer cancel()
	_, err = s.client.DeleteObject(ctx, &awss3.DeleteObjectInput{Bucket: aws.String(s.bucket), Key: aws.String(key)})
	if err != nil {
		if err = s.wrapErr("DeleteObject", key, err); errors.Is(err, publish.ErrNotExist) {
			return nil
		}
	}
	return err
}

// Stat implements [publish.Store] with a HEAD request. Object.SHA256 is
// the object's full-object SHA-256 checksum when S3 has one (objects
// uploaded in one piece with x-amz-checksum-sha256), else the
// [MetadataSHA256] metadata the store writes with every object, else ""
// (the Publisher then hashes the object through Open).
//
// Object.Version is the object's ETag: a Put with PutInfo.IfMatch sends it
// as If-Match.
func (s *Store) Stat(ctx context.Context, name string) (publish.Object, error) {
	obj, err := s.stat(ctx, name)
	return obj, requestTimeout(ctx, err)
}

// Open implements [publish.Store] with a GET request.
func (s *Store) Open(ctx context.Context, name string) (io.ReadCloser, error) {
	rc, err := s.open(ctx, name)
	return rc, requestTimeout(ctx, err)
}

// Put implements [publish.Store].
//
// A file smaller than the multipart threshold goes up in one PutObject
// request that carries its SHA-256 as x-amz-checksum-sha256, which S3
// checks before storing anything (400 BadDigest otherwise); the file is
// read once, and verified as it is read. A larger file goes up in
// parts read straight from the file (see [WithMultipart]), each with its
// own SHA-256 checksum; the whole file is hashed on the way and the upload
// is aborted, not completed, unless it matches info.SHA256.
//
// A create-only put (info.Replace false) sends If-None-Match: *, so S3
// refuses it atomically (412, an error wrapping [publish.ErrExist]) when
// the key is taken. A conditional replace (info.IfMatch, an ETag from
// Stat) sends If-Match, so a manifest replaced by a concurrent publisher
// is reported (an error wrapping [publish.ErrChanged]), not overwritten.
// A request past the store's deadline is a retryable [*TimeoutError].
func (s *Store) Put(ctx context.Context, name string, r *publish.Body, info publish.PutInfo) error {
	return requestTimeout(ctx, s.put(ctx, name, r, info))
}

// Delete implements [publish.Deleter] with a DeleteObject request.
func (s *Store) Delete(ctx context.Context, name string) error {
	return requestTimeout(ctx, s.del(ctx, name))
}

// TimeoutError reports a request that ran past the store's own deadline
// (see [WithTimeout]) while the caller's context was still live: a
// stalled connection. It is a timeout in the net.Error sense, so the
// Publisher retries it.
type TimeoutError struct {
	// Err is the SDK's error.
	Err error
}

// Error implements error.
func (e *TimeoutError) Error() string {
	return "s3: request timed out (the store's deadline; see s3.WithTimeout): " + e.Err.Error()
}

// Timeout reports true.
func (e *TimeoutError) Timeout() bool { return true }

// Temporary reports true.
func (e *TimeoutError) Temporary() bool { return true }

// requestTimeout turns the expiry of a request's own deadline into a
// *TimeoutError; the caller's cancellation or deadline stays what it is.
func requestTimeout(parent context.Context, err error) error {
	if err == nil || parent.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return &TimeoutError{Err: errors.New(err.Error())}
}

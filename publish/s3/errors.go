package s3

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/aws/smithy-go"
	smithyhttp "github.com/aws/smithy-go/transport/http"

	"github.com/relkit/relkit/publish"
)

// Error is a failed S3 request, as returned by every [Store] method.
//
// It wraps the SDK's error, so errors.As finds the SDK's
// *smithyhttp.ResponseError (whose HTTPStatusCode method
// [publish.IsRetryable] reads: 5xx and 429 are retried, other 4xx are
// not) or, when no answer came, the network error. It also wraps the
// publish sentinel the failure means, when there is one:
//
//   - [publish.ErrNotExist]: no object under the key (404 NotFound,
//     NoSuchKey);
//   - [publish.ErrExist]: a create-only put found the key taken, or the
//     object replaced since it was last seen (412 PreconditionFailed, 409
//     ConditionalRequestConflict);
//   - [publish.ErrChecksum]: the server received bytes that do not hash to
//     the SHA-256 sent with them (400 BadDigest,
//     XAmzContentSHA256Mismatch), or the staged file changed while it was
//     read.
type Error struct {
	// Op is the S3 operation ("HeadObject", "PutObject", "UploadPart", ...).
	Op string
	// Bucket and Key locate the object.
	Bucket, Key string
	// StatusCode is the HTTP status of the answer, or 0 when none came.
	StatusCode int
	// Code is the S3 error code ("PreconditionFailed", "BadDigest",
	// "AccessDenied", ...), or "" when the answer had none.
	Code string
	// Err is the underlying error.
	Err error

	kind error // the publish sentinel, or nil
}

// Error returns "s3: Op s3://bucket/key: <cause>".
func (e *Error) Error() string {
	return fmt.Sprintf("s3: %s s3://%s/%s: %v", e.Op, e.Bucket, e.Key, e.Err)
}

// Unwrap returns the underlying error and, when the failure has one, the
// publish sentinel it means.
func (e *Error) Unwrap() []error {
	if e.kind != nil {
		return []error{e.kind, e.Err}
	}
	return []error{e.Err}
}

// checksumCodes are S3 error codes for bytes that do not match their digest.
var checksumCodes = map[string]bool{
	"BadDigest":                 true,
	"XAmzContentSHA256Mismatch": true,
	"InvalidDigest":             true,
}

// wrapErr turns an SDK error into an *Error. A context error is returned
// unchanged, wrapped with what was being done.
func (s *Store) wrapErr(op, key string, err error) error {
	if err == nil {
		return nil
	}
	e := &Error{Op: op, Bucket: s.bucket, Key: key, Err: err}
	var re *smithyhttp.ResponseError
	if errors.As(err, &re) {
		e.StatusCode = re.HTTPStatusCode()
	}
	var se *smithyhttp.RequestSendError
	if e.StatusCode == 0 && errors.As(err, &se) {
		// No answer came. The SDK reports that as a response error
		// with status 0, which would read as a final answer; keep
		// only the network error, which publish.IsRetryable treats
		// as transient.
		e.Err = se
	}
	var ae smithy.APIError
	if errors.As(err, &ae) {
		e.Code = ae.ErrorCode()
	}
	switch {
	case errors.Is(err, publish.ErrChecksum) || checksumCodes[e.Code]:
		e.kind = publish.ErrChecksum
	case e.StatusCode == http.StatusPreconditionFailed || e.Code == "PreconditionFailed" ||
		e.Code == "ConditionalRequestConflict":
		e.kind = publish.ErrExist
	case e.Code == "NoSuchBucket":
		// Not ErrNotExist: a wrong bucket is a configuration error, not
		// an object that still has to be uploaded.
	case e.StatusCode == http.StatusNotFound || e.Code == "NoSuchKey" || e.Code == "NotFound":
		e.kind = publish.ErrNotExist
	}
	return e
}

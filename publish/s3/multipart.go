package s3

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"mime"
	"path"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/relkit/relkit/internal/ctxio"
	"github.com/relkit/relkit/publish"
)

// abortTimeout bounds aborting a failed multipart upload, which runs even
// when the caller's context is cancelled.
const abortTimeout = 30 * time.Second

// partSizeFor returns the part size for an object of size bytes: the
// configured one, grown so that the object fits in MaxParts parts.
func partSizeFor(size, configured int64) int64 {
	ps := configured
	if min := (size + MaxParts - 1) / MaxParts; ps < min {
		ps = min
	}
	return ps
}

// part is one hashed part, ready to be uploaded.
type part struct {
	num    int32
	off, n int64
	sha    string // hex SHA-256 of the part
}

// putMultipart uploads b in parts. One goroutine reads the body in order,
// hashing each part and (through the *publish.Body) the whole file; up to
// partConc goroutines upload the parts it has hashed, reading them again
// with ReadAt and sending each part's SHA-256, which S3 checks. Memory use
// is a copy buffer per goroutine, whatever the file and part sizes. The
// upload is completed only when every part is stored and the whole file
// matched info.SHA256; otherwise it is aborted, so nothing appears under
// key.
func (s *Store) putMultipart(ctx context.Context, name, key string, b body, info publish.PutInfo, cond condition) (string, error) {
	if _, err := b.Seek(0, io.SeekStart); err != nil {
		return "", fmt.Errorf("s3: put %s: rewind: %w", key, err)
	}
	cctx, ccancel := s.opctx(ctx, 0)
	defer ccancel()
	create, err := s.client.CreateMultipartUpload(cctx, &awss3.CreateMultipartUploadInput{
		Bucket:            aws.String(s.bucket),
		Key:               aws.String(key),
		ContentType:       contentType(info, key),
		CacheControl:      s.cacheControl(name, info.Stage),
		ACL:               s.acl(),
		ChecksumAlgorithm: types.ChecksumAlgorithmSha256,
		Metadata:          map[string]string{MetadataSHA256: info.SHA256},
	})
	if err != nil {
		return "", s.wrapErr("CreateMultipartUpload", key, err)
	}
	uploadID := create.UploadId

	etag, err := s.uploadParts(ctx, key, uploadID, b, info, cond)
	if err != nil {
		actx, cancel := context.WithTimeout(context.WithoutCancel(ctx), abortTimeout)
		defer cancel()
		_, aerr := s.client.AbortMultipartUpload(actx, &awss3.AbortMultipartUploadInput{
			Bucket: aws.String(s.bucket), Key: aws.String(key), UploadId: uploadID,
		})
		if aerr != nil {
			// The incomplete upload is invisible but costs storage
			// until a lifecycle rule removes it.
			return "", fmt.Errorf("%w (and aborting multipart upload %s failed: %v)", err, aws.ToString(uploadID), aerr)
		}
		return "", err
	}
	return etag, nil
}

func (s *Store) uploadParts(ctx context.Context, key string, uploadID *string, b body, info publish.PutInfo, cond condition) (string, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)

	partSize := partSizeFor(info.Size, s.opts.partSize)
	todo := make(chan part, s.opts.partConc)

	var (
		mu        sync.Mutex
		completed []types.CompletedPart
		wg        sync.WaitGroup
	)
	fail := func(err error) { cancel(err) }

	for range s.opts.partConc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for p := range todo {
				if ctx.Err() != nil {
					continue
				}
				pctx, pcancel := s.opctx(ctx, p.n)
				out, err := s.client.UploadPart(pctx, &awss3.UploadPartInput{
					Bucket:         aws.String(s.bucket),
					Key:            aws.String(key),
					UploadId:       uploadID,
					PartNumber:     aws.Int32(p.num),
					Body:           io.NewSectionReader(b, p.off, p.n),
					ContentLength:  aws.Int64(p.n),
					ChecksumSHA256: aws.String(b64(p.sha)),
				}, unsignedPayload)
				pcancel()
				if err != nil {
					fail(s.wrapErr("UploadPart", key, fmt.Errorf("part %d: %w", p.num, err)))
					continue
				}
				mu.Lock()
				completed = append(completed, types.CompletedPart{
					PartNumber:     aws.Int32(p.num),
					ETag:           out.ETag,
					ChecksumSHA256: aws.String(b64(p.sha)),
				})
				mu.Unlock()
			}
		}()
	}

	// Hash the parts in order. The *publish.Body verifies the whole
	// file: the read of its last byte fails with publish.ErrChecksum
	// when the file does not match info.SHA256.
	buf := make([]byte, 256<<10)
	var readErr error
	num := int32(0)
	for off := int64(0); off < info.Size && ctx.Err() == nil; off += partSize {
		n := min(partSize, info.Size-off)
		h := sha256.New()
		got, err := io.CopyBuffer(h, ctxio.Reader(ctx, io.LimitReader(b, n)), buf)
		if err == nil && got != n {
			err = &publish.ChecksumError{Name: key, WantSHA256: info.SHA256, WantSize: info.Size, GotSize: off + got}
		}
		if err != nil {
			readErr = err
			break
		}
		num++
		select {
		case todo <- part{num: num, off: off, n: n, sha: hex.EncodeToString(h.Sum(nil))}:
		case <-ctx.Done():
		}
	}
	close(todo)
	wg.Wait()

	if readErr != nil {
		if errors.Is(readErr, context.Canceled) && context.Cause(ctx) != nil && !errors.Is(context.Cause(ctx), context.Canceled) {
			return "", context.Cause(ctx)
		}
		return "", s.wrapErr("UploadPart", key, readErr)
	}
	if cause := context.Cause(ctx); cause != nil {
		return "", cause
	}

	sort.Slice(completed, func(i, j int) bool { return *completed[i].PartNumber < *completed[j].PartNumber })
	dctx, dcancel := s.opctx(ctx, 0)
	defer dcancel()
	out, err := s.client.CompleteMultipartUpload(dctx, &awss3.CompleteMultipartUploadInput{
		Bucket:          aws.String(s.bucket),
		Key:             aws.String(key),
		UploadId:        uploadID,
		MultipartUpload: &types.CompletedMultipartUpload{Parts: completed},
		IfNoneMatch:     cond.ifNoneMatch,
		IfMatch:         cond.ifMatch,
	})
	if err != nil {
		return "", s.wrapErr("CompleteMultipartUpload", key, err)
	}
	return aws.ToString(out.ETag), nil
}

// guessContentType is used when PutInfo.ContentType is empty (the
// Publisher always sets it).
func guessContentType(name string) string {
	lower := strings.ToLower(name)
	switch {
	case strings.HasSuffix(lower, ".tar.gz"), strings.HasSuffix(lower, ".tgz"), strings.HasSuffix(lower, ".gz"):
		return "application/gzip"
	case strings.HasSuffix(lower, ".json"):
		return "application/json"
	case lower == "sha256sums", strings.HasSuffix(lower, ".sig"), strings.HasSuffix(lower, ".txt"):
		return "text/plain; charset=utf-8"
	}
	if t := mime.TypeByExtension(path.Ext(lower)); t != "" {
		return t
	}
	return "application/octet-stream"
}

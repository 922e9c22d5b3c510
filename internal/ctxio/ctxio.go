// Package ctxio holds I/O helpers that honour a context.
package ctxio

import (
	"context"
	"io"
)

// Reader returns a reader that reads from r until ctx is done; from then on
// every Read fails with ctx.Err(). Wrap a stream with it before a long
// io.Copy so that cancelling the context stops the copy between reads.
func Reader(ctx context.Context, r io.Reader) io.Reader { return reader{ctx, r} }

type reader struct {
	ctx context.Context
	r   io.Reader
}

func (c reader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

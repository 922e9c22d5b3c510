package install

import (
	"context"
	"errors"
	"io"
	"sync"
)

// Extracting while downloading: a tar.gz is unpacked from the download
// stream as it arrives, so decompression (one core) overlaps with the
// network, the disk and the download's hash (the other). The extracted
// files are temporary files, used only when the download then verifies;
// otherwise they are removed. A zip needs random access and is unpacked
// after the download.

// errRestarted aborts a streaming extraction whose download restarted
// from zero (the server could not resume): the caller extracts from the
// finished file instead.
var errRestarted = errors.New("download restarted; extracting from the file instead")

// chunkPipe is a buffered pipe: Write copies into one of a few pooled
// chunks and returns at once, so the writer is not held in lockstep with
// the reader. After the reader closes, writes are discarded.
type chunkPipe struct {
	ch       chan []byte
	free     chan []byte
	gone     chan struct{} // closed when the reader stops
	goneOnce sync.Once
	mu       sync.Mutex
	err      error // the writer's close error, for the reader
	cur, buf []byte
}

const pipeChunks, pipeChunkSize = 8, 256 << 10

func newChunkPipe() *chunkPipe {
	p := &chunkPipe{ch: make(chan []byte, pipeChunks), free: make(chan []byte, pipeChunks), gone: make(chan struct{})}
	for range pipeChunks {
		p.free <- make([]byte, 0, pipeChunkSize)
	}
	return p
}

// Write queues p for the reader (never fails: after the reader has gone,
// p is dropped).
func (p *chunkPipe) Write(b []byte) (int, error) {
	n := len(b)
	for len(b) > 0 {
		var c []byte
		select {
		case c = <-p.free:
		case <-p.gone:
			return n, nil
		}
		k := min(len(b), cap(c))
		select {
		case p.ch <- append(c, b[:k]...):
		case <-p.gone:
			return n, nil
		}
		b = b[k:]
	}
	return n, nil
}

// closeWrite ends the stream; the reader sees err (io.EOF when nil)
// after the queued chunks.
func (p *chunkPipe) closeWrite(err error) {
	if err == nil {
		err = io.EOF
	}
	p.mu.Lock()
	p.err = err
	p.mu.Unlock()
	close(p.ch)
}

// Read implements io.Reader.
func (p *chunkPipe) Read(b []byte) (int, error) {
	for len(p.cur) == 0 {
		if p.buf != nil {
			p.free <- p.buf[:0]
			p.buf = nil
		}
		c, ok := <-p.ch
		if !ok {
			p.mu.Lock()
			defer p.mu.Unlock()
			return 0, p.err
		}
		p.cur, p.buf = c, c
	}
	n := copy(b, p.cur)
	p.cur = p.cur[n:]
	return n, nil
}

// closeRead tells the writer to stop queueing.
func (p *chunkPipe) closeRead() { p.goneOnce.Do(func() { close(p.gone) }) }

// streamExtraction runs an extractor over a download in flight.
type streamExtraction struct {
	pipe    *chunkPipe
	n       int64 // bytes passed on so far
	aborted bool
	done    chan struct{}
	files   []newFile
	err     error
}

func startStreamExtraction(ctx context.Context, x *extractor) *streamExtraction {
	s := &streamExtraction{pipe: newChunkPipe(), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		defer s.pipe.closeRead()
		s.files, s.err = x.extractTarGzStream(ctx, s.pipe)
		if s.err == nil {
			// extractTarGzStream drained the gzip stream; anything after
			// it would be trailing garbage, which gzip reports.
			return
		}
	}()
	return s
}

// writeAt implements streamTee. Bytes must arrive in order; a download
// that restarts from zero aborts the streaming extraction.
func (s *streamExtraction) writeAt(b []byte, off int64) {
	if s.aborted {
		return
	}
	if off != s.n {
		s.aborted = true
		s.pipe.closeWrite(errRestarted)
		return
	}
	s.pipe.Write(b)
	s.n += int64(len(b))
}

// finish ends the stream with the download's result and returns the
// extractor's. When the download failed or restarted, the extracted
// files are removed and the second result is false: the caller reports
// the download error or extracts from the file.
func (s *streamExtraction) finish(downloadErr error) ([]newFile, error, bool) {
	if !s.aborted {
		s.pipe.closeWrite(downloadErr)
	}
	<-s.done
	if downloadErr != nil || s.aborted || errors.Is(s.err, errRestarted) {
		for _, nf := range s.files {
			removeQuiet(nf.Temp)
		}
		return nil, nil, false
	}
	return s.files, s.err, true
}

package verify

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/relkit/relkit/internal/atomicfile"
)

// State remembers the highest serial a client has accepted for each signed
// document, so that a Verifier can refuse rollbacks. Keys are
// "manifest.json" (or "manifest.json:<project>" with WithProject) and
// "keys.json".
//
// Serial must return 0 and no error for a key never recorded. SetSerial
// must never lower a recorded serial, and must be durable before it
// returns when the State claims to survive restarts.
type State interface {
	Serial(ctx context.Context, key string) (int64, error)
	SetSerial(ctx context.Context, key string, serial int64) error
}

// MemoryState is a State kept in memory: it protects one process only.
type MemoryState struct {
	mu sync.Mutex
	m  map[string]int64
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState { return &MemoryState{m: map[string]int64{}} }

// Serial implements State.
func (s *MemoryState) Serial(_ context.Context, key string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[key], nil
}

// SetSerial implements State.
func (s *MemoryState) SetSerial(_ context.Context, key string, serial int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if serial > s.m[key] {
		s.m[key] = serial
	}
	return nil
}

// StateSchema identifies a FileState file.
const StateSchema = "relkit.state/v1"

// MaxStateSize is the largest FileState file read.
const MaxStateSize = 1 << 20

// FileState is a State stored as a small JSON file, rewritten atomically
// (temporary file, fsync, rename, directory fsync) on every change. A
// missing file is an empty state; a corrupt one is an error (verification
// fails closed rather than forgetting what it accepted).
//
// A FileState serialises its own callers; two processes sharing one file
// should hold a lock around verification (install does).
type FileState struct {
	path string
	mu   sync.Mutex
}

// NewFileState returns a FileState stored at path. The file is created on
// the first SetSerial; its directory must exist.
func NewFileState(path string) *FileState { return &FileState{path: path} }

type stateFile struct {
	Schema  string           `json:"schema"`
	Serials map[string]int64 `json:"serials"`
}

func (s *FileState) load() (map[string]int64, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]int64{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxStateSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > MaxStateSize {
		return nil, &LimitError{What: s.path, Limit: MaxStateSize}
	}
	var sf stateFile
	if err := json.Unmarshal(data, &sf); err != nil {
		return nil, &FormatError{File: s.path, Reason: "invalid state file", Err: err}
	}
	if sf.Schema != StateSchema {
		return nil, &FormatError{File: s.path, Reason: fmt.Sprintf("unsupported schema %q", sf.Schema)}
	}
	if sf.Serials == nil {
		sf.Serials = map[string]int64{}
	}
	return sf.Serials, nil
}

// Serial implements State.
func (s *FileState) Serial(_ context.Context, key string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return 0, err
	}
	return m[key], nil
}

// SetSerial implements State. It writes only when serial is higher than the
// recorded one.
func (s *FileState) SetSerial(_ context.Context, key string, serial int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.load()
	if err != nil {
		return err
	}
	if serial <= m[key] {
		return nil
	}
	m[key] = serial
	data, err := marshalIndent(stateFile{Schema: StateSchema, Serials: m})
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	_, err = atomicfile.WriteFile(s.path, bytes.NewReader(data), 0o644)
	return err
}

// Path returns the file the state is stored in.
func (s *FileState) Path() string { return s.path }

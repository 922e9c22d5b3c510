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
// "manifest.json" (or "manifest.json:<project>" with WithProject),
// "keys.json" (or "keys.json:<project>"), and "root:<project>#<id>" for
// the version of the newest root set accepted (see RootState).
//
// Serial must return 0 and no error for a key never recorded. SetSerial
// must never lower a recorded serial, and must be durable before it
// returns when the State claims to survive restarts.
type State interface {
	Serial(ctx context.Context, key string) (int64, error)
	SetSerial(ctx context.Context, key string, serial int64) error
}

// MemoryState is a State (and a RootState) kept in memory: it protects
// one process only.
type MemoryState struct {
	mu    sync.Mutex
	m     map[string]int64
	roots map[string][]byte
}

var _ RootState = (*MemoryState)(nil)

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{m: map[string]int64{}, roots: map[string][]byte{}}
}

// Root implements RootState.
func (s *MemoryState) Root(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.roots[key]), nil
}

// SetRoot implements RootState.
func (s *MemoryState) SetRoot(_ context.Context, key string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.roots[key] = bytes.Clone(data)
	return nil
}

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

// FileState is a State (and a RootState) stored as a small JSON file, rewritten atomically
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

var _ RootState = (*FileState)(nil)

type stateFile struct {
	Schema  string           `json:"schema"`
	Serials map[string]int64 `json:"serials"`
	// Roots are the newest trusted root sets (root/<n>.json bytes) by
	// chain key; readers that predate them ignore the field.
	Roots map[string][]byte `json:"roots,omitempty"`
}

func (s *FileState) load() (*stateFile, error) {
	f, err := os.Open(s.path)
	if errors.Is(err, fs.ErrNotExist) {
		return &stateFile{Schema: StateSchema, Serials: map[string]int64{}}, nil
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
	return &sf, nil
}

func (s *FileState) store(sf *stateFile) error {
	data, err := marshalIndent(sf)
	if err != nil {
		return err
	}
	if len(data) > MaxStateSize {
		// Never write a file that load would refuse.
		return &LimitError{What: s.path, Limit: MaxStateSize}
	}
	if err := os.MkdirAll(filepath.Dir(s.path), 0o755); err != nil {
		return err
	}
	_, err = atomicfile.WriteFile(s.path, bytes.NewReader(data), 0o644)
	return err
}

// Serial implements State.
func (s *FileState) Serial(_ context.Context, key string) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sf, err := s.load()
	if err != nil {
		return 0, err
	}
	return sf.Serials[key], nil
}

// SetSerial implements State. It writes only when serial is higher than the
// recorded one.
func (s *FileState) SetSerial(_ context.Context, key string, serial int64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sf, err := s.load()
	if err != nil {
		return err
	}
	if serial <= sf.Serials[key] {
		return nil
	}
	sf.Serials[key] = serial
	return s.store(sf)
}

// Root implements RootState.
func (s *FileState) Root(_ context.Context, key string) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sf, err := s.load()
	if err != nil {
		return nil, err
	}
	return sf.Roots[key], nil
}

// SetRoot implements RootState. It writes only when data differs from
// what is stored.
func (s *FileState) SetRoot(_ context.Context, key string, data []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	sf, err := s.load()
	if err != nil {
		return err
	}
	if bytes.Equal(sf.Roots[key], data) {
		return nil
	}
	if sf.Roots == nil {
		sf.Roots = map[string][]byte{}
	}
	sf.Roots[key] = bytes.Clone(data)
	return s.store(sf)
}

// Path returns the file the state is stored in.
func (s *FileState) Path() string { return s.path }

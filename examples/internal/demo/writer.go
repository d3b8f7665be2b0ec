package demo

import (
	"io"
	"sync"
)

// SyncWriter serialises writes to an io.Writer, so that a progress line, a
// log handler and a summary written from different goroutines never
// interleave within one Write (or race on a bytes.Buffer in tests).
type SyncWriter struct {
	mu sync.Mutex
	w  io.Writer
}

// NewSyncWriter returns a SyncWriter writing to w. When w already is one it
// is returned as is.
func NewSyncWriter(w io.Writer) *SyncWriter {
	if s, ok := w.(*SyncWriter); ok {
		return s
	}
	return &SyncWriter{w: w}
}

// Write writes p to the underlying writer under the lock.
func (s *SyncWriter) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.w.Write(p)
}

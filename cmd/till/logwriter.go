package main

import (
	"bytes"
	"io"
	"sync"
	"time"
)

// logWriter buffers log lines and writes them out every flushEvery, so that
// a request's log line costs no system call of its own. A line at warn level
// or above is written at once, with everything before it. Close writes what
// is left. A crash loses at most flushEvery of info-level lines.
type logWriter struct {
	mu   sync.Mutex
	out  io.Writer
	buf  bytes.Buffer
	stop chan struct{}
	done chan struct{}
}

const flushEvery = 50 * time.Millisecond

func newLogWriter(out io.Writer) *logWriter {
	w := &logWriter{out: out, stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(w.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				w.flush()
			case <-w.stop:
				w.flush()
				return
			}
		}
	}()
	return w
}

// Write buffers p, a whole JSON log record.
func (w *logWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if bytes.Contains(p, []byte(`"level":"WARN"`)) || bytes.Contains(p, []byte(`"level":"ERROR"`)) || w.buf.Len() > 256<<10 {
		w.flushLocked()
	}
	return len(p), nil
}

func (w *logWriter) flush() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.flushLocked()
}

func (w *logWriter) flushLocked() {
	if w.buf.Len() > 0 {
		w.out.Write(w.buf.Bytes())
		w.buf.Reset()
	}
}

// Close writes what is buffered and stops the flusher.
func (w *logWriter) Close() error {
	close(w.stop)
	<-w.done
	return nil
}

package main

import (
	"bytes"
	"sync"
	"testing"
	"time"
)

type lockedBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestLogWriter(t *testing.T) {
	var out lockedBuf
	w := newLogWriter(&out)
	w.Write([]byte(`{"level":"INFO","msg":"one"}` + "\n"))
	if out.String() != "" {
		t.Fatal("an info line was written at once")
	}
	w.Write([]byte(`{"level":"ERROR","msg":"two"}` + "\n"))
	if got := out.String(); got != `{"level":"INFO","msg":"one"}`+"\n"+`{"level":"ERROR","msg":"two"}`+"\n" {
		t.Fatalf("an error line must flush everything before it in order: %q", got)
	}
	w.Write([]byte(`{"level":"INFO","msg":"three"}` + "\n"))
	// Flushed by the timer, without another write; polled, as a loaded
	// machine may run the timer late.
	deadline := time.Now().Add(2 * time.Second)
	for !bytes.Contains([]byte(out.String()), []byte("three")) && time.Now().Before(deadline) {
		time.Sleep(flushEvery / 5)
	}
	if !bytes.Contains([]byte(out.String()), []byte("three")) {
		t.Fatal("buffered lines are not flushed within flushEvery")
	}
	w.Write([]byte(`{"level":"INFO","msg":"four"}` + "\n"))
	w.Close()
	if !bytes.Contains([]byte(out.String()), []byte("four")) {
		t.Fatal("Close did not flush")
	}
}

package bench

import (
	"syscall"
	"time"
)

// preciseSleep pauses the calling goroutine for d with nanosleep, which on
// Linux wakes within about 0.1 ms, where the runtime's timers round short
// waits up to a millisecond: the open loop's schedule would otherwise show
// up to a millisecond of the bench's own lateness in every latency.
func preciseSleep(d time.Duration) {
	ts := syscall.NsecToTimespec(int64(d))
	syscall.Nanosleep(&ts, nil)
}

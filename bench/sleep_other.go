//go:build !linux

package bench

import "time"

// preciseSleep pauses for d.
func preciseSleep(d time.Duration) { time.Sleep(d) }

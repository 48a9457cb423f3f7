package bench

import (
	"os"
	"strconv"
	"strings"
	"time"
)

// CPU is how busy the bench and the server it started kept the machine's
// cores during the load (warm-up and measurement): CPU seconds used per
// second of wall time. A server given by --url has no figure.
type CPU struct {
	BenchCores  float64  `json:"benchCores"`
	ServerCores *float64 `json:"serverCores,omitempty"`
}

// userHZ is Linux's fixed unit of the times in /proc/<pid>/stat.
const userHZ = 100

// processCPU returns the user plus system CPU time that process pid ("self"
// for this one) has used so far, from /proc; ok is false where there is no
// /proc.
func processCPU(pid string) (time.Duration, bool) {
	b, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name, field 2, is in parentheses and may hold spaces:
	// count the fields after its closing parenthesis. utime and stime are
	// fields 14 and 15.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / userHZ, true
}

// cpuMeter measures the CPU the bench and a started server use between
// start and stop.
type cpuMeter struct {
	serverPID        string
	wall             time.Time
	self, server     time.Duration
	selfOK, serverOK bool
}

func startCPUMeter(serverPID string) *cpuMeter {
	m := &cpuMeter{serverPID: serverPID, wall: time.Now()}
	m.self, m.selfOK = processCPU("self")
	if serverPID != "" {
		m.server, m.serverOK = processCPU(serverPID)
	}
	return m
}

// stop returns the cores used since start, or nil where they cannot be read.
func (m *cpuMeter) stop() *CPU {
	wall := time.Since(m.wall).Seconds()
	self, ok := processCPU("self")
	if !ok || !m.selfOK || wall <= 0 {
		return nil
	}
	c := &CPU{BenchCores: (self - m.self).Seconds() / wall}
	if m.serverOK {
		if srv, ok := processCPU(m.serverPID); ok {
			cores := (srv - m.server).Seconds() / wall
			c.ServerCores = &cores
		}
	}
	return c
}

package bench

import (
	"bufio"
	"os"
	"runtime"
	"strings"

	"github.com/klauspost/cpuid/v2"
)

// Env describes the machine and toolchain a result was measured on;
// scaling numbers mean nothing without it.
type Env struct {
	GoVersion  string `json:"go_version"`
	GOOS       string `json:"goos"`
	GOARCH     string `json:"goarch"`
	CPU        string `json:"cpu"`
	NumCPU     int    `json:"numcpu"`
	GOMAXPROCS int    `json:"gomaxprocs"`
}

// CurrentEnv returns the environment of this process.
func CurrentEnv() Env {
	return Env{
		GoVersion:  runtime.Version(),
		GOOS:       runtime.GOOS,
		GOARCH:     runtime.GOARCH,
		CPU:        cpuModel(),
		NumCPU:     runtime.NumCPU(),
		GOMAXPROCS: runtime.GOMAXPROCS(0),
	}
}

// cpuModel names the CPU as go test -bench does on its "cpu:" line, so
// that results from both can be compared: on x86 the processor's own
// brand string (CPUID), which a virtual machine's /proc/cpuinfo may
// contradict; elsewhere, or when that is empty, /proc/cpuinfo's model
// name.
func cpuModel() string {
	if runtime.GOARCH == "amd64" || runtime.GOARCH == "386" {
		if name := cpuid.CPU.BrandName; name != "" && name != "unknown" {
			return name
		}
	}
	return procCPUInfoModel()
}

// procCPUInfoModel reads the CPU's name where Linux tells it, or "".
func procCPUInfoModel() string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return ""
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		key, val, ok := strings.Cut(s.Text(), ":")
		if ok && strings.TrimSpace(key) == "model name" {
			return strings.TrimSpace(val)
		}
	}
	return ""
}

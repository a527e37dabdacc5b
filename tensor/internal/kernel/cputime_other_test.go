//go:build !linux

package kernel

import "time"

func threadCPUTime() (time.Duration, bool) { return 0, false }

package buildinfo

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestFormat(t *testing.T) {
	bi := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "1ab0ff9e2c3d4b5a69788796a5b4c3d2e1f00112"}, {Key: "vcs.time", Value: "2026-11-30T10:00:00Z"}, {Key: "vcs.modified", Value: "true"}}}
	if got, want := format(bi), "ckptinspect v0.3.0 (revision 1ab0ff9e2c3d, 2026-11-30T10:00:00Z, modified), go1.26.8"; got != want {
		t.Errorf("%q, want %q", got, want)
	}
	if got := format(&debug.BuildInfo{GoVersion: "go1.26.8"}); got != "ckptinspect (devel), go1.26.8" {
		t.Errorf("%q", got)
	}
	if v := Version(); !strings.HasPrefix(v, "ckptinspect ") || !strings.Contains(v, "go1.") {
		t.Errorf("%q", v)
	}
	if v, r := module(bi); v != "v0.3.0" || r != "1ab0ff9e2c3d4b5a69788796a5b4c3d2e1f00112" {
		t.Errorf("module: %q %q", v, r)
	}
	if v, r := module(&debug.BuildInfo{}); v != "(devel)" || r != "" {
		t.Errorf("module of a bare build: %q %q", v, r)
	}
}

// Package buildinfo describes the running binary from the build
// information the Go toolchain embeds in it.
package buildinfo

import (
	"runtime/debug"
	"strings"
)

// Version returns "ckptinspect VERSION (revision R, TIME[, modified]),
// GOVERSION": the main module's version ("(devel)" for a build from a
// clone), the VCS revision and commit time (and "modified" for a tree with
// uncommitted changes), and the Go version.
func Version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "ckptinspect (no build information)"
	}
	return format(bi)
}

// Module returns the main module's version ("(devel)" for a build from a
// clone) and the VCS revision the binary was built from ("" if unknown).
func Module() (version, revision string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "(devel)", ""
	}
	return module(bi)
}

func module(bi *debug.BuildInfo) (version, revision string) {
	version = bi.Main.Version
	if version == "" {
		version = "(devel)"
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return version, revision
}

func format(bi *debug.BuildInfo) string {
	v := bi.Main.Version
	if v == "" {
		v = "(devel)"
	}
	settings := map[string]string{}
	for _, s := range bi.Settings {
		settings[s.Key] = s.Value
	}
	var vcs []string
	if r := settings["vcs.revision"]; r != "" {
		vcs = append(vcs, "revision "+r[:min(len(r), 12)])
	}
	if t := settings["vcs.time"]; t != "" {
		vcs = append(vcs, t)
	}
	if settings["vcs.modified"] == "true" {
		vcs = append(vcs, "modified")
	}
	s := "ckptinspect " + v
	if len(vcs) > 0 {
		s += " (" + strings.Join(vcs, ", ") + ")"
	}
	return s + ", " + bi.GoVersion
}

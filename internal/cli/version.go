package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/buildinfo"
)

// newVersionCmd builds `ckptinspect version` (as `ckptinspect --version`).
func newVersionCmd(s Streams) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version: module version, VCS revision, Go version",
		Args:  args(),
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintln(s.Out, buildinfo.Version())
			return err
		},
	}
}

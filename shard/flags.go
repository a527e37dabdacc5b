package shard

import (
	"slices"

	"github.com/spf13/pflag"
)

// FlagArgs returns the flags set on a command line, as "--name=value"
// arguments that give the same values again (a repeated flag once per
// value), leaving out those named in skip: what a part file records of
// the task's command line for merge to replay.
func FlagArgs(fs *pflag.FlagSet, skip ...string) []string {
	var args []string
	fs.Visit(func(fl *pflag.Flag) {
		if slices.Contains(skip, fl.Name) {
			return
		}
		if v, ok := fl.Value.(pflag.SliceValue); ok {
			for _, x := range v.GetSlice() {
				args = append(args, "--"+fl.Name+"="+x)
			}
			return
		}
		args = append(args, "--"+fl.Name+"="+fl.Value.String())
	})
	return args
}

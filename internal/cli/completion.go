package cli

import (
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/layout"
)

// addCompletions makes shell completion (ckptinspect completion bash|zsh|
// fish|powershell) complete flag values (--format, --sort, --layout,
// --state, --group-by) and the parameter names of the checkpoint already
// on the command line (hist CHECKPOINT NAME, report ... --hist, --filter).
func addCompletions(root *cobra.Command) {
	var layouts []string
	for _, o := range layout.Openers() {
		layouts = append(layouts, o.Name)
	}
	var states []string
	for _, s := range ckpt.DiffStates() {
		states = append(states, string(s))
	}
	fixed := map[string][]string{"format": {"table", "json", "csv"}, "layout": layouts, "layout-b": layouts,
		"state": states, "hist-state": states, "group-by": {"layer"}, "to": {"llama"}, "dtype": {"bfloat16", "float32"}}
	for _, c := range root.Commands() {
		for flag, values := range fixed {
			if c.Flags().Lookup(flag) != nil {
				c.RegisterFlagCompletionFunc(flag, cobra.FixedCompletions(values, cobra.ShellCompDirectiveNoFileComp))
			}
		}
		switch c.Name() {
		case "stats":
			c.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(report.SortFields(), cobra.ShellCompDirectiveNoFileComp))
			c.RegisterFlagCompletionFunc("filter", paramNames)
		case "diff":
			c.RegisterFlagCompletionFunc("sort", cobra.FixedCompletions(report.DiffSortFields(), cobra.ShellCompDirectiveNoFileComp))
			c.RegisterFlagCompletionFunc("filter", paramNames)
		case "report":
			c.RegisterFlagCompletionFunc("hist", paramNames)
		case "hist":
			c.ValidArgsFunction = func(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
				if len(args) == 1 {
					if _, err := os.Stat(args[0]); err == nil {
						return paramNames(c, args, toComplete) // hist CHECKPOINT NAME
					}
				}
				if len(args) >= 2 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return nil, cobra.ShellCompDirectiveDefault
			}
		}
	}
}

// paramNames completes the parameter names of the first checkpoint on the
// command line.
func paramNames(c *cobra.Command, args []string, toComplete string) ([]string, cobra.ShellCompDirective) {
	for _, a := range args {
		if _, err := os.Stat(a); err != nil {
			continue
		}
		name, _ := c.Flags().GetString("layout")
		cp, err := layout.Open(a, layout.Options{Layout: name})
		if err != nil {
			continue
		}
		defer cp.Close()
		var names []string
		for _, p := range cp.Params {
			if strings.HasPrefix(p.Name, toComplete) {
				names = append(names, p.Name)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
	return nil, cobra.ShellCompDirectiveNoFileComp
}

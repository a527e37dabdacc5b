package shard

import (
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	slurm := func(id, count, lo, hi, step string) map[string]string {
		return map[string]string{"SLURM_ARRAY_TASK_ID": id, "SLURM_ARRAY_TASK_COUNT": count, "SLURM_ARRAY_TASK_MIN": lo,
			"SLURM_ARRAY_TASK_MAX": hi, "SLURM_ARRAY_TASK_STEP": step}
	}
	with := func(env map[string]string, k, v string) map[string]string { env[k] = v; return env }
	cases := []struct {
		s    string
		env  map[string]string
		want Spec
		err  string
	}{
		{"0/1", nil, Spec{0, 1}, ""},
		{"2/3", nil, Spec{2, 3}, ""},
		{" 6 / 7 ", nil, Spec{6, 7}, ""},
		{"3/3", nil, Spec{}, "part 3 of 3"},
		{"-1/3", nil, Spec{}, "part -1 of 3"},
		{"0/0", nil, Spec{}, "0 parts"},
		{"1/100001", nil, Spec{}, "100001 parts"},
		{"1", nil, Spec{}, "want I/N"},
		{"a/b", nil, Spec{}, "want I/N"},
		{"auto", nil, Spec{}, "SLURM_ARRAY_TASK_ID is not set"},
		{"auto", slurm("3", "16", "0", "15", "1"), Spec{3, 16}, ""},
		{"auto", slurm("0", "1", "0", "0", "1"), Spec{0, 1}, ""},
		{"auto", slurm("3", "16", "1", "16", "1"), Spec{}, "--array=0-15"},
		{"auto", slurm("2", "8", "0", "14", "2"), Spec{}, "run from 0 to 14 by 2"},
		{"auto", slurm("x", "8", "0", "7", "1"), Spec{}, `SLURM_ARRAY_TASK_ID="x"`},
		{"auto", slurm("3", "", "0", "7", "1"), Spec{}, "SLURM_ARRAY_TASK_COUNT"},
		{"auto", with(slurm("11", "2", "3", "11", "8"), "CKPTINSPECT_SHARDS", "16"), Spec{11, 16}, ""},
		{"auto", with(slurm("16", "1", "16", "16", "1"), "CKPTINSPECT_SHARDS", "16"), Spec{}, "part 16 of 16"},
		{"auto", with(slurm("1", "1", "1", "1", "1"), "CKPTINSPECT_SHARDS", "many"), Spec{}, "CKPTINSPECT_SHARDS"},
	}
	for _, c := range cases {
		got, err := ParseSpec(c.s, func(k string) string { return c.env[k] })
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%q %v: %v, %v; want %v", c.s, c.env, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || !strings.HasPrefix(err.Error(), "--shard")):
			t.Errorf("%q %v: error %v, want one saying %q", c.s, c.env, err, c.err)
		}
	}
	if s := (Spec{2, 7}).String(); s != "2/7" {
		t.Errorf("String %q", s)
	}
}

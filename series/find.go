package series

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"sync"
)

// Candidate is a checkpoint path found by [Find], not yet opened.
type Candidate struct {
	Path string
	// NameStep is the step its folder name gives (checkpoint-N,
	// global_stepN, global_stepN_universal), when HasNameStep.
	NameStep    int64
	HasNameStep bool
}

var (
	trainerRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^checkpoint-(\d{1,18})$`) })
	tagRE     = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^global_step(\d{1,18})(_universal)?$`) })
)

// stepOfName returns the step a checkpoint's folder name gives.
func stepOfName(path string) (int64, bool) {
	base := filepath.Base(filepath.Clean(path))
	for _, re := range []*regexp.Regexp{trainerRE(), tagRE()} {
		if m := re.FindStringSubmatch(base); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			return n, err == nil
		}
	}
	return 0, false
}

// Find expands the RUN arguments of a series into checkpoint paths, in
// the order found (Open orders them by step):
//
//   - a folder holding checkpoint-N/ folders (a Hugging Face Trainer
//     output_dir) gives each of them;
//   - otherwise, a folder holding DeepSpeed tag folders (global_stepN/,
//     global_stepN_universal/) of two or more steps (a DeepSpeed save
//     folder) gives one tag folder per step: the universal one when a step
//     has both, unless layout is "zero";
//   - anything else is one checkpoint, given by itself (a checkpoint-N/
//     folder, a tag folder, a safetensors file ...).
//
// A path given twice (or found twice) is kept once. Find only reads folder
// listings; whether each path is a checkpoint is known when it is opened.
func Find(args []string, layout string) ([]Candidate, error) {
	var out []Candidate
	seen := map[string]bool{}
	add := func(path string) {
		key := path
		if abs, err := filepath.Abs(path); err == nil {
			key = abs
		}
		if seen[key] {
			return
		}
		seen[key] = true
		c := Candidate{Path: path}
		c.NameStep, c.HasNameStep = stepOfName(path)
		out = append(out, c)
	}
	for _, arg := range args {
		fi, err := os.Stat(arg)
		if err != nil {
			return nil, err
		}
		if !fi.IsDir() {
			add(arg)
			continue
		}
		trainer, tags, err := listRun(arg, layout)
		if err != nil {
			return nil, err
		}
		switch {
		case len(trainer) > 0:
			for _, p := range trainer {
				add(p)
			}
		case len(tags) > 1:
			for _, p := range tags {
				add(p)
			}
		default:
			add(arg)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no checkpoint given")
	}
	return out, nil
}

// listRun lists the checkpoint-N folders of dir and, per step, its tag
// folders, each sorted by step.
func listRun(dir, layout string) (trainer, tags []string, err error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, nil, err
	}
	type tag struct {
		step      int64
		universal bool
		path      string
	}
	var ts []tag
	var tr []tag
	for _, e := range ents {
		path := filepath.Join(dir, e.Name())
		if fi, err := os.Stat(path); err != nil || !fi.IsDir() {
			continue // a file, a dangling link
		}
		if m := trainerRE().FindStringSubmatch(e.Name()); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				tr = append(tr, tag{step: n, path: path})
			}
			continue
		}
		if m := tagRE().FindStringSubmatch(e.Name()); m != nil {
			n, err := strconv.ParseInt(m[1], 10, 64)
			if err == nil {
				ts = append(ts, tag{step: n, universal: m[2] != "", path: path})
			}
		}
	}
	sort.Slice(tr, func(i, j int) bool { return tr[i].step < tr[j].step })
	for _, t := range tr {
		trainer = append(trainer, t.path)
	}
	// One tag per step: universal first unless layout is zero.
	wantUniversal := layout != "zero"
	sort.Slice(ts, func(i, j int) bool {
		if ts[i].step != ts[j].step {
			return ts[i].step < ts[j].step
		}
		return ts[i].universal == wantUniversal
	})
	for i, t := range ts {
		if i > 0 && ts[i-1].step == t.step {
			continue
		}
		tags = append(tags, t.path)
	}
	return trainer, tags, nil
}

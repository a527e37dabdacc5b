package shard_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/shard"
)

// Split the statistics of a checkpoint into three parts, as three tasks
// of a job array would, and merge them: the result is that of one scan.
func Example() {
	const path = "../testdata/sample/checkpoint-120"
	c, err := layout.Open(path, layout.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	dir, _ := os.MkdirTemp("", "parts")
	defer os.RemoveAll(dir)
	for i := range 3 {
		f, _ := os.Create(filepath.Join(dir, fmt.Sprintf("stats.part-%d-of-3.json", i)))
		task := &shard.Task{Command: "stats", Args: []string{path}, Spec: shard.Spec{Index: i, Count: 3}}
		if err := task.Stats(context.Background(), f, c, ckpt.ScanOptions{}); err != nil {
			log.Fatal(err)
		}
		f.Close()
	}
	set, err := shard.Load([]string{dir})
	if err != nil {
		log.Fatal(err)
	}
	merged, err := set.Stats(c, ckpt.ScanOptions{})
	if err != nil {
		log.Fatal(err)
	}
	one, _ := ckpt.Scan(context.Background(), c, ckpt.ScanOptions{})
	fmt.Println(len(merged.Params), "parameters; same global norm:", merged.Summary.WeightNorm == one.Summary.WeightNorm)
	// Output: 45 parameters; same global norm: true
}

package pickle_test

import (
	"fmt"
	"os"

	"github.com/ckptinspect/ckptinspect/pickle"
)

// Inspect a pickle without building anything, and judge its globals.
func ExampleInspect() {
	data, _ := os.ReadFile("testdata/evil_os_system.pkl")
	prog, err := pickle.Inspect(data, pickle.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range prog.Globals {
		v, _ := pickle.Policy{}.Judge(g)
		fmt.Printf("%s.%s (%s): %s\n", g.Module, g.Name, g.Use, v)
	}
	// Output:
	// posix.system (call): dangerous
}

// Load a pickle: classes become inert objects that keep their state. The
// default policy refuses classes it does not know; Allow names the ones to
// trust.
func ExampleLoad() {
	data, _ := os.ReadFile("testdata/objects_p2.pkl")
	v, _, err := pickle.Load(data, pickle.Options{Policy: pickle.Policy{Allow: []string{"fakepkg.things.*"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	d := v.(*pickle.Dict)
	thing, _ := d.Get("thing")
	stage, _ := d.Get("stage")
	a, _ := thing.(*pickle.Object).Field("a")
	fmt.Println(thing.(*pickle.Object).Class(), "a =", a)
	fmt.Println(stage)
	// Output:
	// fakepkg.things.Thing a = 1
	// deepspeed.runtime.zero.config.ZeroStageEnum.gradients
}

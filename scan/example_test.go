package scan_test

import (
	"fmt"

	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/scan"
)

// Scan a file and list what its pickles would import.
func ExampleScanner_Path() {
	sc := scan.New(scan.Options{})
	f := sc.Path("../testdata/scan/zip_os_system.pt")
	fmt.Println(f.Format, f.Verdict)
	for _, g := range f.Globals {
		fmt.Printf("%s %s.%s\n", g.Verdict, g.Module, g.Name)
	}
	// Output:
	// zip dangerous
	// dangerous posix.system
	// safe collections.OrderedDict
	// safe torch.FloatStorage
	// safe torch._utils._rebuild_tensor_v2
}

// Trust a class of your own: unknown globals fail the default policy.
func ExampleScanner_Bytes() {
	data := []byte("\x80\x02cmylib.config\nTrainCfg\n)\x81.")
	for _, p := range []pickle.Policy{{}, {Allow: []string{"mylib.config.*"}}} {
		f := scan.New(scan.Options{Policy: p}).Bytes("cfg.pkl", data)
		fmt.Println(f.Verdict, f.Globals[0].Reason)
	}
	// Output:
	// unknown not a known data class or function (to trust it: --allow mylib.config.TrainCfg)
	// clean allowed by --allow
}

package report

import (
	"fmt"
	"io"

	"github.com/ckptinspect/ckptinspect/internal/output"
)

// Verification is the document `ckptinspect verify --format json` prints.
type Verification struct {
	Findings []FindingInfo `json:"findings"`
	Summary  VerifySummary `json:"summary"`
}

// FindingInfo is one problem found by verify.
type FindingInfo struct {
	Check    string `json:"check"`
	Severity string `json:"severity"` // "error" or "warning"
	Param    string `json:"param"`
	File     string `json:"file"`
	Message  string `json:"message"`
}

// VerifySummary sums up a verification.
type VerifySummary struct {
	Path         string `json:"path"`
	Layout       string `json:"layout"`
	Tag          string `json:"tag"`
	Step         *int64 `json:"step"`
	Params       int    `json:"params"`
	Files        int    `json:"files"`
	BytesScanned int64  `json:"bytes_scanned"`
	Deep         bool   `json:"deep"`
	BytesDeep    int64  `json:"bytes_deep"`
	Errors       int    `json:"errors"`
	Warnings     int    `json:"warnings"`
	// Config names the model config the scale factors were checked under
	// ("" when none was found: only their names were checked).
	Config string `json:"config"`
	// OK is true when there is no error (warnings allowed).
	OK bool `json:"ok"`
}

// WriteVerification writes verify's findings and summary in the given
// output format.
func WriteVerification(w io.Writer, f output.Format, doc Verification) error {
	doc.Summary.OK = doc.Summary.Errors == 0
	var err error
	switch f {
	case output.JSON:
		err = output.WriteJSON(w, doc)
	case output.CSV:
		tw := output.TableWriter{Headers: []string{"check", "severity", "param", "file", "message"}}
		for _, f := range doc.Findings {
			tw.Add(f.Check, f.Severity, f.Param, f.File, f.Message)
		}
		err = tw.WriteCSV(w)
	default:
		err = writeVerifyText(w, doc)
	}
	return err
}

func writeVerifyText(w io.Writer, doc Verification) error {
	s := doc.Summary
	var check string
	for _, f := range doc.Findings {
		if f.Check != check {
			check = f.Check
			n := 0
			for _, g := range doc.Findings {
				if g.Check == check {
					n++
				}
			}
			fmt.Fprintf(w, "%s  %s (%d)\n", check, f.Severity, n)
		}
		fmt.Fprintf(w, "  %s\n", f.Message)
		if f.File != "" {
			fmt.Fprintf(w, "    file: %s\n", f.File)
		}
	}
	verdict := "OK"
	if s.Errors > 0 {
		verdict = "FAILED"
	}
	deep := ""
	if s.Deep {
		deep = fmt.Sprintf(", CRC-32 of %s checked", output.Bytes(s.BytesDeep))
	}
	step := "?"
	if s.Step != nil {
		step = fmt.Sprint(*s.Step)
	}
	_, err := fmt.Fprintf(w, "verify %s: %s at step %s: %d parameters, %d files, %s scanned%s: %d errors, %d warnings\n",
		verdict, s.Path, step, s.Params, s.Files, output.Bytes(s.BytesScanned), deep, s.Errors, s.Warnings)
	return err
}

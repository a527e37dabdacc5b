package shard

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/verify"
)

// CopyBytes is what verify's passes over one copy of a checkpoint read:
// the value scan's tensor bytes, the CRC pass's bytes.
type CopyBytes struct {
	Scanned int64 `json:"bytes_scanned"`
	Deep    int64 `json:"bytes_deep"`
}

// FileCRC is the result of a file unit of verify --deep: the CRC findings
// of the file.
type FileCRC struct {
	Unit     int       `json:"unit"`
	Path     string    `json:"path"`
	Findings []Finding `json:"findings"`
}

// verifyUnit is what a unit of a split verify is: a parameter of a copy,
// or (--deep) a zip file of a copy.
type verifyUnit struct {
	copy  int
	param *ckpt.Param
	file  *ckpt.File
}

// verifyUnits returns the units of a split verify of tg: each copy's
// parameters (bytes: those the value scan reads), then with deep its zip
// files (bytes: those of their records, which the CRC pass reads).
func verifyUnits(tg *verify.Target, deep bool) (string, []Unit, []verifyUnit) {
	var units []Unit
	var refs []verifyUnit
	for k, c := range tg.Copies {
		for _, p := range c.Params {
			units = append(units, Unit{Name: c.Layout + " " + p.Name, Bytes: paramBytes(p)})
			refs = append(refs, verifyUnit{copy: k, param: p})
		}
		if !deep {
			continue
		}
		for _, f := range c.Files {
			if len(f.Records) == 0 {
				continue
			}
			var n int64
			for _, r := range f.Records {
				n += r.CompressedSize
			}
			units = append(units, Unit{Name: c.Layout + " file " + f.Path, Bytes: n})
			refs = append(refs, verifyUnit{copy: k, file: f})
		}
	}
	kind := "parameter"
	if deep {
		kind = "parameter or file"
	}
	return kind, units, refs
}

// Verify does part t.Spec of `verify` of tg with opt and writes the part
// to w: the parameters of every copy (and with opt.Deep their zip files)
// are split by bytes ([Balance]); the part's parameters get the value
// scan and its checks (verify.ScanValues), its files the CRC pass
// (verify.CheckCRC). The checks that read no tensor are left to the merge
// (they are run here too, for their errors).
func (t *Task) Verify(ctx context.Context, w io.Writer, tg *verify.Target, opt verify.Options) error {
	started := time.Now()
	roots := []string{tg.Path}
	_, files := inputsOf(tg.Copies, opt.Config)
	in, _, err := StatInputs(roots, files)
	if err != nil {
		return err
	}
	kind, units, refs := verifyUnits(tg, opt.Deep)
	p, err := t.begin(Balance(kind, units, t.Spec.Count), in, started)
	if err != nil {
		return err
	}
	params, fileUnits := map[*ckpt.Param]int{}, map[*ckpt.File]int{}
	for _, u := range p.Split.Owned {
		if r := refs[u]; r.param != nil {
			params[r.param] = u
		} else {
			fileUnits[r.file] = u
		}
	}
	p.Copies = make([]CopyBytes, len(tg.Copies))
	for k, c := range tg.Copies {
		if _, err := verify.Begin(c, opt); err != nil {
			return err
		}
		v, err := verify.ScanValues(ctx, c, opt, func(x *ckpt.Param) bool { _, ok := params[x]; return ok })
		if err != nil {
			return err
		}
		for i, pr := range v.Params {
			x := paramOf(params[pr.Param], pr)
			x.Findings = findingsOf(v.Findings[i])
			p.Params = append(p.Params, x)
		}
		p.Copies[k].Scanned = v.Bytes
		if opt.Deep {
			crc, err := verify.CheckCRC(ctx, c, opt, func(f *ckpt.File) bool { _, ok := fileUnits[f]; return ok })
			if err != nil {
				return err
			}
			for i, f := range crc.Files {
				p.Files = append(p.Files, FileCRC{Unit: fileUnits[f], Path: f.Path, Findings: findingsOf(crc.Findings[i])})
			}
			p.Copies[k].Deep = crc.Bytes
		}
	}
	return t.finish(w, p, roots, files, started)
}

// Verify returns the report of `verify` of tg with opt from the parts, as
// tg.Run would give it: for every copy, verify.Begin's checks (run here),
// then the value results and findings of every parameter and the CRC
// findings of every file, each from its part, put together by
// verify.Report.Finish; then tg.Combine. The parts are first checked
// against tg's files as they are now and the plan tg gives now.
func (s *Set) Verify(tg *verify.Target, opt verify.Options) (*verify.TargetReport, error) {
	if err := s.is("verify"); err != nil {
		return nil, err
	}
	kind, units, refs := verifyUnits(tg, opt.Deep)
	plan := Balance(kind, units, len(s.Parts))
	_, files := inputsOf(tg.Copies, opt.Config)
	if err := s.fresh(plan, true, func(int) ([]string, []string) { return []string{tg.Path}, files }); err != nil {
		return nil, err
	}
	params, err := collect(s, plan, func(p *Part) []Param { return p.Params }, func(x Param) int { return x.Unit },
		func(u int) bool { return refs[u].param != nil })
	if err != nil {
		return nil, err
	}
	crcs, err := collect(s, plan, func(p *Part) []FileCRC { return p.Files }, func(x FileCRC) int { return x.Unit },
		func(u int) bool { return refs[u].file != nil })
	if err != nil {
		return nil, err
	}
	var reports []*verify.Report
	for k, c := range tg.Copies {
		r, err := verify.Begin(c, opt)
		if err != nil {
			return nil, err
		}
		v := &verify.Values{}
		var crc *verify.CRC
		if opt.Deep {
			crc = &verify.CRC{}
		}
		for _, p := range s.Parts {
			if len(p.Copies) != len(tg.Copies) {
				return nil, fmt.Errorf("%w: %s holds %d copies, the checkpoint has %d", ErrParts, p.file, len(p.Copies), len(tg.Copies))
			}
			v.Bytes += p.Copies[k].Scanned
			if crc != nil {
				crc.Bytes += p.Copies[k].Deep
			}
		}
		for u, ref := range refs {
			if ref.copy != k {
				continue
			}
			file := s.Parts[plan.Part[u]].file
			switch {
			case ref.param != nil:
				pr, err := params[u].result(ref.param, nil)
				if err == nil {
					var fs []verify.Finding
					if fs, err = findings(params[u].Findings); err == nil {
						v.Params = append(v.Params, pr)
						v.Findings = append(v.Findings, fs)
					}
				}
				if err != nil {
					return nil, fmt.Errorf("%s: %w", file, err)
				}
			case crc != nil:
				if crcs[u].Path != ref.file.Path {
					return nil, fmt.Errorf("%w: %s: unit %d is file %s in the part, %s in the checkpoint", ErrParts, file, u, crcs[u].Path, ref.file.Path)
				}
				fs, err := findings(crcs[u].Findings)
				if err != nil {
					return nil, fmt.Errorf("%s: %w", file, err)
				}
				crc.Files = append(crc.Files, ref.file)
				crc.Findings = append(crc.Findings, fs)
			}
		}
		r.Finish(c, v, crc)
		reports = append(reports, r)
	}
	return tg.Combine(reports), nil
}

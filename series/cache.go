package series

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/yulan"
)

// cacheVersion changes whenever what an entry holds, or how a figure is
// computed, changes: entries of another version are measured again.
const cacheVersion = 1

// maxEntry bounds the size of a cache entry read back (a few hundred bytes
// per parameter and state).
const maxEntry = 1 << 30

// cache keeps one JSON file per checkpoint (and layout and filter
// options) in dir: the checkpoint's fingerprint, its metadata, its rows
// without the change from the previous checkpoint, and that change with the
// previous checkpoint's path and fingerprint.
type cache struct {
	dir            string
	layout, filter string
	// effective is "" without Options.Effective, else the config option
	// the effective weights were measured under (see Series.effectiveKey).
	effective string
}

// entry is one cache file.
type entry struct {
	Version     int         `json:"version"`
	Path        string      `json:"path"`
	Layout      string      `json:"layout_option"`
	Filter      string      `json:"filter"`
	Effective   string      `json:"effective,omitempty"`
	Fingerprint string      `json:"fingerprint"`
	Info        info        `json:"info"`
	Rows        []cacheRow  `json:"rows,omitempty"`
	Delta       *cacheDelta `json:"delta,omitempty"`
}

type cacheRow struct {
	Param          string       `json:"param"`
	State          ckpt.State   `json:"state"`
	Numel          int64        `json:"numel"`
	L2             output.Float `json:"l2"`
	RMS            output.Float `json:"rms"`
	Mean           output.Float `json:"mean"`
	Std            output.Float `json:"std"`
	Min            output.Float `json:"min"`
	Max            output.Float `json:"max"`
	AbsMax         output.Float `json:"absmax"`
	NaN            int64        `json:"nan"`
	Inf            int64        `json:"inf"`
	Zeros          int64        `json:"zeros"`
	UpdateRMS      output.Float `json:"update_rms"`
	UpdateToWeight output.Float `json:"update_to_weight"`
}

// cacheDelta is the change of each parameter's fp32 weight from the
// checkpoint at PrevPath as it was when its fingerprint was PrevFingerprint.
type cacheDelta struct {
	PrevPath        string                     `json:"prev_path"`
	PrevFingerprint string                     `json:"prev_fingerprint"`
	Params          map[string][3]output.Float `json:"params"` // delta_l2, rel_change, cosine
}

// file returns the entry's file name for a checkpoint's absolute path.
func (c *cache) file(abs string) string {
	h := sha256.Sum256([]byte(abs + "\x00" + c.layout + "\x00" + c.filter + "\x00" + c.effective))
	return filepath.Join(c.dir, hex.EncodeToString(h[:16])+".json")
}

// load reads the entry of a checkpoint; it returns nil (and no error) when
// there is none or it is stale (another version, options or fingerprint).
func (c *cache) load(abs, fp string, v any) (bool, error) {
	f, err := os.Open(c.file(abs))
	if errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	defer f.Close()
	var head struct {
		Version     int    `json:"version"`
		Path        string `json:"path"`
		Layout      string `json:"layout_option"`
		Filter      string `json:"filter"`
		Effective   string `json:"effective"`
		Fingerprint string `json:"fingerprint"`
	}
	b, err := io.ReadAll(io.LimitReader(f, maxEntry+1))
	if err != nil {
		return false, err
	}
	if len(b) > maxEntry {
		return false, fmt.Errorf("%s: larger than %d bytes", c.file(abs), maxEntry)
	}
	if err := json.Unmarshal(b, &head); err != nil {
		return false, fmt.Errorf("%s: %w", c.file(abs), err)
	}
	if head.Version != cacheVersion || head.Path != abs || head.Layout != c.layout || head.Filter != c.filter || head.Effective != c.effective || head.Fingerprint != fp {
		return false, nil
	}
	if err := json.Unmarshal(b, v); err != nil {
		return false, fmt.Errorf("%s: %w", c.file(abs), err)
	}
	return true, nil
}

// loadMeta returns a checkpoint's entry without its rows, or nil.
func (c *cache) loadMeta(abs, fp string) (*entry, error) {
	var e struct {
		Info  info `json:"info"`
		Delta *struct {
			PrevPath        string `json:"prev_path"`
			PrevFingerprint string `json:"prev_fingerprint"`
		} `json:"delta"`
	}
	ok, err := c.load(abs, fp, &e)
	if !ok {
		return nil, err
	}
	out := &entry{Info: e.Info}
	if e.Delta != nil {
		out.Delta = &cacheDelta{PrevPath: e.Delta.PrevPath, PrevFingerprint: e.Delta.PrevFingerprint}
	}
	return out, nil
}

// loadFull returns a checkpoint's whole entry, or nil.
func (c *cache) loadFull(abs, fp string) (*entry, error) {
	var e entry
	ok, err := c.load(abs, fp, &e)
	if !ok {
		return nil, err
	}
	for _, r := range e.Rows {
		if !validState(r.State) && (r.State != EffectiveState || c.effective == "") || r.Numel < 0 {
			return nil, fmt.Errorf("%s: a row of parameter %q has state %q and %d elements", c.file(abs), r.Param, r.State, r.Numel)
		}
	}
	return &e, nil
}

func validState(s ckpt.State) bool {
	for _, k := range ckpt.States() {
		if s == k {
			return true
		}
	}
	return false
}

// store writes a checkpoint's entry (atomically: a temporary file renamed
// over the old one).
func (c *cache) store(abs, fp string, in info, rows []Row, hasPrev bool, prevAbs, prevFP string, deltas map[string]delta) error {
	e := entry{Version: cacheVersion, Path: abs, Layout: c.layout, Filter: c.filter, Effective: c.effective, Fingerprint: fp, Info: in}
	for _, r := range rows {
		e.Rows = append(e.Rows, cacheRow{Param: r.Param, State: r.State, Numel: r.Numel,
			L2: output.Float(r.L2), RMS: output.Float(r.RMS), Mean: output.Float(r.Mean), Std: output.Float(r.Std),
			Min: output.Float(r.Min), Max: output.Float(r.Max), AbsMax: output.Float(r.AbsMax),
			NaN: r.NaN, Inf: r.Inf, Zeros: r.Zeros,
			UpdateRMS: output.Float(r.UpdateRMS), UpdateToWeight: output.Float(r.UpdateToWeight)})
	}
	if hasPrev {
		e.Delta = &cacheDelta{PrevPath: prevAbs, PrevFingerprint: prevFP, Params: map[string][3]output.Float{}}
		for name, d := range deltas {
			e.Delta.Params[name] = [3]output.Float{output.Float(d.L2), output.Float(d.Rel), output.Float(d.Cos)}
		}
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(c.dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(c.dir, ".entry-*")
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), c.file(abs))
	}
	if err != nil {
		os.Remove(f.Name())
	}
	return err
}

// rows returns the entry's rows at a step, without deltas.
func (e *entry) rows(step int64) []Row {
	out := make([]Row, len(e.Rows))
	for i, r := range e.Rows {
		n := yulan.Parse(r.Param)
		out[i] = Row{Step: step, Param: r.Param, Layer: n.Layer, Kind: n.Kind, State: r.State, Numel: r.Numel,
			L2: float64(r.L2), RMS: float64(r.RMS), Mean: float64(r.Mean), Std: float64(r.Std),
			Min: float64(r.Min), Max: float64(r.Max), AbsMax: float64(r.AbsMax),
			NaN: r.NaN, Inf: r.Inf, Zeros: r.Zeros,
			UpdateRMS: float64(r.UpdateRMS), UpdateToWeight: float64(r.UpdateToWeight),
			DeltaL2: nan, RelChange: nan, Cosine: nan}
	}
	return out
}

// deltas returns the entry's changes from the previous checkpoint.
func (e *entry) deltas() map[string]delta {
	out := map[string]delta{}
	if e.Delta == nil {
		return out
	}
	for name, d := range e.Delta.Params {
		out[name] = delta{float64(d[0]), float64(d[1]), float64(d[2])}
	}
	return out
}

// fingerprint identifies the state of a checkpoint's files: a hash of the
// relative path, size and modification time of every regular file below
// path (or, for a file, of every regular file beside it, since a file may
// name others: a safetensors index its shards). path itself may be a
// symbolic link; folders reached through links below it are not entered.
// It also returns the files' total size.
func fingerprint(path string) (string, int64, error) {
	root, err := filepath.EvalSymlinks(path) // a linked checkpoint folder is walked too
	if err != nil {
		return "", 0, err
	}
	fi, err := os.Stat(root)
	if err != nil {
		return "", 0, err
	}
	h := sha256.New()
	var size int64
	add := func(p string) error {
		fi, err := os.Stat(p)
		if errors.Is(err, fs.ErrNotExist) {
			return nil // a dangling link
		}
		if err != nil {
			return err
		}
		if !fi.Mode().IsRegular() {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%q %d %d\n", rel, fi.Size(), fi.ModTime().UnixNano())
		size += fi.Size()
		return nil
	}
	if !fi.IsDir() {
		root = filepath.Dir(root)
		ents, err := os.ReadDir(root)
		if err != nil {
			return "", 0, err
		}
		for _, e := range ents {
			if !e.IsDir() {
				if err := add(filepath.Join(root, e.Name())); err != nil {
					return "", 0, err
				}
			}
		}
		return hex.EncodeToString(h.Sum(nil)), size, nil
	}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		return add(p)
	})
	if err != nil {
		return "", 0, fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), size, nil
}

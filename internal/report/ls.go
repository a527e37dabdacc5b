package report

import (
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/ckpt"
	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/layout"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// NonNil returns s, or an empty slice for nil (so JSON shows [], not null).
func NonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

// NonNilS is NonNil for strings.
func NonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// TreeBuilder turns loaded values into report nodes, refusing to enter a
// container already on the current path (a cycle), showing a container
// reached again by another path once only (a "shared" node names where it
// is shown: a pickle can reach one value by a million paths), and bounding
// the total.
type TreeBuilder struct {
	maxItems int // per container, 0 for all
	onPath   map[any]bool
	shown    map[any]string // containers shown, and where
	path     string
	nodes    int
}

func (b *TreeBuilder) node(v any) Node {
	if b.onPath == nil {
		b.onPath = map[any]bool{}
		b.shown = map[any]string{}
	}
	b.nodes++
	if b.nodes > maxTreeNodes {
		return Node{Kind: "truncated"}
	}
	switch x := v.(type) {
	case nil:
		return Node{Kind: "none"}
	case bool:
		return Node{Kind: "bool", Value: x}
	case int64:
		return Node{Kind: "int", Value: x}
	case *big.Int:
		return Node{Kind: "int", Value: x.String()}
	case float64:
		return Node{Kind: "float", Value: output.Float(x)}
	case string:
		return Node{Kind: "str", Value: x}
	case pickle.Bytes:
		return Node{Kind: "bytes", Value: len(x)}
	case torchsave.Size:
		return Node{Kind: "size", Value: NonNil([]int64(x))}
	case *torchsave.Tensor:
		off, nb := x.Offset, x.NBytes()
		return Node{Kind: "tensor", DType: x.DType.String(), Shape: NonNil(x.Shape), Strides: NonNil(x.Strides),
			StorageOffset: &off, NBytes: &nb, Parameter: x.Parameter}
	case *torchsave.Storage:
		nb := x.Size
		return Node{Kind: "storage", DType: x.DType.String(), NBytes: &nb}
	case *pickle.Global:
		return Node{Kind: "global", Class: x.String()}
	}
	switch v.(type) {
	case *pickle.Dict, *pickle.List, *pickle.Set, *pickle.Object:
		if b.onPath[v] {
			return Node{Kind: "cycle"}
		}
		if where, ok := b.shown[v]; ok {
			return Node{Kind: "shared", Value: where}
		}
		b.shown[v] = b.path
		b.onPath[v] = true
		defer delete(b.onPath, v)
	}
	switch x := v.(type) {
	case *pickle.Dict:
		n := Node{Kind: "dict"}
		if x.Ordered {
			n.Kind = "ordered_dict"
		}
		for i, it := range x.Items {
			if b.cut(i, len(x.Items), &n) {
				break
			}
			n.Entries = append(n.Entries, Entry{Key: torchsave.PathElem(it.Key), Value: b.child(torchsave.PathElem(it.Key), it.Value)})
		}
		return n
	case *pickle.List:
		return b.seq("list", x.Items)
	case pickle.Tuple:
		return b.seq("tuple", x)
	case *pickle.Set:
		if x.Frozen {
			return b.seq("frozenset", x.Items)
		}
		return b.seq("set", x.Items)
	case *pickle.Object:
		n := Node{Kind: "object", Class: x.Class(), Member: x.Member}
		if x.Member == "" {
			fields := x.Fields()
			if fields == nil {
				for i, a := range x.Args {
					if b.cut(i, len(x.Args), &n) {
						break
					}
					n.Args = append(n.Args, b.child("args."+strconv.Itoa(i), a))
				}
			}
			all := append(append([]pickle.Item{}, fields...), x.Items...)
			for i, it := range all {
				if b.cut(i, len(all), &n) {
					break
				}
				n.Fields = append(n.Fields, Entry{Key: torchsave.PathElem(it.Key), Value: b.child(torchsave.PathElem(it.Key), it.Value)})
			}
			if x.State != nil && fields == nil {
				n.Fields = append(n.Fields, Entry{Key: "__state__", Value: b.child("__state__", x.State)})
			}
			for i, a := range x.Appended {
				n.Items = append(n.Items, b.child(strconv.Itoa(i), a))
			}
		}
		return n
	}
	return Node{Kind: "unknown"}
}

// child builds the node of a value one step below the current path.
func (b *TreeBuilder) child(elem string, v any) Node {
	parent := b.path
	b.path = torchsave.Join(parent, elem)
	n := b.node(v)
	b.path = parent
	return n
}

func (b *TreeBuilder) cut(i, n int, node *Node) bool {
	if b.maxItems > 0 && i >= b.maxItems {
		node.Truncated = n - i
		return true
	}
	return false
}

func (b *TreeBuilder) seq(kind string, items []any) Node {
	n := Node{Kind: kind}
	for i, e := range items {
		if b.cut(i, len(items), &n) {
			break
		}
		n.Items = append(n.Items, b.child(strconv.Itoa(i), e))
	}
	if n.Items == nil && len(items) == 0 {
		n.Items = []Node{}
	}
	return n
}

// summary is the one-line description of a node in the text tree.
func summary(n Node) string {
	switch n.Kind {
	case "none":
		return "None"
	case "bool":
		if n.Value.(bool) {
			return "True"
		}
		return "False"
	case "int":
		return fmt.Sprint(n.Value)
	case "float":
		return strconv.FormatFloat(float64(n.Value.(output.Float)), 'g', -1, 64)
	case "str":
		s := n.Value.(string)
		if len(s) > 80 {
			s = s[:77] + "..."
		}
		return strconv.Quote(s)
	case "bytes":
		return fmt.Sprintf("bytes (%d)", n.Value)
	case "size":
		return "torch.Size(" + output.Shape(n.Value.([]int64)) + ")"
	case "tensor":
		s := n.DType + output.Shape(n.Shape) + "  " + output.Bytes(*n.NBytes)
		if n.Parameter {
			s += "  Parameter"
		}
		if !contiguous(n.Shape, n.Strides) {
			s += "  strides " + output.Shape(n.Strides)
		}
		if *n.StorageOffset != 0 {
			s += fmt.Sprintf("  offset %d", *n.StorageOffset)
		}
		return s
	case "storage":
		return n.DType + " storage  " + output.Bytes(*n.NBytes)
	case "global":
		return "<class " + n.Class + ">"
	case "object":
		if n.Member != "" {
			return n.Class + "." + n.Member
		}
		return n.Class
	case "dict":
		return fmt.Sprintf("dict (%d items)", len(n.Entries)+n.Truncated)
	case "ordered_dict":
		return fmt.Sprintf("OrderedDict (%d items)", len(n.Entries)+n.Truncated)
	case "list", "tuple", "set", "frozenset":
		return fmt.Sprintf("%s (%d items)", n.Kind, len(n.Items)+n.Truncated)
	case "cycle":
		return "<cycle>"
	}
	return "<" + n.Kind + ">"
}

func contiguous(shape, strides []int64) bool {
	st := int64(1)
	for k := len(shape) - 1; k >= 0; k-- {
		if shape[k] != 1 && strides[k] != st {
			return false
		}
		st *= shape[k]
	}
	return true
}

func writeTree(w io.Writer, n Node, label string, depth int) error {
	indent := strings.Repeat("  ", depth)
	head := summary(n)
	if label != "" {
		head = label + ": " + head
	}
	if _, err := fmt.Fprintln(w, indent+head); err != nil {
		return err
	}
	for _, e := range n.Entries {
		if err := writeTree(w, e.Value, e.Key, depth+1); err != nil {
			return err
		}
	}
	for i, a := range n.Args {
		if err := writeTree(w, a, fmt.Sprintf("arg %d", i), depth+1); err != nil {
			return err
		}
	}
	for _, e := range n.Fields {
		if err := writeTree(w, e.Value, e.Key, depth+1); err != nil {
			return err
		}
	}
	for i, it := range n.Items {
		if err := writeTree(w, it, strconv.Itoa(i), depth+1); err != nil {
			return err
		}
	}
	if n.Truncated > 0 {
		fmt.Fprintf(w, "%s  ... %d more\n", indent, n.Truncated)
	}
	return nil
}

// maxTreeNodes bounds the nodes of one listing's tree (about 250 bytes each
// in memory): real checkpoints have a few thousand.
const maxTreeNodes = 250_000

// WriteTorchListing writes what `ls` shows of a torch.save file: its
// object tree and its tensors (named by their dotted key paths).
func WriteTorchListing(w io.Writer, format output.Format, path string, f *torchsave.File, tensors []torchsave.NamedTensor, maxItems int) error {
	infos := make([]TensorInfo, len(tensors))
	for i, nt := range tensors {
		t := nt.Tensor
		infos[i] = TensorInfo{Name: nt.Name, DType: t.DType.String(), Shape: NonNil(t.Shape),
			Strides: NonNil(t.Strides), StorageOffset: t.Offset, NBytes: t.NBytes(),
			Storage: t.Storage.Key, StorageNumel: t.Storage.Numel}
	}
	switch format {
	case output.JSON:
		b := TreeBuilder{}
		doc := Listing{File: path, Format: string(f.Format), Version: f.Version, Size: f.Size(),
			Warnings: NonNilS(f.Warnings), Tree: b.node(f.Root), Tensors: infos}
		return output.WriteJSON(w, doc)
	case output.CSV:
		tw := output.TableWriter{Headers: []string{"name", "dtype", "shape", "strides", "storage_offset", "nbytes"}}
		for _, t := range infos {
			tw.Add(t.Name, t.DType, output.ShapeCompact(t.Shape), output.ShapeCompact(t.Strides),
				strconv.FormatInt(t.StorageOffset, 10), strconv.FormatInt(t.NBytes, 10))
		}
		return tw.WriteCSV(w)
	}
	var total int64
	for _, t := range infos {
		total += t.NBytes
	}
	fmt.Fprintf(w, "%s: %s format", path, f.Format)
	if f.Version != "" {
		fmt.Fprintf(w, " (version %s)", f.Version)
	}
	fmt.Fprintf(w, ", %s, %d tensors holding %s\n", output.Bytes(f.Size()), len(infos), output.Bytes(total))
	b := TreeBuilder{maxItems: maxItems}
	return writeTree(w, b.node(f.Root), "", 0)
}

// WriteSafetensorsListing writes what `ls` shows of a safetensors file:
// its metadata and tensors.
func WriteSafetensorsListing(w io.Writer, format output.Format, path string, f *safetensors.File, maxItems int) error {
	root := Node{Kind: "dict"}
	if f.Metadata != nil {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		md := Node{Kind: "dict", Entries: []Entry{}}
		for _, k := range keys {
			md.Entries = append(md.Entries, Entry{Key: k, Value: Node{Kind: "str", Value: f.Metadata[k]}})
		}
		root.Entries = append(root.Entries, Entry{Key: "__metadata__", Value: md})
	}
	var infos []TensorInfo
	var total int64
	for _, t := range f.Tensors {
		v := t.View
		off, nb := int64(0), v.NBytes()
		total += nb
		root.Entries = append(root.Entries, Entry{Key: t.Name, Value: Node{Kind: "tensor", DType: t.DType.String(),
			Shape: NonNil(t.Shape), Strides: NonNil(v.Strides), StorageOffset: &off, NBytes: &nb}})
		infos = append(infos, TensorInfo{Name: t.Name, DType: t.DType.String(), Shape: NonNil(t.Shape),
			Strides: NonNil(v.Strides), NBytes: nb, Storage: t.Name, StorageNumel: v.Numel()})
	}
	if infos == nil {
		infos = []TensorInfo{}
	}
	switch format {
	case output.JSON:
		return output.WriteJSON(w, Listing{File: path, Format: "safetensors", Size: f.Size(),
			Warnings: []string{}, Tree: root, Tensors: infos})
	case output.CSV:
		tw := output.TableWriter{Headers: []string{"name", "dtype", "shape", "strides", "storage_offset", "nbytes"}}
		for _, t := range infos {
			tw.Add(t.Name, t.DType, output.ShapeCompact(t.Shape), output.ShapeCompact(t.Strides), "0", strconv.FormatInt(t.NBytes, 10))
		}
		return tw.WriteCSV(w)
	}
	fmt.Fprintf(w, "%s: safetensors format, %s, %d tensors holding %s\n", path, output.Bytes(f.Size()), len(infos), output.Bytes(total))
	if maxItems > 0 && len(root.Entries) > maxItems {
		root.Truncated = len(root.Entries) - maxItems
		root.Entries = root.Entries[:maxItems]
	}
	return writeTree(w, root, "", 0)
}

// ParamListing is the document `ckptinspect ls CHECKPOINT --format json`
// prints for a checkpoint folder: what it is and its parameters.
type ParamListing struct {
	Checkpoint CheckpointInfo `json:"checkpoint"`
	Params     []ParamEntry   `json:"params"`
}

// ParamEntry is one parameter of a listing: its shape, the dtype of its
// weight (the fp32 master's, else the module's), the states it has
// (fp32, exp_avg, exp_avg_sq, bf16, then any other), its step and
// optimizer group (null when unknown).
type ParamEntry struct {
	Name   string   `json:"name"`
	Shape  []int64  `json:"shape"`
	DType  string   `json:"dtype"`
	States []string `json:"states"`
	Step   *int64   `json:"step"`
	Group  *int     `json:"group"`
}

// BuildParamListing lists a checkpoint's parameters.
func BuildParamListing(c *ckpt.Checkpoint) ParamListing {
	doc := ParamListing{Checkpoint: CheckpointInfoOf(c), Params: []ParamEntry{}}
	doc.Checkpoint.Notes = append(doc.Checkpoint.Notes, MissingNotes(c, nil)...)
	for _, p := range c.Params {
		e := ParamEntry{Name: p.Name, Shape: NonNil(p.Shape), States: []string{}, Step: p.Step}
		for _, t := range append([]*ckpt.Tensor{p.FP32, p.ExpAvg, p.ExpAvgSq, p.BF16}, p.Other...) {
			if t == nil {
				continue
			}
			e.States = append(e.States, string(t.State))
			if e.DType == "" {
				e.DType = t.DType.String()
			}
		}
		if p.Group >= 0 {
			g := p.Group
			e.Group = &g
		}
		doc.Params = append(doc.Params, e)
	}
	return doc
}

// shortStates abbreviates the moments as the stats table does (m, v).
func shortStates(states []string) string {
	out := make([]string, len(states))
	for i, s := range states {
		switch ckpt.State(s) {
		case ckpt.ExpAvg:
			s = "m"
		case ckpt.ExpAvgSq:
			s = "v"
		}
		out[i] = s
	}
	return strings.Join(out, " ")
}

// WriteParamListing writes a checkpoint's parameters in the given output
// format.
func WriteParamListing(w io.Writer, f output.Format, doc ParamListing, t Text) error {
	ew, check := guard(w)
	return check(writeParamListingBody(ew, f, doc, t))
}

func writeParamListingBody(w io.Writer, f output.Format, doc ParamListing, t Text) error {
	if f == output.JSON {
		return output.WriteJSON(w, doc)
	}
	tw := &output.TableWriter{Headers: []string{"parameter", "shape", "dtype", "states", "step"}, Align: []output.Align{0, 0, 0, 0, output.Right}}
	for _, p := range doc.Params {
		if f == output.CSV {
			tw.Add(p.Name, output.ShapeCompact(p.Shape), p.DType, strings.Join(p.States, " "), OptInt(p.Step))
		} else {
			tw.Add(p.Name, output.ShapeCompact(p.Shape), p.DType, shortStates(p.States), OptInt(p.Step))
		}
	}
	if f == output.CSV {
		return tw.WriteCSV(w)
	}
	t.writeHeader(w, doc.Checkpoint)
	fmt.Fprintln(w)
	if err := t.table(w, tw); err != nil {
		return err
	}
	fmt.Fprintln(w)
	t.printf(w, "  ", "%d parameters; states: fp32 master weight, m = exp_avg, v = exp_avg_sq, bf16 module weight", len(doc.Params))
	return nil
}

// RunListing is the document `ckptinspect ls RUN --format json` prints for
// a training run's output folder: its checkpoint-N/ folders, by N.
type RunListing struct {
	Path        string     `json:"path"`
	Checkpoints []RunEntry `json:"checkpoints"`
}

// RunEntry is one checkpoint-N/ folder of a run, with the layouts it
// holds (empty when none is readable).
type RunEntry struct {
	Path    string   `json:"path"`
	N       int64    `json:"n"`
	Layouts []string `json:"layouts"`
}

// BuildRunListing lists the checkpoint-N/ folders of a run (none when path
// is not a run's folder).
func BuildRunListing(path string) RunListing {
	doc := RunListing{Path: path, Checkpoints: []RunEntry{}}
	for _, r := range layout.Runs(path) {
		found, _ := layout.Detect(r.Dir)
		doc.Checkpoints = append(doc.Checkpoints, RunEntry{Path: r.Dir, N: r.N, Layouts: NonNilS(found)})
	}
	return doc
}

// WriteRunListing writes a run's checkpoints in the given output format.
func WriteRunListing(w io.Writer, f output.Format, doc RunListing, t Text) error {
	ew, check := guard(w)
	return check(writeRunListingBody(ew, f, doc, t))
}

func writeRunListingBody(w io.Writer, f output.Format, doc RunListing, t Text) error {
	if f == output.JSON {
		return output.WriteJSON(w, doc)
	}
	tw := &output.TableWriter{Headers: []string{"checkpoint", "layouts"}}
	for _, e := range doc.Checkpoints {
		tw.Add(e.Path, strings.Join(e.Layouts, " "))
	}
	if f == output.CSV {
		return tw.WriteCSV(w)
	}
	if err := t.table(w, tw); err != nil {
		return err
	}
	if n := len(doc.Checkpoints); n > 0 {
		fmt.Fprintln(w)
		t.printf(w, "  ", "%d checkpoints; stats, verify and the other commands read %s (the last) when given %s", n, doc.Checkpoints[n-1].Path, doc.Path)
	}
	return nil
}

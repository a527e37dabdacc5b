package cli

import (
	"fmt"
	"io"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/ckptinspect/ckptinspect/internal/output"
	"github.com/ckptinspect/ckptinspect/internal/report"
	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/safetensors"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// LsOptions are the inputs of `ckptinspect ls`.
type LsOptions struct {
	Streams  Streams
	Path     string
	Format   output.Format
	MaxItems int
}

// NewLsCmd builds `ckptinspect ls`. runF, when not nil, replaces the
// command's behaviour (for tests of flag parsing).
func NewLsCmd(s Streams, runF func(*LsOptions) error) *cobra.Command {
	opts := &LsOptions{Streams: s}
	var format string
	cmd := &cobra.Command{
		Use:   "ls FILE",
		Short: "Show the object tree of a torch.save file",
		Long: `Show what a torch.save file (zip or legacy format, or a plain pickle) holds:
dicts, lists and scalars, tensors as dtype[shape] with their size, and objects
of other classes (DeepSpeed's LossScaler, DeepSpeedConfig, ...) as module.Class
with their fields. Nothing in the file is executed.

With --format json the output is the tree plus a flat list of tensors with
their dotted key paths; --format csv prints that tensor list only.`,
		Example: `  ckptinspect ls checkpoint-120/global_step120_universal/mp_rank_00_model_states.pt
  ckptinspect ls optimizer_state.pt --max-items 5
  ckptinspect ls fp32.pt --format json | jq '.tensors[].name'`,
		Args: cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Path = args[0]
			f, err := parseFormat(format)
			if err != nil {
				return err
			}
			opts.Format = f
			if runF != nil {
				return runF(opts)
			}
			return runLs(opts)
		},
	}
	formatFlag(cmd, &format)
	cmd.Flags().IntVar(&opts.MaxItems, "max-items", 50, "show at most this many items of each container in the table format (0: all)")
	return cmd
}

func runLs(o *LsOptions) error {
	if safetensors.IsFile(o.Path) {
		if err := refuseFlagged(o.Path); err != nil {
			return inputError(err)
		}
		return runLsSafetensors(o)
	}
	f, err := torchsave.Open(o.Path, torchsave.Options{})
	if err != nil {
		return inputError(err)
	}
	defer f.Close()
	for _, w := range f.Warnings {
		fmt.Fprintf(o.Streams.ErrOut, "ckptinspect: warning: %s: %s\n", o.Path, w)
	}
	tensors, err := f.Tensors()
	if err != nil {
		return inputError(fmt.Errorf("%s: %w", o.Path, err))
	}
	infos := make([]report.TensorInfo, len(tensors))
	for i, nt := range tensors {
		t := nt.Tensor
		infos[i] = report.TensorInfo{Name: nt.Name, DType: t.DType.String(), Shape: nonNil(t.Shape),
			Strides: nonNil(t.Strides), StorageOffset: t.Offset, NBytes: t.NBytes(),
			Storage: t.Storage.Key, StorageNumel: t.Storage.Numel}
	}
	switch o.Format {
	case output.JSON:
		b := treeBuilder{}
		doc := report.Listing{File: o.Path, Format: string(f.Format), Version: f.Version, Size: f.Size(),
			Warnings: nonNilS(f.Warnings), Tree: b.node(f.Root), Tensors: infos}
		return output.WriteJSON(o.Streams.Out, doc)
	case output.CSV:
		tw := output.TableWriter{Headers: []string{"name", "dtype", "shape", "strides", "storage_offset", "nbytes"}}
		for _, t := range infos {
			tw.Add(t.Name, t.DType, output.ShapeCompact(t.Shape), output.ShapeCompact(t.Strides),
				strconv.FormatInt(t.StorageOffset, 10), strconv.FormatInt(t.NBytes, 10))
		}
		return tw.WriteCSV(o.Streams.Out)
	}
	var total int64
	for _, t := range infos {
		total += t.NBytes
	}
	fmt.Fprintf(o.Streams.Out, "%s: %s format", o.Path, f.Format)
	if f.Version != "" {
		fmt.Fprintf(o.Streams.Out, " (version %s)", f.Version)
	}
	fmt.Fprintf(o.Streams.Out, ", %s, %d tensors holding %s\n", output.Bytes(f.Size()), len(infos), output.Bytes(total))
	b := treeBuilder{maxItems: o.MaxItems}
	return writeTree(o.Streams.Out, b.node(f.Root), "", 0)
}

func nonNil(s []int64) []int64 {
	if s == nil {
		return []int64{}
	}
	return s
}

func nonNilS(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// treeBuilder turns loaded values into report nodes, refusing to enter a
// container already on the current path (a cycle), showing a container
// reached again by another path once only (a "shared" node names where it
// is shown: a pickle can reach one value by a million paths), and bounding
// the total.
type treeBuilder struct {
	maxItems int // per container, 0 for all
	onPath   map[any]bool
	shown    map[any]string // containers shown, and where
	path     string
	nodes    int
}

// maxTreeNodes bounds the nodes of one listing (about 250 bytes each in
// memory): real checkpoints have a few thousand.
const maxTreeNodes = 250_000

func (b *treeBuilder) node(v any) report.Node {
	if b.onPath == nil {
		b.onPath = map[any]bool{}
		b.shown = map[any]string{}
	}
	b.nodes++
	if b.nodes > maxTreeNodes {
		return report.Node{Kind: "truncated"}
	}
	switch x := v.(type) {
	case nil:
		return report.Node{Kind: "none"}
	case bool:
		return report.Node{Kind: "bool", Value: x}
	case int64:
		return report.Node{Kind: "int", Value: x}
	case *big.Int:
		return report.Node{Kind: "int", Value: x.String()}
	case float64:
		return report.Node{Kind: "float", Value: output.Float(x)}
	case string:
		return report.Node{Kind: "str", Value: x}
	case pickle.Bytes:
		return report.Node{Kind: "bytes", Value: len(x)}
	case torchsave.Size:
		return report.Node{Kind: "size", Value: nonNil([]int64(x))}
	case *torchsave.Tensor:
		off, nb := x.Offset, x.NBytes()
		return report.Node{Kind: "tensor", DType: x.DType.String(), Shape: nonNil(x.Shape), Strides: nonNil(x.Strides),
			StorageOffset: &off, NBytes: &nb, Parameter: x.Parameter}
	case *torchsave.Storage:
		nb := x.Size
		return report.Node{Kind: "storage", DType: x.DType.String(), NBytes: &nb}
	case *pickle.Global:
		return report.Node{Kind: "global", Class: x.String()}
	}
	switch v.(type) {
	case *pickle.Dict, *pickle.List, *pickle.Set, *pickle.Object:
		if b.onPath[v] {
			return report.Node{Kind: "cycle"}
		}
		if where, ok := b.shown[v]; ok {
			return report.Node{Kind: "shared", Value: where}
		}
		b.shown[v] = b.path
		b.onPath[v] = true
		defer delete(b.onPath, v)
	}
	switch x := v.(type) {
	case *pickle.Dict:
		n := report.Node{Kind: "dict"}
		if x.Ordered {
			n.Kind = "ordered_dict"
		}
		for i, it := range x.Items {
			if b.cut(i, len(x.Items), &n) {
				break
			}
			n.Entries = append(n.Entries, report.Entry{Key: torchsave.PathElem(it.Key), Value: b.child(torchsave.PathElem(it.Key), it.Value)})
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
		n := report.Node{Kind: "object", Class: x.Class(), Member: x.Member}
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
				n.Fields = append(n.Fields, report.Entry{Key: torchsave.PathElem(it.Key), Value: b.child(torchsave.PathElem(it.Key), it.Value)})
			}
			if x.State != nil && fields == nil {
				n.Fields = append(n.Fields, report.Entry{Key: "__state__", Value: b.child("__state__", x.State)})
			}
			for i, a := range x.Appended {
				n.Items = append(n.Items, b.child(strconv.Itoa(i), a))
			}
		}
		return n
	}
	return report.Node{Kind: "unknown"}
}

// child builds the node of a value one step below the current path.
func (b *treeBuilder) child(elem string, v any) report.Node {
	parent := b.path
	b.path = torchsave.Join(parent, elem)
	n := b.node(v)
	b.path = parent
	return n
}

func (b *treeBuilder) cut(i, n int, node *report.Node) bool {
	if b.maxItems > 0 && i >= b.maxItems {
		node.Truncated = n - i
		return true
	}
	return false
}

func (b *treeBuilder) seq(kind string, items []any) report.Node {
	n := report.Node{Kind: kind}
	for i, e := range items {
		if b.cut(i, len(items), &n) {
			break
		}
		n.Items = append(n.Items, b.child(strconv.Itoa(i), e))
	}
	if n.Items == nil && len(items) == 0 {
		n.Items = []report.Node{}
	}
	return n
}

// summary is the one-line description of a node in the text tree.
func summary(n report.Node) string {
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

func writeTree(w io.Writer, n report.Node, label string, depth int) error {
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

// runLsSafetensors lists a safetensors file: its metadata and tensors.
func runLsSafetensors(o *LsOptions) error {
	f, err := safetensors.Open(o.Path)
	if err != nil {
		return inputError(err)
	}
	defer f.Close()
	root := report.Node{Kind: "dict"}
	if f.Metadata != nil {
		keys := make([]string, 0, len(f.Metadata))
		for k := range f.Metadata {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		md := report.Node{Kind: "dict", Entries: []report.Entry{}}
		for _, k := range keys {
			md.Entries = append(md.Entries, report.Entry{Key: k, Value: report.Node{Kind: "str", Value: f.Metadata[k]}})
		}
		root.Entries = append(root.Entries, report.Entry{Key: "__metadata__", Value: md})
	}
	var infos []report.TensorInfo
	var total int64
	for _, t := range f.Tensors {
		v := t.View
		off, nb := int64(0), v.NBytes()
		total += nb
		root.Entries = append(root.Entries, report.Entry{Key: t.Name, Value: report.Node{Kind: "tensor", DType: t.DType.String(),
			Shape: nonNil(t.Shape), Strides: nonNil(v.Strides), StorageOffset: &off, NBytes: &nb}})
		infos = append(infos, report.TensorInfo{Name: t.Name, DType: t.DType.String(), Shape: nonNil(t.Shape),
			Strides: nonNil(v.Strides), NBytes: nb, Storage: t.Name, StorageNumel: v.Numel()})
	}
	if infos == nil {
		infos = []report.TensorInfo{}
	}
	switch o.Format {
	case output.JSON:
		return output.WriteJSON(o.Streams.Out, report.Listing{File: o.Path, Format: "safetensors", Size: int64(f.Mapping().Len()),
			Warnings: []string{}, Tree: root, Tensors: infos})
	case output.CSV:
		tw := output.TableWriter{Headers: []string{"name", "dtype", "shape", "strides", "storage_offset", "nbytes"}}
		for _, t := range infos {
			tw.Add(t.Name, t.DType, output.ShapeCompact(t.Shape), output.ShapeCompact(t.Strides), "0", strconv.FormatInt(t.NBytes, 10))
		}
		return tw.WriteCSV(o.Streams.Out)
	}
	fmt.Fprintf(o.Streams.Out, "%s: safetensors format, %s, %d tensors holding %s\n", o.Path, output.Bytes(int64(f.Mapping().Len())), len(infos), output.Bytes(total))
	if o.MaxItems > 0 && len(root.Entries) > o.MaxItems {
		root.Truncated = len(root.Entries) - o.MaxItems
		root.Entries = root.Entries[:o.MaxItems]
	}
	return writeTree(o.Streams.Out, root, "", 0)
}

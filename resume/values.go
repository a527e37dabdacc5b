package resume

import (
	"fmt"
	"math"
	"math/big"
	"sort"
	"strconv"
	"strings"

	"github.com/ckptinspect/ckptinspect/pickle"
	"github.com/ckptinspect/ckptinspect/torchsave"
)

// asInt converts an integral pickle value (int64, a small *big.Int, an
// integral float64 or a bool) to int64.
func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case int64:
		return x, true
	case *big.Int:
		if x.IsInt64() {
			return x.Int64(), true
		}
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), true
		}
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// asFloat converts a numeric pickle or JSON value to float64.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case int64:
		return float64(x), true
	case int:
		return float64(x), true
	case *big.Int:
		f, _ := new(big.Float).SetInt(x).Float64()
		return f, true
	case bool:
		if x {
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

// items returns the elements of a list or tuple.
func items(v any) ([]any, bool) {
	switch x := v.(type) {
	case *pickle.List:
		return x.Items, true
	case pickle.Tuple:
		return x, true
	case []any:
		return x, true
	}
	return nil, false
}

// get returns d[key] for a pickled dict, the field of an inert object, or a
// JSON object.
func get(v any, key string) (any, bool) {
	switch x := v.(type) {
	case *pickle.Dict:
		return x.Get(key)
	case *pickle.Object:
		return x.Field(key)
	case map[string]any:
		val, ok := x[key]
		return val, ok
	}
	return nil, false
}

// path follows keys through nested dicts and objects.
func path(v any, keys ...string) (any, bool) {
	for _, k := range keys {
		var ok bool
		if v, ok = get(v, k); !ok {
			return nil, false
		}
	}
	return v, true
}

// zeroStageMembers maps deepspeed.runtime.zero.config.ZeroStageEnum's
// member names to stages.
var zeroStageMembers = map[string]int64{"disabled": 0, "optimizer_states": 1, "gradients": 2, "weights": 3, "max_stage": 3}

// zeroStage reads a ZeRO stage: an int, or a ZeroStageEnum member in
// either pickled form (getattr by name, Python >= 3.11, or a call with the
// value, Python <= 3.10).
func zeroStage(v any) (int64, bool) {
	if n, ok := asInt(v); ok {
		return n, true
	}
	o, ok := v.(*pickle.Object)
	if !ok || o.Name != "ZeroStageEnum" {
		return 0, false
	}
	if o.Member != "" {
		n, ok := zeroStageMembers[o.Member]
		return n, ok
	}
	if len(o.Args) == 1 {
		return asInt(o.Args[0])
	}
	return 0, false
}

// plain converts a pickle value to plain Go values that encoding/json
// writes (map[string]any, []any, strings, numbers, bools, nil); objects and
// tensors become short descriptive strings. depth bounds the recursion.
func plain(v any, depth int) any {
	if depth > 32 {
		return "..."
	}
	switch x := v.(type) {
	case nil, bool, string, int64:
		return x
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return pickle.Repr(x)
		}
		return x
	case *big.Int:
		return x.String()
	case *pickle.Dict:
		m := make(map[string]any, len(x.Items))
		for _, it := range x.Items {
			m[keyString(it.Key)] = plain(it.Value, depth+1)
		}
		return m
	case *pickle.List:
		return plainItems(x.Items, depth)
	case pickle.Tuple:
		return plainItems(x, depth)
	case *pickle.Set:
		return plainItems(x.Items, depth)
	case *pickle.Object:
		if x.Member != "" {
			return enumValue(x)
		}
		return x.Class()
	case *torchsave.Tensor:
		return x.String()
	case torchsave.Size:
		return x.String()
	}
	return pickle.Repr(v)
}

func plainItems(in []any, depth int) []any {
	out := make([]any, len(in))
	for i, e := range in {
		out[i] = plain(e, depth+1)
	}
	return out
}

func keyString(k any) string {
	if s, ok := k.(string); ok {
		return s
	}
	return pickle.Repr(k)
}

// display formats a pickle value for one line of text: scalars as Python
// prints them, enum members by their value, containers briefly.
func display(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case *pickle.Object:
		if x.Member != "" || (len(x.Args) == 1 && isEnumClass(x)) {
			return enumValue(x)
		}
		return x.Class() + "(...)"
	case *pickle.List:
		parts := make([]string, 0, len(x.Items))
		for i, e := range x.Items {
			if i == 8 {
				parts = append(parts, fmt.Sprintf("... %d more", len(x.Items)-8))
				break
			}
			parts = append(parts, display(e))
		}
		return "[" + strings.Join(parts, ", ") + "]"
	case *pickle.Dict:
		keys := make([]string, 0, len(x.Items))
		for _, it := range x.Items {
			keys = append(keys, keyString(it.Key))
		}
		sort.Strings(keys)
		if len(keys) > 8 {
			keys = append(keys[:8], "...")
		}
		return "{" + strings.Join(keys, ", ") + "}"
	}
	return pickle.Repr(v)
}

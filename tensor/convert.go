package tensor

import (
	"math"

	"github.com/ckptinspect/ckptinspect/tensor/internal/kernel"
)

// BFloat16ToFloat32 returns the value of the bfloat16 with bits u: the
// float32 whose top 16 bits are u (exact, NaN payloads kept).
func BFloat16ToFloat32(u uint16) float32 {
	return math.Float32frombits(uint32(u) << 16)
}

// Float32ToBFloat16 returns the bfloat16 nearest to f, ties to even, as
// torch rounds: f.to(torch.bfloat16). Values beyond the largest bfloat16
// round to ±Inf; every NaN becomes 0x7fc0, the quiet NaN torch writes.
func Float32ToBFloat16(f float32) uint16 {
	u := math.Float32bits(f)
	if u&0x7fffffff > 0x7f800000 { // NaN
		return 0x7fc0
	}
	u += 0x7fff + (u>>16)&1
	return uint16(u >> 16)
}

// Float16ToFloat32 returns the value of the IEEE 754 binary16 (torch.float16)
// with bits u, exactly; ±Inf and NaN map to ±Inf and NaN.
func Float16ToFloat32(u uint16) float32 {
	return float32(kernel.FromF16(u))
}

// Float8E4M3FNToFloat32 returns the value of the float8_e4m3fn byte b
// (bias 7, 3 mantissa bits, subnormals, no infinities; S.1111.111 is NaN and
// ±448 the largest values).
func Float8E4M3FNToFloat32(b uint8) float32 {
	return float32(kernel.TableE4M3FN[b])
}

// Float8E5M2ToFloat32 returns the value of the float8_e5m2 byte b (bias 15,
// 2 mantissa bits, subnormals, ±Inf and NaN as in IEEE 754).
func Float8E5M2ToFloat32(b uint8) float32 {
	return float32(kernel.TableE5M2[b])
}

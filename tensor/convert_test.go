package tensor

import (
	"math"
	"math/big"
	"testing"

	"github.com/x448/float16"
)

func TestBFloat16ToFloat32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		u := uint16(i)
		got, want := BFloat16ToFloat32(u), math.Float32frombits(uint32(u)<<16)
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("BFloat16ToFloat32(%#04x) = %v, want %v", u, got, want)
		}
		f := float64(got)
		if math.IsNaN(f) != (u&0x7fff > 0x7f80) || math.IsInf(f, 0) != (u&0x7fff == 0x7f80) {
			t.Fatalf("BFloat16ToFloat32(%#04x) = %v: wrong classification", u, got)
		}
	}
}

func TestFloat16ToFloat32Exhaustive(t *testing.T) {
	for i := 0; i < 1<<16; i++ {
		u := uint16(i)
		ref := float16.Frombits(u)
		got, want := Float16ToFloat32(u), ref.Float32()
		if ref.IsNaN() {
			if !math.IsNaN(float64(got)) {
				t.Fatalf("Float16ToFloat32(%#04x) = %v, want NaN", u, got)
			}
			continue
		}
		if math.Float32bits(got) != math.Float32bits(want) {
			t.Fatalf("Float16ToFloat32(%#04x) = %v, want %v", u, got, want)
		}
		if math.IsInf(float64(got), 0) != ref.IsInf(0) {
			t.Fatalf("Float16ToFloat32(%#04x) = %v: wrong Inf classification", u, got)
		}
	}
}

func TestFloat8Exhaustive(t *testing.T) {
	for i := 0; i < 256; i++ {
		b := uint8(i)
		if got, want := float64(Float8E4M3FNToFloat32(b)), refE4M3FN(b); !same(got, want) {
			t.Errorf("Float8E4M3FNToFloat32(%#02x) = %v, want %v", b, got, want)
		}
		if got, want := float64(Float8E5M2ToFloat32(b)), refE5M2(b); !same(got, want) {
			t.Errorf("Float8E5M2ToFloat32(%#02x) = %v, want %v", b, got, want)
		}
	}
	if Float8E4M3FNToFloat32(0x7e) != 448 || Float8E4M3FNToFloat32(0xfe) != -448 || !math.IsNaN(float64(Float8E4M3FNToFloat32(0x7f))) {
		t.Error("e4m3fn extremes wrong")
	}
	if !math.IsInf(float64(Float8E5M2ToFloat32(0x7c)), 1) || !math.IsInf(float64(Float8E5M2ToFloat32(0xfc)), -1) || Float8E5M2ToFloat32(0x7b) != 57344 {
		t.Error("e5m2 extremes wrong")
	}
}

// refToBFloat16 rounds f to bfloat16 by comparing exact distances to the two
// neighbouring bfloat16 values, ties to the even one.
func refToBFloat16(f float32) uint16 {
	u := math.Float32bits(f)
	if math.IsNaN(float64(f)) {
		return 0x7fc0
	}
	lo := uint16(u >> 16) // truncation: toward zero
	if u&0xffff == 0 {
		return lo
	}
	hi := lo + 1 // away from zero (may become ±Inf)
	x := new(big.Float).SetFloat64(float64(f))
	dlo := new(big.Float).Sub(x, new(big.Float).SetFloat64(float64(BFloat16ToFloat32(lo))))
	dlo.Abs(dlo)
	hv := new(big.Float).SetMantExp(big.NewFloat(1), 128) // rounding up to Inf: as if to 2^128
	if hi&0x7fff != 0x7f80 {
		hv.SetFloat64(float64(BFloat16ToFloat32(hi)))
	} else if x.Sign() < 0 {
		hv.Neg(hv)
	}
	dhi := new(big.Float).Sub(x, hv)
	dhi.Abs(dhi)
	switch dlo.Cmp(dhi) {
	case -1:
		return lo
	case 1:
		return hi
	}
	if lo&1 == 0 {
		return lo
	}
	return hi
}

func TestFloat32ToBFloat16(t *testing.T) {
	lows := []uint32{0, 1, 0x7fff, 0x8000, 0x8001, 0xffff, 0x1234, 0xc000}
	for i := 0; i < 1<<16; i++ {
		for _, l := range lows {
			f := math.Float32frombits(uint32(i)<<16 | l)
			if got, want := Float32ToBFloat16(f), refToBFloat16(f); got != want {
				t.Fatalf("Float32ToBFloat16(%#08x) = %#04x, want %#04x", math.Float32bits(f), got, want)
			}
		}
	}
	for _, c := range []struct {
		in   uint32
		want uint16
	}{
		{0x3f808000, 0x3f80}, // tie, even stays
		{0x3f818000, 0x3f82}, // tie, odd rounds up
		{0x7f7fffff, 0x7f80}, // max float32 rounds to +Inf
		{0xff800000, 0xff80}, // -Inf
		{0x7f800001, 0x7fc0}, // signalling NaN
		{0xffc00000, 0x7fc0}, // negative NaN
	} {
		if got := Float32ToBFloat16(math.Float32frombits(c.in)); got != c.want {
			t.Errorf("Float32ToBFloat16(%#08x) = %#04x, want %#04x", c.in, got, c.want)
		}
	}
}

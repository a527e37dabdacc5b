//go:build amd64 && !purego && !noasm

package cpuid

import "testing"

// TestCPUID checks the two instructions' results against what every amd64
// CPU reports: leaf 0 names the vendor in EBX, EDX, ECX and a maximum leaf
// of at least 1; amd64 has SSE2 (leaf 1, EDX bit 26); with OSXSAVE, XCR0
// has the x87 and SSE states (bits 0 and 1).
func TestCPUID(t *testing.T) {
	maxLeaf, b, c, d := CPUID(0, 0)
	vendor := string([]byte{byte(b), byte(b >> 8), byte(b >> 16), byte(b >> 24), byte(d), byte(d >> 8), byte(d >> 16), byte(d >> 24), byte(c), byte(c >> 8), byte(c >> 16), byte(c >> 24)})
	if maxLeaf < 1 || len(vendor) != 12 || vendor[0] == 0 {
		t.Fatalf("leaf 0: max %d, vendor %q", maxLeaf, vendor)
	}
	_, _, ecx1, edx1 := CPUID(1, 0)
	if edx1&(1<<26) == 0 {
		t.Errorf("leaf 1 EDX %#x lacks SSE2", edx1)
	}
	if ecx1&OSXSAVE != 0 {
		if xcr0, _ := XGETBV(); xcr0&3 != 3 {
			t.Errorf("XCR0 %#x lacks the x87 and SSE states", xcr0)
		}
	}
	t.Logf("vendor %s, max leaf %d", vendor, maxLeaf)
}

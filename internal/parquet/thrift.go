package parquet

import "encoding/binary"

// Thrift compact protocol type codes (Thrift's compact protocol
// specification, as Parquet's footer and page headers use it).
const (
	tI16    = 4
	tI32    = 5
	tI64    = 6
	tBinary = 8
	tList   = 9
	tStruct = 12
)

// compact serialises Thrift structs in the compact protocol. Fields must
// be written in increasing id order within a struct, as the protocol
// encodes each id as the difference from the previous one.
type compact struct {
	b    []byte
	last []int16 // the last field id of each open struct, innermost last
}

func (c *compact) uvarint(v uint64) { c.b = binary.AppendUvarint(c.b, v) }

func zigzag(v int64) uint64 { return uint64(v<<1) ^ uint64(v>>63) }

// field writes the header of field id of type t.
func (c *compact) field(id int16, t byte) {
	last := &c.last[len(c.last)-1]
	if d := id - *last; d > 0 && d <= 15 {
		c.b = append(c.b, byte(d)<<4|t)
	} else {
		c.b = append(c.b, t)
		c.uvarint(zigzag(int64(id)))
	}
	*last = id
}

func (c *compact) begin() { c.last = append(c.last, 0) }

// end closes the innermost struct.
func (c *compact) end() {
	c.b = append(c.b, 0)
	c.last = c.last[:len(c.last)-1]
}

func (c *compact) i32(id int16, v int32) { c.field(id, tI32); c.uvarint(zigzag(int64(v))) }
func (c *compact) i64(id int16, v int64) { c.field(id, tI64); c.uvarint(zigzag(v)) }

func (c *compact) binary(id int16, v []byte) {
	c.field(id, tBinary)
	c.uvarint(uint64(len(v)))
	c.b = append(c.b, v...)
}

func (c *compact) str(id int16, v string) { c.binary(id, []byte(v)) }

// structField opens field id as a struct; close it with end.
func (c *compact) structField(id int16) {
	c.field(id, tStruct)
	c.begin()
}

// list opens field id as a list of n elements of type t. Elements follow
// bare: values with the *Value helpers, structs between begin and end.
func (c *compact) list(id int16, t byte, n int) {
	c.field(id, tList)
	if n < 15 {
		c.b = append(c.b, byte(n)<<4|t)
	} else {
		c.b = append(c.b, 0xf0|t)
		c.uvarint(uint64(n))
	}
}

func (c *compact) i32Value(v int32)  { c.uvarint(zigzag(int64(v))) }
func (c *compact) strValue(v string) { c.uvarint(uint64(len(v))); c.b = append(c.b, v...) }

package parquet_test

import (
	"encoding/binary"
	"math"
	"strings"
	"testing"

	"github.com/ckptinspect/ckptinspect/internal/parquet"
)

// FuzzWriter writes rows drawn from the fuzzer's bytes (nulls, runs,
// strings, extreme numbers, small row groups) and reads them back with
// parquet-go: every file the writer makes must read back as written.
func FuzzWriter(f *testing.F) {
	f.Add([]byte("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a"), uint8(3))
	f.Add([]byte("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xff\xfe"), uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, group uint8) {
		var rows [][]parquet.Value
		for len(data) >= 9 && len(rows) < 2000 {
			sel, x := data[0], binary.LittleEndian.Uint64(data[1:9])
			data = data[9:]
			str := strings.ToValidUTF8(string(data[:min(len(data), int(sel%17))]), "?")
			row := []parquet.Value{parquet.Int(int64(x)), parquet.Str(str), parquet.Int(int64(int32(x))), parquet.Float(math.Float64frombits(x)),
				parquet.Float(float64(sel)), parquet.Str(strings.ToValidUTF8(str[:len(str)/2], "?")), parquet.Int(int64(sel)), parquet.Int(int64(int32(x >> 32)))}
			for i, c := range allColumns {
				if c.Optional && sel>>(i%8)&1 == 1 {
					row[i] = parquet.Null()
				}
			}
			rows = append(rows, row)
		}
		check(t, allColumns, rows, parquet.Options{RowGroupRows: int(group), Codec: parquet.Codec(group % 2)})
	})
}

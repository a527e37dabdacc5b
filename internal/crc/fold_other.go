//go:build !amd64 || purego || noasm

package crc

const hasFold = false

func fold(uint32, []byte, *[64]byte) { panic("crc: no kernel on this platform") }

//go:build !amd64

package events

// haveTSC says the CPU has a time-stamp counter that stamp may read.
const haveTSC = false

func rdtsc() int64 { return nanotime() }

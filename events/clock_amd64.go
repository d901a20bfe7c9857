package events

// haveTSC says the CPU has a time-stamp counter that stamp may read.
const haveTSC = true

// rdtsc reads the time-stamp counter without a fence: an event's stamp
// may be taken a few instructions early or late, which no phase of a
// task's life notices.
//
//go:noescape
func rdtsc() int64

//go:build race

package rpc

// raceEnabled: the race detector adds allocations of its own.
const raceEnabled = true

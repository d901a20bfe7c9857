//go:build !linux || !cgo

package gpu

import "errors"

// Discover finds this machine's GPUs through NVML, which needs cgo on
// Linux: this build has neither, so it reports none.
func Discover() (Source, error) {
	return nil, errors.New("gpu: built without cgo (or not for Linux): NVML is unavailable")
}

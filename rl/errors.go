package rl

import "errors"

var (
	// ErrUnsupported: the env id or its action-space kind is not one the
	// algorithm handles. Returned before any work starts.
	ErrUnsupported = errors.New("rl: unsupported env")
	// ErrBadConfig: a hyperparameter is out of range. Returned before any
	// work starts.
	ErrBadConfig = errors.New("rl: hyperparameter out of range")
	// ErrCheckpoint: a checkpoint to resume from is of another
	// algorithm, env, worker count or network shape.
	ErrCheckpoint = errors.New("rl: the checkpoint does not fit this run")
	// ErrDiverged: a loss or the weights became NaN or infinite. The error
	// names the iteration; the result keeps the last good weights.
	ErrDiverged = errors.New("rl: training diverged")
)

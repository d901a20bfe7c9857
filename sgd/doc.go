// Package sgd trains a neural network synchronously across actors, the
// data-parallel training of the Ray paper's Figure 13: each of N replica
// actors holds one shard of the data and the same weights; every step
// each computes the gradient of its part of the global batch, the
// replicas sum their gradients with a ring allreduce (package
// collective), and each applies the same Adam step, so the weights stay
// identical everywhere, as Horovod's are.
//
// The network is a tanh MLP of package rl (gonum BLAS) classifying a
// synthetic task of MNIST's shape (784 inputs, 10 classes; labels from
// a fixed random linear teacher, so it is learnable), with softmax
// cross-entropy. TrainLocal does the same arithmetic in one process over
// the whole batch: the baseline the replicas are measured against, and
// whose weights they must match.
//
//	res, err := sgd.Train(ctx, sgd.Config{Workers: 4, Batch: 512, Steps: 100})
//	fmt.Println(res.SamplesPerSec, res.AllreduceS, res.Loss[len(res.Loss)-1])
package sgd

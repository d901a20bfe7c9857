package benchmarks

// The paper's experiments whose capability has not landed yet. Each is
// listed (REPORT.md shows the paper's claim and "not yet reproduced"),
// never faked. To build one, move its entry into its own file (fig9.go),
// give it a Run, set its State and Setup, and keep it in registry.

var fig12a = Experiment{
	ID: "fig12a", Title: "Ring allreduce against OpenMPI", Paper: "Figure 12a (§5.1)", State: NotBuilt,
	Setup: "needs fast transfer of 100 MB-1 GB objects between the stores of actors on different nodes (on one node they share a store), and OpenMPI beside it " +
		"(installable: apt-get install openmpi-bin libopenmpi-dev).",
}

var fig13 = Experiment{
	ID: "fig13", Title: "Distributed training throughput (ResNet-101 images/s)", Paper: "Figure 13 (§5.2.1)", State: NotBuilt,
	Setup: "needs GPUs, TensorFlow and Horovod baselines; where it can be adapted it would be data-parallel SGD of a small " +
		"gonum network on CPU (rl's networks) with actors as replicas and a parameter server.",
}

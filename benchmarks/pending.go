package benchmarks

// The paper's experiments whose capability has not landed yet. Each is
// listed (REPORT.md shows the paper's claim and "not yet reproduced"),
// never faked. To build one, move its entry into its own file (fig9.go),
// give it a Run, set its State and Setup, and keep it in registry.

var table3 = Experiment{
	ID: "table3", Title: "Embedded serving throughput against Clipper", Paper: "Table 3 (§5.2.2)", State: NotBuilt,
	Setup: "the actor call path exists, but the serving workload (a residual network and a fully connected policy on 4 KB and 100 KB states in batches of 64, " +
		"and a Clipper baseline over REST) is not built yet.",
}

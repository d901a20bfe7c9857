package probe

// The BPF objects are generated and committed, so that building needs no
// clang; regenerating needs clang (apt-get install clang llvm).
//go:generate go run github.com/cilium/ebpf/cmd/bpf2go -cc clang -cflags "-O2 -g -Wall -Werror" -target bpfel -no-global-types bpf bpf/probe.bpf.c -- -I bpf

// The probe's BPF side: one uprobe program for every stage function (the
// attach cookie says which stage) and two raw tracepoints on the
// scheduler, all limited to the threads of the processes in targets.
// Events go to user space through one ring buffer.

#include "probe.h"

char LICENSE[] SEC("license") = "GPL";

// Event kinds, as probe's Kind.
enum {
	KIND_STAGE = 1,
	KIND_RUN_QUEUE = 2,
	KIND_OFF_CPU = 3,
};

// One record of the ring buffer: 32 bytes, decoded by probe.ParseEvent.
struct event {
	__u64 ktime; // bpf_ktime_get_ns at the event
	__u64 value; // nanoseconds waited, for the scheduler's kinds
	__u32 tgid;
	__u32 tid;
	__u32 kind;
	__u32 aux; // the stage; for KIND_OFF_CPU, 1 if the thread blocked
};

// Consumers are woken only when this much is waiting, so that a busy
// target does not wake the probe once per event; the reader also polls.
#define WAKE_BYTES (256 << 10)

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 22);
} events SEC(".maps");

// The processes watched: the driver and its workers, kept by user space.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u32);
	__type(value, __u32);
} targets SEC(".maps");

// Since when a woken watched thread waits in the run queue, by thread.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u64);
} queued SEC(".maps");

// Since when a watched thread is off CPU, and whether it blocked.
struct since {
	__u64 ktime;
	__u32 voluntary;
	__u32 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct since);
} off_cpu SEC(".maps");

// Events dropped because the ring buffer was full.
__u64 lost = 0;

static __attribute__((always_inline)) void emit(struct event *e)
{
	__u64 flags = bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) >= WAKE_BYTES ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
	if (bpf_ringbuf_output(&events, e, sizeof(*e), flags))
		__sync_fetch_and_add(&lost, 1);
}

SEC("uprobe")
int stage(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if (!bpf_map_lookup_elem(&targets, &tgid))
		return 0;
	struct event e = {
		.ktime = bpf_ktime_get_ns(),
		.tgid = tgid,
		.tid = (__u32)id,
		.kind = KIND_STAGE,
		.aux = (__u32)bpf_get_attach_cookie(ctx),
	};
	emit(&e);
	return 0;
}

// watched reads t's thread and process IDs and reports whether the
// process is a target.
static __attribute__((always_inline)) int watched(struct task_struct *t, __u32 *tgid, __u32 *tid)
{
	bpf_probe_read_kernel(tgid, sizeof(*tgid), __builtin_preserve_access_index(&t->tgid));
	bpf_probe_read_kernel(tid, sizeof(*tid), __builtin_preserve_access_index(&t->pid));
	return bpf_map_lookup_elem(&targets, tgid) != 0;
}

// sched_wakeup(struct task_struct *p)
SEC("raw_tp/sched_wakeup")
int sched_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	__u32 tgid, tid;
	if (!watched((struct task_struct *)ctx->args[0], &tgid, &tid))
		return 0;
	__u64 now = bpf_ktime_get_ns();
	bpf_map_update_elem(&queued, &tid, &now, BPF_ANY);
	return 0;
}

// sched_switch(bool preempt, struct task_struct *prev, struct task_struct
// *next, unsigned int prev_state)
SEC("raw_tp/sched_switch")
int sched_switch(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 now = bpf_ktime_get_ns();
	__u32 tgid, tid;
	if (watched((struct task_struct *)ctx->args[1], &tgid, &tid)) {
		// The scheduler dequeues prev only when it blocks of its own
		// accord; a task preempted or yielding stays runnable, and its
		// whole time off CPU is a wait in the run queue.
		__u32 blocks = !(__u8)ctx->args[0] && (__u32)ctx->args[3] != 0;
		struct since s = {.ktime = now, .voluntary = blocks};
		bpf_map_update_elem(&off_cpu, &tid, &s, BPF_ANY);
		bpf_map_delete_elem(&queued, &tid); // a wakeup stamped while it ran
	}
	if (!watched((struct task_struct *)ctx->args[2], &tgid, &tid))
		return 0;
	struct since *s = bpf_map_lookup_elem(&off_cpu, &tid);
	if (s) {
		struct event e = {.ktime = now, .value = now - s->ktime, .tgid = tgid, .tid = tid, .kind = KIND_OFF_CPU, .aux = s->voluntary};
		bpf_map_delete_elem(&off_cpu, &tid);
		emit(&e);
	}
	__u64 *woken = bpf_map_lookup_elem(&queued, &tid);
	if (woken) {
		struct event e = {.ktime = now, .value = now - *woken, .tgid = tgid, .tid = tid, .kind = KIND_RUN_QUEUE};
		bpf_map_delete_elem(&queued, &tid);
		emit(&e);
	}
	return 0;
}

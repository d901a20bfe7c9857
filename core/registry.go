package core

import (
	"fmt"
	"math"
	"reflect"
	"sync"

	"github.com/fxamacker/cbor/v2"

	"manta/node"
	"manta/rpc/wire"
)

// funcInfo is a registered remote function.
type funcInfo struct {
	name    string
	wire    []byte // name, as the bytes that travel
	opts    Options
	node    *node.Options // opts, as the node takes them
	returns int           // separate return values (a Pair's 2, a Triple's 3), or 0
	// invoke decodes a call's arguments from f, runs the user's function
	// and encodes what it returned into out.
	invoke func(f *frame, out *output) error
}

// methodInfo is a registered actor method: invoke also gets the actor's
// instance.
type methodInfo struct {
	returns int
	invoke  func(instance any, f *frame, out *output) error
}

// actorInfo is a registered actor type.
type actorInfo struct {
	name      string
	wire      []byte
	state     reflect.Type // the actor's state type S, for GetActor
	opts      ActorOptions
	node      *node.Options // opts, as the node takes them
	construct func(f *frame) (any, error)
}

// registry holds what the user's binary registered at package level. The
// driver and its workers run the same binary, so both have the same
// entries; names are what travel.
var registry = struct {
	sync.RWMutex
	funcs   map[string]*funcInfo
	actors  map[string]*actorInfo
	methods map[string]*methodInfo // "Type.Method"
}{
	funcs:   map[string]*funcInfo{},
	actors:  map[string]*actorInfo{},
	methods: map[string]*methodInfo{},
}

func registerFunc(fi *funcInfo) {
	fi.wire = []byte(fi.name)
	fi.node = taskOptions(fi.opts).node
	registerUnique(registry.funcs, "function", fi.name, fi)
}

func registerActor(ai *actorInfo) {
	ai.wire = []byte(ai.name)
	ai.node = actorOptions(ai.opts).node
	registerUnique(registry.actors, "actor type", ai.name, ai)
}

func registerMethod(actor, method string, mi *methodInfo) string {
	key := actor + "." + method
	registerUnique(registry.methods, "method", key, mi)
	return key
}

// registerUnique adds v under name; a name registered twice is a bug in
// the program, found at start-up.
func registerUnique[V any](m map[string]V, kind, name string, v V) {
	registry.Lock()
	defer registry.Unlock()
	if _, dup := m[name]; dup {
		panic(fmt.Sprintf("manta: %s %q registered twice", kind, name))
	}
	m[name] = v
}

func lookupFunc(name []byte) *funcInfo {
	registry.RLock()
	defer registry.RUnlock()
	return registry.funcs[string(name)]
}

func lookupActor(name []byte) *actorInfo {
	registry.RLock()
	defer registry.RUnlock()
	return registry.actors[string(name)]
}

func lookupMethod(name []byte) *methodInfo {
	registry.RLock()
	defer registry.RUnlock()
	return registry.methods[string(name)]
}

// Options are a remote function's scheduling options, set at registration
// and per call with Options on the function.
type Options struct {
	// Resources the task needs while it runs, such as {"CPU": 1, "GPU": 0.5}
	// or custom names the node declares. Nil means one CPU.
	Resources map[string]float64
	// MaxRetries is how often a task is re-run after its worker process
	// dies (-1: without limit). Errors and panics in the task itself are
	// not retried.
	MaxRetries int
}

// Option sets one option at registration.
type Option func(*Options)

// WithResources declares the resources each call needs.
func WithResources(r map[string]float64) Option { return func(o *Options) { o.Resources = r } }

// WithMaxRetries sets how often a call is retried after its worker dies
// (default 3; 0 disables; -1, as in Ray, retries without limit).
func WithMaxRetries(n int) Option { return func(o *Options) { o.MaxRetries = n } }

// DefaultMaxRetries is Ray's default for tasks.
const DefaultMaxRetries = 3

func buildOptions(opts []Option) Options {
	o := Options{MaxRetries: DefaultMaxRetries}
	for _, f := range opts {
		f(&o)
	}
	if o.Resources == nil {
		o.Resources = map[string]float64{"CPU": 1}
	}
	return o
}

// ActorOptions are an actor's options, set at registration and per actor
// with Options on the actor type.
type ActorOptions struct {
	// Resources held for the actor's whole life. Nil means none, Ray's
	// default for a running actor; the actor still gets its own process.
	Resources map[string]float64
	// MaxConcurrency is how many method calls may run at once (default 1:
	// one at a time, in submission order).
	MaxConcurrency int
	// MaxRestarts is how often the actor is re-created after its process
	// or its node dies (default 0; -1: without limit). A restarted actor starts from its
	// constructor, unless it replays.
	MaxRestarts int
	// MaxTaskRetries is how often a method call that was running when the
	// actor died is sent again to the restarted actor (default 0: at most
	// once, the call fails with ErrActorDied; -1: without limit, at least
	// once). A call sent again keeps its place before later calls.
	MaxTaskRetries int
	// Replay rebuilds a restarted actor's state as the paper does: the new
	// instance loads the actor's last checkpoint (see Checkpointer), or
	// starts from its constructor if there is none, and runs again, in
	// their order, the calls that ran since; their results are dropped
	// (their callers have them). The calls' arguments are kept until a
	// checkpoint covers them, so an actor that replays without
	// checkpoints keeps every call it ran. Methods must be deterministic
	// for the state to come back the same.
	Replay bool
	// CheckpointEvery (> 0) saves the actor's state after every so many
	// calls, and implies Replay; its state type must implement
	// Checkpointer. A method may also ask for a checkpoint (Checkpoint).
	CheckpointEvery int
	// Name, if set, lets any task find the actor with GetActor; names are
	// unique among live actors of the cluster.
	Name string
	// Detached actors live until Kill or Shutdown. Others are killed once
	// no handle to them is left (every copy of the Actor value released
	// by the garbage collector, and no call to them pending), as in Ray.
	Detached bool
}

// ActorOption sets one actor option at registration.
type ActorOption func(*ActorOptions)

// WithActorResources declares the resources an actor holds while alive.
func WithActorResources(r map[string]float64) ActorOption {
	return func(o *ActorOptions) { o.Resources = r }
}

// WithMaxConcurrency lets up to n method calls run at once.
func WithMaxConcurrency(n int) ActorOption { return func(o *ActorOptions) { o.MaxConcurrency = n } }

// WithMaxRestarts sets how often the actor is re-created after its process
// dies (-1, as in Ray, without limit).
func WithMaxRestarts(n int) ActorOption { return func(o *ActorOptions) { o.MaxRestarts = n } }

// WithMaxTaskRetries sets how often a method call running when the actor
// died is sent again to the restarted actor (-1: without limit).
func WithMaxTaskRetries(n int) ActorOption { return func(o *ActorOptions) { o.MaxTaskRetries = n } }

// WithReplay makes restarts rebuild the actor's state by running again
// the calls since its last checkpoint (ActorOptions.Replay).
func WithReplay() ActorOption { return func(o *ActorOptions) { o.Replay = true } }

// WithCheckpointEvery saves the actor's state every n calls and makes
// restarts replay from the last one (ActorOptions.CheckpointEvery).
func WithCheckpointEvery(n int) ActorOption {
	return func(o *ActorOptions) { o.CheckpointEvery = n }
}

// WithName names the actor, for GetActor.
func WithName(name string) ActorOption { return func(o *ActorOptions) { o.Name = name } }

// WithDetached makes the actor outlive its handles: it lives until Kill
// or Shutdown.
func WithDetached() ActorOption { return func(o *ActorOptions) { o.Detached = true } }

// callOptions are one call's options as they travel from a worker to its
// node: a task's or an actor's. node is the same, as the node takes them.
type callOptions struct {
	Resources       map[string]float64 `cbor:"1,keyasint"`
	MaxRetries      int                `cbor:"2,keyasint,omitempty"`
	MaxRestarts     int                `cbor:"3,keyasint,omitempty"`
	MaxConcurrency  int                `cbor:"4,keyasint,omitempty"`
	Name            string             `cbor:"5,keyasint,omitempty"`
	Detached        bool               `cbor:"6,keyasint,omitempty"`
	MaxTaskRetries  int                `cbor:"7,keyasint,omitempty"`
	Replay          bool               `cbor:"8,keyasint,omitempty"`
	CheckpointEvery int                `cbor:"9,keyasint,omitempty"`
	node            *node.Options
}

// applyOptions sets opts over the current options of a function or actor
// type: those of an earlier Options call, else the registered ones.
func applyOptions[O any, F ~func(*O)](registered O, current *callOptions, fromCall func(*callOptions) O, opts []F, toCall func(O) *callOptions) *callOptions {
	o := registered
	if current != nil {
		o = fromCall(current)
	}
	for _, set := range opts {
		set(&o)
	}
	return toCall(o)
}

func taskOptions(o Options) *callOptions {
	c := &callOptions{Resources: o.Resources, MaxRetries: o.MaxRetries}
	c.node = &node.Options{Resources: o.Resources, Key: resourceKey(o.Resources), MaxRetries: withoutLimit(o.MaxRetries)}
	return c
}

// withoutLimit is a retry or restart budget as the node counts it: a
// negative one (Ray's -1) is without limit.
func withoutLimit(n int) int {
	if n < 0 {
		return math.MaxInt32
	}
	return n
}

// resourceKey names a resource request for the node's class cache; maps
// print sorted.
func resourceKey(r map[string]float64) string { return fmt.Sprint(r) }

func (c *callOptions) task() Options {
	o := Options{Resources: c.Resources, MaxRetries: c.MaxRetries}
	if o.Resources == nil {
		o.Resources = map[string]float64{"CPU": 1}
	}
	return o
}

func actorOptions(o ActorOptions) *callOptions {
	c := &callOptions{Resources: o.Resources, MaxRestarts: o.MaxRestarts, MaxTaskRetries: o.MaxTaskRetries, MaxConcurrency: o.MaxConcurrency,
		Replay: o.Replay, CheckpointEvery: o.CheckpointEvery, Name: o.Name, Detached: o.Detached}
	c.node = &node.Options{Resources: o.Resources, Key: resourceKey(o.Resources), MaxRetries: -1, MaxRestarts: withoutLimit(o.MaxRestarts),
		MaxTaskRetries: o.MaxTaskRetries, MaxConcurrency: o.MaxConcurrency, Replay: o.Replay || o.CheckpointEvery > 0,
		CheckpointEvery: max(0, o.CheckpointEvery), Name: o.Name, Detached: o.Detached}
	return c
}

// resolver gives the node the options of calls that workers submit: the
// registered ones, or those the call carries (decoded once per distinct
// encoding). The node calls it under its host's lock, so its cache needs
// no lock of its own.
type resolver struct {
	decoded map[string]*callOptions
}

func newResolver() *resolver { return &resolver{decoded: map[string]*callOptions{}} }

// unknownActor is the options of an actor type this binary lacks: its
// creation fails with ErrUnknownFunction.
var unknownActor = &node.Options{Unknown: true, MaxRetries: -1}

func (r *resolver) resolve(kind wire.SubmitKind, name, opts []byte) (*node.Options, error) {
	var registered *node.Options
	switch kind {
	case wire.SubmitTask:
		if fi := lookupFunc(name); fi != nil {
			registered = fi.node
		}
	case wire.SubmitActor:
		ai := lookupActor(name)
		if ai == nil {
			return unknownActor, nil
		}
		registered = ai.node
	}
	if len(opts) == 0 {
		return registered, nil
	}
	c := r.decoded[string(opts)]
	if c == nil {
		var raw callOptions
		if err := cbor.Unmarshal(opts, &raw); err != nil {
			return nil, err
		}
		if kind == wire.SubmitActor {
			c = actorOptions(raw.actor())
		} else {
			c = taskOptions(raw.task())
		}
		if len(r.decoded) < 1024 {
			r.decoded[string(opts)] = c
		}
	}
	return c.node, nil
}

func (c *callOptions) actor() ActorOptions {
	o := ActorOptions{Resources: c.Resources, MaxConcurrency: max(1, c.MaxConcurrency), MaxRestarts: c.MaxRestarts, MaxTaskRetries: c.MaxTaskRetries,
		Replay: c.Replay, CheckpointEvery: c.CheckpointEvery, Name: c.Name, Detached: c.Detached}
	if o.Resources == nil {
		o.Resources = map[string]float64{}
	}
	return o
}

func buildActorOptions(opts []ActorOption) ActorOptions {
	o := ActorOptions{MaxConcurrency: 1}
	for _, f := range opts {
		f(&o)
	}
	if o.MaxConcurrency < 1 {
		o.MaxConcurrency = 1
	}
	if o.Resources == nil {
		o.Resources = map[string]float64{}
	}
	return o
}

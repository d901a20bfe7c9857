package core

import (
	"fmt"
	"sync"

	"manta/rpc/wire"
)

// invokeFunc decodes a call's arguments, runs the user's function and
// appends the encoded result to dst, reporting the references the result
// carries.
type invokeFunc func(args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error)

// funcInfo is a registered remote function.
type funcInfo struct {
	name   string
	wire   []byte // name, as the bytes that travel
	opts   Options
	invoke invokeFunc
}

// methodInvokeFunc is invokeFunc for an actor method: it also gets the
// actor's instance.
type methodInvokeFunc func(instance any, args []wire.Arg, dst []byte) ([]byte, []wire.ObjectID, error)

// actorInfo is a registered actor type.
type actorInfo struct {
	name      string
	wire      []byte
	opts      ActorOptions
	construct func(args []wire.Arg) (any, error)
}

// registry holds what the user's binary registered at package level. The
// driver and its workers run the same binary, so both have the same
// entries; names are what travel.
var registry = struct {
	sync.RWMutex
	funcs   map[string]*funcInfo
	actors  map[string]*actorInfo
	methods map[string]methodInvokeFunc // "Type.Method"
}{
	funcs:   map[string]*funcInfo{},
	actors:  map[string]*actorInfo{},
	methods: map[string]methodInvokeFunc{},
}

func registerFunc(fi *funcInfo) {
	fi.wire = []byte(fi.name)
	registerUnique(registry.funcs, "function", fi.name, fi)
}

func registerActor(ai *actorInfo) {
	ai.wire = []byte(ai.name)
	registerUnique(registry.actors, "actor type", ai.name, ai)
}

func registerMethod(actor, method string, invoke methodInvokeFunc) string {
	key := actor + "." + method
	registerUnique(registry.methods, "method", key, invoke)
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

func lookupMethod(name []byte) methodInvokeFunc {
	registry.RLock()
	defer registry.RUnlock()
	return registry.methods[string(name)]
}

// Options are a remote function's scheduling options.
type Options struct {
	// Resources the task needs while it runs, such as {"CPU": 1, "GPU": 0.5}
	// or custom names the node declares. Nil means one CPU.
	Resources map[string]float64
	// MaxRetries is how often a task is re-run after its worker process
	// dies. Errors and panics in the task itself are not retried.
	MaxRetries int
}

// Option sets one option at registration.
type Option func(*Options)

// WithResources declares the resources each call needs.
func WithResources(r map[string]float64) Option { return func(o *Options) { o.Resources = r } }

// WithMaxRetries sets how often a call is retried after its worker dies
// (default 3; 0 disables).
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

// ActorOptions are an actor type's options.
type ActorOptions struct {
	// Resources held for the actor's whole life. Nil means none, Ray's
	// default for a running actor; the actor still gets its own process.
	Resources map[string]float64
	// MaxConcurrency is how many method calls may run at once (default 1:
	// one at a time, in submission order).
	MaxConcurrency int
	// MaxRestarts is how often the actor is re-created after its process
	// dies (default 0). A restarted actor starts from its constructor.
	MaxRestarts int
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
// dies.
func WithMaxRestarts(n int) ActorOption { return func(o *ActorOptions) { o.MaxRestarts = n } }

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

package core

import (
	"context"
	"encoding"
	"encoding/binary"
	"fmt"
	"math"
	"math/big"
	"reflect"
	"sync"
	"time"
	"unsafe"

	"github.com/fxamacker/cbor/v2"

	"manta/rpc/wire"
)

// A value on the wire is a format byte and a body. Common scalar and slice
// types have fixed fast formats that encode and decode without allocation
// beyond the result; everything else is CBOR (fxamacker/cbor), where
// references nested in the value are CBOR tags (see ref.go).
const (
	fmtCBOR byte = iota
	fmtInt
	fmtUint
	fmtFloat64
	fmtFloat32
	fmtBool
	fmtString
	fmtBytes
	fmtFloat64s
	fmtFloat32s
	fmtBytesAligned // the large forms of the three above: see rawslice.go
	fmtFloat64sAligned
	fmtFloat32sAligned
)

// codec encodes and decodes values of one Go type. It is built once per
// type, at registration, so the task path does no reflection.
type codec[T any] struct {
	enc func(dst []byte, v *T) ([]byte, error)
	dec func(src []byte, v *T) error
	// size, where set, is the exact encoded size of *v, so a large value can
	// be encoded straight into the object store.
	size func(v *T) int
	// refs says whether values of T may contain references, so only those
	// are walked for the references they carry.
	refs bool
	// context marks the context.Context parameter type: it takes the
	// call's context in a worker and the caller's at the call site, and
	// is never encoded.
	context bool
	// decArg, where set, decodes a call's argument itself instead of dec,
	// knowing where its bytes are (a View maps them in place).
	decArg func(f *frame, a *wire.Arg, v *T) error
	// argFrom, where set, takes call-site arguments of other types than T
	// and Ref[T] (a View parameter takes a Ref to a slice); it reports
	// whether it took a.
	argFrom func(c *call, i int, a any) bool
	// returns is how many separate objects a result of type T makes (a
	// Pair's 2), 0 for one; encParts and decParts encode and decode them.
	returns  int
	encParts func(v *T, out *output) error
	decParts func(rs []result, v *T) error
}

var contextType = reflect.TypeFor[context.Context]()

var codecCache sync.Map // reflect.Type -> any (*codec[T])

func codecFor[T any]() *codec[T] {
	t := reflect.TypeFor[T]()
	if c, ok := codecCache.Load(t); ok {
		return c.(*codec[T])
	}
	c := newCodec[T](t)
	actual, _ := codecCache.LoadOrStore(t, c)
	return actual.(*codec[T])
}

func newCodec[T any](t reflect.Type) *codec[T] {
	if t == contextType {
		return &codec[T]{context: true}
	}
	if vp, ok := any(*new(T)).(viewParam); ok {
		return vp.paramCodec().(*codec[T])
	}
	c := &codec[T]{refs: mayHoldRefs(t)}
	if _, ok := any(new(T)).(multiReturn); ok {
		c.enc, c.dec = cborEnc[T], cborDec[T]
		c.returns = any(new(T)).(multiReturn).returnCount()
		c.encParts = func(v *T, out *output) error { return any(v).(multiReturn).appendParts(out) }
		c.decParts = func(rs []result, v *T) error { return any(v).(multiReturn).decodeParts(rs) }
		return c
	}
	if c.refs {
		setCBOR(c, t)
		return c
	}
	// The fast formats reinterpret *T as its underlying kind, so named
	// types (type Celsius float64) take them too.
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		size := t.Size()
		c.enc = func(dst []byte, v *T) ([]byte, error) {
			return binary.AppendVarint(append(dst, fmtInt), loadInt(unsafe.Pointer(v), size)), nil
		}
		c.dec = func(src []byte, v *T) error {
			x, err := decodeInt(src)
			if err != nil {
				return err
			}
			if !storeInt(unsafe.Pointer(v), size, x) {
				return fmt.Errorf("%w: %d overflows %v", ErrDecode, x, t)
			}
			return nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		size := t.Size()
		c.enc = func(dst []byte, v *T) ([]byte, error) {
			return binary.AppendUvarint(append(dst, fmtUint), loadUint(unsafe.Pointer(v), size)), nil
		}
		c.dec = func(src []byte, v *T) error {
			x, err := decodeUint(src)
			if err != nil {
				return err
			}
			if !storeUint(unsafe.Pointer(v), size, x) {
				return fmt.Errorf("%w: %d overflows %v", ErrDecode, x, t)
			}
			return nil
		}
	case reflect.Float64:
		c.enc = func(dst []byte, v *T) ([]byte, error) {
			return binary.LittleEndian.AppendUint64(append(dst, fmtFloat64), math.Float64bits(*(*float64)(unsafe.Pointer(v)))), nil
		}
		c.dec = func(src []byte, v *T) error {
			f, err := decodeFloat64(src)
			*(*float64)(unsafe.Pointer(v)) = f
			return err
		}
	case reflect.Float32:
		c.enc = func(dst []byte, v *T) ([]byte, error) {
			return binary.LittleEndian.AppendUint32(append(dst, fmtFloat32), math.Float32bits(*(*float32)(unsafe.Pointer(v)))), nil
		}
		c.dec = func(src []byte, v *T) error {
			if len(src) != 5 || src[0] != fmtFloat32 {
				return formatError(src, "float32")
			}
			*(*float32)(unsafe.Pointer(v)) = math.Float32frombits(binary.LittleEndian.Uint32(src[1:]))
			return nil
		}
	case reflect.Bool:
		c.enc = func(dst []byte, v *T) ([]byte, error) {
			b := byte(0)
			if *(*bool)(unsafe.Pointer(v)) {
				b = 1
			}
			return append(dst, fmtBool, b), nil
		}
		c.dec = func(src []byte, v *T) error {
			if len(src) != 2 || src[0] != fmtBool || src[1] > 1 {
				return formatError(src, "bool")
			}
			*(*bool)(unsafe.Pointer(v)) = src[1] == 1
			return nil
		}
	case reflect.String:
		c.enc = func(dst []byte, v *T) ([]byte, error) {
			return append(append(dst, fmtString), *(*string)(unsafe.Pointer(v))...), nil
		}
		c.size = func(v *T) int { return 1 + len(*(*string)(unsafe.Pointer(v))) }
		c.dec = func(src []byte, v *T) error {
			if len(src) < 1 || src[0] != fmtString {
				return formatError(src, "string")
			}
			*(*string)(unsafe.Pointer(v)) = string(src[1:])
			return nil
		}
	case reflect.Slice:
		switch t.Elem().Kind() {
		case reflect.Uint8:
			setRawCodec[T, byte](c)
		case reflect.Float64:
			setRawCodec[T, float64](c)
		case reflect.Float32:
			setRawCodec[T, float32](c)
		}
	}
	if c.enc == nil {
		setCBOR(c, t)
	}
	return c
}

// setCBOR gives c the CBOR format, or, for a type that holds a struct CBOR
// would send as its zero value, an encoder that says so.
func setCBOR[T any](c *codec[T], t reflect.Type) {
	c.enc, c.dec = cborEnc[T], cborDec[T]
	if err := hiddenFields(t); err != nil {
		c.enc = func(dst []byte, _ *T) ([]byte, error) { return dst, err }
	}
}

var hiddenCache sync.Map // reflect.Type -> error (nil: none)

// hiddenFields says why a value of type t cannot travel: it holds a struct
// whose fields are all unexported, which CBOR (like encoding/json) would
// send as its zero value, silently. A type that marshals itself does not
// count, nor do time.Time and big.Int, which CBOR encodes whole. (A struct
// with exported fields beside unexported ones sends the exported ones, as
// encoding/json and gob do.)
func hiddenFields(t reflect.Type) error {
	if v, ok := hiddenCache.Load(t); ok {
		err, _ := v.(error)
		return err
	}
	var err error
	if h := hiddenStruct(t, map[reflect.Type]bool{}); h != nil {
		err = fmt.Errorf("manta: cannot encode %v: %v has no exported fields, so it would arrive as its zero value; export them, or give it a MarshalCBOR or MarshalBinary method", t, h)
	}
	hiddenCache.Store(t, err)
	return err
}

var (
	cborMarshaler   = reflect.TypeFor[cbor.Marshaler]()
	binaryMarshaler = reflect.TypeFor[encoding.BinaryMarshaler]()
	wholeTypes      = map[reflect.Type]bool{reflect.TypeFor[time.Time](): true, reflect.TypeFor[big.Int](): true}
)

func hiddenStruct(t reflect.Type, seen map[reflect.Type]bool) reflect.Type {
	if seen[t] || wholeTypes[t] || t.Implements(cborMarshaler) || t.Implements(binaryMarshaler) ||
		reflect.PointerTo(t).Implements(cborMarshaler) || reflect.PointerTo(t).Implements(binaryMarshaler) {
		return nil
	}
	seen[t] = true
	switch t.Kind() {
	case reflect.Pointer, reflect.Slice, reflect.Array:
		return hiddenStruct(t.Elem(), seen)
	case reflect.Map:
		if h := hiddenStruct(t.Key(), seen); h != nil {
			return h
		}
		return hiddenStruct(t.Elem(), seen)
	case reflect.Struct:
		exported := 0
		for i := range t.NumField() {
			// An embedded struct's exported fields are promoted.
			if f := t.Field(i); f.IsExported() || f.Anonymous {
				exported++
				if h := hiddenStruct(f.Type, seen); h != nil {
					return h
				}
			}
		}
		if exported == 0 && t.NumField() > 0 {
			return t
		}
	}
	return nil
}

func cborEnc[T any](dst []byte, v *T) ([]byte, error) {
	b, err := cbor.Marshal(v)
	if err != nil {
		return dst, fmt.Errorf("manta: cannot encode %T: %w", *v, err)
	}
	return append(append(dst, fmtCBOR), b...), nil
}

// valueDecMode decodes CBOR values with no limit on an array's elements
// or a map's pairs but the input's own length: the library's default
// (131,072) refused values that encoded fine, such as a PPO batch of 16
// envs × 512 steps × 24 observations, at the Get. An input that claims
// more elements than it holds fails the well-formedness check that
// Unmarshal makes before it allocates.
var valueDecMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{MaxArrayElements: math.MaxInt32, MaxMapPairs: math.MaxInt32}.DecMode()
	if err != nil {
		panic(err) // the options are constants
	}
	return dm
}()

func cborDec[T any](src []byte, v *T) error {
	if len(src) < 1 || src[0] != fmtCBOR {
		return formatError(src, reflect.TypeFor[T]().String())
	}
	if err := valueDecMode.Unmarshal(src[1:], v); err != nil {
		return fmt.Errorf("%w into %T: %v", ErrDecode, *v, err)
	}
	return nil
}

// encodeAny encodes a value whose type is known only at run time (dynamic
// calls by name) in the same formats as the typed codecs.
func encodeAny(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case int:
		return codecFor[int]().enc(dst, &x)
	case int64:
		return codecFor[int64]().enc(dst, &x)
	case uint64:
		return codecFor[uint64]().enc(dst, &x)
	case float64:
		return codecFor[float64]().enc(dst, &x)
	case float32:
		return codecFor[float32]().enc(dst, &x)
	case bool:
		return codecFor[bool]().enc(dst, &x)
	case string:
		return codecFor[string]().enc(dst, &x)
	case []byte:
		return appendRawSlice(dst, x), nil
	case []float64:
		return codecFor[[]float64]().enc(dst, &x)
	case []float32:
		return codecFor[[]float32]().enc(dst, &x)
	}
	return encodeByKind(dst, v)
}

// encodeByKind encodes v in the format the typed codecs choose by its kind
// (see newCodec), which covers the types encodeAny does not name: int32,
// time.Duration, type Celsius float64, type Vec []float64. Anything else
// is CBOR.
func encodeByKind(dst []byte, v any) ([]byte, error) {
	rv := reflect.ValueOf(v)
	if !rv.IsValid() {
		return cborEnc(dst, &v)
	}
	if err := hiddenFields(rv.Type()); err != nil {
		return dst, err
	}
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return binary.AppendVarint(append(dst, fmtInt), rv.Int()), nil
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return binary.AppendUvarint(append(dst, fmtUint), rv.Uint()), nil
	case reflect.Float64:
		return encodeAny(dst, rv.Float())
	case reflect.Float32:
		return encodeAny(dst, float32(rv.Float()))
	case reflect.Bool:
		return encodeAny(dst, rv.Bool())
	case reflect.String:
		return encodeAny(dst, rv.String())
	case reflect.Slice:
		switch rv.Type().Elem().Kind() {
		case reflect.Uint8:
			return encodeAny(dst, rv.Bytes())
		case reflect.Float64:
			return encodeAny(dst, rv.Convert(reflect.TypeFor[[]float64]()).Interface())
		case reflect.Float32:
			return encodeAny(dst, rv.Convert(reflect.TypeFor[[]float32]()).Interface())
		}
	}
	return cborEnc(dst, &v)
}

func formatError(src []byte, want string) error {
	if len(src) == 0 {
		return fmt.Errorf("%w: empty value, want %s", ErrDecode, want)
	}
	return fmt.Errorf("%w: value in format %d does not decode as %s", ErrDecode, src[0], want)
}

func decodeInt(src []byte) (int64, error) {
	if len(src) < 2 || src[0] != fmtInt {
		return 0, formatError(src, "an integer")
	}
	x, n := binary.Varint(src[1:])
	if n != len(src)-1 {
		return 0, fmt.Errorf("%w: bad integer", ErrDecode)
	}
	return x, nil
}

func decodeUint(src []byte) (uint64, error) {
	if len(src) < 2 || src[0] != fmtUint {
		return 0, formatError(src, "an unsigned integer")
	}
	x, n := binary.Uvarint(src[1:])
	if n != len(src)-1 {
		return 0, fmt.Errorf("%w: bad unsigned integer", ErrDecode)
	}
	return x, nil
}

func decodeFloat64(src []byte) (float64, error) {
	if len(src) != 9 || src[0] != fmtFloat64 {
		return 0, formatError(src, "float64")
	}
	return math.Float64frombits(binary.LittleEndian.Uint64(src[1:])), nil
}

func loadInt(p unsafe.Pointer, size uintptr) int64 {
	switch size {
	case 1:
		return int64(*(*int8)(p))
	case 2:
		return int64(*(*int16)(p))
	case 4:
		return int64(*(*int32)(p))
	}
	return *(*int64)(p)
}

func storeInt(p unsafe.Pointer, size uintptr, x int64) bool {
	switch size {
	case 1:
		*(*int8)(p) = int8(x)
		return int64(int8(x)) == x
	case 2:
		*(*int16)(p) = int16(x)
		return int64(int16(x)) == x
	case 4:
		*(*int32)(p) = int32(x)
		return int64(int32(x)) == x
	}
	*(*int64)(p) = x
	return true
}

func loadUint(p unsafe.Pointer, size uintptr) uint64 {
	switch size {
	case 1:
		return uint64(*(*uint8)(p))
	case 2:
		return uint64(*(*uint16)(p))
	case 4:
		return uint64(*(*uint32)(p))
	}
	return *(*uint64)(p)
}

func storeUint(p unsafe.Pointer, size uintptr, x uint64) bool {
	switch size {
	case 1:
		*(*uint8)(p) = uint8(x)
		return uint64(uint8(x)) == x
	case 2:
		*(*uint16)(p) = uint16(x)
		return uint64(uint16(x)) == x
	case 4:
		*(*uint32)(p) = uint32(x)
		return uint64(uint32(x)) == x
	}
	*(*uint64)(p) = x
	return true
}

package dstm

import (
	"encoding/json"
	"fmt"
)

// A Codec turns a Var's values into the bytes etcd stores and back.
type Codec interface {
	Marshal(v any) ([]byte, error)
	Unmarshal(data []byte, v any) error
}

// JSON is the default Codec: encoding/json.
var JSON Codec = jsonCodec{}

type jsonCodec struct{}

func (jsonCodec) Marshal(v any) ([]byte, error)      { return json.Marshal(v) }
func (jsonCodec) Unmarshal(data []byte, v any) error { return json.Unmarshal(data, v) }

// A Var is a transactional variable stored in etcd under a key. The Var
// value itself holds no data, only the key, the zero value (what Get returns
// while the key does not exist) and the codec, so Vars with the same key in
// several processes, or made again for every use, name the same variable.
//
// Values are copies: Get decodes the stored bytes, so mutating a value
// changes nothing in etcd until it is Set.
type Var[T any] struct {
	key   string
	zero  T
	codec Codec
}

// A VarOption configures a Var.
type VarOption func(*varOptions)

type varOptions struct{ codec Codec }

// WithCodec makes a Var encode its values with c instead of JSON.
func WithCodec(c Codec) VarOption { return func(o *varOptions) { o.codec = c } }

// NewVar returns the Var stored under key, reading as zero while the key
// does not exist. It only names the key: it neither reads nor writes etcd.
// It panics on an empty key or a nil codec.
func NewVar[T any](key string, zero T, opts ...VarOption) *Var[T] {
	if key == "" {
		panic("dstm: NewVar called with an empty key: every Var needs a name")
	}
	o := varOptions{codec: JSON}
	for _, f := range opts {
		f(&o)
	}
	if o.codec == nil {
		panic(fmt.Sprintf("dstm: NewVar(%q): WithCodec(nil)", key))
	}
	return &Var[T]{key: key, zero: zero, codec: o.codec}
}

// Key returns the etcd key of v.
func (v *Var[T]) Key() string { return v.key }

// Get returns v's value in tx's snapshot, or its own write if tx wrote v.
func (v *Var[T]) Get(tx *Tx) T {
	v.check(tx, "Get")
	if w, ok := tx.written(v.key); ok {
		if x, ok := w.val.(T); ok {
			return x
		}
		return v.decode(tx, w.data)
	}
	e := tx.read(v.key)
	if !e.present {
		return v.zero
	}
	if x, ok := e.decoded.(T); ok {
		return x
	}
	x := v.decode(tx, e.data)
	e.decoded = x
	return x
}

func (v *Var[T]) decode(tx *Tx, data []byte) T {
	var x T
	if err := v.codec.Unmarshal(data, &x); err != nil {
		tx.fail(fmt.Errorf("dstm: decoding the value of %q as %T: %w", v.key, x, err))
	}
	return x
}

// Set writes x to v in tx. The write reaches etcd only if tx commits.
func (v *Var[T]) Set(tx *Tx, x T) {
	v.check(tx, "Set")
	data, err := v.codec.Marshal(x)
	if err != nil {
		tx.fail(fmt.Errorf("dstm: encoding a value of %q (%T): %w", v.key, x, err))
	}
	tx.write(v.key, data, x)
}

// Modify sets v to f of its value.
func (v *Var[T]) Modify(tx *Tx, f func(T) T) { v.Set(tx, f(v.Get(tx))) }

// Swap sets v to x and returns its previous value.
func (v *Var[T]) Swap(tx *Tx, x T) T {
	old := v.Get(tx)
	v.Set(tx, x)
	return old
}

func (v *Var[T]) check(tx *Tx, op string) {
	if v == nil {
		panic("dstm: " + op + " called on a nil *Var")
	}
	tx.check(op)
}

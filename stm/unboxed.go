package stm

import (
	"reflect"
	"unsafe"
)

// unboxedType reports whether values of type t are stored in a Var's bits
// word instead of a box: t has no pointers (the garbage collector does not
// scan the word) and fits in 8 bytes.
func unboxedType(t reflect.Type) bool {
	return t.Size() <= 8 && pointerFree(t)
}

// pointerFree reports whether a value of type t contains no pointer.
func pointerFree(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64:
		return true
	case reflect.Array:
		return t.Len() == 0 || pointerFree(t.Elem())
	case reflect.Struct:
		for i := range t.NumField() {
			if !pointerFree(t.Field(i).Type) {
				return false
			}
		}
		return true
	}
	return false
}

// toBits returns the bits word holding x. It is called only for types
// unboxed accepts; the size test keeps the conversion in bounds for every
// instantiation the compiler makes.
func toBits[T any](x T) uint64 {
	var u uint64
	if unsafe.Sizeof(x) <= 8 {
		*(*T)(unsafe.Pointer(&u)) = x
	}
	return u
}

// fromWord returns the value a Var publishes with val p and bits word bits.
func fromWord[T any](p unsafe.Pointer, bits uint64) (x T) {
	switch p {
	case nil:
		// A zero Var never written: the zero T, boxed or not.
	case scalarMark:
		if unsafe.Sizeof(x) <= 8 {
			x = *(*T)(unsafe.Pointer(&bits))
		}
	default:
		x = *(*T)(p)
	}
	return x
}

// anyOf is fromWord for observers: it returns the value as an interface,
// its type named by typ, a nil *T.
func anyOf(typ any, p unsafe.Pointer, bits uint64) any {
	t := reflect.TypeOf(typ).Elem()
	switch p {
	case nil:
		return reflect.Zero(t).Interface()
	case scalarMark:
		p = unsafe.Pointer(&bits)
	}
	return reflect.NewAt(t, p).Elem().Interface()
}

// zeroes backs the zero value of types up to its size.
var zeroes [256]uint64

// zeroOf returns a pointer to a zero value of the type typ (a nil *T)
// points to: the value of a zero Var never written.
func zeroOf(typ any) unsafe.Pointer {
	t := reflect.TypeOf(typ).Elem()
	if t.Size() <= unsafe.Sizeof(zeroes) {
		return unsafe.Pointer(&zeroes)
	}
	return reflect.New(t).UnsafePointer()
}

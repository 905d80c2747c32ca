#include <ffi.h>

/* The libffi type descriptors by code (0 void, 1 int32, 2 int64, 3 uint32,
   4 uint64, 5 float, 6 double, 7 pointer), so Swift need not touch libffi's
   global variables directly. */
static inline ffi_type *cil_ffi_type(int code) {
    switch (code) {
    case 1: return &ffi_type_sint32;
    case 2: return &ffi_type_sint64;
    case 3: return &ffi_type_uint32;
    case 4: return &ffi_type_uint64;
    case 5: return &ffi_type_float;
    case 6: return &ffi_type_double;
    case 7: return &ffi_type_pointer;
    default: return &ffi_type_void;
    }
}

// Invalid tile IR: each case must give its diagnostic.
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @lane_of_a_flat_dim_used(%t: memref<64xf32, #spm.scratch>, %n: index) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  tile.map (%i, %j) in (%c0 to %n, %c0 to %c16) flat(%f) over [4, 16] {
    %x = memref.load %t[%j] : memref<64xf32, #spm.scratch>
    tile.yield
  }
  func.return
}
// CHECK: tile.map: the body of a flat loop reads the flat index, not the lanes of its dimensions (lane 1 is used)

// -----

func.func @flat_over_one_dim(%t: memref<64xf32, #spm.scratch>, %n: index) {
  %c0 = arith.constant 0 : index
  tile.map (%i) in (%c0 to %n) flat(%f) over [64] {
    tile.yield
  }
  func.return
}
// CHECK: tile.map: a flat loop runs over 2 to 1 trailing dimensions of positive extent, not [64]

// -----

func.func @no_yield(%n: index) {
  %c0 = arith.constant 0 : index
  tile.map (%i) in (%c0 to %n) {
    %x = arith.addi %i, %i : index
  }
  func.return
}
// CHECK: Operation arith.addi terminates block in single-block region but is not a terminator

// -----

func.func @yield_outside(%n: index) {
  scf.execute_region {
    tile.yield
  }
  func.return
}
// CHECK: 'tile.yield' expects parent op to be one of 'tile.map', 'tile.reduce'

// -----

func.func @yields_the_wrong_type(%n: index) {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %sum = tile.reduce (%r) in (%c0 to %n) from (%acc = %zero : f32) {
    tile.yield %r : index
  }
  func.return
}
// CHECK: tile.reduce's body must end with tile.yield of the next accumulators (f32)

// -----

func.func @map_yields_a_value(%n: index) {
  %c0 = arith.constant 0 : index
  tile.map (%i) in (%c0 to %n) {
    tile.yield %i : index
  }
  func.return
}
// CHECK: tile.yield in a tile.map yields nothing

// -----

func.func @past_the_end(%a: memref<256xf16, #spm.scratch>, %b: memref<256xf16, #spm.scratch>, %c: memref<256xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 16, 16, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 16, 1>, c_strides = array<i64: 0, 16, 1>} : memref<256xf16, #spm.scratch>, memref<256xf16, #spm.scratch> into memref<256xf32, #spm.scratch>
  func.return
}
// CHECK: tile.matmul: a is read up to element 511 (1 x 16 x 32 at strides 0, 32, 1), past the end of memref<256xf16, #spm.scratch>

// -----

func.func @mixed_inputs(%a: memref<256xf16, #spm.scratch>, %b: memref<256xf32, #spm.scratch>, %c: memref<256xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 16, 16, 16>, a_strides = array<i64: 0, 16, 1>, b_strides = array<i64: 0, 16, 1>, c_strides = array<i64: 0, 16, 1>} : memref<256xf16, #spm.scratch>, memref<256xf32, #spm.scratch> into memref<256xf32, #spm.scratch>
  func.return
}
// CHECK: tile.matmul: a and b must have one element type, not f16 and f32

// -----

func.func @narrower_result(%a: memref<256xf32, #spm.scratch>, %b: memref<256xf32, #spm.scratch>, %c: memref<256xf16, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 16, 16, 16>, a_strides = array<i64: 0, 16, 1>, b_strides = array<i64: 0, 16, 1>, c_strides = array<i64: 0, 16, 1>} : memref<256xf32, #spm.scratch>, memref<256xf32, #spm.scratch> into memref<256xf16, #spm.scratch>
  func.return
}
// CHECK: tile.matmul: the result's f16 must be as wide as the inputs' f32, and of their kind (integer or float)

// -----

func.func @ddr_operand(%a: memref<256xf16>, %b: memref<256xf16, #spm.scratch>, %c: memref<256xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 16, 16, 16>, a_strides = array<i64: 0, 16, 1>, b_strides = array<i64: 0, 16, 1>, c_strides = array<i64: 0, 16, 1>} : memref<256xf16>, memref<256xf16, #spm.scratch> into memref<256xf32, #spm.scratch>
  func.return
}
// CHECK: tile.matmul: a must be a 1-D scratchpad tile of static size, not memref<256xf16>

// -----

func.func @zero_extent(%a: memref<256xf16, #spm.scratch>, %b: memref<256xf16, #spm.scratch>, %c: memref<256xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 0, 16, 16>, a_strides = array<i64: 0, 16, 1>, b_strides = array<i64: 0, 16, 1>, c_strides = array<i64: 0, 16, 1>} : memref<256xf16, #spm.scratch>, memref<256xf16, #spm.scratch> into memref<256xf32, #spm.scratch>
  func.return
}
// CHECK: tile.matmul: dims must be 4 extents (B, M, N, K) of at least 1, not (1, 0, 16, 16)

// -----

func.func @two_strides(%a: memref<256xf16, #spm.scratch>, %b: memref<256xf16, #spm.scratch>, %c: memref<256xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 16, 16, 16>, a_strides = array<i64: 16, 1>, b_strides = array<i64: 0, 16, 1>, c_strides = array<i64: 0, 16, 1>} : memref<256xf16, #spm.scratch>, memref<256xf16, #spm.scratch> into memref<256xf32, #spm.scratch>
  func.return
}
// CHECK: tile.matmul: a_strides must be 3 strides (batch, row, column) of at least 0, not (16, 1)

// -----

func.func @result_is_an_input(%a: memref<256xf32, #spm.scratch>, %b: memref<256xf32, #spm.scratch>) {
  tile.matmul %a, %b into %a {dims = array<i64: 1, 16, 16, 16>, a_strides = array<i64: 0, 16, 1>, b_strides = array<i64: 0, 16, 1>, c_strides = array<i64: 0, 16, 1>} : memref<256xf32, #spm.scratch>, memref<256xf32, #spm.scratch> into memref<256xf32, #spm.scratch>
  func.return
}
// CHECK: tile.matmul: the result tile c must not be an input tile

// Round trip of tile.map, nested and flat.
// RUN: xdsl-opt %s | xdsl-opt | filecheck %s

func.func @maps(%t: memref<64xf32, #spm.scratch>, %n: index) {
  %c0 = arith.constant 0 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  tile.map (%i) in (%c0 to %n) {
    %x = memref.load %t[%i] : memref<64xf32, #spm.scratch>
    memref.store %x, %t[%i] : memref<64xf32, #spm.scratch>
    tile.yield
  }
  tile.map (%i, %j) in (%c0 to %n, %c0 to %c16) flat(%f) over [4, 16] {
    %x = memref.load %t[%f] : memref<64xf32, #spm.scratch>
    tile.yield
  }
  func.return
}

// CHECK:      tile.map (%i) in (%c0 to %n) {
// CHECK-NEXT:   %x = memref.load %t[%i] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:   memref.store %x, %t[%i] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:   tile.yield
// CHECK-NEXT: }
// CHECK-NEXT: tile.map (%i_1, %j) in (%c0 to %n, %c0 to %c16) flat(%f) over [4, 16] {
// CHECK-NEXT:   %x_1 = memref.load %t[%f] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:   tile.yield
// CHECK-NEXT: }

func.func @reduce(%t: memref<64xf32, #spm.scratch>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %sum, %count = tile.reduce (%r) in (%c0 to %n) from (%acc = %zero : f32, %k = %c0 : index) {
    %x = memref.load %t[%r] : memref<64xf32, #spm.scratch>
    %s = arith.addf %acc, %x : f32
    %c1 = arith.constant 1 : index
    %m = arith.addi %k, %c1 : index
    tile.yield %s, %m : f32, index
  }
  func.return %sum : f32
}

// CHECK:      %sum, %count = tile.reduce (%r) in (%c0 to %n) from (%acc = %zero : f32, %k = %c0 : index) {
// CHECK-NEXT:   %x = memref.load %t[%r] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:   %s = arith.addf %acc, %x : f32
// CHECK:        tile.yield %s, %m : f32, index
// CHECK-NEXT: }

// A product on scratchpad tiles: a batch of 2 of 16 x 8 times 8 x 4, b transposed
// (read at strides k = 1, n = 8), added into c.
func.func @matmul(%a: memref<256xf16, #spm.scratch>, %b: memref<64xf16, #spm.scratch>, %c: memref<128xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 2, 16, 4, 8>, a_strides = array<i64: 128, 8, 1>, b_strides = array<i64: 32, 1, 8>, c_strides = array<i64: 64, 4, 1>, accumulate} : memref<256xf16, #spm.scratch>, memref<64xf16, #spm.scratch> into memref<128xf32, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @matmul
// CHECK-NEXT:    tile.matmul %a, %b into %c {dims = array<i64: 2, 16, 4, 8>, a_strides = array<i64: 128, 8, 1>, b_strides = array<i64: 32, 1, 8>, c_strides = array<i64: 64, 4, 1>, accumulate} : memref<256xf16, #spm.scratch>, memref<64xf16, #spm.scratch> into memref<128xf32, #spm.scratch>

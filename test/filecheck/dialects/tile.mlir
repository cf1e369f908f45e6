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

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

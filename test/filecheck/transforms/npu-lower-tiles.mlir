// npu-lower-tiles: a tile.map becomes its loops, nested or one flat loop, with the
// function's own constants.
// RUN: xdsl-opt %s -p npu-lower-tiles | filecheck %s
// RUN: xdsl-opt %s -p npu-lower-tiles,npu-tile | filecheck %s --check-prefix=THEN
// RUN: not xdsl-opt %s -p npu-tile 2>&1 | filecheck %s --check-prefix=FIRST

func.func @nested(%t: memref<64xf32, #spm.scratch>, %first: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c16 = arith.constant 16 : index
  tile.map (%i, %j) in (%first to %end, %c0 to %c16) {
    %lane = arith.muli %i, %c16 : index
    %at = arith.addi %lane, %j : index
    %x = memref.load %t[%at] : memref<64xf32, #spm.scratch>
    memref.store %x, %t[%at] : memref<64xf32, #spm.scratch>
    tile.yield
  }
  func.return
}

// CHECK-LABEL: func.func @nested
// CHECK:         %[[C1:.*]] = arith.constant 1 : index
// CHECK:         scf.for %i = %first to %end step %[[C1]] {
// CHECK-NEXT:      scf.for %j = %c0 to %c16 step %[[C1]] {
// CHECK-NEXT:        %lane = arith.muli %i, %c16 : index
// CHECK-NEXT:        %at = arith.addi %lane, %j : index
// CHECK-NEXT:        %x = memref.load %t[%at]
// CHECK-NEXT:        memref.store %x, %t[%at]
// CHECK-NEXT:      }
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

func.func @flat(%t: memref<64xf32, #spm.scratch>, %first: index, %end: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c16 = arith.constant 16 : index
  tile.map (%i, %j) in (%first to %end, %c0 to %c16) flat(%f) over [4, 16] {
    %x = memref.load %t[%f] : memref<64xf32, #spm.scratch>
    memref.store %x, %t[%f] : memref<64xf32, #spm.scratch>
    tile.yield
  }
  tile.map (%i, %j) in (%c0 to %c4, %c0 to %c16) flat(%f) over [4, 16] {
    %x = memref.load %t[%f] : memref<64xf32, #spm.scratch>
    tile.yield
  }
  func.return
}

// The flat range is the first dim's scaled by the lanes below it (16), folded where
// it is a constant.
// CHECK-LABEL: func.func @flat
// CHECK:         %[[C64:.*]] = arith.constant 64 : index
// CHECK:         %[[LO:.*]] = arith.muli %first, %c16 : index
// CHECK-NEXT:    %[[HI:.*]] = arith.muli %end, %c16 : index
// CHECK-NEXT:    scf.for %i = %[[LO]] to %[[HI]] step %c1 {
// CHECK-NEXT:      %x = memref.load %t[%i]
// CHECK-NEXT:      memref.store %x, %t[%i]
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.for %i_1 = %c0 to %[[C64]] step %c1 {
// CHECK-NEXT:      %x_1 = memref.load %t[%i_1]
// CHECK-NEXT:    }

func.func @reduce(%t: memref<64xf32, #spm.scratch>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  %sum = tile.reduce (%r) in (%c0 to %n) from (%acc = %zero : f32) attributes {npu.combined_freely} {
    %x = memref.load %t[%r] : memref<64xf32, #spm.scratch>
    %s = arith.addf %acc, %x : f32
    tile.yield %s : f32
  }
  func.return %sum : f32
}

// A tile.reduce is an scf.for carrying its accumulators; its attributes go with it.
// CHECK-LABEL: func.func @reduce
// CHECK:         %sum = scf.for %r = %c0 to %n step %c1 iter_args(%acc = %zero) -> (f32) {
// CHECK-NEXT:      %x = memref.load %t[%r]
// CHECK-NEXT:      %s = arith.addf %acc, %x : f32
// CHECK-NEXT:      scf.yield %s : f32
// CHECK-NEXT:    } {npu.combined_freely}
// CHECK-NEXT:    func.return %sum : f32

// The passes after it see loops only.
// THEN-NOT: tile.
// FIRST: npu-tile: the module is at the tile level (tile.map); run npu-lower-tiles first

// A tile.matmul npu-matrix left (or any, at the scalar level): a map over the result's
// lanes of a reduce over k, made loops; each lane starts from c's value (accumulate),
// reads a and b at their strides (b transposed here: k is its unit stride) and widens
// the fp16 inputs to f32 before it multiplies.
func.func @matmul(%a: memref<512xf16, #spm.scratch>, %b: memref<512xf16, #spm.scratch>, %c: memref<256xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 16, 16, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 1, 32>, c_strides = array<i64: 0, 16, 1>, accumulate} : memref<512xf16, #spm.scratch>, memref<512xf16, #spm.scratch> into memref<256xf32, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @matmul
// CHECK-DAG:     %[[C1:.*]] = arith.constant 1 : index
// CHECK-DAG:     %[[C32:.*]] = arith.constant 32 : index
// CHECK-DAG:     %[[C16:.*]] = arith.constant 16 : index
// CHECK-DAG:     %[[C0:.*]] = arith.constant 0 : index
// CHECK:         scf.for %i = %[[C0]] to %[[C16]] step %[[C1]] {
// CHECK-NEXT:      scf.for %j = %[[C0]] to %[[C16]] step %[[C1]] {
// CHECK-NEXT:        %[[ROW:.*]] = arith.muli %i, %[[C16]] : index
// CHECK-NEXT:        %[[AT:.*]] = arith.addi %[[ROW]], %j : index
// CHECK-NEXT:        %[[INIT:.*]] = memref.load %c[%[[AT]]] : memref<256xf32, #spm.scratch>
// CHECK-NEXT:        %[[SUM:.*]] = scf.for %k = %[[C0]] to %[[C32]] step %[[C1]] iter_args(%acc = %[[INIT]]) -> (f32) {
// CHECK-NEXT:          %[[AROW:.*]] = arith.muli %i, %[[C32]] : index
// CHECK-NEXT:          %[[AAT:.*]] = arith.addi %[[AROW]], %k : index
// CHECK-NEXT:          %[[X:.*]] = memref.load %a[%[[AAT]]] : memref<512xf16, #spm.scratch>
// CHECK-NEXT:          %[[X32:.*]] = arith.extf %[[X]] : f16 to f32
// CHECK-NEXT:          %[[BCOL:.*]] = arith.muli %j, %[[C32]] : index
// CHECK-NEXT:          %[[BAT:.*]] = arith.addi %k, %[[BCOL]] : index
// CHECK-NEXT:          %[[Y:.*]] = memref.load %b[%[[BAT]]] : memref<512xf16, #spm.scratch>
// CHECK-NEXT:          %[[Y32:.*]] = arith.extf %[[Y]] : f16 to f32
// CHECK-NEXT:          %[[P:.*]] = arith.mulf %[[X32]], %[[Y32]] : f32
// CHECK-NEXT:          %[[S:.*]] = arith.addf %acc, %[[P]] : f32
// CHECK-NEXT:          scf.yield %[[S]] : f32
// CHECK-NEXT:        }
// CHECK-NEXT:        memref.store %[[SUM]], %c[%[[AT]]] : memref<256xf32, #spm.scratch>

// Invalid spm IR: each case must give its diagnostic.
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @ddr_alloc() {
  %b = spm.alloc : memref<1024xf32>
  func.return
}
// CHECK: spm.alloc must yield a memref in #spm.scratch, got memref<1024xf32>

// -----

func.func @dynamic_alloc() {
  %b = spm.alloc : memref<?xf32, #spm.scratch>
  func.return
}
// CHECK: spm.alloc needs a static shape

// -----

func.func @ddr_to_ddr(%x: memref<?xf32>, %y: memref<?xf32>, %n: index) {
  spm.copy %x[%n] to %y[%n] count %n : memref<?xf32> to memref<?xf32>
  func.return
}
// CHECK: spm.copy moves data between DDR and the scratchpad, but neither of memref<?xf32> and memref<?xf32> is in #spm.scratch

// -----

func.func @element_types(%x: memref<?xf16>, %n: index) {
  %t = spm.alloc : memref<64xf32, #spm.scratch>
  spm.copy %x[%n] to %t[%n] count %n : memref<?xf16> to memref<64xf32, #spm.scratch>
  func.return
}
// CHECK: spm.copy element types differ: f16 and f32

// -----

func.func @box_too_big(%x: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %c40 = arith.constant 40 : index
  %t = spm.alloc : memref<64xf32, #spm.scratch>
  spm.copy %x[%c0] to %t[%c0] count %c40 rows %c2 strides %c40, %c40 : memref<?xf32> to memref<64xf32, #spm.scratch>
  func.return
}
// CHECK: spm.copy reaches element 79 of a scratchpad buffer of 64 elements

// -----

func.func @unwaited(%x: memref<?xf32>, %n: index) {
  %t = spm.alloc : memref<64xf32, #spm.scratch>
  %token = spm.dma_start %x[%n] to %t[%n] count %n : memref<?xf32> to memref<64xf32, #spm.scratch>
  func.return
}
// CHECK: the token of spm.dma_start must be used exactly once (by a wait or to carry it to one), but it has 0 uses

// -----

func.func @waited_twice(%x: memref<?xf32>, %n: index) {
  %t = spm.alloc : memref<64xf32, #spm.scratch>
  %token = spm.dma_start %x[%n] to %t[%n] count %n : memref<?xf32> to memref<64xf32, #spm.scratch>
  spm.dma_wait %token
  spm.dma_wait %token
  func.return
}
// CHECK: but it has 2 uses

// -----

func.func @gather_from_ddr(%x: memref<?xf32>, %at: vector<32xindex>) {
  %v = spm.gather %x[%at] : memref<?xf32>, vector<32xindex> -> vector<32xf32>
  func.return
}

// CHECK: gathers from a 1-D scratchpad buffer, not memref<?xf32>

// -----

func.func @gather_wrong_lanes(%at: vector<32xindex>) {
  %w = spm.alloc : memref<64xf32, #spm.scratch>
  %v = spm.gather %w[%at] : memref<64xf32, #spm.scratch>, vector<32xindex> -> vector<16xf32>
  func.return
}

// CHECK: gathering vector<32xindex> from memref<64xf32, #spm.scratch> gives vector<32xf32>, not vector<16xf32>

// -----

func.func @matmul_past_the_end(%a: memref<1024xf16, #spm.scratch>, %b: memref<512xf16, #spm.scratch>, %c: memref<1024xf32, #spm.scratch>) {
  spm.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>} : memref<1024xf16, #spm.scratch>, memref<512xf16, #spm.scratch> into memref<1024xf32, #spm.scratch>
  func.return
}
// CHECK: spm.matmul: b is read up to element 1023 (1 x 32 x 32 at strides 0, 32, 1), past the end of memref<512xf16, #spm.scratch>

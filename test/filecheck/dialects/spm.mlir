// Round trip of every spm op and form.
// RUN: xdsl-opt %s | xdsl-opt | filecheck %s

func.func @transfers(%x: memref<?xf32>, %n: index, %rows: index) {
  %c0 = arith.constant 0 : index
  %c512 = arith.constant 512 : index
  %tile = spm.alloc : memref<1024xf32, #spm.scratch>
  spm.copy %x[%c0] to %tile[%c0] count %n : memref<?xf32> to memref<1024xf32, #spm.scratch>
  spm.copy %tile[%c0] to %x[%n] count %n {width = 32 : i64} : memref<1024xf32, #spm.scratch> to memref<?xf32>
  spm.copy %x[%c0] to %tile[%c0] count %c512 rows %rows strides %n, %c512 : memref<?xf32> to memref<1024xf32, #spm.scratch>
  %in = spm.dma_start %x[%c0] to %tile[%c0] count %n : memref<?xf32> to memref<1024xf32, #spm.scratch>
  %out = spm.dma_start %tile[%c0] to %x[%c0] count %c512 rows %rows strides %c512, %n : memref<1024xf32, #spm.scratch> to memref<?xf32>
  spm.dma_wait %in, %out
  func.return
}

// CHECK:      %tile = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK-NEXT: spm.copy %x[%c0] to %tile[%c0] count %n : memref<?xf32> to memref<1024xf32, #spm.scratch>
// CHECK-NEXT: spm.copy %tile[%c0] to %x[%n] count %n {width = 32 : i64} : memref<1024xf32, #spm.scratch> to memref<?xf32>
// CHECK-NEXT: spm.copy %x[%c0] to %tile[%c0] count %c512 rows %rows strides %n, %c512 : memref<?xf32> to memref<1024xf32, #spm.scratch>
// CHECK-NEXT: %in = spm.dma_start %x[%c0] to %tile[%c0] count %n : memref<?xf32> to memref<1024xf32, #spm.scratch>
// CHECK-NEXT: %out = spm.dma_start %tile[%c0] to %x[%c0] count %c512 rows %rows strides %c512, %n : memref<1024xf32, #spm.scratch> to memref<?xf32>
// CHECK-NEXT: spm.dma_wait %in, %out

func.func @completed() {
  %none = spm.completed : !spm.token
  spm.dma_wait %none
  func.return
}
// CHECK:      func.func @completed() {
// CHECK-NEXT:   %none = spm.completed : !spm.token
// CHECK-NEXT:   spm.dma_wait %none

func.func @gather(%at: vector<32xindex>) -> vector<32xf32> {
  %w = spm.alloc : memref<64xf32, #spm.scratch>
  %v = spm.gather %w[%at] : memref<64xf32, #spm.scratch>, vector<32xindex> -> vector<32xf32>
  func.return %v : vector<32xf32>
}

// CHECK-LABEL: func.func @gather(
// CHECK: %{{.*}} = spm.gather %{{.*}}[%at] : memref<64xf32, #spm.scratch>, vector<32xindex> -> vector<32xf32>

// A product on the matrix unit (the same form as tile.matmul).
func.func @matmul(%a: memref<1024xf16, #spm.scratch>, %b: memref<1024xf16, #spm.scratch>, %c: memref<1024xf32, #spm.scratch>) {
  spm.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>} : memref<1024xf16, #spm.scratch>, memref<1024xf16, #spm.scratch> into memref<1024xf32, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @matmul
// CHECK-NEXT:    spm.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>} : memref<1024xf16, #spm.scratch>, memref<1024xf16, #spm.scratch> into memref<1024xf32, #spm.scratch>

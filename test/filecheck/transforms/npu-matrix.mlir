// npu-matrix, from the tile level: a product the matrix unit takes (fp16 into fp32,
// int8 into int32) goes onto it as spm.matmul, on the same tiles; one it does not take
// (fp32, bf16) stays a tile.matmul, with a remark, for npu-lower-tiles to make loops.
// RUN: xdsl-opt %s -p npu-matrix | filecheck %s
// RUN: xdsl-opt %s -p npu-matrix,npu-lower-tiles | filecheck %s --check-prefix=LOOPS

func.func @fp16(%a: memref<1024xf16, #spm.scratch>, %b: memref<1024xf16, #spm.scratch>, %c: memref<1024xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>} : memref<1024xf16, #spm.scratch>, memref<1024xf16, #spm.scratch> into memref<1024xf32, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @fp16
// CHECK-NEXT:    spm.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>} : memref<1024xf16, #spm.scratch>, memref<1024xf16, #spm.scratch> into memref<1024xf32, #spm.scratch>
// CHECK-NEXT:    func.return

// LOOPS-LABEL: func.func @fp16
// LOOPS-NEXT:    spm.matmul %a, %b into %c
// LOOPS-NEXT:    func.return

func.func @int8(%a: memref<2048xi8, #spm.scratch>, %b: memref<2048xi8, #spm.scratch>, %c: memref<1024xi32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 64>, a_strides = array<i64: 0, 64, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>, accumulate} : memref<2048xi8, #spm.scratch>, memref<2048xi8, #spm.scratch> into memref<1024xi32, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @int8
// CHECK-NEXT:    spm.matmul %a, %b into %c {{.*}}accumulate} : memref<2048xi8, #spm.scratch>, memref<2048xi8, #spm.scratch> into memref<1024xi32, #spm.scratch>

func.func @fp32(%a: memref<1024xf32, #spm.scratch>, %b: memref<1024xf32, #spm.scratch>, %c: memref<1024xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>} : memref<1024xf32, #spm.scratch>, memref<1024xf32, #spm.scratch> into memref<1024xf32, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @fp32
// CHECK-NEXT:    tile.matmul %a, %b into %c {{.*}}npu.remarks = ["npu-matrix: product left on the vector unit: the matrix unit multiplies f16 into f32 or f16; i8 into i32, not f32 into f32"]

// LOOPS-LABEL: func.func @fp32
// LOOPS-NOT:     tile.matmul
// LOOPS:         scf.for %i
// LOOPS:           arith.mulf {{.*}} : f32

func.func @bf16(%a: memref<1024xbf16, #spm.scratch>, %b: memref<1024xbf16, #spm.scratch>, %c: memref<1024xf32, #spm.scratch>) {
  tile.matmul %a, %b into %c {dims = array<i64: 1, 32, 32, 32>, a_strides = array<i64: 0, 32, 1>, b_strides = array<i64: 0, 32, 1>, c_strides = array<i64: 0, 32, 1>} : memref<1024xbf16, #spm.scratch>, memref<1024xbf16, #spm.scratch> into memref<1024xf32, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @bf16
// CHECK-NEXT:    tile.matmul {{.*}}not bf16 into f32"]

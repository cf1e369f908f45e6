// npu-lower-triton on vector_add, GELU, softmax (hand-written, 1-D), Inductor's
// layer norm (2-D indexing r0_1 + 512*x0, XBLOCK=1) and a 2-D tile kernel (below).
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p npu-lower-triton | filecheck %s --check-prefix=ADD
// RUN: xdsl-opt %S/../dialects/tt_gelu.mlir -p npu-lower-triton | filecheck %s --check-prefix=GELU
// RUN: xdsl-opt %S/../dialects/tt_softmax.mlir -p npu-lower-triton | filecheck %s --check-prefix=SOFTMAX
// RUN: xdsl-opt %S/../dialects/tt_inductor_layer_norm.mlir -p npu-lower-triton | filecheck %s --check-prefix=LN
// RUN: xdsl-opt %s -p npu-lower-triton | filecheck %s --check-prefix=TILE2D

// The program-id loop, a tile per load and store, copies of the valid elements only,
// and one element loop over them.
// ADD:      func.func public @vector_add(%arg0: memref<?xf32>, %arg1: memref<?xf32>, %arg2: memref<?xf32>, %arg3: i32, %grid_x: index) {
// ADD-DAG:    %[[X:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// ADD-DAG:    %[[Y:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// ADD-DAG:    %[[OUT:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// ADD:        scf.for %pid = %{{.*}} to %grid_x step %{{.*}} {
// ADD:          %[[PID:.*]] = arith.index_cast %pid : index to i32
// ADD:          %[[START:.*]] = arith.muli %[[PID]], %{{.*}} : i32
// ADD:          %[[OFF:.*]] = arith.index_cast %[[START]] : i32 to index
// ADD-NEXT:     %[[ROOM:.*]] = arith.subi %{{.*}}, %[[OFF]] : index
// ADD-NEXT:     %[[POS:.*]] = arith.maxsi %[[ROOM]]
// ADD-NEXT:     %[[LEN:.*]] = arith.minsi %[[POS]], %{{.*}} : index
// ADD-NEXT:     spm.copy %arg0[%[[OFF]]] to %[[X]][%{{.*}}] count %[[LEN]] : memref<?xf32> to memref<1024xf32, #spm.scratch>
// ADD-NEXT:     spm.copy %arg1[%[[OFF]]] to %[[Y]][%{{.*}}] count %[[LEN]] : memref<?xf32> to memref<1024xf32, #spm.scratch>
// ADD-NEXT:     scf.for %i = %{{.*}} to %[[LEN]] step %{{.*}} {
// ADD-NEXT:       %[[A:.*]] = memref.load %[[X]][%i] : memref<1024xf32, #spm.scratch>
// ADD-NEXT:       %[[B:.*]] = memref.load %[[Y]][%i] : memref<1024xf32, #spm.scratch>
// ADD-NEXT:       %[[SUM:.*]] = arith.addf %[[A]], %[[B]] : f32
// ADD-NEXT:       memref.store %[[SUM]], %[[OUT]][%i] : memref<1024xf32, #spm.scratch>
// ADD-NEXT:     }
// ADD-NEXT:     spm.copy %[[OUT]][%{{.*}}] to %arg2[%[[OFF]]] count %[[LEN]] : memref<1024xf32, #spm.scratch> to memref<?xf32>
// ADD-NEXT:   }
// ADD-NEXT:   func.return

// GELU keeps scalar math in the element loop, erf as math.erf.
// GELU:       scf.for %pid
// GELU:         spm.copy %arg0[%{{.*}}] to %[[IN:.*]][%{{.*}}] count %[[LEN:.*]] : memref<?xf32>
// GELU-NEXT:    scf.for %i = %{{.*}} to %[[LEN]] step
// GELU-NEXT:      %[[V:.*]] = memref.load %[[IN]][%i]
// GELU-NEXT:      arith.mulf %[[V]]
// GELU-NEXT:      arith.mulf %[[V]]
// GELU-NEXT:      math.erf
// GELU-NEXT:      arith.addf
// GELU-NEXT:      arith.mulf
// GELU-NEXT:      memref.store
// GELU-NEXT:    }
// GELU-NEXT:    spm.copy {{.*}} to %arg1

// Softmax: masked lanes get `other` (-inf) before the max; the reductions carry an
// accumulator over the whole tile; exp is computed once into its own tile.
// SOFTMAX:      spm.copy %arg1[%{{.*}}] to %[[IN:.*]][%{{.*}}] count %[[LEN:.*]] : memref<?xf32>
// SOFTMAX-NEXT: scf.for %i = %[[LEN]] to %[[BLOCK:.*]] step %{{.*}} {
// SOFTMAX-NEXT:   memref.store %[[NEGINF:.*]], %[[IN]][%i]
// SOFTMAX:      %[[FIRST:.*]] = memref.load %[[IN]][%{{.*}}]
// SOFTMAX-NEXT: %[[MAX:.*]] = scf.for %r = %{{.*}} to %[[BLOCK]] step %{{.*}} iter_args(%acc = %[[FIRST]]) -> (f32) {
// SOFTMAX-NEXT:   %[[E:.*]] = memref.load %[[IN]][%r]
// SOFTMAX-NEXT:   %[[M:.*]] = arith.maxnumf %acc, %[[E]] : f32
// SOFTMAX-NEXT:   scf.yield %[[M]] : f32
// SOFTMAX:      scf.for %{{.*}} = %{{.*}} to %[[BLOCK]]
// SOFTMAX:        arith.subf %{{.*}}, %[[MAX]]
// SOFTMAX-NEXT:   math.exp
// SOFTMAX-NEXT:   memref.store %{{.*}}, %[[EXP:.*]][%{{.*}}]
// SOFTMAX:      %[[SUM:.*]] = scf.for %r{{.*}} iter_args
// SOFTMAX:        arith.addf %acc
// SOFTMAX:      scf.for %{{.*}} = %{{.*}} to %[[LEN]]
// SOFTMAX-NEXT:   memref.load %[[EXP]]
// SOFTMAX-NEXT:   arith.divf %{{.*}}, %[[SUM]] : f32
// SOFTMAX:      spm.copy {{.*}} to %arg0[%{{.*}}] count %[[LEN]]

// Layer norm moves rows of 512 at 512 * pid; the whole row moves when pid < 64, nothing otherwise;
// the weights are copied unmasked.
// LN:      %[[LIVE:.*]] = arith.cmpi slt, %{{.*}}, %{{.*}} : i32
// LN:      %[[COUNT:.*]] = arith.select %[[LIVE]], %{{.*}}, %{{.*}} : index
// LN-NEXT: spm.copy %arg0[%{{.*}}] to %{{.*}}[%{{.*}}] count %[[COUNT]] : memref<?xf32> to memref<512xf32, #spm.scratch>
// LN-NEXT: spm.copy %arg1[%{{.*}}] to %{{.*}}[%{{.*}}] count %{{.*}} : memref<?xf32> to memref<512xf32, #spm.scratch>
// LN:      math.rsqrt %{{.*}} : f32
// LN:      spm.copy %{{.*}} to %arg3[%{{.*}}] count %[[COUNT]]

// In the 2-D kernel a 4 x 64 box of a 256-wide matrix moves as rows x count with strides; the
// per-row scale is a 1-D tile; the element loops nest rows over columns.
// TILE2D:      func.func public @scale_rows({{.*}}, %grid_x: index, %grid_y: index)
// TILE2D:      spm.copy %x_ptr[%[[OFF:.*]]] to %[[X:.*]][%{{.*}}] count %[[COLS:.*]] rows %[[ROWS:.*]] strides %{{.*}}, %{{.*}} : memref<?xf32> to memref<256xf32, #spm.scratch>
// TILE2D-NEXT: spm.copy %s_ptr[%{{.*}}] to %[[S:.*]][%{{.*}}] count %[[ROWS]] : memref<?xf32> to memref<4xf32, #spm.scratch>
// TILE2D:      scf.for %[[R:.*]] = %{{.*}} to %[[ROWS]] step
// TILE2D-NEXT:   scf.for %[[C:.*]] = %{{.*}} to %[[COLS]] step
// TILE2D:          memref.load %[[S]][%[[R]]]
// TILE2D:      spm.copy %{{.*}} to %out_ptr[%[[OFF]]] count %[[COLS]] rows %[[ROWS]] strides

builtin.module {
  tt.func public @scale_rows(%x_ptr: !tt.ptr<f32>, %s_ptr: !tt.ptr<f32>, %out_ptr: !tt.ptr<f32>, %n_rows: i32, %n_cols: i32) attributes {noinline = false} {
    %cst = arith.constant dense<256> : tensor<4x1xi32>
    %cols = arith.constant 64 : i32
    %rows = arith.constant 4 : i32
    %rows_1 = tt.get_program_id x : i32
    %rows_2 = arith.muli %rows_1, %rows : i32
    %rows_3 = tt.make_range {end = 4 : i32, start = 0 : i32} : tensor<4xi32>
    %rows_4 = tt.expand_dims %rows_3 {axis = 1 : i32} : tensor<4xi32> -> tensor<4x1xi32>
    %rows_5 = tt.splat %rows_2 : i32 -> tensor<4x1xi32>
    %rows_6 = arith.addi %rows_5, %rows_4 : tensor<4x1xi32>
    %cols_1 = tt.get_program_id y : i32
    %cols_2 = arith.muli %cols_1, %cols : i32
    %cols_3 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %cols_4 = tt.expand_dims %cols_3 {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %cols_5 = tt.splat %cols_2 : i32 -> tensor<1x64xi32>
    %cols_6 = arith.addi %cols_5, %cols_4 : tensor<1x64xi32>
    %mask = tt.splat %n_rows : i32 -> tensor<4x1xi32>
    %mask_1 = arith.cmpi slt, %rows_6, %mask : tensor<4x1xi32>
    %mask_2 = tt.splat %n_cols : i32 -> tensor<1x64xi32>
    %mask_3 = arith.cmpi slt, %cols_6, %mask_2 : tensor<1x64xi32>
    %mask_4 = tt.broadcast %mask_1 : tensor<4x1xi1> -> tensor<4x64xi1>
    %mask_5 = tt.broadcast %mask_3 : tensor<1x64xi1> -> tensor<4x64xi1>
    %mask_6 = arith.andi %mask_4, %mask_5 : tensor<4x64xi1>
    %x = arith.muli %rows_6, %cst : tensor<4x1xi32>
    %x_1 = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<4x1x!tt.ptr<f32>>
    %x_2 = tt.addptr %x_1, %x : tensor<4x1x!tt.ptr<f32>>, tensor<4x1xi32>
    %x_3 = tt.broadcast %x_2 : tensor<4x1x!tt.ptr<f32>> -> tensor<4x64x!tt.ptr<f32>>
    %x_4 = tt.broadcast %cols_6 : tensor<1x64xi32> -> tensor<4x64xi32>
    %x_5 = tt.addptr %x_3, %x_4 : tensor<4x64x!tt.ptr<f32>>, tensor<4x64xi32>
    %x_6 = tt.load %x_5, %mask_6 : tensor<4x64x!tt.ptr<f32>>
    %s = tt.splat %s_ptr : !tt.ptr<f32> -> tensor<4x1x!tt.ptr<f32>>
    %s_1 = tt.addptr %s, %rows_6 : tensor<4x1x!tt.ptr<f32>>, tensor<4x1xi32>
    %s_2 = tt.load %s_1, %mask_1 : tensor<4x1x!tt.ptr<f32>>
    %0 = tt.splat %out_ptr : !tt.ptr<f32> -> tensor<4x1x!tt.ptr<f32>>
    %1 = tt.addptr %0, %x : tensor<4x1x!tt.ptr<f32>>, tensor<4x1xi32>
    %2 = tt.broadcast %1 : tensor<4x1x!tt.ptr<f32>> -> tensor<4x64x!tt.ptr<f32>>
    %3 = tt.addptr %2, %x_4 : tensor<4x64x!tt.ptr<f32>>, tensor<4x64xi32>
    %4 = tt.broadcast %s_2 : tensor<4x1xf32> -> tensor<4x64xf32>
    %5 = arith.mulf %x_6, %4 : tensor<4x64xf32>
    tt.store %3, %5, %mask_6 : tensor<4x64x!tt.ptr<f32>>
    tt.return
  }
}

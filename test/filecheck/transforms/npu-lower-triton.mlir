// npu-lower-triton on vector_add, GELU, softmax (hand-written, 1-D), Inductor's
// layer norm (2-D indexing r0_1 + 512*x0, XBLOCK=1) and a 2-D tile kernel (below):
// what it makes at the tile level (TILELEVEL), and the loops npu-lower-tiles makes of
// that (the rest).
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p npu-lower-triton | filecheck %s --check-prefix=TILELEVEL
// RUN: xdsl-opt %S/../dialects/tt_softmax.mlir -p npu-lower-triton | filecheck %s --check-prefix=TILESOFTMAX
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p npu-lower-triton,npu-lower-tiles | filecheck %s --check-prefix=ADD
// RUN: xdsl-opt %S/../dialects/tt_gelu.mlir -p npu-lower-triton,npu-lower-tiles | filecheck %s --check-prefix=GELU
// RUN: xdsl-opt %S/../dialects/tt_softmax.mlir -p npu-lower-triton,npu-lower-tiles | filecheck %s --check-prefix=SOFTMAX
// RUN: xdsl-opt %S/../dialects/tt_inductor_layer_norm.mlir -p npu-lower-triton,npu-lower-tiles | filecheck %s --check-prefix=LN
// RUN: xdsl-opt --split-input-file %s -p npu-lower-triton,npu-lower-tiles | filecheck %s --check-prefix=TILE2D
// RUN: xdsl-opt --split-input-file %s -p npu-lower-triton,npu-lower-tiles | filecheck %s
// RUN: xdsl-opt --split-input-file %s -p npu-lower-triton | filecheck %s --check-prefix=DOT

// At the tile level, the element-wise work over the box is one tile.map (the lanes
// from 0 to the valid count), between the copies in and the copy out.
// TILELEVEL:      spm.copy %arg1[%[[OFF:.*]]] to %[[Y:.*]][%{{.*}}] count %[[LEN:.*]] : memref<?xf32>
// TILELEVEL-NEXT: tile.map (%i) in (%{{.*}} to %[[LEN]]) {
// TILELEVEL-NEXT:   memref.load %{{.*}}[%i]
// TILELEVEL-NEXT:   memref.load %[[Y]][%i]
// TILELEVEL-NEXT:   arith.addf
// TILELEVEL-NEXT:   memref.store %{{.*}}, %[[OUT:.*]][%i]
// TILELEVEL-NEXT:   tile.yield
// TILELEVEL-NEXT: }
// TILELEVEL-NEXT: spm.copy %[[OUT]][%{{.*}}] to %arg2[%[[OFF]]] count %[[LEN]]
// TILELEVEL-NOT:  scf.for %i

// Softmax at the tile level: masked lanes filled by a map over the lanes past the
// count, each reduction a tile.reduce over the tile from its combiner's identity, and
// exp computed into its own tile by a map; no element loop yet.
// TILESOFTMAX:      spm.copy %arg1[%{{.*}}] to %[[IN:.*]][%{{.*}}] count %[[LEN:.*]] : memref<?xf32>
// TILESOFTMAX-NEXT: tile.map (%i) in (%[[LEN]] to %[[BLOCK:.*]]) {
// TILESOFTMAX-NEXT:   memref.store %{{.*}}, %[[IN]][%i]
// TILESOFTMAX-NEXT:   tile.yield
// TILESOFTMAX-NEXT: }
// TILESOFTMAX:      %[[MAX:.*]] = tile.reduce (%r) in (%{{.*}} to %[[BLOCK]]) from (%acc = %{{.*}} : f32) {
// TILESOFTMAX-NEXT:   %[[E:.*]] = memref.load %[[IN]][%r]
// TILESOFTMAX-NEXT:   %[[M:.*]] = arith.maxnumf %acc, %[[E]] : f32
// TILESOFTMAX-NEXT:   tile.yield %[[M]] : f32
// TILESOFTMAX-NEXT: }
// TILESOFTMAX-NEXT: tile.map
// TILESOFTMAX:        math.exp
// TILESOFTMAX:      tile.reduce
// TILESOFTMAX-NOT:  scf.for %i

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
// accumulator over the whole tile from the combiner's identity (maxnum's is NaN, which
// it ignores; the sum's 0); exp is computed once into its own tile.
// SOFTMAX:      spm.copy %arg1[%{{.*}}] to %[[IN:.*]][%[[ZERO:.*]]] count %[[LEN:.*]] : memref<?xf32>
// SOFTMAX-NEXT: scf.for %i = %[[LEN]] to %[[BLOCK:.*]] step %{{.*}} {
// SOFTMAX-NEXT:   memref.store %[[NEGINF:.*]], %[[IN]][%i]
// SOFTMAX:      %[[NAN:.*]] = arith.constant 0x7fc00000 : f32
// SOFTMAX-NEXT: %[[MAX:.*]] = scf.for %r = %[[ZERO]] to %[[BLOCK]] step %{{.*}} iter_args(%acc = %[[NAN]]) -> (f32) {
// SOFTMAX-NEXT:   %[[E:.*]] = memref.load %[[IN]][%r]
// SOFTMAX-NEXT:   %[[M:.*]] = arith.maxnumf %acc, %[[E]] : f32
// SOFTMAX-NEXT:   scf.yield %[[M]] : f32
// SOFTMAX:      scf.for %{{.*}} = %{{.*}} to %[[BLOCK]]
// SOFTMAX:        arith.subf %{{.*}}, %[[MAX]]
// SOFTMAX-NEXT:   math.exp
// SOFTMAX-NEXT:   memref.store %{{.*}}, %[[EXP:.*]][%{{.*}}]
// SOFTMAX:      %[[NOUGHT:.*]] = arith.constant 0.000000e+00 : f32
// SOFTMAX-NEXT: %[[SUM:.*]] = scf.for %r{{.*}} = %[[ZERO]] to %[[BLOCK]] step %{{.*}} iter_args(%acc{{.*}} = %[[NOUGHT]])
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

// -----

// A masked load and store: the load copies the mask's valid lanes (min(max(n - start,
// 0), 64)) into a tile, an element loop runs over the same count, and the output
// tile is copied back with it.
builtin.module {
  tt.func public @masked_copy(%x_ptr: !tt.ptr<f32>, %out_ptr: !tt.ptr<f32>, %n: i32) attributes {noinline = false} {
    %offs = arith.constant 64 : i32
    %offs_1 = tt.get_program_id x : i32
    %offs_2 = arith.muli %offs_1, %offs : i32
    %offs_3 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %offs_4 = tt.splat %offs_2 : i32 -> tensor<64xi32>
    %offs_5 = arith.addi %offs_4, %offs_3 : tensor<64xi32>
    %m = tt.splat %n : i32 -> tensor<64xi32>
    %m_1 = arith.cmpi slt, %offs_5, %m : tensor<64xi32>
    %0 = tt.splat %out_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %1 = tt.addptr %0, %offs_5 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %2 = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %3 = tt.addptr %2, %offs_5 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %4 = tt.load %3, %m_1 : tensor<64x!tt.ptr<f32>>
    tt.store %1, %4, %m_1 : tensor<64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @masked_copy(%x_ptr: memref<?xf32>, %out_ptr: memref<?xf32>, %n: i32, %grid_x: index) {
// CHECK:         %[[IN:.*]] = spm.alloc : memref<64xf32, #spm.scratch>
// CHECK-NEXT:    %[[OUT:.*]] = spm.alloc : memref<64xf32, #spm.scratch>
// CHECK:         scf.for %pid = %{{.*}} to %grid_x step %{{.*}} {
// CHECK:           %[[N:.*]] = arith.index_cast %n : i32 to index
// CHECK-NEXT:      %[[START:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK-NEXT:      %[[ROOM:.*]] = arith.subi %[[N]], %[[START]] : index
// CHECK-NEXT:      %[[POS:.*]] = arith.maxsi %[[ROOM]], %{{.*}} : index
// CHECK-NEXT:      %[[COUNT:.*]] = arith.minsi %[[POS]], %{{.*}} : index
// CHECK-NEXT:      spm.copy %x_ptr[%[[START]]] to %[[IN]][%{{.*}}] count %[[COUNT]]
// CHECK-NEXT:      scf.for %i = %{{.*}} to %[[COUNT]] step %{{.*}} {
// CHECK-NEXT:        %[[V:.*]] = memref.load %[[IN]][%i]
// CHECK-NEXT:        memref.store %[[V]], %[[OUT]][%i]
// CHECK-NEXT:      }
// CHECK-NEXT:      spm.copy %[[OUT]][%{{.*}}] to %out_ptr[%[[START]]] count %[[COUNT]]

// -----

// A load through loaded indices is a gather: read from DDR element by element in the
// loop that uses it; the index tile itself is copied.
builtin.module {
  tt.func public @gather(%x_ptr: !tt.ptr<f32>, %idx_ptr: !tt.ptr<i32>, %out_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %offs = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %i = tt.splat %idx_ptr : !tt.ptr<i32> -> tensor<64x!tt.ptr<i32>>
    %i_1 = tt.addptr %i, %offs : tensor<64x!tt.ptr<i32>>, tensor<64xi32>
    %i_2 = tt.load %i_1 : tensor<64x!tt.ptr<i32>>
    %0 = tt.splat %out_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %1 = tt.addptr %0, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %2 = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %3 = tt.addptr %2, %i_2 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %4 = tt.load %3 : tensor<64x!tt.ptr<f32>>
    tt.store %1, %4 : tensor<64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @gather(
// CHECK:         spm.copy %idx_ptr[%{{.*}}] to %[[IDX:.*]][%{{.*}}] count
// CHECK:         scf.for %i =
// CHECK-NEXT:      %[[I:.*]] = memref.load %[[IDX]][%i] : memref<64xi32, #spm.scratch>
// CHECK:           %[[AT:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK-NEXT:      %{{.*}} = memref.load %x_ptr[%[[AT]]] : memref<?xf32>

// -----

// tl.sum over a row: an accumulator loop over every lane from the combiner's
// identity, with the combiner as one op; the scalar result is stored straight to DDR.
// An fp16 sum accumulates in f32 and rounds once; a signed max, whose identity is the
// type's extreme, starts from the first lane.
builtin.module {
  tt.func public @row_sum(%x_ptr: !tt.ptr<f32>, %out_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %v = arith.constant 64 : i32
    %row = tt.get_program_id x : i32
    %v_1 = arith.muli %row, %v : i32
    %v_2 = tt.addptr %x_ptr, %v_1 : !tt.ptr<f32>, i32
    %v_3 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %v_4 = tt.splat %v_2 : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %v_5 = tt.addptr %v_4, %v_3 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %v_6 = tt.load %v_5 : tensor<64x!tt.ptr<f32>>
    %0 = tt.addptr %out_ptr, %row : !tt.ptr<f32>, i32
    %1 = "tt.reduce"(%v_6) <{axis = 0 : i32}> ({
    ^bb0(%arg2: f32, %arg3: f32):
      %2 = arith.addf %arg2, %arg3 : f32
      tt.reduce.return %2 : f32
    }) : (tensor<64xf32>) -> f32
    tt.store %0, %1 : !tt.ptr<f32>
    tt.return
  }
  tt.func public @half_sum(%x_ptr: !tt.ptr<f16>, %out_ptr: !tt.ptr<f16>) attributes {noinline = false} {
    %v_3 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %v_4 = tt.splat %x_ptr : !tt.ptr<f16> -> tensor<64x!tt.ptr<f16>>
    %v_5 = tt.addptr %v_4, %v_3 : tensor<64x!tt.ptr<f16>>, tensor<64xi32>
    %v_6 = tt.load %v_5 : tensor<64x!tt.ptr<f16>>
    %1 = "tt.reduce"(%v_6) <{axis = 0 : i32}> ({
    ^bb0(%arg2: f16, %arg3: f16):
      %2 = arith.addf %arg2, %arg3 : f16
      tt.reduce.return %2 : f16
    }) : (tensor<64xf16>) -> f16
    tt.store %out_ptr, %1 : !tt.ptr<f16>
    tt.return
  }
  tt.func public @int_max(%x_ptr: !tt.ptr<i32>, %out_ptr: !tt.ptr<i32>) attributes {noinline = false} {
    %v_3 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %v_4 = tt.splat %x_ptr : !tt.ptr<i32> -> tensor<64x!tt.ptr<i32>>
    %v_5 = tt.addptr %v_4, %v_3 : tensor<64x!tt.ptr<i32>>, tensor<64xi32>
    %v_6 = tt.load %v_5 : tensor<64x!tt.ptr<i32>>
    %1 = "tt.reduce"(%v_6) <{axis = 0 : i32}> ({
    ^bb0(%arg2: i32, %arg3: i32):
      %2 = arith.maxsi %arg2, %arg3 : i32
      tt.reduce.return %2 : i32
    }) : (tensor<64xi32>) -> i32
    tt.store %out_ptr, %1 : !tt.ptr<i32>
    tt.return
  }
}

// CHECK-LABEL: func.func public @row_sum(
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[SUM:.*]] = scf.for %r = %[[FROM:.*]] to %{{.*}} step %{{.*}} iter_args(%acc = %[[ZERO]]) -> (f32) {
// CHECK-NEXT:      %[[X:.*]] = memref.load %[[TILE:.*]][%r]
// CHECK-NEXT:      %[[S:.*]] = arith.addf %acc, %[[X]] : f32
// CHECK-NEXT:      scf.yield %[[S]] : f32
// CHECK-NEXT:    }
// CHECK:         memref.store %[[SUM]], %out_ptr[%{{.*}}] : memref<?xf32>
// CHECK-LABEL: func.func public @half_sum(
// CHECK:         %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[SUM:.*]] = scf.for %r = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%acc = %[[ZERO]]) -> (f32) {
// CHECK-NEXT:      %[[X:.*]] = memref.load %{{.*}}[%r] : memref<64xf16, #spm.scratch>
// CHECK-NEXT:      %[[WIDE:.*]] = arith.extf %[[X]] : f16 to f32
// CHECK-NEXT:      %[[S:.*]] = arith.addf %acc, %[[WIDE]] : f32
// CHECK-NEXT:      scf.yield %[[S]] : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    %[[HALF:.*]] = arith.truncf %[[SUM]] : f32 to f16
// CHECK:         memref.store %[[HALF]], %out_ptr[%{{.*}}] : memref<?xf16>
// CHECK-LABEL: func.func public @int_max(
// CHECK:         %[[FIRST:.*]] = memref.load %[[TILE:.*]][%{{.*}}] : memref<64xi32, #spm.scratch>
// CHECK-NEXT:    %[[MAX:.*]] = scf.for %r = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%acc = %[[FIRST]]) -> (i32) {
// CHECK-NEXT:      %[[X:.*]] = memref.load %[[TILE]][%r]
// CHECK-NEXT:      %[[M:.*]] = arith.maxsi %acc, %[[X]] : i32

// -----

// A value two stores use is computed once, into its own tile, which both read.
builtin.module {
  tt.func public @shared_value(%x_ptr: !tt.ptr<f32>, %a_ptr: !tt.ptr<f32>, %b_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %cst = arith.constant dense<1.000000e+00> : tensor<64xf32>
    %offs = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %e = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %e_1 = tt.addptr %e, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %e_2 = tt.load %e_1 : tensor<64x!tt.ptr<f32>>
    %e_3 = math.exp %e_2 : tensor<64xf32>
    %0 = tt.splat %a_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %1 = tt.addptr %0, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    tt.store %1, %e_3 : tensor<64x!tt.ptr<f32>>
    %2 = tt.splat %b_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %3 = tt.addptr %2, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %4 = arith.addf %e_3, %cst : tensor<64xf32>
    tt.store %3, %4 : tensor<64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @shared_value(
// CHECK:         %[[TMP:tmp[0-9]+]] = spm.alloc : memref<64xf32, #spm.scratch>
// CHECK:         scf.for %i =
// CHECK:           math.exp
// CHECK-NEXT:      memref.store %{{.*}}, %[[TMP]][%i]
// CHECK-COUNT-2:   memref.load %[[TMP]]
// CHECK-NOT:       math.exp

// -----

// A row stride that is a kernel argument: the rows of the 2-D box move in one copy
// whose DDR stride is that argument (as an index), in and out.
builtin.module {
  tt.func public @strided_rows(%x_ptr: !tt.ptr<f32>, %out_ptr: !tt.ptr<f32>, %n_rows: i32, %n_cols: i32, %stride_xm: i32, %stride_om: i32) attributes {noinline = false} {
    %cst = arith.constant dense<2.000000e+00> : tensor<4x64xf32>
    %x = arith.constant dense<0.000000e+00> : tensor<4x64xf32>
    %rows = arith.constant 4 : i32
    %rows_1 = tt.get_program_id x : i32
    %rows_2 = arith.muli %rows_1, %rows : i32
    %rows_3 = tt.make_range {end = 4 : i32, start = 0 : i32} : tensor<4xi32>
    %rows_4 = tt.expand_dims %rows_3 {axis = 1 : i32} : tensor<4xi32> -> tensor<4x1xi32>
    %rows_5 = tt.splat %rows_2 : i32 -> tensor<4x1xi32>
    %rows_6 = arith.addi %rows_5, %rows_4 : tensor<4x1xi32>
    %cols = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %cols_1 = tt.expand_dims %cols {axis = 0 : i32} : tensor<64xi32> -> tensor<1x64xi32>
    %mask = tt.splat %n_rows : i32 -> tensor<4x1xi32>
    %mask_1 = arith.cmpi slt, %rows_6, %mask : tensor<4x1xi32>
    %mask_2 = tt.splat %n_cols : i32 -> tensor<1x64xi32>
    %mask_3 = arith.cmpi slt, %cols_1, %mask_2 : tensor<1x64xi32>
    %mask_4 = tt.broadcast %mask_1 : tensor<4x1xi1> -> tensor<4x64xi1>
    %mask_5 = tt.broadcast %mask_3 : tensor<1x64xi1> -> tensor<4x64xi1>
    %mask_6 = arith.andi %mask_4, %mask_5 : tensor<4x64xi1>
    %x_1 = tt.splat %stride_xm : i32 -> tensor<4x1xi32>
    %x_2 = arith.muli %rows_6, %x_1 : tensor<4x1xi32>
    %x_3 = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<4x1x!tt.ptr<f32>>
    %x_4 = tt.addptr %x_3, %x_2 : tensor<4x1x!tt.ptr<f32>>, tensor<4x1xi32>
    %x_5 = tt.broadcast %x_4 : tensor<4x1x!tt.ptr<f32>> -> tensor<4x64x!tt.ptr<f32>>
    %x_6 = tt.broadcast %cols_1 : tensor<1x64xi32> -> tensor<4x64xi32>
    %x_7 = tt.addptr %x_5, %x_6 : tensor<4x64x!tt.ptr<f32>>, tensor<4x64xi32>
    %x_8 = tt.load %x_7, %mask_6, %x : tensor<4x64x!tt.ptr<f32>>
    %0 = tt.splat %stride_om : i32 -> tensor<4x1xi32>
    %1 = arith.muli %rows_6, %0 : tensor<4x1xi32>
    %2 = tt.splat %out_ptr : !tt.ptr<f32> -> tensor<4x1x!tt.ptr<f32>>
    %3 = tt.addptr %2, %1 : tensor<4x1x!tt.ptr<f32>>, tensor<4x1xi32>
    %4 = tt.broadcast %3 : tensor<4x1x!tt.ptr<f32>> -> tensor<4x64x!tt.ptr<f32>>
    %5 = tt.addptr %4, %x_6 : tensor<4x64x!tt.ptr<f32>>, tensor<4x64xi32>
    %6 = arith.mulf %x_8, %cst : tensor<4x64xf32>
    tt.store %5, %6, %mask_6 : tensor<4x64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @strided_rows(
// CHECK:         %[[XM:.*]] = arith.index_cast %stride_xm : i32 to index
// CHECK-NEXT:    %[[XOFF:.*]] = arith.muli %[[ROW0:.*]], %[[XM]] : index
// CHECK-NEXT:    spm.copy %x_ptr[%[[XOFF]]] to %in0[%{{.*}}] count %[[COLS:.*]] rows %[[ROWS:.*]] strides %[[XM]], %[[C64:.*]] : memref<?xf32> to memref<256xf32, #spm.scratch>
// CHECK:         %[[OM:.*]] = arith.index_cast %stride_om : i32 to index
// CHECK-NEXT:    %[[OOFF:.*]] = arith.muli %[[ROW0]], %[[OM]] : index
// CHECK-NEXT:    spm.copy %out0[%{{.*}}] to %out_ptr[%[[OOFF]]] count %[[COLS]] rows %[[ROWS]] strides %[[C64]], %[[OM]]

// -----

// A mask bounded on both sides (0 <= offs - shift < n): the copy moves the lanes from
// the first that passes to the end, at that lane in the tile; the lanes before and
// after are filled with `other`.
builtin.module {
  tt.func public @shifted_window(%x_ptr: !tt.ptr<f32>, %out_ptr: !tt.ptr<f32>, %n: i32, %shift: i32) attributes {noinline = false} {
    %x = arith.constant dense<0.000000e+00> : tensor<64xf32>
    %x_1 = arith.constant dense<0> : tensor<64xi32>
    %offs = arith.constant 64 : i32
    %offs_1 = tt.get_program_id x : i32
    %offs_2 = arith.muli %offs_1, %offs : i32
    %offs_3 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %offs_4 = tt.splat %offs_2 : i32 -> tensor<64xi32>
    %offs_5 = arith.addi %offs_4, %offs_3 : tensor<64xi32>
    %src = tt.splat %shift : i32 -> tensor<64xi32>
    %src_1 = arith.subi %offs_5, %src : tensor<64xi32>
    %x_2 = arith.cmpi sge, %src_1, %x_1 : tensor<64xi32>
    %x_3 = tt.splat %n : i32 -> tensor<64xi32>
    %x_4 = arith.cmpi slt, %src_1, %x_3 : tensor<64xi32>
    %x_5 = arith.andi %x_2, %x_4 : tensor<64xi1>
    %x_6 = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %x_7 = tt.addptr %x_6, %src_1 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %x_8 = tt.load %x_7, %x_5, %x : tensor<64x!tt.ptr<f32>>
    %0 = arith.cmpi slt, %offs_5, %x_3 : tensor<64xi32>
    %1 = tt.splat %out_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %2 = tt.addptr %1, %offs_5 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    tt.store %2, %x_8, %0 : tensor<64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @shifted_window(
// CHECK:         %[[START:.*]] = arith.addi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:    %[[BELOW:.*]] = arith.subi %{{.*}}, %[[START]] : index
// CHECK-NEXT:    %[[B:.*]] = arith.maxsi %[[BELOW]], %{{.*}} : index
// CHECK-NEXT:    %[[FIRST:.*]] = arith.minsi %[[B]], %[[C64:.*]] : index
// CHECK:         %[[END:.*]] = arith.minsi %{{.*}}, %[[C64]] : index
// CHECK-NEXT:    %[[FROM:.*]] = arith.addi %[[START]], %[[FIRST]] : index
// CHECK-NEXT:    %[[SPAN:.*]] = arith.subi %[[END]], %[[FIRST]] : index
// CHECK-NEXT:    %[[COUNT:.*]] = arith.maxsi %[[SPAN]], %{{.*}} : index
// CHECK-NEXT:    spm.copy %x_ptr[%[[FROM]]] to %in0[%[[FIRST]]] count %[[COUNT]]
// CHECK:         scf.for %{{.*}} = %[[END]] to %[[C64]] step
// CHECK-NEXT:      memref.store %{{.*}}, %in0
// CHECK:         scf.for %{{.*}} = %{{.*}} to %[[FIRST]] step
// CHECK-NEXT:      memref.store %{{.*}}, %in0

// -----

// tt.scan: a loop from lane 1 carries the running sum and stores every prefix into the
// scan tile (lane 0 stored before it); its users read that tile.
module {
  tt.func public @cumsum(%arg0: !tt.ptr<f32>, %arg1: !tt.ptr<f32>) attributes {noinline = false} {
    %0 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %1 = tt.splat %arg1 : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %2 = tt.addptr %1, %0 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %3 = tt.splat %arg0 : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %4 = tt.addptr %3, %0 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %5 = tt.load %4 : tensor<64x!tt.ptr<f32>>
    %6 = "tt.scan"(%5) <{axis = 0 : i32, reverse = false}> ({
    ^bb0(%arg2: f32, %arg3: f32):
      %7 = arith.addf %arg2, %arg3 : f32
      tt.scan.return %7 : f32
    }) : (tensor<64xf32>) -> tensor<64xf32>
    tt.store %2, %6 : tensor<64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @cumsum(
// CHECK:         %[[SCAN:scan[0-9]*]] = spm.alloc : memref<64xf32, #spm.scratch>
// CHECK:         %[[FIRST:.*]] = memref.load %[[IN:.*]][%[[C0:.*]]] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:    memref.store %[[FIRST]], %[[SCAN]][%[[C0]]]
// CHECK-NEXT:    scf.for %r = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%acc = %[[FIRST]]) -> (f32) {
// CHECK-NEXT:      %[[X:.*]] = memref.load %[[IN]][%r]
// CHECK-NEXT:      %[[SUM:.*]] = arith.addf %acc, %[[X]] : f32
// CHECK-NEXT:      memref.store %[[SUM]], %[[SCAN]][%r]
// CHECK-NEXT:      scf.yield %[[SUM]] : f32
// CHECK:         memref.load %[[SCAN]]

// -----

// argmax: a reduction of values and indices together carries both; the combiner
// (Triton's, with its tie-break on the smaller index) is cloned into the loop, which
// runs from lane 0, its first trip taking the lane's values as they are, and is marked
// as combining in any order (for npu-vectorize).
module {
  tt.func public @argmax(%arg0: !tt.ptr<f32>, %arg1: !tt.ptr<i32>) attributes {noinline = false} {
    %0 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %1 = tt.splat %arg0 : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %2 = tt.addptr %1, %0 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %3 = tt.load %2 : tensor<64x!tt.ptr<f32>>
    %4:2 = "tt.reduce"(%3, %0) <{axis = 0 : i32}> ({
    ^bb0(%arg2: f32, %arg3: i32, %arg4: f32, %arg5: i32):
      %5 = arith.cmpf oeq, %arg2, %arg4 : f32
      %6 = arith.cmpi slt, %arg3, %arg5 : i32
      %7 = arith.andi %5, %6 : i1
      %8 = arith.cmpf ogt, %arg2, %arg4 : f32
      %9 = arith.ori %8, %7 : i1
      %10 = arith.select %9, %arg2, %arg4 : f32
      %11 = arith.select %9, %arg3, %arg5 : i32
      tt.reduce.return %10, %11 : f32, i32
    }) : (tensor<64xf32>, tensor<64xi32>) -> (f32, i32)
    tt.store %arg1, %4#1 : !tt.ptr<i32>
    tt.return
  }
}

// CHECK-LABEL: func.func public @argmax(
// CHECK:         %{{.*}}, %[[INDEX:.*]] = scf.for %r = %[[C0:.*]] to %{{.*}} step %{{.*}} iter_args(%acc = %{{.*}}, %acc_1 = %{{.*}}) -> (f32, i32) {
// CHECK-NEXT:      %[[X:.*]] = memref.load %in0[%r]
// CHECK:           %[[XI:.*]] = arith.index_cast %{{.*}} : index to i32
// CHECK-NEXT:      %[[FIRST:.*]] = arith.cmpi eq, %r, %[[C0]] : index
// CHECK:           %[[TIE:.*]] = arith.cmpi slt, %acc_1, %[[XI]] : i32
// CHECK:           %[[TAKE:.*]] = arith.ori %{{.*}}, %{{.*}} : i1
// CHECK-NEXT:      %[[V:.*]] = arith.select %[[TAKE]], %acc, %[[X]] : f32
// CHECK-NEXT:      %[[I:.*]] = arith.select %[[TAKE]], %acc_1, %[[XI]] : i32
// CHECK-NEXT:      %[[V1:.*]] = arith.select %[[FIRST]], %[[X]], %[[V]] : f32
// CHECK-NEXT:      %[[I1:.*]] = arith.select %[[FIRST]], %[[XI]], %[[I]] : i32
// CHECK-NEXT:      scf.yield %[[V1]], %[[I1]] : f32, i32
// CHECK-NEXT:    } {npu.combined_freely}
// CHECK:         memref.store %[[INDEX]], %arg1[%{{.*}}] : memref<?xi32>


// -----

// A loop the kernel runs (scf.for over i32) becomes an index loop in the program loop:
// the tensor it carries lives in a carry tile, filled before it and rewritten in place
// at the end of each trip; the scalar it carries stays the new loop's own. The loop's
// tensor result is read from the carry tile after it.
module {
  tt.func public @chunk_sums(%x_ptr: !tt.ptr<f32>, %out_ptr: !tt.ptr<f32>, %total_ptr: !tt.ptr<f32>, %n: i32) attributes {noinline = false} {
    %c64_i32 = arith.constant 64 : i32
    %c0_i32 = arith.constant 0 : i32
    %cst = arith.constant dense<0.000000e+00> : tensor<64xf32>
    %cst_1 = arith.constant 0.000000e+00 : f32
    %total, %total_1 = scf.for %off = %c0_i32 to %n step %c64_i32 iter_args(%acc = %cst, %total_2 = %cst_1) -> (tensor<64xf32>, f32) : i32 {
      %cols = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
      %cols_1 = tt.splat %off : i32 -> tensor<64xi32>
      %cols_2 = arith.addi %cols_1, %cols : tensor<64xi32>
      %x = tt.splat %n : i32 -> tensor<64xi32>
      %x_1 = arith.cmpi slt, %cols_2, %x : tensor<64xi32>
      %x_2 = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
      %x_3 = tt.addptr %x_2, %cols_2 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
      %x_4 = tt.load %x_3, %x_1, %cst : tensor<64x!tt.ptr<f32>>
      %acc_1 = arith.addf %acc, %x_4 : tensor<64xf32>
      %total_3 = "tt.reduce"(%x_4) <{axis = 0 : i32}> ({
      ^bb0(%total_4: f32, %total_5: f32):
        %total_6 = arith.addf %total_4, %total_5 : f32
        tt.reduce.return %total_6 : f32
      }) : (tensor<64xf32>) -> f32
      %total_7 = arith.addf %total_2, %total_3 : f32
      scf.yield %acc_1, %total_7 : tensor<64xf32>, f32
    }
    %0 = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %1 = tt.splat %out_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %2 = tt.addptr %1, %0 : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    tt.store %2, %total : tensor<64x!tt.ptr<f32>>
    tt.store %total_ptr, %total_1 : !tt.ptr<f32>
    tt.return
  }
}

// CHECK-LABEL: func.func public @chunk_sums(
// CHECK:         %[[CARRY:carry[0-9]*]] = spm.alloc : memref<64xf32, #spm.scratch>
// CHECK:         %[[IN:in[0-9]*]] = spm.alloc : memref<64xf32, #spm.scratch>
// CHECK:         scf.for %pid =
// CHECK-NEXT:      arith.index_cast %pid
// CHECK-NEXT:      scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        memref.store %{{.*}}, %[[CARRY]][%[[I]]] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:      }
// CHECK-NEXT:      %[[LB:.*]] = arith.index_cast %c0_i32 : i32 to index
// CHECK-NEXT:      %[[N:.*]] = arith.index_cast %n : i32 to index
// CHECK-NEXT:      %[[STEP:.*]] = arith.index_cast %c64_i32 : i32 to index
// CHECK-NEXT:      %[[TOTAL:.*]] = scf.for %off = %[[LB]] to %[[N]] step %[[STEP]] iter_args(%total = %cst) -> (f32) {
// CHECK:             spm.copy %x_ptr[%off] to %[[IN]][%{{.*}}] count %{{.*}}
// CHECK:             %[[SUM:.*]] = scf.for %r = {{.*}} iter_args(%acc = %{{.*}}) -> (f32) {
// CHECK:             %[[NEXT:.*]] = arith.addf %total, %[[SUM]] : f32
// CHECK-NEXT:        scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:          %[[OLD:.*]] = memref.load %[[CARRY]][%[[J]]]
// CHECK-NEXT:          %[[X:.*]] = memref.load %[[IN]][%[[J]]]
// CHECK-NEXT:          %[[NEW:.*]] = arith.addf %[[OLD]], %[[X]] : f32
// CHECK-NEXT:          memref.store %[[NEW]], %[[CARRY]][%[[J]]]
// CHECK-NEXT:        }
// CHECK-NEXT:        scf.yield %[[NEXT]] : f32
// CHECK-NEXT:      }
// CHECK-NEXT:      scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:        %[[FINAL:.*]] = memref.load %[[CARRY]][%[[K]]]
// CHECK-NEXT:        memref.store %[[FINAL]], %out0[%[[K]]]
// CHECK-NEXT:      }
// CHECK:           memref.store %[[TOTAL]], %total_ptr[%{{.*}}] : memref<?xf32>


// -----

// An scf.if on a scalar condition that yields a computed tensor: both branches are
// computed lane by lane and the condition selects, as a small if is predicated.
module {
  tt.func public @chosen(%x_ptr: !tt.ptr<f32>, %out_ptr: !tt.ptr<f32>, %flag: i32) attributes {noinline = false} {
    %cst = arith.constant dense<1.000000e+00> : tensor<64xf32>
    %cst_1 = arith.constant dense<2.000000e+00> : tensor<64xf32>
    %c0_i32 = arith.constant 0 : i32
    %offs = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %x = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %x_1 = tt.addptr %x, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %x_2 = tt.load %x_1 : tensor<64x!tt.ptr<f32>>
    %0 = arith.cmpi sgt, %flag, %c0_i32 : i32
    %1 = scf.if %0 -> (tensor<64xf32>) {
      %y = arith.mulf %x_2, %cst_1 : tensor<64xf32>
      scf.yield %y : tensor<64xf32>
    } else {
      %y_1 = arith.addf %x_2, %cst : tensor<64xf32>
      scf.yield %y_1 : tensor<64xf32>
    }
    %2 = tt.splat %out_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %3 = tt.addptr %2, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    tt.store %3, %1 : tensor<64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @chosen(
// CHECK:         %[[COND:.*]] = arith.cmpi sgt, %flag, %c0_i32 : i32
// CHECK-NEXT:    scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[X:.*]] = memref.load %in0[%[[I]]]
// CHECK-NEXT:      %[[THEN:.*]] = arith.mulf %[[X]], %{{.*}} : f32
// CHECK-NEXT:      %[[ELSE:.*]] = arith.addf %[[X]], %{{.*}} : f32
// CHECK-NEXT:      %[[Y:.*]] = arith.select %[[COND]], %[[THEN]], %[[ELSE]] : f32
// CHECK-NEXT:      memref.store %[[Y]], %out0[%[[I]]]

// -----

// tt.fp_to_fp from fp16 to bf16 goes through f32: extf, then truncf (to nearest even).
builtin.module {
  tt.func public @half_to_brain(%x_ptr: !tt.ptr<f16>, %out_ptr: !tt.ptr<bf16>) {
    %offs = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %x = tt.splat %x_ptr : !tt.ptr<f16> -> tensor<64x!tt.ptr<f16>>
    %x_1 = tt.addptr %x, %offs : tensor<64x!tt.ptr<f16>>, tensor<64xi32>
    %x_2 = tt.load %x_1 : tensor<64x!tt.ptr<f16>>
    %y = tt.fp_to_fp %x_2, rounding = rtne : tensor<64xf16> -> tensor<64xbf16>
    %o = tt.splat %out_ptr : !tt.ptr<bf16> -> tensor<64x!tt.ptr<bf16>>
    %o_1 = tt.addptr %o, %offs : tensor<64x!tt.ptr<bf16>>, tensor<64xi32>
    tt.store %o_1, %y : tensor<64x!tt.ptr<bf16>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @half_to_brain(
// CHECK:         spm.copy %x_ptr
// CHECK-NEXT:    scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[X:.*]] = memref.load %in0[%[[I]]] : memref<64xf16, #spm.scratch>
// CHECK-NEXT:      %[[WIDE:.*]] = arith.extf %[[X]] : f16 to f32
// CHECK-NEXT:      %[[Y:.*]] = arith.truncf %[[WIDE]] : f32 to bf16
// CHECK-NEXT:      memref.store %[[Y]], %out0[%[[I]]] : memref<64xbf16, #spm.scratch>

// -----

// Bools are bytes: an i1 pointer argument is an i8 memref, read through tt.bitcast;
// tt.assert AND-s its lanes in an accumulator loop before one cf.assert; the
// correctly rounded sqrt and divide are math.sqrt and arith.divf.
builtin.module {
  tt.func public @checked_sqrt(%x_ptr: !tt.ptr<f32>, %m_ptr: !tt.ptr<i1>, %o_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %zero = arith.constant dense<0.000000e+00> : tensor<64xf32>
    %no = arith.constant dense<0> : tensor<64xi8>
    %offs = tt.make_range {end = 64 : i32, start = 0 : i32} : tensor<64xi32>
    %xs = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %xa = tt.addptr %xs, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    %x = tt.load %xa : tensor<64x!tt.ptr<f32>>
    %ms = tt.splat %m_ptr : !tt.ptr<i1> -> tensor<64x!tt.ptr<i1>>
    %ma = tt.addptr %ms, %offs : tensor<64x!tt.ptr<i1>>, tensor<64xi32>
    %mb = tt.bitcast %ma : tensor<64x!tt.ptr<i1>> -> tensor<64x!tt.ptr<i8>>
    %mv = tt.load %mb : tensor<64x!tt.ptr<i8>>
    %m = arith.cmpi ne, %mv, %no : tensor<64xi8>
    %ok = arith.cmpf oge, %x, %zero : tensor<64xf32>
    tt.assert %ok, "negative input" : tensor<64xi1>
    %r = tt.precise_sqrt %x : tensor<64xf32>
    %q = tt.precise_divf %r, %x : tensor<64xf32>
    %y = arith.select %m, %q, %zero : tensor<64xi1>, tensor<64xf32>
    %os = tt.splat %o_ptr : !tt.ptr<f32> -> tensor<64x!tt.ptr<f32>>
    %oa = tt.addptr %os, %offs : tensor<64x!tt.ptr<f32>>, tensor<64xi32>
    tt.store %oa, %y : tensor<64x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @checked_sqrt(%x_ptr: memref<?xf32>, %m_ptr: memref<?xi8>, %o_ptr: memref<?xf32>, %grid_x: index) {
// CHECK:         spm.copy %m_ptr[%{{.*}}] to %[[MASK:.*]][%{{.*}}] count %{{.*}} : memref<?xi8> to memref<64xi8, #spm.scratch>
// CHECK:         %[[TRUE:.*]] = arith.constant true
// CHECK-NEXT:    %[[ALL:.*]] = scf.for %r = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%acc = %[[TRUE]]) -> (i1) {
// CHECK-NEXT:      %[[X:.*]] = memref.load %[[IN:.*]][%r] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:      %[[OK:.*]] = arith.cmpf oge, %[[X]], %{{.*}} : f32
// CHECK-NEXT:      %[[AND:.*]] = arith.andi %acc, %[[OK]] : i1
// CHECK-NEXT:      scf.yield %[[AND]] : i1
// CHECK-NEXT:    }
// CHECK-NEXT:    cf.assert %[[ALL]], "negative input"
// CHECK:         scf.for %i
// CHECK-NEXT:      %[[M:.*]] = memref.load %[[MASK]][%i] : memref<64xi8, #spm.scratch>
// CHECK-NEXT:      %[[ON:.*]] = arith.cmpi ne, %[[M]], %{{.*}} : i8
// CHECK-NEXT:      %[[V:.*]] = memref.load %[[IN]][%i]
// CHECK-NEXT:      %[[R:.*]] = math.sqrt %[[V]] : f32
// CHECK-NEXT:      %[[Q:.*]] = arith.divf %[[R]], %[[V]] : f32
// CHECK-NEXT:      arith.select %[[ON]], %[[Q]], %{{.*}} : f32

// -----

// A 2 x 4 x 8 block contiguous in memory moves as one copy of 64 and runs as one
// flat element loop over a row-major tile indexed by the loop's own index.
builtin.module {
  tt.func public @block3d(%x_ptr: !tt.ptr<f32>, %o_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %c32 = arith.constant dense<32> : tensor<2x1x1xi32>
    %c8 = arith.constant dense<8> : tensor<1x4x1xi32>
    %a = tt.make_range {end = 2 : i32, start = 0 : i32} : tensor<2xi32>
    %a1 = tt.expand_dims %a {axis = 1 : i32} : tensor<2xi32> -> tensor<2x1xi32>
    %a2 = tt.expand_dims %a1 {axis = 2 : i32} : tensor<2x1xi32> -> tensor<2x1x1xi32>
    %a3 = arith.muli %a2, %c32 : tensor<2x1x1xi32>
    %b = tt.make_range {end = 4 : i32, start = 0 : i32} : tensor<4xi32>
    %b1 = tt.expand_dims %b {axis = 0 : i32} : tensor<4xi32> -> tensor<1x4xi32>
    %b2 = tt.expand_dims %b1 {axis = 2 : i32} : tensor<1x4xi32> -> tensor<1x4x1xi32>
    %b3 = arith.muli %b2, %c8 : tensor<1x4x1xi32>
    %c = tt.make_range {end = 8 : i32, start = 0 : i32} : tensor<8xi32>
    %c1 = tt.expand_dims %c {axis = 0 : i32} : tensor<8xi32> -> tensor<1x8xi32>
    %c2 = tt.expand_dims %c1 {axis = 0 : i32} : tensor<1x8xi32> -> tensor<1x1x8xi32>
    %ab = tt.broadcast %a3 : tensor<2x1x1xi32> -> tensor<2x4x1xi32>
    %bb = tt.broadcast %b3 : tensor<1x4x1xi32> -> tensor<2x4x1xi32>
    %s = arith.addi %ab, %bb : tensor<2x4x1xi32>
    %sb = tt.broadcast %s : tensor<2x4x1xi32> -> tensor<2x4x8xi32>
    %cb = tt.broadcast %c2 : tensor<1x1x8xi32> -> tensor<2x4x8xi32>
    %offs = arith.addi %sb, %cb : tensor<2x4x8xi32>
    %xs = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<2x4x8x!tt.ptr<f32>>
    %xa = tt.addptr %xs, %offs : tensor<2x4x8x!tt.ptr<f32>>, tensor<2x4x8xi32>
    %x = tt.load %xa : tensor<2x4x8x!tt.ptr<f32>>
    %y = math.exp %x : tensor<2x4x8xf32>
    %os = tt.splat %o_ptr : !tt.ptr<f32> -> tensor<2x4x8x!tt.ptr<f32>>
    %oa = tt.addptr %os, %offs : tensor<2x4x8x!tt.ptr<f32>>, tensor<2x4x8xi32>
    tt.store %oa, %y : tensor<2x4x8x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @block3d(
// CHECK:         %[[ZERO:.*]] = arith.constant 0 : index
// CHECK:         %[[ALL:.*]] = arith.constant 64 : index
// CHECK:         scf.for %pid
// CHECK:           spm.copy %x_ptr[%[[ZERO]]] to %[[IN:.*]][%[[ZERO]]] count %[[ALL]] : memref<?xf32> to memref<64xf32, #spm.scratch>
// CHECK-NEXT:      scf.for %i = %[[ZERO]] to %[[ALL]] step %{{.*}} {
// CHECK-NEXT:        %[[X:.*]] = memref.load %[[IN]][%i] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:        %[[Y:.*]] = math.exp %[[X]] : f32
// CHECK-NEXT:        memref.store %[[Y]], %[[OUT:.*]][%i] : memref<64xf32, #spm.scratch>
// CHECK-NEXT:      }
// CHECK-NEXT:      spm.copy %[[OUT]][%[[ZERO]]] to %o_ptr[%[[ZERO]]] count %[[ALL]] : memref<64xf32, #spm.scratch> to memref<?xf32>

// -----

// Reshapes that regroup lanes read their source through the flat position; split
// takes a lane of the last dim, join selects between its operands by that lane.
builtin.module {
  tt.func public @swap_pairs(%x_ptr: !tt.ptr<f32>, %o_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %offs = tt.make_range {end = 8 : i32, start = 0 : i32} : tensor<8xi32>
    %xs = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<8x!tt.ptr<f32>>
    %xa = tt.addptr %xs, %offs : tensor<8x!tt.ptr<f32>>, tensor<8xi32>
    %x = tt.load %xa : tensor<8x!tt.ptr<f32>>
    %r = tt.reshape %x : tensor<8xf32> -> tensor<4x2xf32>
    %even, %odd = tt.split %r : tensor<4x2xf32> -> tensor<4xf32>
    %j = tt.join %odd, %even : tensor<4xf32> -> tensor<4x2xf32>
    %y = tt.reshape %j : tensor<4x2xf32> -> tensor<8xf32>
    %os = tt.splat %o_ptr : !tt.ptr<f32> -> tensor<8x!tt.ptr<f32>>
    %oa = tt.addptr %os, %offs : tensor<8x!tt.ptr<f32>>, tensor<8xi32>
    tt.store %oa, %y : tensor<8x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @swap_pairs(
// CHECK:         scf.for %i = %[[ZERO:.*]] to %{{.*}} step %[[ONE:.*]] {
// CHECK-NEXT:      %[[PAIR:.*]] = arith.divui %i, %[[TWO:.*]] : index
// CHECK-NEXT:      %[[LANE:.*]] = arith.remui %i, %[[TWO]] : index
// CHECK-NEXT:      %[[AT:.*]] = arith.muli %[[PAIR]], %[[TWO]] : index
// CHECK-NEXT:      %[[ODD:.*]] = arith.addi %[[AT]], %[[ONE]] : index
// CHECK-NEXT:      %[[B:.*]] = memref.load %[[IN:.*]][%[[ODD]]] : memref<8xf32, #spm.scratch>
// CHECK:           %[[EVEN:.*]] = arith.addi %{{.*}}, %[[ZERO]] : index
// CHECK-NEXT:      %[[A:.*]] = memref.load %[[IN]][%[[EVEN]]] : memref<8xf32, #spm.scratch>
// CHECK-NEXT:      %[[FIRST:.*]] = arith.cmpi eq, %[[LANE]], %[[ZERO]] : index
// CHECK-NEXT:      %[[Y:.*]] = arith.select %[[FIRST]], %[[B]], %[[A]] : f32
// CHECK-NEXT:      memref.store %[[Y]], %{{.*}}[%i] : memref<8xf32, #spm.scratch>

// -----

// A per-channel load w[(x / 256) % 32] moves the range of channels its lanes read in
// one copy (its ends: the lanes' first and last quotients' remainders, or 0 and 31
// where they wrap), and the element loop gathers from the scratchpad.
builtin.module {
  tt.func public @per_channel(%x_ptr: !tt.ptr<f32>, %w_ptr: !tt.ptr<f32>, %o_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %c1024 = arith.constant 1024 : i32
    %c256 = arith.constant dense<256> : tensor<1024xi32>
    %c32 = arith.constant dense<32> : tensor<1024xi32>
    %pid = tt.get_program_id x : i32
    %start = arith.muli %pid, %c1024 : i32
    %lanes = tt.make_range {end = 1024 : i32, start = 0 : i32} : tensor<1024xi32>
    %s = tt.splat %start : i32 -> tensor<1024xi32>
    %offs = arith.addi %s, %lanes : tensor<1024xi32>
    %q = arith.divsi %offs, %c256 : tensor<1024xi32>
    %ch = arith.remsi %q, %c32 : tensor<1024xi32>
    %xs = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>>
    %xa = tt.addptr %xs, %offs : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
    %x = tt.load %xa : tensor<1024x!tt.ptr<f32>>
    %ws = tt.splat %w_ptr : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>>
    %wa = tt.addptr %ws, %ch : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
    %w = tt.load %wa : tensor<1024x!tt.ptr<f32>>
    %y = arith.mulf %x, %w : tensor<1024xf32>
    %os = tt.splat %o_ptr : !tt.ptr<f32> -> tensor<1024x!tt.ptr<f32>>
    %oa = tt.addptr %os, %offs : tensor<1024x!tt.ptr<f32>>, tensor<1024xi32>
    tt.store %oa, %y : tensor<1024x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @per_channel(
// CHECK:         %[[WIN:.*]] = spm.alloc : memref<32xf32, #spm.scratch>
// CHECK:         scf.for %pid
// CHECK:           %[[FIRST:.*]] = arith.index_cast %start : i32 to index
// CHECK:           %[[LAST:.*]] = arith.addi %[[FIRST]], %{{.*}} : index
// CHECK-NEXT:      %[[QA:.*]] = arith.divui %[[FIRST]], %{{.*}} : index
// CHECK-NEXT:      %[[QB:.*]] = arith.divui %[[LAST]], %{{.*}} : index
// CHECK-NEXT:      %[[RA:.*]] = arith.divui %[[QA]], %{{.*}} : index
// CHECK-NEXT:      %[[RB:.*]] = arith.divui %[[QB]], %{{.*}} : index
// CHECK-NEXT:      %[[WRAPS:.*]] = arith.cmpi ne, %[[RA]], %[[RB]] : index
// CHECK:           %[[LOW:.*]] = arith.select %[[WRAPS]], %{{.*}}, %{{.*}} : index
// CHECK:           %[[HIGH:.*]] = arith.select %[[WRAPS]], %{{.*}}, %{{.*}} : index
// CHECK:           spm.copy %w_ptr[%[[LO:.*]]] to %[[WIN]][%{{.*}}] count %{{.*}} : memref<?xf32> to memref<32xf32, #spm.scratch>
// CHECK:           scf.for %i
// CHECK:             %[[AT:.*]] = arith.subi %{{.*}}, %[[LO]] : index
// CHECK-NEXT:        %{{.*}} = memref.load %[[WIN]][%[[AT]]] : memref<32xf32, #spm.scratch>

// -----

// A slice x[:, 64:] of rows of 128, 256 lanes a program: offsets 64 + (l % 64) +
// 128 * (l / 64) are affine piece by piece, so the block moves as 4 rows of 64, 128
// apart, from 64 + 512 * pid, in one 2-D copy into a flat tile.
builtin.module {
  tt.func public @second_half(%x_ptr: !tt.ptr<f32>, %o_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %c256 = arith.constant 256 : i32
    %c64 = arith.constant dense<64> : tensor<256xi32>
    %c128 = arith.constant dense<128> : tensor<256xi32>
    %pid = tt.get_program_id x : i32
    %start = arith.muli %pid, %c256 : i32
    %lanes = tt.make_range {end = 256 : i32, start = 0 : i32} : tensor<256xi32>
    %s = tt.splat %start : i32 -> tensor<256xi32>
    %l = arith.addi %s, %lanes : tensor<256xi32>
    %col = arith.remsi %l, %c64 : tensor<256xi32>
    %row = arith.divsi %l, %c64 : tensor<256xi32>
    %rs = arith.muli %row, %c128 : tensor<256xi32>
    %in = arith.addi %col, %rs : tensor<256xi32>
    %off = arith.addi %in, %c64 : tensor<256xi32>
    %xs = tt.splat %x_ptr : !tt.ptr<f32> -> tensor<256x!tt.ptr<f32>>
    %xa = tt.addptr %xs, %off : tensor<256x!tt.ptr<f32>>, tensor<256xi32>
    %x = tt.load %xa : tensor<256x!tt.ptr<f32>>
    %os = tt.splat %o_ptr : !tt.ptr<f32> -> tensor<256x!tt.ptr<f32>>
    %oa = tt.addptr %os, %l : tensor<256x!tt.ptr<f32>>, tensor<256xi32>
    tt.store %oa, %x : tensor<256x!tt.ptr<f32>>
    tt.return
  }
}

// CHECK-LABEL: func.func public @second_half(
// CHECK-DAG:     %[[STEP:.*]] = arith.constant 512 : index
// CHECK-DAG:     %[[SIXTYFOUR:.*]] = arith.constant 64 : index
// CHECK-DAG:     %[[ROWS:.*]] = arith.constant 4 : index
// CHECK-DAG:     %[[APART:.*]] = arith.constant 128 : index
// CHECK:         scf.for %pid
// CHECK:           %[[PID:.*]] = arith.index_cast %{{.*}} : i32 to index
// CHECK-NEXT:      %[[SCALED:.*]] = arith.muli %[[PID]], %[[STEP]] : index
// CHECK-NEXT:      %[[AT:.*]] = arith.addi %[[SCALED]], %[[SIXTYFOUR]] : index
// CHECK-NEXT:      spm.copy %x_ptr[%[[AT]]] to %{{.*}}[%{{.*}}] count %[[SIXTYFOUR]] rows %[[ROWS]] strides %[[APART]], %[[SIXTYFOUR]] : memref<?xf32> to memref<256xf32, #spm.scratch>
// CHECK-NEXT:      scf.for %i
// CHECK-NEXT:        memref.load %{{.*}}[%i] : memref<256xf32, #spm.scratch>

// -----

// tl.dot (x @ w, Triton's combine folded the bias into the accumulator; then relu):
// both operands move as tiles, the accumulator's lanes (the bias, broadcast) are
// written into the dot's tile, one tile.matmul adds x @ w into it (the operands read
// at their tiles' strides), and the relu reads it lane by lane.
builtin.module {
  tt.func public @linear_relu(%x_ptr: !tt.ptr<f16>, %w_ptr: !tt.ptr<f16>, %bias_ptr: !tt.ptr<f32>, %y_ptr: !tt.ptr<f32>) attributes {noinline = false} {
    %cst = arith.constant dense<8> : tensor<4x1xi32>
    %cst_1 = arith.constant dense<0.000000e+00> : tensor<4x8xf32>
    %w = arith.constant dense<8> : tensor<16x1xi32>
    %x = arith.constant dense<16> : tensor<4x1xi32>
    %rm = arith.constant 4 : i32
    %rm_1 = tt.get_program_id x : i32
    %rm_2 = arith.muli %rm_1, %rm : i32
    %rm_3 = tt.make_range {end = 4 : i32, start = 0 : i32} : tensor<4xi32>
    %rm_4 = tt.splat %rm_2 : i32 -> tensor<4xi32>
    %rm_5 = arith.addi %rm_4, %rm_3 : tensor<4xi32>
    %0 = tt.make_range {end = 8 : i32, start = 0 : i32} : tensor<8xi32>
    %1 = tt.make_range {end = 16 : i32, start = 0 : i32} : tensor<16xi32>
    %x_1 = tt.expand_dims %rm_5 {axis = 1 : i32} : tensor<4xi32> -> tensor<4x1xi32>
    %x_2 = arith.muli %x_1, %x : tensor<4x1xi32>
    %x_3 = tt.splat %x_ptr : !tt.ptr<f16> -> tensor<4x1x!tt.ptr<f16>>
    %x_4 = tt.addptr %x_3, %x_2 : tensor<4x1x!tt.ptr<f16>>, tensor<4x1xi32>
    %x_5 = tt.expand_dims %1 {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
    %x_6 = tt.broadcast %x_4 : tensor<4x1x!tt.ptr<f16>> -> tensor<4x16x!tt.ptr<f16>>
    %x_7 = tt.broadcast %x_5 : tensor<1x16xi32> -> tensor<4x16xi32>
    %x_8 = tt.addptr %x_6, %x_7 : tensor<4x16x!tt.ptr<f16>>, tensor<4x16xi32>
    %x_9 = tt.load %x_8 : tensor<4x16x!tt.ptr<f16>>
    %w_1 = tt.expand_dims %1 {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
    %w_2 = arith.muli %w_1, %w : tensor<16x1xi32>
    %w_3 = tt.splat %w_ptr : !tt.ptr<f16> -> tensor<16x1x!tt.ptr<f16>>
    %w_4 = tt.addptr %w_3, %w_2 : tensor<16x1x!tt.ptr<f16>>, tensor<16x1xi32>
    %w_5 = tt.expand_dims %0 {axis = 0 : i32} : tensor<8xi32> -> tensor<1x8xi32>
    %w_6 = tt.broadcast %w_4 : tensor<16x1x!tt.ptr<f16>> -> tensor<16x8x!tt.ptr<f16>>
    %w_7 = tt.broadcast %w_5 : tensor<1x8xi32> -> tensor<16x8xi32>
    %w_8 = tt.addptr %w_6, %w_7 : tensor<16x8x!tt.ptr<f16>>, tensor<16x8xi32>
    %w_9 = tt.load %w_8 : tensor<16x8x!tt.ptr<f16>>
    %y = tt.splat %bias_ptr : !tt.ptr<f32> -> tensor<8x!tt.ptr<f32>>
    %y_1 = tt.addptr %y, %0 : tensor<8x!tt.ptr<f32>>, tensor<8xi32>
    %y_2 = tt.load %y_1 : tensor<8x!tt.ptr<f32>>
    %y_3 = tt.expand_dims %y_2 {axis = 0 : i32} : tensor<8xf32> -> tensor<1x8xf32>
    %y_4 = tt.broadcast %y_3 : tensor<1x8xf32> -> tensor<4x8xf32>
    %y_5 = tt.dot %x_9, %w_9, %y_4, inputPrecision = tf32 : tensor<4x16xf16> * tensor<16x8xf16> -> tensor<4x8xf32>
    %2 = arith.muli %x_1, %cst : tensor<4x1xi32>
    %3 = tt.splat %y_ptr : !tt.ptr<f32> -> tensor<4x1x!tt.ptr<f32>>
    %4 = tt.addptr %3, %2 : tensor<4x1x!tt.ptr<f32>>, tensor<4x1xi32>
    %5 = tt.broadcast %4 : tensor<4x1x!tt.ptr<f32>> -> tensor<4x8x!tt.ptr<f32>>
    %6 = tt.broadcast %w_5 : tensor<1x8xi32> -> tensor<4x8xi32>
    %7 = tt.addptr %5, %6 : tensor<4x8x!tt.ptr<f32>>, tensor<4x8xi32>
    %8 = arith.maxnumf %y_5, %cst_1 : tensor<4x8xf32>
    tt.store %7, %8 : tensor<4x8x!tt.ptr<f32>>
    tt.return
  }
}

// DOT-LABEL: func.func public @linear_relu(
// DOT:         %[[RES:dot[0-9]+]] = spm.alloc : memref<32xf32, #spm.scratch>
// DOT:         spm.copy %x_ptr[%{{.*}}] to %[[X:in[0-9]+]][%{{.*}}] count %{{.*}} : memref<?xf16> to memref<64xf16, #spm.scratch>
// DOT-NEXT:    spm.copy %w_ptr[%{{.*}}] to %[[W:in[0-9]+]][%{{.*}}] count %{{.*}} : memref<?xf16> to memref<128xf16, #spm.scratch>
// DOT-NEXT:    spm.copy %bias_ptr[%{{.*}}] to %[[B:in[0-9]+]]
// DOT-NEXT:    tile.map (%i, %j) in (%{{.*}} to %{{.*}}, %{{.*}} to %{{.*}}) {
// DOT-NEXT:      %[[BIAS:.*]] = memref.load %[[B]][%j]
// DOT:           memref.store %[[BIAS]], %[[RES]][%{{.*}}] : memref<32xf32, #spm.scratch>
// DOT-NEXT:      tile.yield
// DOT-NEXT:    }
// DOT-NEXT:    tile.matmul %[[X]], %[[W]] into %[[RES]] {dims = array<i64: 1, 4, 8, 16>, a_strides = array<i64: 0, 16, 1>, b_strides = array<i64: 0, 8, 1>, c_strides = array<i64: 0, 8, 1>, accumulate} : memref<64xf16, #spm.scratch>, memref<128xf16, #spm.scratch> into memref<32xf32, #spm.scratch>
// DOT-NEXT:    tile.map (%{{.*}}, %{{.*}}) in (%{{.*}} to %{{.*}}, %{{.*}} to %{{.*}}) flat(%f) over [4, 8] {
// DOT-NEXT:      %[[SUM:.*]] = memref.load %[[RES]][%f] : memref<32xf32, #spm.scratch>
// DOT-NEXT:      arith.maxnumf %[[SUM]]

// -----

// A K loop of acc = tl.dot(a, tl.trans(b), acc): the product is added into the
// accumulator's carry tile itself (no copy in or out each trip), b read transposed
// (its tile at strides k = 1, n = 16).
builtin.module {
  tt.func public @k_loop(%a_ptr: !tt.ptr<f16>, %b_ptr: !tt.ptr<f16>, %c_ptr: !tt.ptr<f32>, %K: i32) attributes {noinline = false} {
    %acc = arith.constant dense<0.000000e+00> : tensor<16x16xf32>
    %c16_i32 = arith.constant 16 : i32
    %c0_i32 = arith.constant 0 : i32
    %cst = arith.constant dense<16> : tensor<16x1xi32>
    %0 = tt.make_range {end = 16 : i32, start = 0 : i32} : tensor<16xi32>
    %acc_1 = scf.for %k = %c0_i32 to %K step %c16_i32 iter_args(%acc_2 = %acc) -> (tensor<16x16xf32>) : i32 {
      %a = tt.expand_dims %0 {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
      %a_1 = tt.splat %K : i32 -> tensor<16x1xi32>
      %a_2 = arith.muli %a, %a_1 : tensor<16x1xi32>
      %a_3 = tt.splat %a_ptr : !tt.ptr<f16> -> tensor<16x1x!tt.ptr<f16>>
      %a_4 = tt.addptr %a_3, %a_2 : tensor<16x1x!tt.ptr<f16>>, tensor<16x1xi32>
      %a_5 = tt.splat %k : i32 -> tensor<16xi32>
      %a_6 = arith.addi %a_5, %0 : tensor<16xi32>
      %a_7 = tt.expand_dims %a_6 {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
      %a_8 = tt.broadcast %a_4 : tensor<16x1x!tt.ptr<f16>> -> tensor<16x16x!tt.ptr<f16>>
      %a_9 = tt.broadcast %a_7 : tensor<1x16xi32> -> tensor<16x16xi32>
      %a_10 = tt.addptr %a_8, %a_9 : tensor<16x16x!tt.ptr<f16>>, tensor<16x16xi32>
      %a_11 = tt.load %a_10 : tensor<16x16x!tt.ptr<f16>>
      %b = tt.splat %b_ptr : !tt.ptr<f16> -> tensor<16x1x!tt.ptr<f16>>
      %b_1 = tt.addptr %b, %a_2 : tensor<16x1x!tt.ptr<f16>>, tensor<16x1xi32>
      %b_2 = tt.broadcast %b_1 : tensor<16x1x!tt.ptr<f16>> -> tensor<16x16x!tt.ptr<f16>>
      %b_3 = tt.addptr %b_2, %a_9 : tensor<16x16x!tt.ptr<f16>>, tensor<16x16xi32>
      %b_4 = tt.load %b_3 : tensor<16x16x!tt.ptr<f16>>
      %acc_3 = tt.trans %b_4 {order = array<i32: 1, 0>} : tensor<16x16xf16> -> tensor<16x16xf16>
      %acc_4 = tt.dot %a_11, %acc_3, %acc_2, inputPrecision = tf32 : tensor<16x16xf16> * tensor<16x16xf16> -> tensor<16x16xf32>
      scf.yield %acc_4 : tensor<16x16xf32>
    }
    %1 = tt.expand_dims %0 {axis = 1 : i32} : tensor<16xi32> -> tensor<16x1xi32>
    %2 = arith.muli %1, %cst : tensor<16x1xi32>
    %3 = tt.splat %c_ptr : !tt.ptr<f32> -> tensor<16x1x!tt.ptr<f32>>
    %4 = tt.addptr %3, %2 : tensor<16x1x!tt.ptr<f32>>, tensor<16x1xi32>
    %5 = tt.expand_dims %0 {axis = 0 : i32} : tensor<16xi32> -> tensor<1x16xi32>
    %6 = tt.broadcast %4 : tensor<16x1x!tt.ptr<f32>> -> tensor<16x16x!tt.ptr<f32>>
    %7 = tt.broadcast %5 : tensor<1x16xi32> -> tensor<16x16xi32>
    %8 = tt.addptr %6, %7 : tensor<16x16x!tt.ptr<f32>>, tensor<16x16xi32>
    tt.store %8, %acc_1 : tensor<16x16x!tt.ptr<f32>>
    tt.return
  }
}

// DOT-LABEL: func.func public @k_loop(
// DOT:         %[[ACC:carry[0-9]+]] = spm.alloc : memref<256xf32, #spm.scratch>
// DOT:         scf.for %k = %{{.*}} to %{{.*}} step %{{.*}} {
// DOT-NEXT:      spm.copy %a_ptr[%k] to %[[A:in[0-9]+]][%{{.*}}] count %{{.*}} rows %{{.*}} strides %{{.*}}, %{{.*}} : memref<?xf16> to memref<256xf16, #spm.scratch>
// DOT-NEXT:      spm.copy %b_ptr[%k] to %[[B:in[0-9]+]][%{{.*}}] count %{{.*}} rows %{{.*}} strides %{{.*}}, %{{.*}} : memref<?xf16> to memref<256xf16, #spm.scratch>
// DOT-NEXT:      tile.matmul %[[A]], %[[B]] into %[[ACC]] {dims = array<i64: 1, 16, 16, 16>, a_strides = array<i64: 0, 16, 1>, b_strides = array<i64: 0, 1, 16>, c_strides = array<i64: 0, 16, 1>, accumulate}
// DOT-NEXT:    }

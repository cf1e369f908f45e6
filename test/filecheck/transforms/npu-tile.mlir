// npu-tile, from scalar NPU IR (npu-lower-tiles' output level): each program's
// block is re-cut into tiles sized from the budget; one case per behaviour.
// RUN: xdsl-opt --split-input-file %s -p 'npu-tile{budget=8192 contexts=1 buffers=1}' | filecheck %s
// RUN: not xdsl-opt %s -p 'npu-tile{budget=0}' 2>&1 | filecheck %s --check-prefix=BUDGET

// BUDGET: npu-tile: budget must be at least 1, got 0

// Strip-mining: a block of 4096 in a budget of 8192 bytes becomes tiles of at most
// 2048; the loop runs over (program, tile) pairs, m a program (2 to 8, from the grid);
// transfers move by the tile's first element %t0 and count clamp(%len - %t0, 0, T); the
// element loop's index, used as a value, is the block's.
func.func @strip(%x: memref<?xf32>, %y: memref<?xf32>, %n: index, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4096 = arith.constant 4096 : index
  %in = spm.alloc : memref<4096xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c4096 : index
    %rest = arith.subi %n, %off : index
    %pos = arith.maxsi %rest, %c0 : index
    %len = arith.minsi %pos, %c4096 : index
    spm.copy %x[%off] to %in[%c0] count %len : memref<?xf32> to memref<4096xf32, #spm.scratch>
    scf.for %i = %c0 to %len step %c1 {
      %v = memref.load %in[%i] : memref<4096xf32, #spm.scratch>
      %f = arith.index_cast %i : index to i32
      %g = arith.sitofp %f : i32 to f32
      %w = arith.addf %v, %g : f32
      memref.store %w, %in[%i] : memref<4096xf32, #spm.scratch>
    }
    spm.copy %in[%c0] to %y[%off] count %len : memref<4096xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @strip(
// CHECK:         %in = spm.alloc : memref<2048xf32, #spm.scratch>
// CHECK:         %[[COUNT:.*]] = arith.subi %grid, %c0 : index
// CHECK:         %[[SPREAD:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// CHECK:         %[[FEWEST:.*]] = arith.constant 2 : index
// CHECK-NEXT:    %[[M1:.*]] = arith.maxui %[[SPREAD]], %[[FEWEST]] : index
// CHECK-NEXT:    %[[MOST:.*]] = arith.constant 8 : index
// CHECK-NEXT:    %[[M:.*]] = arith.minui %[[M1]], %[[MOST]] : index
// CHECK-NEXT:    %[[B:.*]] = arith.constant 4096 : index
// CHECK-NEXT:    %[[T:.*]] = arith.ceildivui %[[B]], %[[M]] : index
// CHECK-NEXT:    %[[TRIPS:.*]] = arith.muli %[[COUNT]], %[[M]] : index
// CHECK:         scf.for %[[W:.*]] = %{{.*}} to %[[TRIPS]] step %c1 {
// CHECK:           %[[P:.*]] = arith.divui %[[W]], %[[M]] : index
// CHECK-NEXT:      %[[PID:.*]] = arith.addi %c0, %[[P]] : index
// CHECK-NEXT:      %[[R:.*]] = arith.remui %[[W]], %[[M]] : index
// CHECK-NEXT:      %[[T0:.*]] = arith.muli %[[R]], %[[T]] : index
// CHECK-NEXT:      %off = arith.muli %[[PID]], %c4096 : index
// CHECK:           %len = arith.minsi %pos, %c4096 : index
// CHECK-NEXT:      %[[LEFT:.*]] = arith.subi %len, %[[T0]] : index
// CHECK-NEXT:      %[[NONNEG:.*]] = arith.maxsi %[[LEFT]], %{{.*}} : index
// CHECK-NEXT:      %[[PART:.*]] = arith.minsi %[[NONNEG]], %[[T]] : index
// CHECK-NEXT:      %[[AT:.*]] = arith.addi %off, %[[T0]] : index
// CHECK-NEXT:      spm.copy %x[%[[AT]]] to %in[%c0] count %[[PART]] : memref<?xf32> to memref<2048xf32, #spm.scratch>
// CHECK-NEXT:      scf.for %i = %c0 to %[[PART]] step %c1 {
// CHECK-NEXT:        %[[GLOBAL:.*]] = arith.addi %i, %[[T0]] : index
// CHECK-NEXT:        %v = memref.load %in[%i] : memref<2048xf32, #spm.scratch>
// CHECK-NEXT:        %f = arith.index_cast %[[GLOBAL]] : index to i32
// CHECK:           spm.copy %in[%c0] to %y[%[[AT]]] count %[[PART]] : memref<2048xf32, #spm.scratch> to memref<?xf32>
// CHECK-NEXT:    } {npu.tile_elements = 2048 : index, npu.block_elements = 4096 : index, npu.remarks = ["npu-tile: blocks of 4096 elements strip-mined into tiles of at most 2048"]}

// -----

// Coarsening: blocks of 256 whose offsets step by 256 a program share tiles of up to
// 2048 (k = 8 programs); one transfer moves the k programs' union, clamp(%n - %off(p0),
// 0, k' x 256), and each program computes on its part of the tile: an element loop
// that only addresses the tile runs over the program's part.
func.func @coarsen(%x: memref<?xf32>, %n: index, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %in = spm.alloc : memref<256xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c256 : index
    %rest = arith.subi %n, %off : index
    %pos = arith.maxsi %rest, %c0 : index
    %len = arith.minsi %pos, %c256 : index
    spm.copy %x[%off] to %in[%c0] count %len : memref<?xf32> to memref<256xf32, #spm.scratch>
    scf.for %i = %c0 to %len step %c1 {
      %v = memref.load %in[%i] : memref<256xf32, #spm.scratch>
      %w = arith.addf %v, %v : f32
      memref.store %w, %in[%i] : memref<256xf32, #spm.scratch>
    }
    spm.copy %in[%c0] to %x[%off] count %len : memref<256xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @coarsen(
// CHECK:         %in = spm.alloc : memref<2048xf32, #spm.scratch>
// CHECK:         scf.for %[[G:.*]] = %{{.*}} to %{{.*}} step %c1 {
// CHECK:           %[[FIRST:.*]] = arith.addi %c0, %{{.*}} : index
// CHECK:           %[[K:.*]] = arith.minui %{{.*}}, %{{.*}} : index
// CHECK:           %[[OFF0:.*]] = arith.muli %[[FIRST]], %c256 : index
// CHECK:           %[[SPAN:.*]] = arith.muli %[[K]], %{{.*}} : index
// CHECK-NEXT:      %[[REST:.*]] = arith.subi %n, %[[OFF0]] : index
// CHECK-NEXT:      %[[POS:.*]] = arith.maxsi %[[REST]], %{{.*}} : index
// CHECK-NEXT:      %[[UNION:.*]] = arith.minsi %[[POS]], %[[SPAN]] : index
// CHECK-NEXT:      spm.copy %x[%[[OFF0]]] to %in[%c0] count %[[UNION]] : memref<?xf32> to memref<2048xf32, #spm.scratch>
// CHECK-NEXT:      scf.for %[[J:.*]] = %{{.*}} to %[[K]] step %{{.*}} {
// CHECK-NEXT:        %[[PID:.*]] = arith.addi %[[FIRST]], %[[J]] : index
// CHECK-NEXT:        %[[SHIFT:.*]] = arith.muli %[[J]], %{{.*}} : index
// CHECK-NEXT:        %{{off.*}} = arith.muli %[[PID]], %c256 : index
// CHECK:             %[[FROM:.*]] = arith.addi %c0, %[[SHIFT]] : index
// CHECK-NEXT:        %[[TO:.*]] = arith.addi %len, %[[SHIFT]] : index
// CHECK-NEXT:        scf.for %i = %[[FROM]] to %[[TO]] step %c1 {
// CHECK-NEXT:          %v = memref.load %in[%i] : memref<2048xf32, #spm.scratch>
// CHECK-NEXT:          %w = arith.addf %v, %v : f32
// CHECK-NEXT:          memref.store %w, %in[%i] : memref<2048xf32, #spm.scratch>
// CHECK:           } {npu.programs_in_tile = 8 : index}
// CHECK:           spm.copy %in[%c0] to %x[%[[OFF0]]] count %{{.*}} : memref<2048xf32, #spm.scratch> to memref<?xf32>
// CHECK:         } {npu.tile_elements = 2048 : index, npu.block_elements = 256 : index, npu.remarks = ["npu-tile: blocks of 256 elements coarsened into tiles of at most 2048"]}

// -----

// Left alone, with a remark: a block reduced across its lanes cannot be strip-mined.
func.func @reduce(%x: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4096 = arith.constant 4096 : index
  %zero = arith.constant 0.0 : f32
  %in = spm.alloc : memref<4096xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c4096 : index
    spm.copy %x[%off] to %in[%c0] count %c4096 : memref<?xf32> to memref<4096xf32, #spm.scratch>
    %sum = scf.for %i = %c0 to %c4096 step %c1 iter_args(%acc = %zero) -> (f32) {
      %v = memref.load %in[%i] : memref<4096xf32, #spm.scratch>
      %s = arith.addf %acc, %v : f32
      scf.yield %s : f32
    }
    memref.store %sum, %x[%pid] : memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @reduce(
// CHECK:         %in = spm.alloc : memref<4096xf32, #spm.scratch>
// CHECK:         } {npu.remarks = ["npu-tile: its blocks of 4096 elements stay whole: the block is reduced across its elements (the loop)"]}

// -----

// Coarsening with a tile every program fills alike (weights at offset 0, their tail
// padded with a constant): it keeps its size, moves once a tile with its own count,
// and every program reads it where it is (unshifted), while the rows' tile is shared;
// the rows' tile grows into what the weights leave of the budget (8192 - 1024 bytes).
func.func @shared_fill(%x: memref<?xf32>, %w: memref<?xf32>, %cols: index, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %pad = arith.constant 0.0 : f32
  %in = spm.alloc : memref<256xf32, #spm.scratch>
  %weights = spm.alloc : memref<256xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c256 : index
    spm.copy %x[%off] to %in[%c0] count %c256 : memref<?xf32> to memref<256xf32, #spm.scratch>
    spm.copy %w[%c0] to %weights[%c0] count %cols : memref<?xf32> to memref<256xf32, #spm.scratch>
    scf.for %i = %cols to %c256 step %c1 {
      memref.store %pad, %weights[%i] : memref<256xf32, #spm.scratch>
    }
    scf.for %i = %c0 to %c256 step %c1 {
      %v = memref.load %in[%i] : memref<256xf32, #spm.scratch>
      %s = memref.load %weights[%i] : memref<256xf32, #spm.scratch>
      %p = arith.mulf %v, %s : f32
      memref.store %p, %in[%i] : memref<256xf32, #spm.scratch>
    }
    spm.copy %in[%c0] to %x[%off] count %c256 : memref<256xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @shared_fill(
// CHECK:         %in = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK:         %weights = spm.alloc : memref<256xf32, #spm.scratch>
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK:           spm.copy %x[%{{.*}}] to %in[%c0] count %{{.*}} : memref<?xf32> to memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      spm.copy %w[%c0] to %weights[%c0] count %cols : memref<?xf32> to memref<256xf32, #spm.scratch>
// CHECK-NEXT:      scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:             scf.for %i = %cols to %c256 step %c1 {
// CHECK-NEXT:          memref.store %pad, %weights[%i] : memref<256xf32, #spm.scratch>
// CHECK:             scf.for %i{{.*}} = %c0 to %c256 step %c1 {
// CHECK-NEXT:          %[[AT:.*]] = arith.addi %i{{.*}}, %{{.*}} : index
// CHECK-NEXT:          %v = memref.load %in[%[[AT]]] : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:          %s = memref.load %weights[%i{{.*}}] : memref<256xf32, #spm.scratch>
// CHECK-NEXT:          %p = arith.mulf %v, %s : f32
// CHECK-NEXT:          memref.store %p, %in[%[[AT]]] : memref<1024xf32, #spm.scratch>
// CHECK:         } {npu.tile_elements = 1024 : index, npu.block_elements = 256 : index, npu.remarks = ["npu-tile: blocks of 256 elements coarsened into tiles of at most 1024; 1 tile(s) every program fills alike move once a tile"]}

// -----

// Not coarsened, with a remark: a program writes into the tile filled alike for every
// program something that depends on the program.
func.func @shared_fill_written(%x: memref<?xf32>, %w: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %in = spm.alloc : memref<256xf32, #spm.scratch>
  %weights = spm.alloc : memref<256xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c256 : index
    spm.copy %x[%off] to %in[%c0] count %c256 : memref<?xf32> to memref<256xf32, #spm.scratch>
    spm.copy %w[%c0] to %weights[%c0] count %c256 : memref<?xf32> to memref<256xf32, #spm.scratch>
    %v = memref.load %in[%c0] : memref<256xf32, #spm.scratch>
    memref.store %v, %weights[%c0] : memref<256xf32, #spm.scratch>
    spm.copy %in[%c0] to %x[%off] count %c256 : memref<256xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @shared_fill_written(
// CHECK:         %weights = spm.alloc : memref<256xf32, #spm.scratch>
// CHECK:         } {npu.remarks = ["npu-tile: its blocks of 256 elements are not coarsened: memref.store changes the tile spm.copy fills alike for every program"]}

// -----

// Coarsening rows at a runtime stride (a row kernel's `row * stride + cols`, masked
// `cols < n`): the programs' parts of a tile are the rows of one 2-D transfer, its
// DDR stride the offset of the tile's second program minus its first's.
func.func @coarsen_rows(%x: memref<?xf32>, %stride: index, %n: index, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c256 = arith.constant 256 : index
  %in = spm.alloc : memref<256xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %stride : index
    %pos = arith.maxsi %n, %c0 : index
    %len = arith.minsi %pos, %c256 : index
    spm.copy %x[%off] to %in[%c0] count %len : memref<?xf32> to memref<256xf32, #spm.scratch>
    scf.for %i = %c0 to %len step %c1 {
      %v = memref.load %in[%i] : memref<256xf32, #spm.scratch>
      %w = arith.addf %v, %v : f32
      memref.store %w, %in[%i] : memref<256xf32, #spm.scratch>
    }
    spm.copy %in[%c0] to %x[%off] count %len : memref<256xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @coarsen_rows(
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK:           %[[FIRST:.*]] = arith.addi %c0, %{{.*}} : index
// CHECK:           %[[K:.*]] = arith.minui %{{.*}}, %{{.*}} : index
// CHECK:           %[[OFF0:.*]] = arith.muli %[[FIRST]], %stride : index
// CHECK:           %[[LEN:.*]] = arith.minsi %{{.*}}, %c256 : index
// CHECK-NEXT:      %[[ONE:.*]] = arith.constant 1 : index
// CHECK-NEXT:      %[[SECOND:.*]] = arith.addi %[[FIRST]], %[[ONE]] : index
// CHECK-NEXT:      %[[OFF1:.*]] = arith.muli %[[SECOND]], %stride : index
// CHECK-NEXT:      %[[STEP:.*]] = arith.subi %[[OFF1]], %[[OFF0]] : index
// CHECK-NEXT:      spm.copy %x[%[[OFF0]]] to %in[%c0] count %[[LEN]] rows %[[K]] strides %[[STEP]], %[[B:.*]] : memref<?xf32> to memref<2048xf32, #spm.scratch>
// CHECK:           } {npu.programs_in_tile = 8 : index}
// CHECK:           spm.copy %in[%c0] to %x[%[[OFF0]]] count %{{.*}} rows %[[K]] strides %[[B]], %{{.*}} : memref<2048xf32, #spm.scratch> to memref<?xf32>

// -----

// A 2-D block (32 rows of 64, at a runtime DDR row stride) is strip-mined by rows:
// tiles of 16 rows; each 2-D transfer moves the tile's rows, clamp(%rows - %r0, 0, 16),
// from %r0 rows further (%r0 * %stride); the row loop runs over the tile's rows, its
// index used as a value is the block's, and the tile addresses (%i * 64 + %j) stay.
func.func @rows(%x: memref<?xf32>, %y: memref<?xf32>, %stride: index, %n: index, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c64 = arith.constant 64 : index
  %in = spm.alloc : memref<2048xf32, #spm.scratch>
  %out = spm.alloc : memref<2048xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %row0 = arith.muli %pid, %c32 : index
    %rest = arith.subi %n, %row0 : index
    %pos = arith.maxsi %rest, %c0 : index
    %rows = arith.minsi %pos, %c32 : index
    %off = arith.muli %row0, %stride : index
    spm.copy %x[%off] to %in[%c0] count %c64 rows %rows strides %stride, %c64 : memref<?xf32> to memref<2048xf32, #spm.scratch>
    scf.for %i = %c0 to %rows step %c1 {
      %f = arith.index_cast %i : index to i32
      %g = arith.sitofp %f : i32 to f32
      scf.for %j = %c0 to %c64 step %c1 {
        %start = arith.muli %i, %c64 : index
        %at = arith.addi %start, %j : index
        %v = memref.load %in[%at] : memref<2048xf32, #spm.scratch>
        %w = arith.addf %v, %g : f32
        memref.store %w, %out[%at] : memref<2048xf32, #spm.scratch>
      }
    }
    spm.copy %out[%c0] to %y[%off] count %c64 rows %rows strides %c64, %stride : memref<2048xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @rows(
// CHECK:         %in = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:    %out = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK:         scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// CHECK:           %[[R0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK:           %rows = arith.minsi %pos, %c32 : index
// CHECK-NEXT:      %off = arith.muli %row0, %stride : index
// CHECK-NEXT:      %[[LEFT:.*]] = arith.subi %rows, %[[R0]] : index
// CHECK-NEXT:      %[[NONNEG:.*]] = arith.maxsi %[[LEFT]], %{{.*}} : index
// CHECK-NEXT:      %[[PART:.*]] = arith.minsi %[[NONNEG]], %{{.*}} : index
// CHECK-NEXT:      %[[SKIP:.*]] = arith.muli %[[R0]], %stride : index
// CHECK-NEXT:      %[[AT:.*]] = arith.addi %off, %[[SKIP]] : index
// CHECK-NEXT:      spm.copy %x[%[[AT]]] to %in[%c0] count %c64 rows %[[PART]] strides %stride, %c64 : memref<?xf32> to memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      scf.for %i = %c0 to %[[PART]] step %c1 {
// CHECK-NEXT:        %[[ROW:.*]] = arith.addi %i, %[[R0]] : index
// CHECK-NEXT:        %f = arith.index_cast %[[ROW]] : index to i32
// CHECK:             scf.for %j = %c0 to %c64 step %c1 {
// CHECK-NEXT:          %start = arith.muli %i, %c64 : index
// CHECK-NEXT:          %at = arith.addi %start, %j : index
// CHECK-NEXT:          %v = memref.load %in[%at] : memref<1024xf32, #spm.scratch>
// CHECK:           spm.copy %out[%c0] to %y[%[[AT]]] count %c64 rows %[[PART]] strides %c64, %stride : memref<1024xf32, #spm.scratch> to memref<?xf32>
// CHECK-NEXT:    } {npu.tile_elements = 1024 : index, npu.block_elements = 2048 : index, npu.remarks = ["npu-tile: blocks of 32 rows strip-mined into tiles of at most 16"]}

// -----

// A block at a constant offset (no program_id term): the DDR offset and the tile's
// first element are one SSA value, %c0. Each tile's part moves from DDR element
// %t0 into the tile's first element, never into element %t0 of the tile.
func.func @same_offset_value(%x: memref<?xf32>, %y: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4096 = arith.constant 4096 : index
  %in = spm.alloc : memref<4096xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    spm.copy %x[%c0] to %in[%c0] count %c4096 : memref<?xf32> to memref<4096xf32, #spm.scratch>
    spm.copy %in[%c0] to %y[%c0] count %c4096 : memref<4096xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @same_offset_value(
// CHECK:         scf.for
// CHECK:           %[[T0:.*]] = arith.muli %{{.*}}, %{{.*}} : index
// CHECK:           %[[PART:.*]] = arith.minsi %{{.*}}, %{{.*}} : index
// CHECK-NEXT:      %[[AT:.*]] = arith.addi %c0, %[[T0]] : index
// CHECK-NEXT:      spm.copy %x[%[[AT]]] to %in[%c0] count %[[PART]]
// CHECK-NEXT:      spm.copy %in[%c0] to %y[%[[AT]]] count %[[PART]]

// npu-double-buffer, from multi-threaded NPU IR (npu-multithread's output level):
// prologue, steady state and epilogue of DMA on rotating buffers with the right
// waits; one case per behaviour, then its option errors.
// RUN: xdsl-opt --split-input-file %s -p npu-double-buffer | filecheck %s
// RUN: xdsl-opt %s -p 'npu-double-buffer{writeback=sync}' | filecheck %s --check-prefix=SYNC
// RUN: xdsl-opt %s -p 'npu-double-buffer{buffers=1}' | filecheck %s --check-prefix=ONE
// RUN: xdsl-opt %s -p 'npu-double-buffer{buffers=3}' | filecheck %s --check-prefix=THREE
// RUN: not xdsl-opt %s -p 'npu-double-buffer{buffers=0}' 2>&1 | filecheck %s --check-prefix=NOBUF
// RUN: not xdsl-opt %s -p 'npu-double-buffer{writeback=lazy}' 2>&1 | filecheck %s --check-prefix=MODE
// RUN: xdsl-opt %s -p 'npu-double-buffer{buffers=600}' | filecheck %s --check-prefix=FULL

// NOBUF: npu-double-buffer: buffers must be at least 1, got 0
// MODE:  npu-double-buffer: unknown writeback 'lazy'; use one of async, sync
// A loop whose tiles, 600 buffers each, would not fit the scratchpad stays synchronous.
// FULL-LABEL: func.func @contexts(
// FULL-NOT:     spm.dma_start
// FULL:         } {npu.remarks = ["npu-double-buffer: not pipelined: 600 buffers of each tile would take 9830400 bytes (in 2048-byte granules), more than the 8388608 of machine 'edge-npu': %in (memref<1024xf32, #spm.scratch>, 4096 bytes) x 1200, %out (memref<1024xf32, #spm.scratch>, 4096 bytes) x 1200"]}

// Two buffers, asynchronous write-back, in a context's tile loop. Prologue: the
// first tile of the range, if it has one. Each iteration picks its buffers by slot,
// starts the next tile into the other input buffer (if there is a next), waits for
// its own tile and for the write-back that last used its output buffer, computes,
// and starts its write-back without waiting. After the loop: every token still carried.
func.func @contexts(%x: memref<?xf32>, %y: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c1024 = arith.constant 1024 : index
  hwctx.parallel (%ctx) contexts(2) {
    %in = spm.alloc : memref<1024xf32, #spm.scratch>
    %out = spm.alloc : memref<1024xf32, #spm.scratch>
    %lo = arith.muli %ctx, %grid : index
    %hi = arith.addi %lo, %grid : index
    scf.for %pid = %lo to %hi step %c1 {
      %off = arith.muli %pid, %c1024 : index
      spm.copy %x[%off] to %in[%c0] count %c1024 {width = 32 : i64} : memref<?xf32> to memref<1024xf32, #spm.scratch>
      scf.for %i = %c0 to %c1024 step %c32 {
        %v = vector.load %in[%i] : memref<1024xf32, #spm.scratch>, vector<32xf32>
        %w = math.exp %v : vector<32xf32>
        vector.store %w, %out[%i] : memref<1024xf32, #spm.scratch>, vector<32xf32>
      }
      spm.copy %out[%c0] to %y[%off] count %c1024 {width = 32 : i64} : memref<1024xf32, #spm.scratch> to memref<?xf32>
    }
    hwctx.yield
  }
  func.return
}

// CHECK-LABEL: func.func @contexts(
// CHECK:         hwctx.parallel (%ctx) contexts(2) {
// CHECK-NEXT:      %[[IN0:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      %[[IN1:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      %[[OUT0:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      %[[OUT1:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      %lo = arith.muli %ctx, %grid : index
// CHECK-NEXT:      %hi = arith.addi %lo, %grid : index
// CHECK-NEXT:      %[[SLOT0:.*]] = arith.constant 0 : index
// CHECK-NEXT:      %[[ANY:.*]] = arith.cmpi slt, %lo, %hi : index
// CHECK-NEXT:      %[[FIRST:.*]] = scf.if %[[ANY]] -> (!spm.token) {
// CHECK-NEXT:        %[[OFF0:.*]] = arith.muli %lo, %c1024 : index
// CHECK-NEXT:        %[[T0:.*]] = spm.dma_start %x[%[[OFF0]]] to %[[IN0]][%c0] count %c1024
// CHECK-NEXT:        scf.yield %[[T0]] : !spm.token
// CHECK-NEXT:      } else {
// CHECK-NEXT:        %[[NONE:.*]] = spm.completed : !spm.token
// CHECK-NEXT:        scf.yield %[[NONE]] : !spm.token
// CHECK-NEXT:      }
// CHECK-NEXT:      %[[FREE0:.*]] = spm.completed : !spm.token
// CHECK-NEXT:      %[[FREE1:.*]] = spm.completed : !spm.token
// CHECK-NEXT:      %[[C1:.*]] = arith.constant 1 : index
// CHECK-NEXT:      %{{.*}}, %[[R1:.*]], %[[R2:.*]], %[[R3:.*]] = scf.for %pid = %lo to %hi step %c1 iter_args(%[[SLOT:.*]] = %[[SLOT0]], %[[ARRIVING:.*]] = %[[FIRST]], %[[WB_OLD:.*]] = %[[FREE0]], %[[WB_NEW:.*]] = %[[FREE1]]) -> (index, !spm.token, !spm.token, !spm.token) {
// CHECK-NEXT:        %[[ODD:.*]] = arith.cmpi eq, %[[SLOT]], %[[C1]] : index
// CHECK-NEXT:        %[[IN:.*]] = arith.select %[[ODD]], %[[IN1]], %[[IN0]] : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:        %[[OUT:.*]] = arith.select %[[ODD]], %[[OUT1]], %[[OUT0]] : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:        %[[INC:.*]] = arith.addi %[[SLOT]], %[[C1]] : index
// CHECK-NEXT:        %[[NEXT_SLOT:.*]] = arith.select %[[ODD]], %[[SLOT0]], %[[INC]] : index
// CHECK-NEXT:        %[[NEXT:.*]] = arith.addi %pid, %[[C1]] : index
// CHECK-NEXT:        %[[MORE:.*]] = arith.cmpi slt, %[[NEXT]], %hi : index
// CHECK-NEXT:        %[[NEXT_ODD:.*]] = arith.cmpi eq, %[[NEXT_SLOT]], %[[C1]] : index
// CHECK-NEXT:        %[[OTHER:.*]] = arith.select %[[NEXT_ODD]], %[[IN1]], %[[IN0]] : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:        %[[PREFETCH:.*]] = scf.if %[[MORE]] -> (!spm.token) {
// CHECK-NEXT:          %[[NEXT_OFF:.*]] = arith.muli %[[NEXT]], %c1024 : index
// CHECK-NEXT:          %[[T:.*]] = spm.dma_start %x[%[[NEXT_OFF]]] to %[[OTHER]][%c0] count %c1024
// CHECK-NEXT:          scf.yield %[[T]] : !spm.token
// CHECK-NEXT:        } else {
// CHECK-NEXT:          %{{.*}} = spm.completed : !spm.token
// CHECK-NEXT:          scf.yield
// CHECK-NEXT:        }
// CHECK-NEXT:        spm.dma_wait %[[ARRIVING]]
// CHECK-NEXT:        spm.dma_wait %[[WB_OLD]]
// CHECK-NEXT:        %[[OFF:.*]] = arith.muli %pid, %c1024 : index
// CHECK-NEXT:        scf.for %i = %c0 to %c1024 step %c32 {
// CHECK-NEXT:          vector.load %[[IN]][%i]
// CHECK-NEXT:          math.exp
// CHECK-NEXT:          vector.store %{{.*}}, %[[OUT]][%i]
// CHECK-NEXT:        }
// CHECK-NEXT:        %[[WB:.*]] = spm.dma_start %[[OUT]][%c0] to %y[%[[OFF]]] count %c1024
// CHECK-NEXT:        scf.yield %[[NEXT_SLOT]], %[[PREFETCH]], %[[WB_NEW]], %[[WB]] : index, !spm.token, !spm.token, !spm.token
// CHECK-NEXT:      }
// CHECK-NEXT:      spm.dma_wait %[[R1]], %[[R2]], %[[R3]]
// CHECK-NEXT:      hwctx.yield

// -----

// A program loop outside any parallel region is a tile loop too (the vec+db level);
// SYNC, ONE and THREE take this one apart.
func.func @program(%x: memref<?xf32>, %y: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c1024 = arith.constant 1024 : index
  %in = spm.alloc : memref<1024xf32, #spm.scratch>
  %out = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c1024 : index
    spm.copy %x[%off] to %in[%c0] count %c1024 : memref<?xf32> to memref<1024xf32, #spm.scratch>
    scf.for %i = %c0 to %c1024 step %c1 {
      %v = memref.load %in[%i] : memref<1024xf32, #spm.scratch>
      memref.store %v, %out[%i] : memref<1024xf32, #spm.scratch>
    }
    spm.copy %out[%c0] to %y[%off] count %c1024 : memref<1024xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @program(
// CHECK:         scf.for %pid = %c0 to %grid step %c1 iter_args({{.*}}) -> (index, !spm.token, !spm.token, !spm.token) {

// writeback=sync: each write-back is waited on at once, so only the slot and the
// prefetched input go around the loop.
// SYNC-LABEL: func.func @program(
// SYNC:         %{{.*}}, %[[LAST:.*]] = scf.for %pid = %c0 to %grid step %c1 iter_args(%{{.*}} = %{{.*}}, %[[ARRIVING:.*]] = %{{.*}}) -> (index, !spm.token) {
// SYNC:           spm.dma_wait %[[ARRIVING]]
// SYNC-NOT:       spm.dma_wait
// SYNC:           %[[WB:.*]] = spm.dma_start %{{.*}} to %y[%{{.*}}]
// SYNC-NEXT:      spm.dma_wait %[[WB]]
// SYNC-NEXT:      scf.yield
// SYNC:         spm.dma_wait %[[LAST]]

// buffers=1: the DMA engine with no overlap: the input starts where its copy was and
// is waited on at once, then the previous write-back; no second buffer.
// ONE-LABEL: func.func @program(
// ONE:         %in = spm.alloc
// ONE-NEXT:    %out = spm.alloc
// ONE-NEXT:    %[[FREE:.*]] = spm.completed : !spm.token
// ONE-NEXT:    %[[LAST:.*]] = scf.for %pid = %c0 to %grid step %c1 iter_args(%[[WB_OLD:.*]] = %[[FREE]]) -> (!spm.token) {
// ONE-NEXT:      %off = arith.muli %pid, %c1024 : index
// ONE-NEXT:      %[[T:.*]] = spm.dma_start %x[%off] to %in[%c0] count %c1024
// ONE-NEXT:      spm.dma_wait %[[T]]
// ONE-NEXT:      spm.dma_wait %[[WB_OLD]]
// ONE:           %[[WB:.*]] = spm.dma_start %out[%c0] to %y[%off] count %c1024
// ONE-NEXT:      scf.yield %[[WB]] : !spm.token
// ONE-NEXT:    }
// ONE-NEXT:    spm.dma_wait %[[LAST]]

// buffers=3: two tiles in flight: the prologue starts two, the slot cycles 0, 1, 2
// and the prefetch goes two iterations ahead.
// THREE-LABEL: func.func @program(
// THREE-COUNT-6: spm.alloc : memref<1024xf32, #spm.scratch>
// THREE:         scf.if
// THREE:         scf.if
// THREE:         %[[TWO:.*]] = arith.constant 2 : index
// THREE-NEXT:    scf.for %pid = {{.*}} -> (index, !spm.token, !spm.token, !spm.token, !spm.token, !spm.token) {
// THREE:           %[[AHEAD:.*]] = arith.addi %pid, %[[TWO]] : index

// -----

// A context's share of a loop npu-tile strip-mined (blocks of 8192, tiles of 2048):
// the (program, tile) pairs are pipelined like programs. The prologue starts the
// share's first pair at the offset its program and tile give; each iteration
// prefetches the next pair's tile, which may belong to the next program; the loop
// keeps its tile attributes.
func.func @strip_mined(%x: memref<?xf32>, %y: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c4 = arith.constant 4 : index
  %c2048 = arith.constant 2048 : index
  %c8192 = arith.constant 8192 : index
  %pairs = arith.muli %grid, %c4 : index
  hwctx.parallel (%ctx) contexts(2) {
    %in = spm.alloc : memref<2048xf32, #spm.scratch>
    %out = spm.alloc : memref<2048xf32, #spm.scratch>
    %share = arith.ceildivui %pairs, %c2 : index
    %first = arith.muli %ctx, %share : index
    %lo = arith.minui %first, %pairs : index
    %end = arith.addi %lo, %share : index
    %hi = arith.minui %end, %pairs : index
    scf.for %w = %lo to %hi step %c1 {
      %pid = arith.divui %w, %c4 : index
      %t = arith.remui %w, %c4 : index
      %t0 = arith.muli %t, %c2048 : index
      %base = arith.muli %pid, %c8192 : index
      %off = arith.addi %base, %t0 : index
      spm.copy %x[%off] to %in[%c0] count %c2048 : memref<?xf32> to memref<2048xf32, #spm.scratch>
      scf.for %i = %c0 to %c2048 step %c1 {
        %v = memref.load %in[%i] : memref<2048xf32, #spm.scratch>
        memref.store %v, %out[%i] : memref<2048xf32, #spm.scratch>
      }
      spm.copy %out[%c0] to %y[%off] count %c2048 : memref<2048xf32, #spm.scratch> to memref<?xf32>
    } {npu.tile_elements = 2048 : index, npu.block_elements = 8192 : index}
    hwctx.yield
  }
  func.return
}

// CHECK-LABEL: func.func @strip_mined(
// CHECK:         %in = spm.alloc : memref<2048xf32, #spm.scratch>
// CHECK-NEXT:    %in_1 = spm.alloc : memref<2048xf32, #spm.scratch>
// CHECK:         %[[ANY:.*]] = arith.cmpi slt, %lo, %hi : index
// CHECK-NEXT:    %[[FIRST:.*]] = scf.if %[[ANY]] -> (!spm.token) {
// CHECK-NEXT:      %pid = arith.divui %lo, %c4 : index
// CHECK-NEXT:      %t = arith.remui %lo, %c4 : index
// CHECK-NEXT:      %t0 = arith.muli %t, %c2048 : index
// CHECK-NEXT:      %base = arith.muli %pid, %c8192 : index
// CHECK-NEXT:      %off = arith.addi %base, %t0 : index
// CHECK-NEXT:      %{{.*}} = spm.dma_start %x[%off] to %in[%c0] count %c2048
// CHECK:         scf.for %w = %lo to %hi step %c1 iter_args(%{{.*}} = %{{.*}}, %{{.*}} = %[[FIRST]], {{.*}}) -> (index, !spm.token, !spm.token, !spm.token) {
// CHECK:           %[[NEXT:.*]] = arith.addi %w, %{{.*}} : index
// CHECK-NEXT:      %[[MORE:.*]] = arith.cmpi slt, %[[NEXT]], %hi : index
// CHECK:           scf.if %[[MORE]] -> (!spm.token) {
// CHECK-NEXT:        %{{.*}} = arith.divui %[[NEXT]], %c4 : index
// CHECK-NEXT:        %{{.*}} = arith.remui %[[NEXT]], %c4 : index
// CHECK:             spm.dma_start %x[%{{.*}}] to %{{.*}}[%c0] count %c2048
// CHECK:           spm.dma_start %{{.*}}[%c0] to %y[%{{.*}}] count %c2048
// CHECK:         } {npu.tile_elements = 2048 : index, npu.block_elements = 8192 : index, npu.remarks = ["npu-double-buffer: pipelined over 2 buffers (async write-back): 1 input and 1 output copies become DMA"]}

// -----

// An input copy whose operands are not computed from the induction variable by pure
// ops cannot be prefetched: it stays a core copy into the iteration's buffer, after
// that buffer's previous write-back; the write-back itself is pipelined.
func.func @offset_is_data(%x: memref<?xf32>, %idx: memref<?xindex>, %y: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %in = spm.alloc : memref<64xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = memref.load %idx[%pid] : memref<?xindex>
    spm.copy %x[%off] to %in[%c0] count %c64 : memref<?xf32> to memref<64xf32, #spm.scratch>
    spm.copy %in[%c0] to %y[%pid] count %c64 : memref<64xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @offset_is_data(
// CHECK:         scf.for %pid = %c0 to %grid step %c1 iter_args(%{{.*}} = %{{.*}}, %[[WB_OLD:.*]] = %{{.*}}, %[[WB_NEW:.*]] = %{{.*}}) -> (index, !spm.token, !spm.token) {
// CHECK:           %[[IN:.*]] = arith.select
// CHECK-NOT:       scf.if
// CHECK:           spm.dma_wait %[[WB_OLD]]
// CHECK-NEXT:      %off = memref.load %idx[%pid] : memref<?xindex>
// CHECK-NEXT:      spm.copy %x[%off] to %[[IN]][%c0] count %c64
// CHECK-NEXT:      %[[WB:.*]] = spm.dma_start %[[IN]][%c0] to %y[%pid] count %c64
// CHECK-NEXT:      scf.yield %{{.*}}, %[[WB_NEW]], %[[WB]] : index, !spm.token, !spm.token
// CHECK-NEXT:    } {npu.remarks = ["npu-double-buffer: pipelined over 2 buffers (async write-back): 0 input and 1 output copies become DMA; spm.copy stays a core copy: its operands depend on 'memref.load' in the loop"]}

// -----

// A loop that carries a value of its own (a kernel's loop over chunks) keeps carrying
// it, before the slot and the tokens; its result is the pipelined loop's first.
func.func @carried(%x: memref<?xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c64 = arith.constant 64 : index
  %zero = arith.constant 0.0 : f32
  %in = spm.alloc : memref<64xf32, #spm.scratch>
  %sum = scf.for %off = %c0 to %n step %c64 iter_args(%acc = %zero) -> (f32) {
    spm.copy %x[%off] to %in[%c0] count %c64 : memref<?xf32> to memref<64xf32, #spm.scratch>
    %v = memref.load %in[%c0] : memref<64xf32, #spm.scratch>
    %s = arith.addf %acc, %v : f32
    scf.yield %s : f32
  }
  func.return %sum : f32
}

// CHECK-LABEL: func.func @carried(
// CHECK:         %[[SUM:.*]], %{{.*}}, %[[LAST:.*]] = scf.for %off = %c0 to %n step %c64 iter_args(%acc = %zero, %{{.*}} = %{{.*}}, %[[ARRIVING:.*]] = %{{.*}}) -> (f32, index, !spm.token) {
// CHECK:           %[[AHEAD:.*]] = arith.addi %off, %{{.*}} : index
// CHECK:             spm.dma_start %x[%[[AHEAD]]] to
// CHECK:           spm.dma_wait %[[ARRIVING]]
// CHECK-NEXT:      %v = memref.load
// CHECK-NEXT:      %s = arith.addf %acc, %v : f32
// CHECK-NEXT:      scf.yield %s, %{{.*}}, %{{.*}} : f32, index, !spm.token
// CHECK-NEXT:    } {npu.remarks = ["npu-double-buffer: pipelined over 2 buffers (async write-back): 1 input and 0 output copies become DMA"]}
// CHECK-NEXT:    spm.dma_wait %[[LAST]]
// CHECK-NEXT:    func.return %[[SUM]] : f32

// -----

// A copy whose offset a carried value gives cannot be started a trip ahead.
func.func @carried_offset(%x: memref<?xf32>, %n: index) -> index {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %in = spm.alloc : memref<64xf32, #spm.scratch>
  %end = scf.for %i = %c0 to %n step %c1 iter_args(%off = %c0) -> (index) {
    spm.copy %x[%off] to %in[%c0] count %c64 : memref<?xf32> to memref<64xf32, #spm.scratch>
    %next = arith.addi %off, %c64 : index
    scf.yield %next : index
  }
  func.return %end : index
}

// CHECK-LABEL: func.func @carried_offset(
// CHECK-NOT:     spm.dma_start
// CHECK:         } {npu.remarks = ["npu-double-buffer: not pipelined: no copy of a tile can become DMA: spm.copy: its operands depend on a value the loop carries"]}

// -----

// No copies at the loop's top level: nothing to pipeline.
func.func @no_copies(%x: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %t = spm.alloc : memref<16xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %t[%c0] : memref<16xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @no_copies(
// CHECK-NOT:     spm.dma
// CHECK:         func.return

// -----

// Copies into a buffer the loop allocates itself: nothing to prefetch into, and the
// remark says so.
func.func @buffer_in_the_loop(%x: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c16 = arith.constant 16 : index
  scf.for %i = %c0 to %n step %c1 {
    %t = spm.alloc : memref<16xf32, #spm.scratch>
    spm.copy %x[%i] to %t[%c0] count %c16 : memref<?xf32> to memref<16xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @buffer_in_the_loop(
// CHECK-NOT:     spm.dma
// CHECK:         } {npu.remarks = ["npu-double-buffer: not pipelined: no copy of a tile can become DMA: spm.copy: its buffer is allocated in the loop"]}

// -----

// An iteration that reads back a DDR buffer it wrote (Inductor's in_out_ptr: a row
// stored, then read back) keeps those two copies in order, as core copies: a prefetch
// would read the buffer before the write, an async write-back would still be writing
// it when it is read. The loop's other copies are pipelined.
func.func @reads_back_what_it_wrote(%x: memref<?xf32>, %y: memref<?xf32>, %z: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = spm.alloc : memref<64xf32, #spm.scratch>
  %b = spm.alloc : memref<64xf32, #spm.scratch>
  %c = spm.alloc : memref<64xf32, #spm.scratch>
  %d = spm.alloc : memref<64xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c64 : index
    spm.copy %y[%off] to %a[%c0] count %c64 : memref<?xf32> to memref<64xf32, #spm.scratch>
    scf.for %i = %c0 to %c64 step %c1 {
      %v = memref.load %a[%i] : memref<64xf32, #spm.scratch>
      memref.store %v, %b[%i] : memref<64xf32, #spm.scratch>
    }
    spm.copy %b[%c0] to %x[%off] count %c64 : memref<64xf32, #spm.scratch> to memref<?xf32>
    spm.copy %x[%off] to %c[%c0] count %c64 : memref<?xf32> to memref<64xf32, #spm.scratch>
    scf.for %i = %c0 to %c64 step %c1 {
      %v = memref.load %c[%i] : memref<64xf32, #spm.scratch>
      memref.store %v, %d[%i] : memref<64xf32, #spm.scratch>
    }
    spm.copy %d[%c0] to %z[%off] count %c64 : memref<64xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @reads_back_what_it_wrote(
// CHECK:         scf.for %pid = %c0 to %grid step %c1 iter_args(
// CHECK:           spm.dma_start %y[%{{.*}}] to %{{.*}}[%c0] count %c64
// CHECK:           spm.copy %b[%c0] to %x[%[[AT:.*]]] count %c64
// CHECK-NEXT:      spm.copy %x[%[[AT]]] to %c[%c0] count %c64
// CHECK:           spm.dma_start %{{.*}}[%c0] to %z[%[[AT]]] count %c64
// CHECK:         } {npu.remarks = ["npu-double-buffer: pipelined over 2 buffers (async write-back): 1 input and 1 output copies become DMA; spm.copy stays a core copy: it reads back a DDR buffer the iteration wrote before, and DMA would reorder the two; spm.copy stays a core copy: it reads back a DDR buffer the iteration wrote before, and DMA would reorder the two"]}

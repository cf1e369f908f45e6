// npu-multithread, from vectorized NPU IR (npu-vectorize's output level): the
// program loop becomes an hwctx.parallel region, each context running its share;
// one case per behaviour, then its option errors.
// RUN: xdsl-opt --split-input-file %s -p npu-multithread | filecheck %s
// RUN: xdsl-opt %s -p 'npu-multithread{contexts=3 schedule=cyclic}' | filecheck %s --check-prefix=CYCLIC
// RUN: xdsl-opt --split-input-file %s -p 'npu-multithread{programs=1}' | filecheck %s --check-prefix=ONE
// RUN: xdsl-opt --split-input-file %s -p 'npu-multithread{programs=1 decide=always}' | filecheck %s --check-prefix=FORCED
// RUN: not xdsl-opt %s -p 'npu-multithread{contexts=0}' 2>&1 | filecheck %s --check-prefix=NONE
// RUN: not xdsl-opt %s -p 'npu-multithread{contexts=7}' 2>&1 | filecheck %s --check-prefix=MANY
// RUN: not xdsl-opt %s -p 'npu-multithread{schedule=dynamic}' 2>&1 | filecheck %s --check-prefix=SCHEDULE
// RUN: xdsl-opt --split-input-file %s -p 'npu-multithread{contexts=6}' | filecheck %s --check-prefix=SIX
// RUN: not xdsl-opt %s -p 'npu-multithread{contexts=6 decide=always}' 2>&1 | filecheck %s --check-prefix=SIXFORCED

// The profitability model: a launch of one program is one iteration, which no second
// context can share; decide=always forks anyway.
// ONE-LABEL: func.func @block(
// ONE-NOT:     hwctx.parallel
// ONE:         scf.for %pid = %c0 to %grid step %c1 {
// ONE:         } {npu.remarks = ["npu-multithread: kept on one context (model): ~{{[0-9,]+}} cycles of work in 1 iterations: 1 contexts save ~0, fork and join cost {{[0-9,]+}} cycles"]}
// FORCED-LABEL: func.func @block(
// FORCED:       hwctx.parallel (%{{.*}}) contexts(4) attributes {npu.remarks = ["npu-multithread: on 4 contexts (always): {{.*}}"]} {

// NONE:     npu-multithread: contexts must be between 1 and the 6 hardware threads of machine 'edge-npu', got 0
// MANY:     npu-multithread: contexts must be between 1 and the 6 hardware threads of machine 'edge-npu', got 7
// SCHEDULE: npu-multithread: unknown schedule 'dynamic'; use one of block, cyclic
// SIX-LABEL: func.func @big(
// SIX-NOT:     hwctx.parallel
// SIX:         } {npu.remarks = ["npu-multithread: kept on one context (model): a set of tiles per context would take 9437184 bytes (in 2048-byte granules), more than the 8388608 of machine 'edge-npu': %tile (memref<393216xf32, #spm.scratch>, 1572864 bytes) x 6 (the estimate alone would fork: {{.*}})"]}
// SIXFORCED:   npu-multithread: the scratchpad buffers of @big take 9437184 bytes (in 2048-byte granules), more than the 8388608 of machine 'edge-npu': %tile (memref<393216xf32, #spm.scratch>, 1572864 bytes) x 6; use fewer contexts or a smaller BLOCK

// Block schedule: context c runs programs [c * share, (c + 1) * share) clipped to the
// grid, share = ceil(grid / 4); the tile the loop uses alone moves into the region,
// so each context has its own.
func.func @block(%x: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c1024 = arith.constant 1024 : index
  %tile = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %off = arith.muli %pid, %c1024 : index
    spm.copy %x[%off] to %tile[%c0] count %c1024 {width = 32 : i64} : memref<?xf32> to memref<1024xf32, #spm.scratch>
    scf.for %i = %c0 to %c1024 step %c32 {
      %v = vector.load %tile[%i] : memref<1024xf32, #spm.scratch>, vector<32xf32>
      %w = arith.addf %v, %v : vector<32xf32>
      vector.store %w, %tile[%i] : memref<1024xf32, #spm.scratch>, vector<32xf32>
    }
    spm.copy %tile[%c0] to %x[%off] count %c1024 {width = 32 : i64} : memref<1024xf32, #spm.scratch> to memref<?xf32>
  }
  func.return
}

// CHECK-LABEL: func.func @block(
// CHECK:         hwctx.parallel (%[[CTX:.*]]) contexts(4) attributes {npu.remarks = ["npu-multithread: on 4 contexts (model): {{.*}}"]} {
// CHECK-NEXT:      %tile = spm.alloc : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      %[[COUNT:.*]] = arith.subi %grid, %c0 : index
// CHECK-NEXT:      %[[N:.*]] = arith.constant 4 : index
// CHECK-NEXT:      %[[SHARE:.*]] = arith.ceildivui %[[COUNT]], %[[N]] : index
// CHECK-NEXT:      %[[FIRST:.*]] = arith.muli %[[CTX]], %[[SHARE]] : index
// CHECK-NEXT:      %[[FROM:.*]] = arith.minui %[[FIRST]], %[[COUNT]] : index
// CHECK-NEXT:      %[[PAST:.*]] = arith.addi %[[FROM]], %[[SHARE]] : index
// CHECK-NEXT:      %[[TO:.*]] = arith.minui %[[PAST]], %[[COUNT]] : index
// CHECK-NEXT:      %[[LO:.*]] = arith.addi %c0, %[[FROM]] : index
// CHECK-NEXT:      %[[HI:.*]] = arith.addi %c0, %[[TO]] : index
// CHECK-NEXT:      scf.for %pid = %[[LO]] to %[[HI]] step %c1 {
// CHECK-NEXT:        %off = arith.muli %pid, %c1024 : index
// CHECK:             vector.load %tile
// CHECK:             spm.copy %tile[%c0] to %x[%off]
// CHECK-NEXT:      }
// CHECK-NEXT:      hwctx.yield
// CHECK-NEXT:    }
// CHECK-NEXT:    func.return

// Cyclic schedule: context c runs programs c, c + 3, c + 6, ...
// CYCLIC-LABEL: func.func @block(
// CYCLIC:         hwctx.parallel (%[[CTX:.*]]) contexts(3) attributes {npu.remarks = ["npu-multithread: on 3 contexts (model): {{.*}}"]} {
// CYCLIC-NEXT:      %tile = spm.alloc
// CYCLIC-NEXT:      %[[LO:.*]] = arith.addi %c0, %[[CTX]] : index
// CYCLIC-NEXT:      %[[N:.*]] = arith.constant 3 : index
// CYCLIC-NEXT:      scf.for %pid = %[[LO]] to %grid step %[[N]] {

// -----

// A buffer also used outside the program loop stays shared; the loop's own moves in.
func.func @shared(%x: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %tile = spm.alloc : memref<16xf32, #spm.scratch>
  %table = spm.alloc : memref<16xf32, #spm.scratch>
  spm.copy %x[%c0] to %table[%c0] count %c4 : memref<?xf32> to memref<16xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    %v = memref.load %table[%pid] : memref<16xf32, #spm.scratch>
    memref.store %v, %tile[%c0] : memref<16xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @shared(
// CHECK:         %table = spm.alloc : memref<16xf32, #spm.scratch>
// CHECK-NEXT:    spm.copy %x[%c0] to %table[%c0]
// CHECK-NEXT:    hwctx.parallel (%{{.*}}) contexts(4) attributes {npu.remarks = ["npu-multithread: on 4 contexts (model): {{.*}}"]} {
// CHECK-NEXT:      %tile = spm.alloc : memref<16xf32, #spm.scratch>
// CHECK:             memref.load %table[%pid]

// -----

// No program loop (the top-level loop carries a value): the function is left alone.
func.func @no_program_loop(%x: memref<?xf32>, %n: index) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %s = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %z) -> (f32) {
    %v = memref.load %x[%i] : memref<?xf32>
    %t = arith.addf %acc, %v : f32
    scf.yield %t : f32
  }
  func.return %s : f32
}

// CHECK-LABEL: func.func @no_program_loop(
// CHECK-NOT:     hwctx.parallel
// CHECK:         func.return %s : f32

// -----

// Four contexts of a 1.5 MiB tile fit the 8 MiB scratchpad; six do not (see SIX).
func.func @big(%x: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %n = arith.constant 393216 : index
  %tile = spm.alloc : memref<393216xf32, #spm.scratch>
  scf.for %pid = %c0 to %grid step %c1 {
    spm.copy %x[%c0] to %tile[%c0] count %n : memref<?xf32> to memref<393216xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @big(
// CHECK:         hwctx.parallel (%{{.*}}) contexts(4) attributes {npu.remarks = ["npu-multithread: on 4 contexts (model): {{.*}}"]} {

// -----

// A loop npu-tile strip-mined (blocks of 65536 in tiles of 16384): the contexts share
// the (program, tile) pairs, so even a launch of one program uses all four; the
// model prices the program's four tiles, and the loop keeps its tile attributes.
func.func @strip_mined(%x: memref<?xf32>, %y: memref<?xf32>, %grid: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %c32 = arith.constant 32 : index
  %c16384 = arith.constant 16384 : index
  %c65536 = arith.constant 65536 : index
  %in = spm.alloc : memref<16384xf32, #spm.scratch>
  %out = spm.alloc : memref<16384xf32, #spm.scratch>
  %pairs = arith.muli %grid, %c4 : index
  scf.for %w = %c0 to %pairs step %c1 {
    %pid = arith.divui %w, %c4 : index
    %t = arith.remui %w, %c4 : index
    %t0 = arith.muli %t, %c16384 : index
    %base = arith.muli %pid, %c65536 : index
    %off = arith.addi %base, %t0 : index
    spm.copy %x[%off] to %in[%c0] count %c16384 {width = 32 : i64} : memref<?xf32> to memref<16384xf32, #spm.scratch>
    scf.for %i = %c0 to %c16384 step %c32 {
      %v = vector.load %in[%i] : memref<16384xf32, #spm.scratch>, vector<32xf32>
      %s = arith.addf %v, %v : vector<32xf32>
      vector.store %s, %out[%i] : memref<16384xf32, #spm.scratch>, vector<32xf32>
    }
    spm.copy %out[%c0] to %y[%off] count %c16384 {width = 32 : i64} : memref<16384xf32, #spm.scratch> to memref<?xf32>
  } {npu.tile_elements = 16384 : index, npu.block_elements = 65536 : index}
  func.return
}

// ONE-LABEL: func.func @strip_mined(
// ONE:         %pairs = arith.muli %grid, %c4 : index
// ONE-NEXT:    hwctx.parallel (%[[CTX:.*]]) contexts(4) attributes {npu.remarks = ["npu-multithread: on 4 contexts (model): ~{{[0-9,]+}} cycles of work in 4 iterations: 4 contexts save ~{{[0-9,]+}}, fork and join cost {{[0-9,]+}} cycles"]} {
// ONE-NEXT:      %in = spm.alloc : memref<16384xf32, #spm.scratch>
// ONE-NEXT:      %out = spm.alloc : memref<16384xf32, #spm.scratch>
// ONE-NEXT:      %[[COUNT:.*]] = arith.subi %pairs, %c0 : index
// ONE-NEXT:      %[[FOUR:.*]] = arith.constant 4 : index
// ONE-NEXT:      %[[SHARE:.*]] = arith.ceildivui %[[COUNT]], %[[FOUR]] : index
// ONE-NEXT:      %[[FIRST:.*]] = arith.muli %[[CTX]], %[[SHARE]] : index
// ONE:           scf.for %w = %{{.*}} to %{{.*}} step %c1 {
// ONE-NEXT:        %pid = arith.divui %w, %c4 : index
// ONE:           } {npu.tile_elements = 16384 : index, npu.block_elements = 65536 : index}
// ONE-NEXT:      hwctx.yield

// npu-multithread on vector_add, GELU and softmax: the program loop becomes an
// hwctx.parallel region, each context running its share; its option errors.
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p npu-lower-triton,npu-multithread | filecheck %s --check-prefix=BLOCK
// RUN: xdsl-opt %S/../dialects/tt_gelu.mlir -p 'npu-lower-triton,npu-vectorize,npu-multithread{contexts=3 schedule=cyclic}' | filecheck %s --check-prefix=CYCLIC
// RUN: xdsl-opt %S/../dialects/tt_softmax.mlir -p npu-lower-triton,npu-vectorize,npu-multithread | filecheck %s --check-prefix=SOFTMAX
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-multithread{contexts=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-multithread{contexts=7}' 2>&1 | filecheck %s --check-prefix=MANY
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-multithread{schedule=dynamic}' 2>&1 | filecheck %s --check-prefix=SCHEDULE

// Block schedule: ceil(grid / 4) programs a context, the last ranges clipped to the
// grid; each context allocates its own tiles.
// BLOCK:      func.func public @vector_add(
// BLOCK:        %[[Z0:.*]] = arith.constant 0 : index
// BLOCK:        %[[ONE:.*]] = arith.constant 1 : index
// BLOCK-NEXT:   hwctx.parallel (%[[CTX:.*]]) contexts(4) {
// BLOCK-NEXT:     spm.alloc : memref<1024xf32, #spm.scratch>
// BLOCK-NEXT:     spm.alloc : memref<1024xf32, #spm.scratch>
// BLOCK-NEXT:     spm.alloc : memref<1024xf32, #spm.scratch>
// BLOCK-NEXT:     %[[COUNT:.*]] = arith.subi %grid_x, %[[Z0]] : index
// BLOCK-NEXT:     %[[N:.*]] = arith.constant 4 : index
// BLOCK-NEXT:     %[[SHARE:.*]] = arith.ceildivui %[[COUNT]], %[[N]] : index
// BLOCK-NEXT:     %[[FIRST:.*]] = arith.muli %[[CTX]], %[[SHARE]] : index
// BLOCK-NEXT:     %[[FROM:.*]] = arith.minui %[[FIRST]], %[[COUNT]] : index
// BLOCK-NEXT:     %[[PAST:.*]] = arith.addi %[[FROM]], %[[SHARE]] : index
// BLOCK-NEXT:     %[[TO:.*]] = arith.minui %[[PAST]], %[[COUNT]] : index
// BLOCK-NEXT:     %[[LO:.*]] = arith.addi %[[Z0]], %[[FROM]] : index
// BLOCK-NEXT:     %[[HI:.*]] = arith.addi %[[Z0]], %[[TO]] : index
// BLOCK-NEXT:     scf.for %pid = %[[LO]] to %[[HI]] step %[[ONE]] {
// BLOCK:            spm.copy %{{.*}} to %arg2
// BLOCK-NEXT:     }
// BLOCK-NEXT:     hwctx.yield
// BLOCK-NEXT:   }
// BLOCK-NEXT:   func.return

// Cyclic schedule: context c runs programs c, c + 3, c + 6, ...
// CYCLIC:      hwctx.parallel (%[[CTX:.*]]) contexts(3) {
// CYCLIC:        %[[LO:.*]] = arith.addi %{{.*}}, %[[CTX]] : index
// CYCLIC-NEXT:   %[[N:.*]] = arith.constant 3 : index
// CYCLIC-NEXT:   scf.for %pid = %[[LO]] to %grid_x step %[[N]] {
// CYCLIC:          math.erf %{{.*}} : vector<32xf32>
// CYCLIC:        hwctx.yield

// The row loop of softmax, reductions and all, moves into the region unchanged.
// SOFTMAX:      hwctx.parallel
// SOFTMAX-COUNT-3: spm.alloc
// SOFTMAX:        scf.for %pid
// SOFTMAX:          vector.reduction <maxnumf>
// SOFTMAX:          vector.reduction <add>
// SOFTMAX:        hwctx.yield

// ZERO: npu-multithread: contexts must be between 1 and the 6 hardware threads of machine 'edge-npu', got 0
// MANY: npu-multithread: contexts must be between 1 and the 6 hardware threads of machine 'edge-npu', got 7
// SCHEDULE: npu-multithread: unknown schedule 'dynamic'; use one of block, cyclic

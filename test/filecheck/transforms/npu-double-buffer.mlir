// npu-double-buffer on vector_add, GELU and softmax: prologue, steady state and
// epilogue of DMA on rotating buffers, with the right waits; its option errors.
// RUN: xdsl-opt %S/../dialects/tt_gelu.mlir -p npu-lower-triton,npu-vectorize,npu-multithread,npu-double-buffer | filecheck %s --check-prefix=GELU
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-double-buffer{writeback=sync}' | filecheck %s --check-prefix=SYNC
// RUN: xdsl-opt %S/../dialects/tt_softmax.mlir -p 'npu-lower-triton,npu-double-buffer{buffers=1}' | filecheck %s --check-prefix=ONE
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-double-buffer{buffers=3}' | filecheck %s --check-prefix=THREE
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-double-buffer{buffers=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-double-buffer{writeback=lazy}' 2>&1 | filecheck %s --check-prefix=MODE
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-multithread{contexts=6},npu-double-buffer{buffers=300}' 2>&1 | filecheck %s --check-prefix=FULL

// GELU, two buffers, asynchronous write-back. Prologue: the first tile of the
// context's range, if it has one. Each iteration picks its buffers by slot, starts the
// next tile into the other input buffer (if there is a next), waits for its own
// tile and for the write-back that last used its output buffer, computes, and starts
// its write-back without waiting. The epilogue waits for everything still carried.
// GELU:      hwctx.parallel
// GELU:        %[[IN0:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// GELU-NEXT:   %[[IN1:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// GELU-NEXT:   %[[OUT0:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// GELU-NEXT:   %[[OUT1:.*]] = spm.alloc : memref<1024xf32, #spm.scratch>
// GELU:        arith.minui
// GELU:        arith.minui
// GELU-NEXT:   %[[LO:.*]] = arith.addi
// GELU-NEXT:   %[[HI:.*]] = arith.addi
// GELU-NEXT:   %[[SLOT0:.*]] = arith.constant 0 : index
// GELU-NEXT:   %[[ANY:.*]] = arith.cmpi slt, %[[LO]], %[[HI]] : index
// GELU-NEXT:   %[[FIRST:.*]] = scf.if %[[ANY]] -> (!spm.token) {
// GELU:          %[[T0:.*]] = spm.dma_start %arg0[%{{.*}}] to %[[IN0]][%{{.*}}] count %{{.*}}
// GELU-NEXT:     scf.yield %[[T0]] : !spm.token
// GELU-NEXT:   } else {
// GELU-NEXT:     %[[NONE:.*]] = spm.completed : !spm.token
// GELU-NEXT:     scf.yield %[[NONE]] : !spm.token
// GELU-NEXT:   }
// GELU-NEXT:   %[[FREE0:.*]] = spm.completed : !spm.token
// GELU-NEXT:   %[[FREE1:.*]] = spm.completed : !spm.token
// GELU-NEXT:   %[[C1:.*]] = arith.constant 1 : index
// GELU-NEXT:   %{{.*}}, %[[R1:.*]], %[[R2:.*]], %[[R3:.*]] = scf.for %pid = %[[LO]] to %[[HI]] step %{{.*}} iter_args(%[[SLOT:.*]] = %[[SLOT0]], %[[ARRIVING:.*]] = %[[FIRST]], %[[WB_OLD:.*]] = %[[FREE0]], %[[WB_NEW:.*]] = %[[FREE1]]) -> (index, !spm.token, !spm.token, !spm.token) {
// GELU-NEXT:     %[[ODD:.*]] = arith.cmpi eq, %[[SLOT]], %[[C1]] : index
// GELU-NEXT:     %[[IN:.*]] = arith.select %[[ODD]], %[[IN1]], %[[IN0]] : memref<1024xf32, #spm.scratch>
// GELU-NEXT:     %[[OUT:.*]] = arith.select %[[ODD]], %[[OUT1]], %[[OUT0]] : memref<1024xf32, #spm.scratch>
// GELU-NEXT:     %[[INC:.*]] = arith.addi %[[SLOT]], %[[C1]] : index
// GELU-NEXT:     %[[NEXT_SLOT:.*]] = arith.select %[[ODD]], %[[SLOT0]], %[[INC]] : index
// GELU-NEXT:     %[[NEXT:.*]] = arith.addi %pid, %[[C1]] : index
// GELU-NEXT:     %[[MORE:.*]] = arith.cmpi slt, %[[NEXT]], %[[HI]] : index
// GELU-NEXT:     %[[NEXT_ODD:.*]] = arith.cmpi eq, %[[NEXT_SLOT]], %[[C1]] : index
// GELU-NEXT:     %[[OTHER:.*]] = arith.select %[[NEXT_ODD]], %[[IN1]], %[[IN0]] : memref<1024xf32, #spm.scratch>
// GELU-NEXT:     %[[PREFETCH:.*]] = scf.if %[[MORE]] -> (!spm.token) {
// GELU:            arith.index_cast %[[NEXT]] : index to i32
// GELU:            %[[T:.*]] = spm.dma_start %arg0[%{{.*}}] to %[[OTHER]][%{{.*}}] count %{{.*}}
// GELU-NEXT:       scf.yield %[[T]] : !spm.token
// GELU-NEXT:     } else {
// GELU-NEXT:       %{{.*}} = spm.completed : !spm.token
// GELU:          }
// GELU-NEXT:     spm.dma_wait %[[ARRIVING]]
// GELU-NEXT:     spm.dma_wait %[[WB_OLD]]
// GELU:          vector.load %[[IN]]
// GELU:          vector.store %{{.*}}, %[[OUT]]
// GELU:          %[[WB:.*]] = spm.dma_start %[[OUT]][%{{.*}}] to %arg1[%{{.*}}] count %{{.*}}
// GELU-NEXT:     scf.yield %[[NEXT_SLOT]], %[[PREFETCH]], %[[WB_NEW]], %[[WB]] : index, !spm.token, !spm.token, !spm.token
// GELU-NEXT:   }
// GELU-NEXT:   spm.dma_wait %[[R1]], %[[R2]], %[[R3]]
// GELU-NEXT:   hwctx.yield

// writeback=sync: each write-back is waited on at once, so nothing but the slot and
// the prefetched inputs go around the loop.
// SYNC:      scf.for %pid = %{{.*}} to %grid_x step %{{.*}} iter_args(%{{.*}} = %{{.*}}, %[[X:.*]] = %{{.*}}, %[[Y:.*]] = %{{.*}}) -> (index, !spm.token, !spm.token) {
// SYNC:        spm.dma_wait %[[X]], %[[Y]]
// SYNC-NOT:    spm.dma_wait
// SYNC:        %[[WB:.*]] = spm.dma_start %{{.*}} to %arg2
// SYNC-NEXT:   spm.dma_wait %[[WB]]
// SYNC-NEXT:   scf.yield

// buffers=1: the DMA engine with no overlap: each input starts where its copy was
// and is waited on at once; the reduction reads the tile after the wait.
// ONE:      scf.for %pid = %{{.*}} to %grid_x step %{{.*}} iter_args(%[[WB_OLD:.*]] = %{{.*}}) -> (!spm.token) {
// ONE:        %[[T:.*]] = spm.dma_start %arg1[%{{.*}}] to %[[IN:.*]][%{{.*}}] count
// ONE-NEXT:   spm.dma_wait %[[T]]
// ONE-NEXT:   spm.dma_wait %[[WB_OLD]]
// ONE:        scf.for %r = {{.*}} iter_args
// ONE:        %[[WB:.*]] = spm.dma_start %{{.*}} to %arg0
// ONE-NEXT:   scf.yield %[[WB]] : !spm.token

// buffers=3: two tiles in flight: the prologue starts two, the slot cycles 0, 1, 2.
// THREE-COUNT-9: spm.alloc : memref<1024xf32, #spm.scratch>
// THREE:         scf.if
// THREE:         scf.if
// THREE:         scf.for %pid = {{.*}} -> (index, !spm.token, !spm.token, !spm.token, !spm.token, !spm.token, !spm.token, !spm.token)

// ZERO: npu-double-buffer: buffers must be at least 1, got 0
// MODE: npu-double-buffer: unknown writeback 'lazy'; use one of async, sync
// FULL: npu-double-buffer: the scratchpad buffers of @vector_add take {{[0-9]+}} bytes (in 2048-byte granules), more than the 8388608 of machine 'edge-npu'

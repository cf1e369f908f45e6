// npu-vectorize on vector_add, GELU and softmax (after npu-lower-triton), and its
// option errors.
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p npu-lower-triton,npu-vectorize | filecheck %s --check-prefix=ADD
// RUN: xdsl-opt %S/../dialects/tt_gelu.mlir -p npu-lower-triton,npu-vectorize | filecheck %s --check-prefix=GELU
// RUN: xdsl-opt %S/../dialects/tt_softmax.mlir -p npu-lower-triton,npu-vectorize | filecheck %s --check-prefix=SOFTMAX
// RUN: xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-vectorize{width=8}' | filecheck %s --check-prefix=WIDTH8
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-vectorize{width=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: not xdsl-opt %S/../dialects/tt_vector_add.mlir -p 'npu-lower-triton,npu-vectorize{width=24}' 2>&1 | filecheck %s --check-prefix=NODIV

// The element loop runs to the count rounded down to 32 in steps of 32 with vector
// loads, add and store, then a scalar tail; the copies move whole vectors.
// ADD:      spm.copy %arg0[%[[OFF:.*]]] to %[[X:.*]][%{{.*}}] count %[[N:.*]] {width = 32 : i64}
// ADD:      spm.copy %arg1[%[[OFF]]] to %[[Y:.*]][%{{.*}}] count %[[N]] {width = 32 : i64}
// ADD:      %[[POS:.*]] = arith.maxsi %[[N]], %{{.*}} : index
// ADD-NEXT: %[[MASK:.*]] = arith.constant -32 : index
// ADD-NEXT: %[[END:.*]] = arith.andi %[[POS]], %[[MASK]] : index
// ADD-NEXT: %[[W:.*]] = arith.constant 32 : index
// ADD-NEXT: scf.for %[[I:.*]] = %{{.*}} to %[[END]] step %[[W]] {
// ADD-NEXT:   %[[A:.*]] = vector.load %[[X]][%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// ADD-NEXT:   %[[B:.*]] = vector.load %[[Y]][%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// ADD-NEXT:   %[[S:.*]] = arith.addf %[[A]], %[[B]] : vector<32xf32>
// ADD-NEXT:   vector.store %[[S]], %[[OUT:.*]][%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// ADD-NEXT: }
// ADD-NEXT: scf.for %[[T:.*]] = %[[END]] to %[[N]] step %{{.*}} {
// ADD-NEXT:   memref.load %[[X]][%[[T]]] : memref<1024xf32, #spm.scratch>
// ADD:        arith.addf %{{.*}}, %{{.*}} : f32
// ADD:      spm.copy %[[OUT]][%{{.*}}] to %arg2[%[[OFF]]] count %[[N]] {width = 32 : i64}

// Constants become vectors once, where they are defined; erf has a vector form.
// GELU:      %[[HALF:.*]] = arith.constant 5.000000e-01 : f32
// GELU-NEXT: %[[VHALF:.*]] = vector.broadcast %[[HALF]] : f32 to vector<32xf32>
// GELU:      scf.for %pid
// GELU:        scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// GELU-NEXT:     %[[V:.*]] = vector.load %{{.*}}[%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// GELU-NEXT:     arith.mulf %[[V]], %[[VHALF]] : vector<32xf32>
// GELU-NEXT:     %[[SCALED:.*]] = arith.mulf %[[V]], %{{.*}} : vector<32xf32>
// GELU-NEXT:     math.erf %[[SCALED]] : vector<32xf32>

// Reductions keep a vector of partial results from the identity and end in one
// horizontal reduce into the scalar accumulator; the scalar tail carries it on.
// The masked lanes are filled with vector stores too.
// SOFTMAX:      scf.for %pid
// SOFTMAX:        vector.store %{{.*}}, %[[IN:[a-z0-9]+]][%{{.*}}] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// SOFTMAX:      %[[FIRST:.*]] = memref.load %[[IN]][%{{.*}}] : memref<1024xf32, #spm.scratch>
// SOFTMAX:      %[[NEGINF:.*]] = arith.constant 0xff800000 : f32
// SOFTMAX-NEXT: %[[IDENTITY:.*]] = vector.broadcast %[[NEGINF]] : f32 to vector<32xf32>
// SOFTMAX:      %[[PARTIAL:.*]] = scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[IDENTITY]]) -> (vector<32xf32>) {
// SOFTMAX-NEXT:   %[[V:.*]] = vector.load %[[IN]]
// SOFTMAX-NEXT:   %[[M:.*]] = arith.maxnumf %[[ACC]], %[[V]] : vector<32xf32>
// SOFTMAX-NEXT:   scf.yield %[[M]] : vector<32xf32>
// SOFTMAX:      %[[MAX:.*]] = vector.reduction <maxnumf>, %[[PARTIAL]], %[[FIRST]] : vector<32xf32> into f32
// SOFTMAX-NEXT: scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%{{.*}} = %[[MAX]]) -> (f32) {
// SOFTMAX:      math.exp %{{.*}} : vector<32xf32>
// SOFTMAX:      vector.reduction <add>

// WIDTH8: vector.load %{{.*}} : memref<1024xf32, #spm.scratch>, vector<8xf32>
// WIDTH8: spm.copy {{.*}} {width = 8 : i64}

// ZERO: npu-vectorize: width must be positive, got 0
// NODIV: npu-vectorize: width=24 does not divide the 32 f32 lanes of a 128-byte vector

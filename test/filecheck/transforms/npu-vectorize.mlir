// npu-vectorize, from scalar NPU IR (npu-lower-tiles' output level): one case per
// behaviour, then the loops it must leave scalar, then its option errors.
// RUN: xdsl-opt --split-input-file %s -p npu-vectorize | filecheck %s
// RUN: xdsl-opt %s -p 'npu-vectorize{width=8}' | filecheck %s --check-prefix=WIDTH8
// RUN: not xdsl-opt %s -p 'npu-vectorize{width=0}' 2>&1 | filecheck %s --check-prefix=ZERO
// RUN: not xdsl-opt %S/../dialects/tt_gelu.mlir -p npu-vectorize 2>&1 | filecheck %s --check-prefix=TT
// RUN: not xdsl-opt %s -p 'npu-vectorize{width=24}' 2>&1 | filecheck %s --check-prefix=NODIV
// RUN: not xdsl-opt %s -p 'npu-vectorize{machine=nowhere}' 2>&1 | filecheck %s --check-prefix=MACHINE

// WIDTH8:      vector.load %a[%{{.*}}] : memref<1024xf32, #spm.scratch>, vector<8xf32>
// WIDTH8:      spm.copy %x[%c0] to %a[%c0] count %n {width = 8 : i64}
// ZERO:        npu-vectorize: width must be positive, got 0
// TT:          npu-vectorize: @gelu is a tt kernel, not lowered IR; run npu-lower-triton first
// NODIV:       npu-vectorize: width=24 does not divide the 32 f32 lanes of a 128-byte vector
// MACHINE:     npu-vectorize: {{.*}}nowhere

// An element loop with a dynamic trip count: a vector loop to the count rounded down
// to whole vectors, then the scalar tail, marked so that it is never vectorized again.
func.func @dynamic(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %b = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %x = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    %y = math.erf %x : f32
    memref.store %y, %b[%i] : memref<1024xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @dynamic(
// CHECK:         %[[POS:.*]] = arith.maxsi %n, %{{.*}} : index
// CHECK-NEXT:    %[[LOW:.*]] = arith.constant -32 : index
// CHECK-NEXT:    %[[END:.*]] = arith.andi %[[POS]], %[[LOW]] : index
// CHECK-NEXT:    %[[W:.*]] = arith.constant 32 : index
// CHECK-NEXT:    scf.for %[[I:.*]] = %c0 to %[[END]] step %[[W]] {
// CHECK-NEXT:      %[[X:.*]] = vector.load %a[%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// CHECK-NEXT:      %[[Y:.*]] = math.erf %[[X]] : vector<32xf32>
// CHECK-NEXT:      vector.store %[[Y]], %b[%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// CHECK-NEXT:    }
// CHECK-NEXT:    scf.for %i = %[[END]] to %n step %c1 {
// CHECK-NEXT:      %x = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:      %y = math.erf %x : f32
// CHECK-NEXT:      memref.store %y, %b[%i] : memref<1024xf32, #spm.scratch>
// CHECK-NEXT:    } {npu.scalar_tail}

// -----

// Static bounds that whole vectors cover: no tail.
func.func @static_even() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c64 = arith.constant 64 : index
  %a = spm.alloc : memref<64xf32, #spm.scratch>
  scf.for %i = %c0 to %c64 step %c1 {
    %x = memref.load %a[%i] : memref<64xf32, #spm.scratch>
    %y = arith.mulf %x, %x : f32
    memref.store %y, %a[%i] : memref<64xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @static_even(
// CHECK:         %[[END:.*]] = arith.constant 64 : index
// CHECK-NEXT:    %[[W:.*]] = arith.constant 32 : index
// CHECK-NEXT:    scf.for %{{.*}} = %c0 to %[[END]] step %[[W]] {
// CHECK:           arith.mulf %{{.*}}, %{{.*}} : vector<32xf32>
// CHECK:         }
// CHECK-NOT:     scf.for
// CHECK:         func.return

// -----

// Static bounds with a remainder: the vector loop ends at a constant, the tail runs the rest.
func.func @static_odd() {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c70 = arith.constant 70 : index
  %a = spm.alloc : memref<80xf32, #spm.scratch>
  scf.for %i = %c0 to %c70 step %c1 {
    %x = memref.load %a[%i] : memref<80xf32, #spm.scratch>
    %y = arith.addf %x, %x : f32
    memref.store %y, %a[%i] : memref<80xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @static_odd(
// CHECK:         %[[END:.*]] = arith.constant 64 : index
// CHECK-NEXT:    %[[W:.*]] = arith.constant 32 : index
// CHECK-NEXT:    scf.for %{{.*}} = %c0 to %[[END]] step %[[W]] {
// CHECK:           arith.addf %{{.*}}, %{{.*}} : vector<32xf32>
// CHECK:         scf.for %i = %[[END]] to %c70 step %c1 {
// CHECK:           arith.addf %x, %x : f32
// CHECK:         } {npu.scalar_tail}

// -----

// A loop-invariant scalar is broadcast once, right where it is defined; an op on
// invariants only moves before the loop.
func.func @invariant(%n: index, %s: f32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %t = arith.mulf %s, %s : f32
    %x = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    %y = arith.addf %x, %t : f32
    memref.store %y, %a[%i] : memref<1024xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @invariant(
// CHECK:         %t = arith.mulf %s, %s : f32
// CHECK-NEXT:    %[[T:.*]] = vector.broadcast %t : f32 to vector<32xf32>
// CHECK:         scf.for %[[I:.*]] = %c0 to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[X:.*]] = vector.load %a[%[[I]]]
// CHECK-NEXT:      arith.addf %[[X]], %[[T]] : vector<32xf32>
// CHECK:         scf.for %i =
// CHECK:           arith.mulf %s, %s : f32
// CHECK:         } {npu.scalar_tail}

// -----

// An accumulator: a vector of partial sums from the identity, one vector.reduction
// into the scalar accumulator, which the tail carries on.
func.func @sum(%n: index, %init: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (f32) {
    %x = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    %s = arith.addf %acc, %x : f32
    scf.yield %s : f32
  }
  func.return %r : f32
}

// CHECK-LABEL: func.func @sum(
// CHECK:         %[[IDENTITY:.*]] = arith.constant 0.000000e+00 : f32
// CHECK-NEXT:    %[[PARTIAL:.*]] = vector.broadcast %[[IDENTITY]] : f32 to vector<32xf32>
// CHECK:         %[[V:.*]] = scf.for %{{.*}} = %c0 to %[[END:.*]] step %{{.*}} iter_args(%[[ACC:.*]] = %[[PARTIAL]]) -> (vector<32xf32>) {
// CHECK:           %[[S:.*]] = arith.addf %[[ACC]], %{{.*}} : vector<32xf32>
// CHECK-NEXT:      scf.yield %[[S]] : vector<32xf32>
// CHECK:         %[[TOTAL:.*]] = vector.reduction <add>, %[[V]], %init : vector<32xf32> into f32
// CHECK-NEXT:    %r = scf.for %i = %[[END]] to %n step %c1 iter_args(%acc = %[[TOTAL]]) -> (f32) {
// CHECK:         } {npu.scalar_tail}
// CHECK-NEXT:    func.return %r : f32

// -----

// An access at %i plus an invariant offset is still consecutive.
func.func @offset(%n: index, %k: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<2048xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %j = arith.addi %i, %k : index
    %x = memref.load %a[%j] : memref<2048xf32, #spm.scratch>
    memref.store %x, %a[%i] : memref<2048xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @offset(
// CHECK:         scf.for %[[I:.*]] = %c0 to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %j = arith.addi %[[I]], %k : index
// CHECK-NEXT:      %[[X:.*]] = vector.load %a[%j] : memref<2048xf32, #spm.scratch>, vector<32xf32>
// CHECK-NEXT:      vector.store %[[X]], %a[%[[I]]]

// -----

// Copies move whole vectors.
func.func @copy(%x: memref<?xf32>, %h: memref<?xf16>, %n: index) {
  %c0 = arith.constant 0 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %b = spm.alloc : memref<1024xf16, #spm.scratch>
  spm.copy %x[%c0] to %a[%c0] count %n : memref<?xf32> to memref<1024xf32, #spm.scratch>
  spm.copy %h[%c0] to %b[%c0] count %n : memref<?xf16> to memref<1024xf16, #spm.scratch>
  func.return
}

// CHECK-LABEL: func.func @copy(
// CHECK:         spm.copy %x[%c0] to %a[%c0] count %n {width = 32 : i64}
// CHECK:         spm.copy %h[%c0] to %b[%c0] count %n {width = 64 : i64}

// -----

// A loop that reads DDR element by element (a gather) stays scalar.
func.func @ddr(%x: memref<?xf32>, %n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<?xf32>
    memref.store %v, %a[%i] : memref<1024xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @ddr(
// CHECK-NOT:     vector.
// CHECK:         } {npu.remarks = ["npu-vectorize: left scalar: it reads or writes DDR element by element (memref.load)"]}
// CHECK-NEXT:    func.return

// -----

// Not at consecutive addresses (%i * 2).
func.func @strided(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %a = spm.alloc : memref<2048xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %j = arith.muli %i, %c2 : index
    %v = memref.load %a[%j] : memref<2048xf32, #spm.scratch>
    memref.store %v, %a[%i] : memref<2048xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @strided(
// CHECK-NOT:     vector.
// CHECK:         } {npu.remarks = ["npu-vectorize: left scalar: an access is not at consecutive addresses (memref.load)"]}
// CHECK-NEXT:    func.return

// -----

// The induction variable used as data (a mask `start + %i < m`): each lane gets its
// own index, the broadcast of `start + %i` plus the constant [0, 1, ..., 31].
func.func @iv_as_data(%n: index, %m: i32, %start: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %b = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %lane = arith.addi %start, %i : index
    %l32 = arith.index_cast %lane : index to i32
    %in = arith.cmpi slt, %l32, %m : i32
    %v = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    %w = arith.select %in, %v, %z : f32
    memref.store %w, %b[%i] : memref<1024xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @iv_as_data(
// CHECK:         %[[M:.*]] = vector.broadcast %m : i32 to vector<32xi32>
// CHECK:         %[[OFFSETS:.*]] = arith.constant dense<[0, 1, 2, {{.*}}, 30, 31]> : vector<32xindex>
// CHECK:         scf.for %[[I:.*]] = %c0 to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[LANE:.*]] = arith.addi %start, %[[I]] : index
// CHECK-NEXT:      %[[BASE:.*]] = vector.broadcast %[[LANE]] : index to vector<32xindex>
// CHECK-NEXT:      %[[LANES:.*]] = arith.addi %[[BASE]], %[[OFFSETS]] : vector<32xindex>
// CHECK-NEXT:      %[[L32:.*]] = arith.index_cast %[[LANES]] : vector<32xindex> to vector<32xi32>
// CHECK-NEXT:      %[[IN:.*]] = arith.cmpi slt, %[[L32]], %[[M]] : vector<32xi32>
// CHECK-NEXT:      %[[V:.*]] = vector.load %a[%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// CHECK-NEXT:      %[[W:.*]] = arith.select %[[IN]], %[[V]], %{{.*}} : vector<32xi1>, vector<32xf32>
// CHECK-NEXT:      vector.store %[[W]], %b[%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// CHECK-NEXT:    }
// CHECK:         } {npu.scalar_tail}

// -----

// A step other than 1.
func.func @step(%n: index) {
  %c0 = arith.constant 0 : index
  %c2 = arith.constant 2 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c2 {
    %v = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    memref.store %v, %a[%i] : memref<1024xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @step(
// CHECK-NOT:     vector.
// CHECK:         } {npu.remarks = ["npu-vectorize: left scalar: its step is not 1"]}
// CHECK-NEXT:    func.return

// -----

// A carried value that is not an accumulator (the yield passes an element through).
func.func @last(%n: index, %init: f32) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (f32) {
    %v = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    scf.yield %v : f32
  }
  func.return %r : f32
}

// CHECK-LABEL: func.func @last(
// CHECK-NOT:     vector.
// CHECK:         } {npu.remarks = ["npu-vectorize: left scalar: a loop-carried value is not an accumulator"]}
// CHECK-NEXT:    func.return

// -----

// A signed max accumulator: its identity is the type's minimum, so it stays scalar.
func.func @max_si(%n: index, %init: i32) -> i32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xi32, #spm.scratch>
  %r = scf.for %i = %c0 to %n step %c1 iter_args(%acc = %init) -> (i32) {
    %v = memref.load %a[%i] : memref<1024xi32, #spm.scratch>
    %m = arith.maxsi %acc, %v : i32
    scf.yield %m : i32
  }
  func.return %r : i32
}

// CHECK-LABEL: func.func @max_si(
// CHECK-NOT:     vector.
// CHECK:         } {npu.remarks = ["npu-vectorize: left scalar: the accumulator's 'arith.maxsi' has no identity a vector can start from"]}
// CHECK-NEXT:    func.return

// -----

// A scalar tail of an earlier run is left as it is.
func.func @tail(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    memref.store %v, %a[%i] : memref<1024xf32, #spm.scratch>
  } {npu.scalar_tail}
  func.return
}

// CHECK-LABEL: func.func @tail(
// CHECK-NOT:     vector.
// CHECK:         func.return

// -----

// Carried values that combine in any order (npu-lower-triton's argmax): each lane
// keeps a partial, the first trip taking its elements as they are (a scalar test of
// the vector loop's index); then log2(32) rotations, each followed by the combiner,
// bring every lane's partial into lane 0, which the scalar tail carries on.
func.func @combined_freely(%n: index) -> (f32, i32) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %z = arith.constant 0.0 : f32
  %zi = arith.constant 0 : i32
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %v, %k = scf.for %i = %c0 to %n step %c1 iter_args(%best = %z, %at = %zi) -> (f32, i32) {
    %x = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    %xi = arith.index_cast %i : index to i32
    %first = arith.cmpi eq, %i, %c0 : index
    %gt = arith.cmpf ogt, %best, %x : f32
    %keep_v = arith.select %gt, %best, %x : f32
    %keep_i = arith.select %gt, %at, %xi : i32
    %nv = arith.select %first, %x, %keep_v : f32
    %ni = arith.select %first, %xi, %keep_i : i32
    scf.yield %nv, %ni : f32, i32
  } {npu.combined_freely}
  func.return %v, %k : f32, i32
}

// CHECK-LABEL: func.func @combined_freely(
// CHECK:         %[[V:.*]], %[[K:.*]] = scf.for %[[I:.*]] = %c0 to %{{.*}} step %{{.*}} iter_args(%[[BEST:.*]] = %{{.*}}, %[[AT:.*]] = %{{.*}}) -> (vector<32xf32>, vector<32xi32>) {
// CHECK:           %[[X:.*]] = vector.load %a[%[[I]]]
// CHECK:           %[[FIRST:.*]] = arith.cmpi eq, %[[I]], %c0 : index
// CHECK-NEXT:      %[[GT:.*]] = arith.cmpf ogt, %[[BEST]], %[[X]] : vector<32xf32>
// CHECK-NEXT:      %[[KEEP:.*]] = arith.select %[[GT]], %[[BEST]], %[[X]] : vector<32xi1>, vector<32xf32>
// CHECK:           %[[NEW:.*]] = arith.select %[[FIRST]], %[[X]], %[[KEEP]] : vector<32xf32>
// CHECK:         }
// CHECK-NEXT:    %[[R16:.*]] = vector.shuffle %[[V]], %[[V]] [16, 17, {{.*}}, 14, 15] : vector<32xf32>, vector<32xf32>
// CHECK-NEXT:    %[[R16I:.*]] = vector.shuffle %[[K]], %[[K]] [16, 17, {{.*}}, 14, 15] : vector<32xi32>, vector<32xi32>
// CHECK-NEXT:    %[[GT16:.*]] = arith.cmpf ogt, %[[V]], %[[R16]] : vector<32xf32>
// CHECK:         vector.shuffle %{{.*}} [8, 9, {{.*}}, 6, 7] : vector<32xf32>
// CHECK:         vector.shuffle %{{.*}} [4, 5, {{.*}}, 2, 3] : vector<32xf32>
// CHECK:         vector.shuffle %{{.*}} [2, 3, {{.*}}, 0, 1] : vector<32xf32>
// CHECK:         vector.shuffle %{{.*}} [1, 2, {{.*}}, 31, 0] : vector<32xi32>
// CHECK:         %[[TOTAL:.*]] = vector.extract %{{.*}}[0] : f32 from vector<32xf32>
// CHECK-NEXT:    %[[INDEX:.*]] = vector.extract %{{.*}}[0] : i32 from vector<32xi32>
// CHECK-NEXT:    %v, %k = scf.for %i = %{{.*}} to %n step %c1 iter_args(%best = %[[TOTAL]], %at = %[[INDEX]]) -> (f32, i32) {
// CHECK:         } {npu.scalar_tail}

// -----

// A running value whose every prefix is stored (npu-lower-triton's cumsum): it stays a
// scalar carried by the vector loop; each vector of fresh elements is scanned in
// log2(32) steps (lane k takes lane k - step into itself where k >= step), the running
// value is added to every lane, the prefixes are stored and the last lane runs on.
func.func @scanned(%n: index, %first: f32) -> f32 {
  %c1 = arith.constant 1 : index
  %a = spm.alloc : memref<1024xf32, #spm.scratch>
  %s = spm.alloc : memref<1024xf32, #spm.scratch>
  %total = scf.for %i = %c1 to %n step %c1 iter_args(%acc = %first) -> (f32) {
    %x = memref.load %a[%i] : memref<1024xf32, #spm.scratch>
    %p = arith.addf %acc, %x : f32
    memref.store %p, %s[%i] : memref<1024xf32, #spm.scratch>
    scf.yield %p : f32
  }
  func.return %total : f32
}

// CHECK-LABEL: func.func @scanned(
// CHECK:         %[[K1:.*]] = arith.constant dense<[false, true, true, {{.*}}]> : vector<32xi1>
// CHECK:         %[[RUNNING:.*]] = scf.for %[[I:.*]] = %c1 to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %first) -> (f32) {
// CHECK-NEXT:      %[[X:.*]] = vector.load %a[%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// CHECK-NEXT:      %[[SHIFT1:.*]] = vector.shuffle %[[X]], %[[X]] [31, 0, 1, {{.*}}, 29, 30] : vector<32xf32>, vector<32xf32>
// CHECK-NEXT:      %[[SUM1:.*]] = arith.addf %[[SHIFT1]], %[[X]] : vector<32xf32>
// CHECK-NEXT:      %[[STEP1:.*]] = arith.select %[[K1]], %[[SUM1]], %[[X]] : vector<32xi1>, vector<32xf32>
// CHECK-COUNT-4:   vector.shuffle
// CHECK:           %[[CARRY:.*]] = vector.broadcast %[[ACC]] : f32 to vector<32xf32>
// CHECK-NEXT:      %[[PREFIXES:.*]] = arith.addf %[[CARRY]], %{{.*}} : vector<32xf32>
// CHECK-NEXT:      %[[LAST:.*]] = vector.extract %[[PREFIXES]][31] : f32 from vector<32xf32>
// CHECK-NEXT:      vector.store %[[PREFIXES]], %s[%[[I]]]
// CHECK-NEXT:      scf.yield %[[LAST]] : f32
// CHECK-NEXT:    }
// CHECK-NEXT:    %total = scf.for %i = %{{.*}} to %n step %c1 iter_args(%acc = %[[RUNNING]]) -> (f32) {

// -----

// fp16 GELU computed in f32: the loop takes a whole 128-byte vector of its f16 data,
// 64 lanes, its f32 values spanning two registers (priced twice, the conversions too).
func.func @half_gelu(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %half = arith.constant 0.5 : f32
  %in = spm.alloc : memref<1024xf16, #spm.scratch>
  %out = spm.alloc : memref<1024xf16, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %h = memref.load %in[%i] : memref<1024xf16, #spm.scratch>
    %x = arith.extf %h : f16 to f32
    %e = math.erf %x : f32
    %y = arith.mulf %e, %half : f32
    %o = arith.truncf %y : f32 to f16
    memref.store %o, %out[%i] : memref<1024xf16, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @half_gelu(
// CHECK:         scf.for %[[I:.*]] = %c0 to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[H:.*]] = vector.load %in[%[[I]]] : memref<1024xf16, #spm.scratch>, vector<64xf16>
// CHECK-NEXT:      %[[X:.*]] = arith.extf %[[H]] : vector<64xf16> to vector<64xf32>
// CHECK-NEXT:      %[[E:.*]] = math.erf %[[X]] : vector<64xf32>
// CHECK-NEXT:      %[[Y:.*]] = arith.mulf %[[E]], %{{.*}} : vector<64xf32>
// CHECK-NEXT:      %[[O:.*]] = arith.truncf %[[Y]] : vector<64xf32> to vector<64xf16>
// CHECK-NEXT:      vector.store %[[O]], %out[%[[I]]] : memref<1024xf16, #spm.scratch>, vector<64xf16>
// CHECK-NEXT:    }

// -----

// A load at invariant indices from a buffer the loop does not write (a row's max read
// through a broadcast) is the same element every trip: it moves before the loop and is
// broadcast, like any invariant.
func.func @row_statistic(%n: index, %row: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %x = spm.alloc : memref<1024xf32, #spm.scratch>
  %max = spm.alloc : memref<4xf32, #spm.scratch>
  %y = spm.alloc : memref<1024xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %v = memref.load %x[%i] : memref<1024xf32, #spm.scratch>
    %m = memref.load %max[%row] : memref<4xf32, #spm.scratch>
    %d = arith.subf %v, %m : f32
    %e = math.exp %d : f32
    memref.store %e, %y[%i] : memref<1024xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @row_statistic(
// CHECK:         %[[M:.*]] = memref.load %max[%row] : memref<4xf32, #spm.scratch>
// CHECK-NEXT:    %[[MV:.*]] = vector.broadcast %[[M]] : f32 to vector<32xf32>
// CHECK:         scf.for %[[I:.*]] = %c0 to %{{.*}} step %{{.*}} {
// CHECK-NEXT:      %[[V:.*]] = vector.load %x[%[[I]]] : memref<1024xf32, #spm.scratch>, vector<32xf32>
// CHECK-NEXT:      %[[D:.*]] = arith.subf %[[V]], %[[MV]] : vector<32xf32>

// -----

// A scratchpad buffer the loop does not write, read at lane indices that are not
// consecutive (a per-channel window's `(%i / 256) % 32`): a vector gather.
func.func @gathered(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c32 = arith.constant 32 : index
  %c256 = arith.constant 256 : index
  %w = spm.alloc : memref<32xf32, #spm.scratch>
  %a = spm.alloc : memref<2048xf32, #spm.scratch>
  scf.for %i = %c0 to %n step %c1 {
    %q = arith.divui %i, %c256 : index
    %j = arith.remui %q, %c32 : index
    %v = memref.load %w[%j] : memref<32xf32, #spm.scratch>
    memref.store %v, %a[%i] : memref<2048xf32, #spm.scratch>
  }
  func.return
}

// CHECK-LABEL: func.func @gathered(
// CHECK:         scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} {
// CHECK:           %[[Q:.*]] = arith.divui %{{.*}}, %{{.*}} : vector<32xindex>
// CHECK-NEXT:      %[[J:.*]] = arith.remui %[[Q]], %{{.*}} : vector<32xindex>
// CHECK-NEXT:      %[[V:.*]] = spm.gather %{{.*}}[%[[J]]] : memref<32xf32, #spm.scratch>, vector<32xindex> -> vector<32xf32>
// CHECK-NEXT:      vector.store %[[V]], %{{.*}}[%[[I]]] : memref<2048xf32, #spm.scratch>, vector<32xf32>

// Round trip of the hwctx ops.
// RUN: xdsl-opt %s | xdsl-opt | filecheck %s

func.func @contexts() {
  hwctx.parallel (%ctx) contexts(4) {
    %tile = spm.alloc : memref<64xf32, #spm.scratch>
    hwctx.barrier
    hwctx.yield
  }
  hwctx.parallel (%other) contexts(2) attributes {note = "tagged"} {
    hwctx.yield
  }
  func.return
}

// CHECK:      hwctx.parallel (%ctx) contexts(4) {
// CHECK-NEXT:   %tile = spm.alloc : memref<64xf32, #spm.scratch>
// CHECK-NEXT:   hwctx.barrier
// CHECK-NEXT:   hwctx.yield
// CHECK-NEXT: }
// CHECK-NEXT: hwctx.parallel (%other) contexts(2) attributes {note = "tagged"} {

// Invalid hwctx IR: each case must give its diagnostic.
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

func.func @no_contexts() {
  hwctx.parallel (%ctx) contexts(0) {
    hwctx.yield
  }
  func.return
}
// CHECK: hwctx.parallel needs at least one context, got 0

// -----

func.func @barrier_outside() {
  hwctx.barrier
  func.return
}
// CHECK: 'hwctx.barrier' expects ancestor op 'hwctx.parallel'

// -----

// The yield ends its block, so the wrong parent is the only fault to report.
"test.op"() ({
  hwctx.yield
}) : () -> ()
// CHECK: 'hwctx.yield' expects parent op 'hwctx.parallel'

// An op outside xnpu's subset is named, with its place in the text and in the source.
// RUN: not xnpu-triton %s 2>&1 | filecheck %s

// CHECK: xnpu-triton: error: {{.*}}unsupported_op.mlir:15:{{[0-9]+}}
// CHECK: Operation tt.histogram is not registered
// CHECK: (from the kernel's source at hist.py:7:13 ('h'))

#loc = loc("hist.py":3:1)
module {
  tt.func public @hist(%x_ptr: !tt.ptr<i32>) {
    %r = tt.make_range {end = 8 : i32, start = 0 : i32} : tensor<8xi32> loc(#loc)
    %s = tt.splat %x_ptr : !tt.ptr<i32> -> tensor<8x!tt.ptr<i32>> loc(#loc)
    %p = tt.addptr %s, %r : tensor<8x!tt.ptr<i32>>, tensor<8xi32> loc(#loc)
    %v = tt.load %p : tensor<8x!tt.ptr<i32>> loc(#loc)
    %h = tt.histogram %v : tensor<8xi32> -> tensor<4xi32> loc(#loc2)
    tt.return loc(#loc)
  } loc(#loc)
} loc(#loc)
#loc1 = loc("hist.py":7:13)
#loc2 = loc("h"(#loc1))

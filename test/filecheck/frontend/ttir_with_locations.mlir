// TTIR as Triton's cache writes it, #loc aliases after the module, goes through
// xnpu-triton (the stock parser wants aliases defined before use).
// RUN: xnpu-triton %s | xdsl-opt | filecheck %s
// RUN: not xdsl-opt %s 2>&1 | filecheck %s --check-prefix=STOCK

// CHECK: tt.func public @scale(%{{.*}}: !tt.ptr<f32>) attributes {noinline = false} {
// CHECK-NEXT: %[[PID:.*]] = tt.get_program_id x : i32
// CHECK-NEXT: %[[P:.*]] = tt.addptr %{{.*}}, %[[PID]] : !tt.ptr<f32>, i32
// CHECK-NEXT: %[[V:.*]] = tt.load %[[P]] : !tt.ptr<f32>
// CHECK-NEXT: %[[W:.*]] = arith.mulf %[[V]], %[[V]] : f32
// CHECK-NEXT: tt.store %[[P]], %[[W]] : !tt.ptr<f32>
// STOCK: undefined symbol alias '#loc3'

#loc = loc("scale.py":4:1)
module {
  tt.func public @scale(%x_ptr: !tt.ptr<f32> loc("x_ptr"(#loc))) attributes {noinline = false} {
    %pid = tt.get_program_id x : i32 loc(#loc3)
    %p = tt.addptr %x_ptr, %pid : !tt.ptr<f32>, i32 loc(#loc4)
    %v = tt.load %p : !tt.ptr<f32> loc(#loc4)
    %w = arith.mulf %v, %v : f32 loc(#loc5)
    tt.store %p, %w : !tt.ptr<f32> loc(#loc5)
    tt.return loc(#loc)
  } loc(#loc)
} loc(#loc)
#loc1 = loc("scale.py":5:11)
#loc2 = loc("scale.py":6:9)
#loc3 = loc("pid"(#loc1))
#loc4 = loc("v"(#loc2))
#loc5 = loc(callsite(#loc2 at #loc1))

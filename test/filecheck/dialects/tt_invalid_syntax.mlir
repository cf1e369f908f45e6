// Malformed tt syntax gives a parse diagnostic naming what is wrong.
// RUN: xdsl-opt %s --split-input-file --parsing-diagnostics | filecheck %s

%0 = tt.get_program_id w : i32
// CHECK: grid axis must be x, y or z, got 'w'

// -----

%p = "test.op"() : () -> tensor<8x!tt.ptr<f32>>
%v = tt.load %p {cachePolicy = #tt.cache_policy<cache_modifier = bogus, eviction_policy = evict_first>} : tensor<8x!tt.ptr<f32>>
// CHECK: cache_modifier must be one of none, ca, cg, wb, cs, wt, cv, got 'bogus'

// -----

%x = "test.op"() : () -> tensor<8xi32>
%y = tt.histogram %x : tensor<8xi32> -> tensor<4xi32>
// CHECK: tt.histogram is not registered

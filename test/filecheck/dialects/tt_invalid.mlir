// Invalid tt IR gives a diagnostic naming the op and the problem.
// RUN: xdsl-opt %s --split-input-file --verify-diagnostics | filecheck %s

%0 = "test.op"() : () -> tensor<8xi32>
%1 = tt.broadcast %0 : tensor<8xi32> -> tensor<4x8xi32>
// CHECK: broadcast keeps the rank: tensor<8xi32> -> tensor<4x8xi32>

// -----

%0 = "test.op"() : () -> tensor<1x8xi32>
%1 = tt.broadcast %0 : tensor<1x8xi32> -> tensor<4x16xi32>
// CHECK: broadcast can only grow dimensions of size 1, but dimension 1 goes from 8 to 16

// -----

%0 = "test.op"() : () -> tensor<8xi32>
%1 = tt.expand_dims %0 {axis = 1 : i32} : tensor<8xi32> -> tensor<1x8xi32>
// CHECK: expand_dims at axis 1 of tensor<8xi32> gives shape [8, 1], not tensor<1x8xi32>

// -----

%0 = tt.make_range {end = 8 : i32, start = 0 : i32} : tensor<16xi32>
// CHECK: result must be tensor<8xi32>, got tensor<16xi32>

// -----

%p, %m = "test.op"() : () -> (tensor<8x!tt.ptr<f32>>, tensor<8xi1>)
%v = "test.op"() : () -> tensor<8xf16>
"tt.store"(%p, %v, %m) : (tensor<8x!tt.ptr<f32>>, tensor<8xf16>, tensor<8xi1>) -> ()
// CHECK: storing tensor<8xf16> through tensor<8x!tt.ptr<f32>>, which holds tensor<8xf32>

// -----

%p = "test.op"() : () -> tensor<8x!tt.ptr<f32>>
%o = "test.op"() : () -> tensor<4xi32>
%q = tt.addptr %p, %o : tensor<8x!tt.ptr<f32>>, tensor<4xi32>
// CHECK: offset shape [4] differs from pointer shape [8]

// -----

%x = "test.op"() : () -> tensor<8xf32>
%s = "tt.reduce"(%x) <{axis = 0 : i32}> ({
^bb0(%a: f32, %b: f32):
  %c = arith.addf %a, %b : f32
  tt.reduce.return %c : f32
}) : (tensor<8xf32>) -> tensor<8xf32>
// CHECK: reducing ['tensor<8xf32>'] along axis 0 gives ['f32'], not ['tensor<8xf32>']

// -----

%c, %a = "test.op"() : () -> (tensor<4xi1>, tensor<8xf32>)
%r = arith.select %c, %a, %a : tensor<4xi1>, tensor<8xf32>
// CHECK: condition shape [4] differs from value shape [8]

// -----

%a = "test.op"() : () -> tensor<8xi64>
%b = arith.extsi %a : tensor<8xi64> to tensor<8xi32>
// CHECK: arith.extsi must widen: i64 to i32

// -----

%0 = "test.op"() : () -> tensor<8xf32>
%1 = "tt.scan"(%0) <{axis = 0 : i32, reverse = false}> ({
^bb0(%a: f32, %b: f32):
  %s = arith.addf %a, %b : f32
  tt.scan.return %s : f32
}) : (tensor<8xf32>) -> tensor<4xf32>
// CHECK: a scan gives tensors of its operands' types, not ['tensor<4xf32>']

// -----

%0 = "test.op"() : () -> tensor<8xf32>
%1 = "tt.scan"(%0) <{axis = 0 : i32, reverse = false}> ({
^bb0(%a: f32, %b: i32):
  tt.scan.return %a : f32
}) : (tensor<8xf32>) -> tensor<8xf32>
// CHECK: the combiner takes two of each element type (['f32']), got ['f32', 'i32']

// -----

%0 = "test.op"() : () -> tensor<8xf16>
%1 = tt.fp_to_fp %0, rounding = rtz : tensor<8xf16> -> tensor<8xbf16>
// CHECK: rounding = rtz is not supported (xnpu rounds rtne)

// -----

%0 = "test.op"() : () -> tensor<8xf32>
%1 = tt.fp_to_fp %0 : tensor<8xf32> -> tensor<8xbf16>
// CHECK: narrowing f32 to bf16 needs a rounding mode

// -----

%0 = "test.op"() : () -> tensor<8xi32>
%1 = tt.fp_to_fp %0 : tensor<8xi32> -> tensor<8xf32>
// CHECK: converts floats, not i32

// -----

%0 = "test.op"() : () -> tensor<8xi32>
%1 = tt.precise_sqrt %0 : tensor<8xi32>
// CHECK: the operand must be a float or a tensor of floats, got tensor<8xi32>

// -----

%0 = "test.op"() : () -> tensor<8xf32>
%1 = tt.bitcast %0 : tensor<8xf32> -> tensor<8xi16>
// CHECK: casts f32 to i16: the widths differ

// -----

%0 = "test.op"() : () -> tensor<8x!tt.ptr<i1>>
%1 = tt.bitcast %0 : tensor<8x!tt.ptr<i1>> -> tensor<8xi64>
// CHECK: casts !tt.ptr<i1> to i64: a pointer to a non-pointer

// -----

%0 = "test.op"() : () -> tensor<8xi32>
tt.assert %0, "never" : tensor<8xi32>
// CHECK: the condition must be i1 or a tensor of i1, got tensor<8xi32>

// -----

%0 = "test.op"() : () -> tensor<4x8xf32>
%1 = tt.trans %0 {order = array<i32: 0, 0>} : tensor<4x8xf32> -> tensor<8x4xf32>
// CHECK: order [0, 0] is not a permutation of the 2 dims of tensor<4x8xf32>

// -----

%0 = "test.op"() : () -> tensor<4x8xf32>
%1 = tt.trans %0 {order = array<i32: 1, 0>} : tensor<4x8xf32> -> tensor<4x8xf32>
// CHECK: transposing tensor<4x8xf32> by [1, 0] gives shape [8, 4], not tensor<4x8xf32>

// -----

%0 = "test.op"() : () -> tensor<16xf32>
%1 = tt.join %0, %0 : tensor<16xf32> -> tensor<2x16xf32>
// CHECK: joining two tensor<16xf32> gives shape [16, 2], not tensor<2x16xf32>

// -----

%0 = "test.op"() : () -> tensor<16x4xf32>
%1, %2 = tt.split %0 : tensor<16x4xf32> -> tensor<16xf32>
// CHECK: splits a last dim of 2, not tensor<16x4xf32>

// -----

%0 = "test.op"() : () -> tensor<4x8xf16>
%1 = "test.op"() : () -> tensor<16x2xf16>
%2 = "test.op"() : () -> tensor<4x2xf32>
%3 = tt.dot %0, %1, %2 : tensor<4x8xf16> * tensor<16x2xf16> -> tensor<4x2xf32>
// CHECK: tt.dot: tensor<4x8xf16> * tensor<16x2xf16> does not give tensor<4x2xf32>

// -----

%0 = "test.op"() : () -> tensor<4x8xf16>
%1 = "test.op"() : () -> tensor<8x2xf32>
%2 = "test.op"() : () -> tensor<4x2xf32>
%3 = tt.dot %0, %1, %2 : tensor<4x8xf16> * tensor<8x2xf32> -> tensor<4x2xf32>
// CHECK: tt.dot's operands have one element type, not f16 and f32

// -----

%0 = "test.op"() : () -> tensor<4x8xf32>
%1 = "test.op"() : () -> tensor<8x2xf32>
%2 = "test.op"() : () -> tensor<4x2xf32>
%3 = tt.dot %0, %1, %2, inputPrecision = fast : tensor<4x8xf32> * tensor<8x2xf32> -> tensor<4x2xf32>
// CHECK: inputPrecision = fast is not one of tf32, tf32x3, ieee, bf16x3, bf16x6, bf16

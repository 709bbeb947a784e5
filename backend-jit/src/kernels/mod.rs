//! Kernel generators: one Cranelift function per IR node.
//!
//! # The kernel model
//!
//! Every node becomes one function with the C signature
//!
//! ```text
//! extern "C" fn kernel(args: *const *mut u8, begin: i64, end: i64)
//! ```
//!
//! - `args[0 .. n_in]` point to the node's inputs (in `Node::inputs` order), `args[n_in ..
//!   n_in + n_out]` to its outputs, and `args[n_in + n_out]` to this call's scratch buffer
//!   ([`KernelInfo::scratch_bytes`] bytes, 64-byte aligned, private to the call: each thread
//!   gets its own). Tensors are dense, row-major, in the dtype of the value's type.
//!   A constant input the kernel packed at compile time ([`KernelCx::pack_input`]) is passed
//!   as a pointer to the packed buffer (64-byte aligned) instead of the raw constant.
//! - `[begin, end)` is a range of the kernel's independent *work items* (`0 <= begin <= end <=
//!   work_items`). Items write disjoint parts of the outputs, so the executor may split the
//!   range across threads. What an item is (an output row, a tile of output channels, a block
//!   of spatial positions) is documented by each kernel.
//! - Shapes, strides, loop bounds and constants are immediates: a kernel is specialized for
//!   its node's static types.
//! - A kernel whose memory accesses depend on tensor values (run-time indices) also gets
//!   `args[n_in + n_out + 1]`, a per-call [`FaultRecord`] where it reports a bad value instead
//!   of accessing memory out of bounds (see [`fault`] and [`KernelCx::fault_record`]).
//!
//! The generated code trusts the pointers: the executor ([`crate::JitModel::run`]) only calls
//! kernels after checking the inputs against the signature, with buffers of exactly the
//! node's value sizes. Each `lower_*` function therefore validates every shape relation it
//! relies on (input channels vs. weights, broadcast shapes, …) and returns
//! [`JitError::Invalid`] instead of generating code that could read out of bounds.
//!
//! # How to add a kernel
//!
//! 1. Create `src/kernels/<idea>.rs` with `pub(crate) fn lower_<op>(cx: &mut KernelCx) ->
//!    Result<KernelInfo, JitError>`. `cx.node` and `cx.graph` give the node and its value
//!    types ([`KernelCx::in_ty`], [`KernelCx::out_ty`]); [`KernelCx::constant`] gives a
//!    constant input's contents, which you may pack into any layout with
//!    [`KernelCx::pack_input`].
//! 2. Validate the shapes you rely on; unsupported dtypes or attributes →
//!    [`JitError::unsupported`].
//! 3. Emit code into `cx.b` (a `cranelift_frontend::FunctionBuilder` positioned in the entry
//!    block, with the pointers already loaded: [`KernelCx::input`], [`KernelCx::output`],
//!    [`KernelCx::scratch`]). Iterate over your items with [`KernelCx::for_items`]; build
//!    loops with [`KernelCx::for_range`] / [`KernelCx::for_static`] (the body closure gets the
//!    induction variable; carry values across iterations with `cx.b.declare_var` /
//!    `def_var` / `use_var`); address memory with [`KernelCx::load`] / [`KernelCx::store`] and
//!    [`KernelCx::elem_addr`]. Leave the builder in a block that falls through (the framework
//!    appends the `return`).
//! 4. Return [`KernelInfo`] with the number of work items and the scratch bytes per call.
//! 5. Add the op to [`lower_node`] and a differential test against the interpreter in
//!    `backend-jit/tests/`.

mod cast;
mod conv;
mod conv_direct;
mod conv_dw;
mod conv_transpose;
mod elementwise;
mod f16;
pub mod fault;
mod gather;
mod gemm;
mod index;
mod int4;
mod layout;
mod lstm;
mod math;
mod matmul;
mod movement;
mod norm;
mod pad;
mod pool;
mod pool_argmax;
mod pow_mod;
mod qconv;
mod qconv_dw;
mod qconv_im2col;
mod qgemm;
mod qgemm_call;
mod qlinear;
mod qmatmul;
mod qmatmul_dynamic;
mod qmatmul_runtime;
mod qparams;
mod qpool;
mod quantize;
mod quantize_dynamic;
mod quantize_per_element;
mod reduce;
mod reduce_kind;
mod resize;
mod select;
mod softmax;
mod trig;
mod unary_math;

use cranelift_codegen::ir::condcodes::IntCC;
use cranelift_codegen::ir::{types, AbiParam, Block, InstBuilder, MemFlagsData, Signature, Type, Value};
use cranelift_codegen::isa::CallConv;
use cranelift_frontend::FunctionBuilder;
use int8xc_ir::{Graph, Node, Op, TensorData, TensorType};

pub use fault::{FaultKind, FaultRecord};

use crate::target::TargetFeatures;
use crate::JitError;

/// What a generated kernel needs from the executor.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct KernelInfo {
    /// Number of independent work items; the kernel is called with `[begin, end)` ranges
    /// covering `0..work_items` (0: nothing to do, the kernel is never called).
    pub work_items: usize,
    /// Scratch bytes one call needs (each concurrent call gets its own buffer).
    pub scratch_bytes: usize,
}

/// The kernel function signature `(args: ptr, begin: i64, end: i64)` in `call_conv`.
pub(crate) fn kernel_signature(ptr_ty: Type, call_conv: CallConv) -> Signature {
    let mut sig = Signature::new(call_conv);
    sig.params.push(AbiParam::new(ptr_ty));
    sig.params.push(AbiParam::new(types::I64));
    sig.params.push(AbiParam::new(types::I64));
    sig
}

/// The lowering context of one node: the function builder, the node, the target's
/// capabilities, and the kernel's arguments.
pub struct KernelCx<'a, 'f> {
    /// The builder, positioned in the function body.
    pub b: &'a mut FunctionBuilder<'f>,
    /// The graph (for value types and constants).
    pub graph: &'a Graph,
    /// The node being lowered.
    pub node: &'a Node,
    /// Target capabilities.
    pub target: &'a TargetFeatures,
    ptr_ty: Type,
    args: Value,
    begin: Value,
    end: Value,
    inputs: Vec<Value>,
    outputs: Vec<Value>,
    scratch: Value,
    packed: Vec<Option<Vec<u8>>>,
    fault: Option<FaultKind>,
}

impl<'a, 'f> KernelCx<'a, 'f> {
    /// Sets up the entry block of a kernel for `node`: declares the parameters and loads
    /// every argument pointer.
    pub(crate) fn new(
        b: &'a mut FunctionBuilder<'f>,
        graph: &'a Graph,
        node: &'a Node,
        target: &'a TargetFeatures,
    ) -> Self {
        let ptr_ty = target.pointer_type();
        let entry = b.create_block();
        b.append_block_params_for_function_params(entry);
        b.switch_to_block(entry);
        b.seal_block(entry);
        let params = b.block_params(entry).to_vec();
        let (args, begin, end) = (params[0], params[1], params[2]);
        let flags = MemFlagsData::trusted().with_readonly();
        let n_in = node.inputs.len();
        let n_out = node.outputs.len();
        let mut ptrs = Vec::with_capacity(n_in + n_out + 1);
        for i in 0..n_in + n_out + 1 {
            ptrs.push(b.ins().load(ptr_ty, flags, args, (i * ptr_ty.bytes() as usize) as i32));
        }
        let scratch = ptrs[n_in + n_out];
        let outputs = ptrs[n_in..n_in + n_out].to_vec();
        ptrs.truncate(n_in);
        KernelCx {
            b,
            graph,
            node,
            target,
            ptr_ty,
            args,
            begin,
            end,
            inputs: ptrs,
            outputs,
            scratch,
            packed: vec![None; n_in],
            fault: None,
        }
    }

    /// Finishes the function (appends the `return`) and hands back the packed constants (per
    /// input).
    pub(crate) fn finish(self) -> Vec<Option<Vec<u8>>> {
        self.b.ins().return_(&[]);
        self.packed
    }

    /// What the kernel reports when it faults ([`KernelCx::fault_record`] was called), for
    /// the executor to pass a [`FaultRecord`] and check it.
    pub(crate) fn fault_kind(&self) -> Option<FaultKind> {
        self.fault
    }

    /// Pointer to this call's [`FaultRecord`] (the extra argument after the scratch pointer),
    /// loaded at the current position; declares that the kernel reports faults of `kind`.
    /// Only kernels that call this get the extra argument (see [`fault`]).
    pub fn fault_record(&mut self, kind: FaultKind) -> Value {
        self.fault = Some(kind);
        let slot = self.node.inputs.len() + self.node.outputs.len() + 1;
        let flags = MemFlagsData::trusted().with_readonly();
        self.b.ins().load(self.ptr_ty, flags, self.args, (slot * self.ptr_ty.bytes() as usize) as i32)
    }

    /// Records a fault with the offending `value` (`i64`) in `record` (from
    /// [`KernelCx::fault_record`]) unless the record already holds one, so it keeps the
    /// call's first bad value.
    pub fn emit_fault(&mut self, record: Value, value: Value) {
        let code = self.load(types::I64, record, fault::CODE_OFFSET);
        let first = self.b.ins().icmp_imm_s(IntCC::Equal, code, 0);
        self.if_then(first, |cx| {
            let one = cx.b.ins().iconst(types::I64, 1);
            cx.store(one, record, fault::CODE_OFFSET);
            cx.store(value, record, fault::VALUE_OFFSET);
        });
    }

    /// The pointer type.
    pub fn ptr_ty(&self) -> Type {
        self.ptr_ty
    }

    /// Pointer to input `i` (or to its packed form).
    pub fn input(&self, i: usize) -> Value {
        self.inputs[i]
    }

    /// Pointer to output `i`.
    pub fn output(&self, i: usize) -> Value {
        self.outputs[i]
    }

    /// Pointer to this call's scratch buffer.
    pub fn scratch(&self) -> Value {
        self.scratch
    }

    /// Type of input `i`. Errors with [`JitError::Invalid`] when the node has fewer inputs.
    pub fn in_ty(&self, i: usize) -> Result<&'a TensorType, JitError> {
        match self.node.inputs.get(i) {
            Some(&v) => Ok(self.graph.ty(v)),
            None => Err(JitError::invalid(self.node, format!("missing input {i}"))),
        }
    }

    /// Type of output `i`. Errors with [`JitError::Invalid`] when the node has fewer outputs.
    pub fn out_ty(&self, i: usize) -> Result<&'a TensorType, JitError> {
        match self.node.outputs.get(i) {
            Some(&v) => Ok(self.graph.ty(v)),
            None => Err(JitError::invalid(self.node, format!("missing output {i}"))),
        }
    }

    /// The contents of input `i` when it is a constant.
    pub fn constant(&self, i: usize) -> Option<&'a TensorData> {
        self.node.inputs.get(i).and_then(|&v| self.graph.constant(v))
    }

    /// Replaces constant input `i`'s argument with `bytes` (owned by the executable, 64-byte
    /// aligned): the kernel reads [`KernelCx::input`]`(i)` in its own packed layout.
    pub fn pack_input(&mut self, i: usize, bytes: Vec<u8>) {
        if let Some(slot) = self.packed.get_mut(i) {
            *slot = Some(bytes);
        }
    }

    /// Checks the node's input and output counts.
    pub fn expect_arity(&self, inputs: std::ops::RangeInclusive<usize>, outputs: usize) -> Result<(), JitError> {
        if !inputs.contains(&self.node.inputs.len()) || self.node.outputs.len() != outputs {
            return Err(JitError::invalid(
                self.node,
                format!(
                    "expected {inputs:?} inputs and {outputs} output(s), got {} and {}",
                    self.node.inputs.len(),
                    self.node.outputs.len()
                ),
            ));
        }
        Ok(())
    }

    /// A pointer-sized integer constant.
    pub fn iconst(&mut self, v: i64) -> Value {
        self.b.ins().iconst(self.ptr_ty, v)
    }

    /// An `f32` constant of type `ty` (`F32`, or `F32X4` splatted).
    pub fn fconst(&mut self, ty: Type, v: f32) -> Value {
        let s = self.b.ins().f32const(v);
        if ty.is_vector() {
            self.b.ins().splat(ty, s)
        } else {
            s
        }
    }

    /// `base + index * elem_bytes` (pointer arithmetic; `index` is pointer-sized).
    pub fn elem_addr(&mut self, base: Value, index: Value, elem_bytes: i64) -> Value {
        let off = if elem_bytes == 1 { index } else { self.b.ins().imul_imm_s(index, elem_bytes) };
        self.b.ins().iadd(base, off)
    }

    /// Loads a `ty` at `addr + offset` bytes (no alignment assumed; the address is in bounds
    /// by construction).
    pub fn load(&mut self, ty: Type, addr: Value, offset: i32) -> Value {
        self.b.ins().load(ty, MemFlagsData::new().with_notrap(), addr, offset)
    }

    /// Stores `v` at `addr + offset` bytes.
    pub fn store(&mut self, v: Value, addr: Value, offset: i32) {
        self.b.ins().store(MemFlagsData::new().with_notrap(), v, addr, offset);
    }

    /// `a * b + c`: one `fma` when the target has it, else `fmul` + `fadd`.
    pub fn mul_add(&mut self, a: Value, b: Value, c: Value) -> Value {
        if self.target.has_fma() {
            self.b.ins().fma(a, b, c)
        } else {
            let p = self.b.ins().fmul(a, b);
            self.b.ins().fadd(p, c)
        }
    }

    /// `for i in (start..end).step_by(step) { body(cx, i) }` with pointer-sized `start`, `end`
    /// (run-time values) and `step > 0`. The loop tests at the top, so an empty range runs no
    /// iteration. `body` must leave the builder in a block that falls through.
    pub fn for_range(&mut self, start: Value, end: Value, step: i64, mut body: impl FnMut(&mut Self, Value)) {
        let header = self.b.create_block();
        let body_block = self.b.create_block();
        let exit = self.b.create_block();
        let i = self.b.append_block_param(header, self.ptr_ty);
        self.b.ins().jump(header, &[start.into()]);
        self.b.switch_to_block(header);
        let c = self.b.ins().icmp(IntCC::SignedLessThan, i, end);
        self.b.ins().brif(c, body_block, &[], exit, &[]);
        self.b.switch_to_block(body_block);
        self.b.seal_block(body_block);
        body(self, i);
        let next = self.b.ins().iadd_imm_s(i, step);
        self.b.ins().jump(header, &[next.into()]);
        self.b.seal_block(header);
        self.b.switch_to_block(exit);
        self.b.seal_block(exit);
    }

    /// [`KernelCx::for_range`] over static bounds `lo..hi`; emits nothing when empty and the
    /// body inline (no loop) when it runs once.
    pub fn for_static(&mut self, lo: i64, hi: i64, step: i64, mut body: impl FnMut(&mut Self, Value)) {
        if lo >= hi {
            return;
        }
        let start = self.iconst(lo);
        if lo + step >= hi {
            body(self, start);
            return;
        }
        let end = self.iconst(hi);
        self.for_range(start, end, step, body);
    }

    /// `for item in begin..end { body(cx, item) }` over this call's work items.
    pub fn for_items(&mut self, body: impl FnMut(&mut Self, Value)) {
        let (begin, end) = (self.begin, self.end);
        self.for_range(begin, end, 1, body);
    }

    /// `if cond { then(cx) }` (`cond` an integer; non-zero is true).
    pub fn if_then(&mut self, cond: Value, then: impl FnOnce(&mut Self)) {
        let then_block = self.b.create_block();
        let merge = self.b.create_block();
        self.b.ins().brif(cond, then_block, &[], merge, &[]);
        self.b.switch_to_block(then_block);
        self.b.seal_block(then_block);
        then(self);
        self.b.ins().jump(merge, &[]);
        self.switch_seal(merge);
    }

    /// `if cond { then(cx) } else { els(cx) }`.
    pub fn if_else(&mut self, cond: Value, then: impl FnOnce(&mut Self), els: impl FnOnce(&mut Self)) {
        let then_block = self.b.create_block();
        let else_block = self.b.create_block();
        let merge = self.b.create_block();
        self.b.ins().brif(cond, then_block, &[], else_block, &[]);
        self.switch_seal(then_block);
        then(self);
        self.b.ins().jump(merge, &[]);
        self.switch_seal(else_block);
        els(self);
        self.b.ins().jump(merge, &[]);
        self.switch_seal(merge);
    }

    fn switch_seal(&mut self, block: Block) {
        self.b.switch_to_block(block);
        self.b.seal_block(block);
    }

    /// Splits a flat index over `dims` (row-major, outermost first) into per-dimension
    /// indices (`udiv`/`urem` by immediates; dims of size 1 give constant 0).
    pub fn unravel(&mut self, mut flat: Value, dims: &[usize]) -> Vec<Value> {
        let mut idx = vec![None; dims.len()];
        for (d, &n) in dims.iter().enumerate().rev() {
            if n <= 1 {
                idx[d] = Some(self.iconst(0));
            } else if d == 0 {
                idx[d] = Some(flat);
            } else {
                let nv = self.iconst(n as i64);
                idx[d] = Some(self.b.ins().urem(flat, nv));
                flat = self.b.ins().udiv(flat, nv);
            }
        }
        idx.into_iter().map(|v| v.expect("every dim assigned")).collect()
    }

    /// `Σ idx[d] * strides[d]` (strides in elements; zero strides are skipped).
    pub fn dot_strides(&mut self, idx: &[Value], strides: &[i64]) -> Value {
        let mut acc = self.iconst(0);
        for (&i, &s) in idx.iter().zip(strides) {
            if s != 0 {
                let t = self.b.ins().imul_imm_s(i, s);
                acc = self.b.ins().iadd(acc, t);
            }
        }
        acc
    }
}

/// Lowers `cx.node` into the current function. Errors: [`JitError::Unsupported`] naming the
/// node and op when there is no kernel for it; [`JitError::Invalid`] for inconsistent shapes.
pub(crate) fn lower_node(cx: &mut KernelCx) -> Result<KernelInfo, JitError> {
    match &cx.node.op {
        Op::Binary(op) => elementwise::lower_binary(cx, *op),
        Op::Unary(op) => elementwise::lower_unary(cx, *op),
        Op::MatMul => matmul::lower_matmul(cx),
        Op::Gemm(attrs) => matmul::lower_gemm(cx, attrs),
        Op::Conv(attrs) => conv::lower_conv(cx, attrs),
        Op::BatchNormalization { epsilon } => norm::lower_batch_norm(cx, *epsilon),
        Op::GlobalAveragePool => norm::lower_global_average_pool(cx),
        Op::MaxPool(attrs) if qpool::has_int8_input(cx) => qpool::lower_max_pool_int8(cx, attrs),
        Op::MaxPool(attrs) => pool::lower_pool(cx, attrs, pool::PoolKind::Max),
        Op::AveragePool(attrs) => pool::lower_pool(cx, attrs, pool::PoolKind::Average),
        Op::MaxPoolWithIndices { pool, column_major } => {
            pool_argmax::lower_max_pool_with_indices(cx, pool, *column_major)
        }
        Op::Reshape { .. } => movement::lower_reshape(cx),
        Op::Softmax { axis } => softmax::lower_softmax(cx, *axis),
        Op::ReduceMean { axes, keepdims } => reduce::lower_reduce_mean(cx, axes, *keepdims),
        Op::ArgMax { axis, keepdims, select_last_index } => {
            reduce::lower_arg_max(cx, *axis, *keepdims, *select_last_index)
        }
        Op::Transpose { perm } => layout::lower_transpose(cx, perm),
        Op::Slice(attrs) => layout::lower_slice(cx, attrs),
        Op::Concat { axis } => layout::lower_concat(cx, *axis),
        Op::Gather { axis } => gather::lower_gather(cx, *axis),
        Op::Cast { to } => cast::lower_cast(cx, *to),
        Op::Resize(attrs) => resize::lower_resize(cx, attrs),
        Op::ConvTranspose(attrs) => conv_transpose::lower_conv_transpose(cx, attrs),
        Op::Compare(op) => select::lower_compare(cx, *op),
        Op::Logical(op) => select::lower_logical(cx, *op),
        Op::Not => select::lower_not(cx),
        Op::Where => select::lower_where(cx),
        Op::Expand { .. } => select::lower_expand(cx),
        Op::Reduce { kind, axes, keepdims } => reduce_kind::lower_reduce(cx, *kind, axes, *keepdims),
        Op::LogSoftmax { axis } => reduce_kind::lower_log_softmax(cx, *axis),
        Op::Pad(attrs) => pad::lower_pad(cx, attrs),
        Op::GatherElements { axis } => index::lower_gather_elements(cx, *axis),
        Op::TopK(attrs) => index::lower_top_k(cx, attrs),
        Op::CumSum(attrs) => index::lower_cum_sum(cx, attrs),
        Op::QMatMul(attrs) => qmatmul::lower_qmatmul(cx, attrs),
        Op::MatMulInteger if qmatmul_dynamic::has_runtime_operand(cx) => {
            qmatmul_dynamic::lower_matmul_integer_dynamic(cx)
        }
        Op::MatMulInteger => qmatmul::lower_matmul_integer(cx),
        Op::QConv(attrs) => qconv::lower_qconv(cx, attrs),
        Op::ConvInteger(attrs) => qconv::lower_conv_integer(cx, attrs),
        Op::QuantizeLinear { dtype, params } => quantize::lower_quantize_linear(cx, *dtype, params),
        Op::DequantizeLinear => quantize::lower_dequantize_linear(cx),
        Op::DynamicQuantizeLinear => quantize::lower_dynamic_quantize_linear(cx),
        Op::QuantizeLinearDynamicParams { axis } if quantize_per_element::has_int4_zero_point(cx) => {
            quantize_per_element::lower_quantize_dynamic(cx, *axis)
        }
        Op::DequantizeLinearDynamicParams { axis } if quantize_per_element::has_int4_zero_point(cx) => {
            quantize_per_element::lower_dequantize_dynamic(cx, *axis)
        }
        Op::QuantizeLinearDynamicParams { axis } => quantize_dynamic::lower_quantize_linear_dynamic_params(cx, *axis),
        Op::DequantizeLinearDynamicParams { axis } => {
            quantize_dynamic::lower_dequantize_linear_dynamic_params(cx, *axis)
        }
        Op::QLinearBinary { op, out_scale, out_zero_point } => {
            qlinear::lower_qlinear_binary(cx, *op, *out_scale, *out_zero_point)
        }
        Op::QLinearUnary { op, out_scale, out_zero_point } => {
            qlinear::lower_qlinear_unary(cx, *op, *out_scale, *out_zero_point)
        }
        Op::QLinearSoftmax { axis, out_scale, out_zero_point } => {
            qlinear::lower_qlinear_softmax(cx, *axis, *out_scale, *out_zero_point)
        }
        Op::QLinearConcat { axis, out_scale, out_zero_point } => {
            qlinear::lower_qlinear_concat(cx, *axis, *out_scale, *out_zero_point)
        }
        Op::QLinearGlobalAveragePool { out_scale, out_zero_point } => {
            qpool::lower_qlinear_global_average_pool(cx, *out_scale, *out_zero_point)
        }
        Op::QLinearAveragePool { pool, out_scale, out_zero_point } => {
            qpool::lower_qlinear_average_pool(cx, pool, *out_scale, *out_zero_point)
        }
        Op::Lstm(attrs) => lstm::lower_lstm(cx, attrs, false),
        Op::DynamicQuantizeLstm(attrs) => lstm::lower_lstm(cx, attrs, true),
        // Every op has a kernel today; the arm stays for ops added to the IR before theirs.
        #[allow(unreachable_patterns)]
        other => Err(JitError::unsupported(cx.node, format!("no JIT kernel for {}", other.name()))),
    }
}

/// Checks that every input and output of the node has dtype `f32`.
pub(crate) fn require_f32(cx: &KernelCx) -> Result<(), JitError> {
    for (i, &v) in cx.node.inputs.iter().chain(&cx.node.outputs).enumerate() {
        let dt = cx.graph.ty(v).dtype;
        if dt != int8xc_ir::DType::F32 {
            return Err(JitError::unsupported(cx.node, format!("operand {i} has dtype {dt}; this kernel is f32-only")));
        }
    }
    Ok(())
}

/// Converts a `usize` that is known to come from a verified tensor shape into `i64`.
pub(crate) fn i64_of(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

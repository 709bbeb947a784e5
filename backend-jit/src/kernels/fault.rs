//! Run-time faults: how a kernel whose safety depends on tensor *values* (an index input)
//! reports a bad value instead of reading or writing out of bounds.
//!
//! # The mechanism
//!
//! Most kernels cannot fail once their shapes are checked at compile time, and they pay
//! nothing for this. A kernel that can fail asks for the fault record with
//! [`KernelCx::fault_record`](super::KernelCx::fault_record) while it is lowered, naming the
//! [`FaultKind`] it reports. Such a kernel receives one extra argument,
//! `args[n_in + n_out + 1]` (after the scratch pointer): a pointer to a [`FaultRecord`]
//! private to the call (each thread's chunk gets its own, zeroed before the call).
//!
//! On a bad value the kernel skips the element (it neither reads its source nor writes its
//! destination) and, if the record's `code` is still 0, stores code 1 and the offending
//! value ([`KernelCx::emit_fault`](super::KernelCx::emit_fault)), so the record holds the
//! first bad value of the call's range. The executor (`JitModel::run`, [`crate::JitModel`]) checks the
//! records of the chunks in order after the kernel returns and, on the first non-zero one,
//! stops the run and returns `RuntimeError::Backend("node '<name>' (<op>): <message>")` (the
//! interpreter's wording, e.g. `index 7 out of range for axis 0 of size 3`). No output is
//! returned, and the caller's tensors are never written: outputs are copied out of the
//! arena only after every kernel succeeded.
//!
//! In an object file the driver passes a record on its stack and returns `1 + k` after a
//! kernel `k` faults (see [`crate::object`]).

/// What a faulting kernel reports (one kind per kernel; the record holds the value).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FaultKind {
    /// An index outside `[-size, size)` of `axis` (`Gather`, `GatherElements`); the record's
    /// value is the index as given.
    IndexOutOfRange {
        /// The indexed axis of the data input.
        axis: usize,
        /// Its length.
        size: usize,
    },
}

impl FaultKind {
    /// The message for a fault with recorded `value`.
    pub fn message(self, value: i64) -> String {
        match self {
            FaultKind::IndexOutOfRange { axis, size } => {
                format!("index {value} out of range for axis {axis} of size {size}")
            }
        }
    }
}

/// The per-call fault record a faulting kernel writes: `code` 0 means no fault.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(C)]
pub struct FaultRecord {
    /// 0, or 1 after a fault.
    pub code: i64,
    /// The first offending value of the call (see [`FaultKind`]).
    pub value: i64,
}

/// Byte offset of [`FaultRecord::code`].
pub(crate) const CODE_OFFSET: i32 = 0;
/// Byte offset of [`FaultRecord::value`].
pub(crate) const VALUE_OFFSET: i32 = 8;
/// Size of a [`FaultRecord`] in bytes.
pub(crate) const RECORD_BYTES: u32 = 16;

const _: () = assert!(std::mem::size_of::<FaultRecord>() == RECORD_BYTES as usize);

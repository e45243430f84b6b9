/// What a recurrent layer's forward pass keeps for its backward pass.
///
/// Time-major, so each step's [B, .] slab is contiguous and all T*B rows form one GEMM operand.
/// A layer has a default tape that it reuses across calls (no allocation once warm); pass your
/// own tapes to keep several forward passes alive at once (e.g. step-by-step streaming with a
/// later backward through all steps).
public final class RecurrentTape<Scalar: TensorScalar> {
  var batch = 0
  var steps = 0
  var isRecorded = false
  /// Whether forward ran the fused Float kernels (backward then does too).
  var usedFusedKernels = false
  /// [T*B, I]: the input, time-major (reversed in time for goBackwards), when `xIsTimeMajor`.
  let x = WorkspaceBuffer<Scalar>()
  /// False when forward read the batch-first input directly (the fused LSTM's rows split) and
  /// did not fill `x`: backward then fills it from `input`.
  var xIsTimeMajor = true
  /// [B, T, I]: the batch-first input forward read, kept only while `x` is not filled.
  var input: Tensor<Scalar>? = nil
  /// [T*B, G*H]: the activated gates the cell saved.
  let gates = WorkspaceBuffer<Scalar>()
  /// [(T+1)*B, H]: h_0 ... h_T (slot 0 holds the initial state).
  let h = WorkspaceBuffer<Scalar>()
  /// [(T+1)*B, H]: c_0 ... c_T (LSTM).
  let c = WorkspaceBuffer<Scalar>()
  /// [T*B, H*E]: extra values the cell saved (GRU: W_hn h + b_hn).
  let extra = WorkspaceBuffer<Scalar>()
  /// [T*B]: 1 for real steps, 0 for padding, time-major (only when a mask was given).
  let mask = WorkspaceBuffer<Scalar>()
  /// Per processed step: whether any row is padding there (nil: no mask given).
  var stepIsPartial: [Bool]? = nil
  /// [B, H]: the recurrent dropout mask (only when `hasRecurrentMask`).
  let recurrentMask = WorkspaceBuffer<Scalar>()
  var hasRecurrentMask = false

  public init() {}
}

/// Pointers a cell's fused forward kernel reads and writes for one time step of `batch` rows.
///
/// Shapes: `G` = `Cell.gateCount`, `H` = hidden size. All buffers are row-major and contiguous.
public struct CellForwardStep<Scalar: TensorScalar> {
  public var batch: Int
  public var hidden: Int
  /// [B, G*H]. In: the input projection `x_t W_ih^T + b_ih`. Out: whatever the cell saves for
  /// backward (the activated gates).
  public var gates: UnsafeMutablePointer<Scalar>
  /// [B, G*H]. In: the recurrent projection `h_{t-1} W_hh^T` (no bias). Scratch afterwards.
  public var recurrent: UnsafeMutablePointer<Scalar>
  /// [G*H]: `b_hh`.
  public var recurrentBias: UnsafePointer<Scalar>
  /// [B, H]: `h_{t-1}` and `h_t`.
  public var hPrev: UnsafePointer<Scalar>
  public var h: UnsafeMutablePointer<Scalar>
  /// [B, H]: `c_{t-1}` and `c_t` (cells with a cell state only).
  public var cPrev: UnsafePointer<Scalar>?
  public var c: UnsafeMutablePointer<Scalar>?
  /// [B, H * Cell.extraSavedPerUnit]: extra values saved for backward (GRU: `W_hn h + b_hn`).
  public var extra: UnsafeMutablePointer<Scalar>?
}

/// Pointers a cell's fused backward kernel reads and writes for one time step.
public struct CellBackwardStep<Scalar: TensorScalar> {
  public var batch: Int
  public var hidden: Int
  /// [B, G*H]: what forward saved in `gates` (activated gates).
  public var gates: UnsafePointer<Scalar>
  /// [B, H * extraSavedPerUnit]: what forward saved in `extra`.
  public var extra: UnsafePointer<Scalar>?
  /// [B, H]: `h_{t-1}`, `h_t`, `c_{t-1}`, `c_t` as forward left them.
  public var hPrev: UnsafePointer<Scalar>
  public var h: UnsafePointer<Scalar>
  public var cPrev: UnsafePointer<Scalar>?
  public var c: UnsafePointer<Scalar>?
  /// [B, H]: dL/dh_t, complete (from the output and from step t+1).
  public var dh: UnsafePointer<Scalar>
  /// [B, H]: in dL/dc_t (from step t+1 and the final state), out dL/dc_{t-1}.
  public var dc: UnsafeMutablePointer<Scalar>?
  /// [B, H]: dL/dh_{t-1}; the kernel *adds* any direct (non-GEMM) path into it (GRU: dh * z).
  public var dhPrev: UnsafeMutablePointer<Scalar>
  /// [B, G*H], out: dL/d(input pre-activations) = dL/d(x_t W_ih^T + b_ih).
  public var dGatesInput: UnsafeMutablePointer<Scalar>
  /// [B, G*H], out: dL/d(h_{t-1} W_hh^T + b_hh). Same buffer as `dGatesInput` unless the cell
  /// `splitsRecurrentGradient`.
  public var dGatesRecurrent: UnsafeMutablePointer<Scalar>
  /// [B, G*H]: scratch the kernel may use.
  public var scratch: UnsafeMutablePointer<Scalar>
}

/// A recurrent cell: the elementwise part of one time step, forward and backward, as fused
/// kernels over raw buffers.
///
/// A cell owns no GEMM and no weights: the BPTT driver (`RecurrentLayer`) computes the input
/// projection for all steps in one GEMM, the recurrent projection `h_{t-1} W_hh^T` with one
/// GEMM per step, and the weight gradients with GEMMs after the time loop. Weight layout follows
/// PyTorch: `weight_ih` [G*H, I], `weight_hh` [G*H, H], `bias_ih` [G*H], `bias_hh` [G*H], gate
/// blocks stacked along the first axis in the order the conforming type documents.
public protocol RecurrentCell: Sendable {
  /// G: how many H-wide gate blocks the projections produce (SimpleRNN 1, LSTM 4, GRU 3).
  static var gateCount: Int { get }
  /// Whether the cell carries a cell state `c` besides `h` (LSTM).
  static var hasCellState: Bool { get }
  /// Extra saved values per hidden unit per step (GRU keeps `W_hn h + b_hn`: 1).
  static var extraSavedPerUnit: Int { get }
  /// Whether dL/d(recurrent projection) differs from dL/d(input projection) (GRU: the n gate).
  static var splitsRecurrentGradient: Bool { get }
  /// A short name for tables and checkpoints: "rnn", "lstm", "gru".
  var kindName: String { get }

  /// One step forward for all rows; see `CellForwardStep`.
  func forward<Scalar: TensorScalar>(_ step: CellForwardStep<Scalar>)
  /// The reverse of `forward`; see `CellBackwardStep`.
  func backward<Scalar: TensorScalar>(_ step: CellBackwardStep<Scalar>)
}

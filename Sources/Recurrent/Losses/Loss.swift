/// A training objective: a scalar from predictions and targets, and its gradient.
///
/// Reduction is the mean over every element that counts (batch rows, and time steps where the
/// mask is 1 for per-step sequence losses), as Keras's default `sum_over_batch_size`; the
/// gradient is that of the mean.
public protocol Loss: Sendable {
  /// A short name for logs ("mse", "sparse_categorical_crossentropy", ...).
  var name: String { get }

  /// The loss value (in Double) and dL/d(prediction) (same shape as `prediction`).
  ///
  /// - Parameters:
  ///   - prediction: the model output, e.g. [B, C] or [B, T, C].
  ///   - target: same shape as `prediction`, or class indices ([B] / [B, T]) for sparse losses.
  ///   - mask: optional [B] or [B, T] weights (1 counts, 0 ignores) for per-step losses.
  /// - Throws: `RecurrentError.shapeMismatch` when the shapes do not fit,
  ///   `RecurrentError.invalidData` for out-of-range class indices.
  func compute<S: TensorScalar>(
    prediction: Tensor<S>, target: Tensor<S>, mask: Tensor<S>?
  ) throws -> (value: Double, gradient: Tensor<S>)
}

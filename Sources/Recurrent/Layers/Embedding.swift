/// A lookup table of learned vectors, one per token id (Keras `Embedding`, PyTorch `nn.Embedding`).
///
///     y[b, t, :] = W[ids[b, t], :]          ids [B, T] (integral values stored as Scalar),
///                                           W [vocabularySize, dimension]  ->  y [B, T, dimension]
///     backward:  dW[ids[b, t], :] += dy[b, t, :]    (a scatter-add; ids are not differentiable,
///                                                    so the returned input gradient is zeros)
///
/// **Valid ids.** `forward` requires every id to be an integer in `0..<vocabularySize`; it
/// traps otherwise (memory safety), so that is a programming error, not a data error. Data
/// from users must go through `validate(_:)` first, which throws `RecurrentError.invalidData`
/// naming the offending position and value; the model does this for its input layer
/// (`InputValidatingLayer`).
///
/// **Masking.** With `maskIndex` set (Keras `mask_zero=True` is `maskIndex: 0`), forward sets
/// `context.mask` to [B, T] with 0 where `ids == maskIndex` and 1 elsewhere, replacing any mask
/// already there; downstream recurrent layers and global pooling then skip those steps. As in
/// Keras the masked id still looks up (and backward still scatters into) its row: the row only
/// gets no gradient because the layers downstream give those positions a zero gradient.
///
/// Parameter: `<name>.weight` [vocabularySize, dimension], initialised U(-0.05, 0.05) (Keras).
public final class EmbeddingLayer<Scalar: TensorScalar>: Layer, InputValidatingLayer {
  public let vocabularySize: Int
  public let dimension: Int
  public let maskIndex: Int?
  public private(set) var weight: Parameter?
  private var store: ParameterStore<Scalar>?
  private var ids = Tensor<Scalar>(shape: [0])  // saved by forward: [B, T]

  /// A table of `vocabularySize` vectors of `dimension` values; ids equal to `maskIndex` are
  /// masked out for the layers downstream.
  public init(vocabularySize: Int, dimension: Int, maskIndex: Int? = nil) {
    self.vocabularySize = vocabularySize
    self.dimension = dimension
    self.maskIndex = maskIndex
  }

  public var kind: String { "embedding" }

  private var label: String {
    "Embedding(vocabularySize: \(vocabularySize), dimension: \(dimension)"
      + (maskIndex.map { ", maskIndex: \($0)" } ?? "") + ")"
  }

  public func build(
    inputShape: [Int], store: ParameterStore<Scalar>, name: String, generator: inout SeededGenerator
  ) throws -> [Int] {
    try LayerSupport.require(vocabularySize > 0 && dimension > 0, "\(label): sizes must be positive")
    if let maskIndex {
      try LayerSupport.require(
        (0..<vocabularySize).contains(maskIndex), "\(label): maskIndex must be in 0..<\(vocabularySize)")
    }
    guard inputShape.count == 1, inputShape[0] > 0 else {
      throw RecurrentError.shapeMismatch(
        "\(label) expects token ids [batch, steps], got \(LayerSupport.describe(inputShape))")
    }
    self.store = store
    let w = store.add("\(name).weight", shape: [vocabularySize, dimension])
    LayerSupport.initialize(
      w, in: store, with: .uniform(-0.05, 0.05), fanIn: vocabularySize, fanOut: dimension, generator: &generator)
    weight = w
    return [inputShape[0], dimension]
  }

  /// Throws `RecurrentError.shapeMismatch` unless `input` is [batch, steps], and
  /// `RecurrentError.invalidData` unless every value is an integer id in `0..<vocabularySize`.
  public func validate(_ input: Tensor<Scalar>) throws {
    guard input.rank == 2 else {
      throw RecurrentError.shapeMismatch("\(label) expects token ids [batch, steps], got \(input.shape)")
    }
    let T = input.shape[1]
    let bad = input.withLayerBuffer { p in (0..<input.count).first { !isValid(p[$0]) } }
    if let i = bad {
      throw RecurrentError.invalidData(
        "\(label): input[\(i / T), \(i % T)] = \(input.scalars[i]) is not a token id in 0..<\(vocabularySize)")
    }
  }

  @inline(__always)
  private func isValid(_ v: Scalar) -> Bool {
    v >= 0 && v < Scalar(vocabularySize) && v == v.rounded(.towardZero)
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func forward(_ x: Tensor<Scalar>, context: LayerContext<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight else { preconditionFailure("Embedding: forward before build") }
    precondition(x.rank == 2, "\(label) expects token ids [batch, steps], got \(x.shape)")
    let B = x.shape[0], T = x.shape[1], D = dimension, N = B * T
    var y = Tensor<Scalar>(shape: [B, T, D])
    var mask = maskIndex == nil ? nil : Tensor<Scalar>(shape: [B, T], repeating: 1)
    store.withBuffers { params, _ in
      let W = params + weight.offset
      x.withLayerBuffer { ids in
        y.withMutableLayerBuffer { yp in
          for i in 0..<N {
            precondition(
              isValid(ids[i]), "\(label): input[\(i / T), \(i % T)] = \(ids[i]) is not a valid id; call validate(_:) first")
            let id = Int(ids[i])
            // y[i, :] = W[id, :]
            (yp + i * D).update(from: W + id * D, count: D)
          }
        }
        if let maskIndex {
          let masked = Scalar(maskIndex)
          mask!.withMutableLayerBuffer { m in for i in 0..<N where ids[i] == masked { m[i] = 0 } }
        }
      }
    }
    if maskIndex != nil { context.mask = mask }
    ids = x
    return y
  }

  @_specialize(where Scalar == Float)
  @_specialize(where Scalar == Double)
  public func backward(_ dY: Tensor<Scalar>) -> Tensor<Scalar> {
    guard let store, let weight else { preconditionFailure("Embedding: backward before build") }
    let B = ids.shape[0], T = ids.shape[1], D = dimension
    precondition(dY.shape == [B, T, D], "Embedding.backward: gradient must be \([B, T, D]), got \(dY.shape)")
    store.withBuffers { _, grads in
      let dW = grads + weight.offset
      ids.withLayerBuffer { ids in
        dY.withLayerBuffer { dy in
          // reverses y[i, :] = W[id, :]:  dW[id, :] += dy[i, :]
          for i in 0..<(B * T) {
            Reductions.axpy(count: D, alpha: 1, dy + i * D, dW + Int(ids[i]) * D)
          }
        }
      }
    }
    return Tensor(shape: [B, T])  // ids are not differentiable
  }
}

/// A layer that can check a batch of user data before `forward`, which requires valid input
/// (e.g. `Embedding`'s token ids). Models call `validate` on their first layer's input.
public protocol InputValidatingLayer<Scalar>: Layer {
  /// Throws `RecurrentError` describing the first problem with `input`, if any.
  func validate(_ input: Tensor<Scalar>) throws
}

/// `Embedding` in `Float`, as Keras names it.
public typealias Embedding = EmbeddingLayer<Float>

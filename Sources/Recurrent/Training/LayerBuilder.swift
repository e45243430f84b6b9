/// Builds a `Sequential` model's layer list from a closure, SwiftUI style:
///
///     let model = Sequential {
///       LSTM(units: 64, returnSequences: true)
///       LSTM(units: 64)
///       Dense(units: 10)
///     }
@resultBuilder
public enum LayerBuilder<Scalar: TensorScalar> {
  public static func buildExpression(_ layer: any Layer<Scalar>) -> [any Layer<Scalar>] { [layer] }
  public static func buildExpression(_ layers: [any Layer<Scalar>]) -> [any Layer<Scalar>] { layers }
  public static func buildBlock(_ parts: [any Layer<Scalar>]...) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
  public static func buildOptional(_ part: [any Layer<Scalar>]?) -> [any Layer<Scalar>] { part ?? [] }
  public static func buildEither(first: [any Layer<Scalar>]) -> [any Layer<Scalar>] { first }
  public static func buildEither(second: [any Layer<Scalar>]) -> [any Layer<Scalar>] { second }
  public static func buildArray(_ parts: [[any Layer<Scalar>]]) -> [any Layer<Scalar>] { parts.flatMap { $0 } }
}

/// Layers whose state can be carried across calls and reset (recurrent layers).
public protocol StatefulLayer: AnyObject {
  /// Whether the layer carries its final state into the next call.
  var stateful: Bool { get set }
  /// Forgets the carried state.
  func resetStates()
}

extension RNN: StatefulLayer {}

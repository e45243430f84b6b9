/// A seeded, platform-independent random number generator (xoshiro256**, seeded by SplitMix64).
///
/// The same seed gives the same sequence on every machine and Swift version, unlike
/// `SystemRandomNumberGenerator`. Draws for initialisation, dropout and shuffling all come from it.
public struct SeededGenerator: RandomNumberGenerator, Sendable, Codable, Equatable {
  /// The four words of xoshiro256** state; saved in training checkpoints for exact resume.
  public private(set) var state: (UInt64, UInt64, UInt64, UInt64)

  /// A generator whose sequence is fixed by `seed`.
  public init(seed: UInt64) {
    var s = seed
    func splitMix() -> UInt64 {
      s &+= 0x9E37_79B9_7F4A_7C15
      var z = s
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    state = (splitMix(), splitMix(), splitMix(), splitMix())
  }

  @inline(__always)
  private static func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

  public mutating func next() -> UInt64 {
    let result = Self.rotl(state.1 &* 5, 7) &* 9
    let t = state.1 << 17
    state.2 ^= state.0
    state.3 ^= state.1
    state.1 ^= state.2
    state.0 ^= state.3
    state.2 ^= t
    state.3 = Self.rotl(state.3, 45)
    return result
  }

  /// A uniform draw from [0, 1) with 53 random bits.
  public mutating func nextUnit() -> Double {
    Double(next() >> 11) * 0x1.0p-53
  }

  /// A standard normal draw (Box-Muller, one value per call; deterministic).
  public mutating func nextNormal() -> Double {
    var u1 = nextUnit()
    while u1 <= Double.leastNormalMagnitude { u1 = nextUnit() }
    let u2 = nextUnit()
    return (-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2)
  }

  public static func == (a: Self, b: Self) -> Bool {
    a.state.0 == b.state.0 && a.state.1 == b.state.1 && a.state.2 == b.state.2 && a.state.3 == b.state.3
  }

  enum CodingKeys: CodingKey { case state }
  public init(from decoder: Decoder) throws {
    let c = try decoder.container(keyedBy: CodingKeys.self)
    let w = try c.decode([UInt64].self, forKey: .state)
    guard w.count == 4 else {
      throw DecodingError.dataCorruptedError(forKey: .state, in: c, debugDescription: "expected 4 state words")
    }
    state = (w[0], w[1], w[2], w[3])
  }
  public func encode(to encoder: Encoder) throws {
    var c = encoder.container(keyedBy: CodingKeys.self)
    try c.encode([state.0, state.1, state.2, state.3], forKey: .state)
  }
}

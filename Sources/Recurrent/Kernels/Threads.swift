import CRecurrentKernels

/// Controls how many threads the kernels use and which instruction set they run on.
public enum ComputeSettings {
  /// Threads a GEMM may use (default: online CPUs, at most 8).
  public static var threadCount: Int {
    get { Int(rk_get_num_threads()) }
    set { rk_set_num_threads(Int32(max(1, newValue))) }
  }

  /// `"avx2+fma"` or `"portable"`: the instruction set the kernels are running on.
  public static var activeInstructionSet: String {
    rk_active_isa() == RK_ISA_AVX2_FMA ? "avx2+fma" : "portable"
  }

  /// Forces the portable kernels (`true`) or restores the best the CPU supports (`false`), for
  /// kernels called from the calling thread only.
  public static func forcePortableKernels(_ portable: Bool) {
    rk_force_isa(portable ? RK_ISA_PORTABLE : rk_cpu_best_isa())
  }
}

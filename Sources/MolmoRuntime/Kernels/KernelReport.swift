import CKernels

/// Which instruction sets this CPU has and which kernels the runtime will run on it, for `doctor` and for
/// options that cannot take effect here. The functions take the feature bits (`spotter_cpu_feature`) so that
/// other CPUs' reports can be checked on this one.
extension KernelSettings {
    /// The features the kernels dispatch on: the CPU's, without the AVX-512 ones while the kernels are forced to
    /// the AVX2 baseline.
    package static var dispatchFeatures: UInt32 {
        let f = spotter_cpu_features()
        let avx512 = SPOTTER_CPU_AVX512F.rawValue | SPOTTER_CPU_AVX512BW.rawValue | SPOTTER_CPU_AVX512VNNI.rawValue
            | SPOTTER_CPU_AVX512BF16.rawValue
        return spotter_gemm_isa() == 1 ? f : f & ~avx512
    }

    /// Names of the features present in `features` (e.g. "AVX2 FMA F16C AVX512F AVX512BW").
    package static func featureNames(_ features: UInt32) -> [String] {
        let names: [(UInt32, String)] = [
            (SPOTTER_CPU_AVX2.rawValue, "AVX2"), (SPOTTER_CPU_FMA.rawValue, "FMA"), (SPOTTER_CPU_F16C.rawValue, "F16C"),
            (SPOTTER_CPU_AVX512F.rawValue, "AVX512F"), (SPOTTER_CPU_AVX512BW.rawValue, "AVX512BW"),
            (SPOTTER_CPU_AVX512VNNI.rawValue, "AVX512_VNNI"), (SPOTTER_CPU_AVX512BF16.rawValue, "AVX512_BF16"),
        ]
        return names.filter { features & $0.0 != 0 }.map(\.1)
    }

    static func has(_ features: UInt32, _ feature: spotter_cpu_feature) -> Bool { features & feature.rawValue != 0 }

    /// True when the matmul kernels run their AVX-512 variants on a CPU with `features`.
    package static func usesAVX512(_ features: UInt32) -> Bool {
        has(features, SPOTTER_CPU_AVX512F) && has(features, SPOTTER_CPU_AVX512BW)
    }

    /// Why bf16 dot products (`--bf16-dot`) would change nothing for weights in `format` on a CPU with
    /// `features`; nil when they take effect (for int8, on the ViT, whose weights are bfloat16).
    package static func bf16DotProductsIneffective(format: WeightFormat, features: UInt32 = dispatchFeatures)
        -> String?
    {
        if !(usesAVX512(features) && has(features, SPOTTER_CPU_AVX512BF16)) {
            return "this CPU has no AVX512_BF16, so the prefill and the ViT keep exact fp32 products"
        }
        if format == .float32 { return "bf16 dot products need bfloat16 (or int8) weights; these are float32" }
        return nil
    }

    /// Lines naming the ISA and the kernel each stage runs on a CPU with `features`.
    package static func reportLines(features: UInt32 = dispatchFeatures) -> [String] {
        let wide = usesAVX512(features)
        let matmul = wide ? "AVX-512, 12×32 register tiles" : "AVX2+FMA, 6×16 register tiles"
        let dot = bf16DotProductsIneffective(format: .bfloat16, features: features) == nil
        return [
            "isa          build baseline x86-64 AVX2+FMA; kernels dispatch on: \(featureNames(features).joined(separator: " "))",
            "kernels      matmul (fp32, bf16, int8 weights): \(matmul); decode GEMV: \(wide ? "AVX-512" : "AVX2+FMA")",
            "             attention, norms, RoPE, LayerNorm/GELU: AVX2+FMA (no AVX-512 variants)",
            "             --bf16-dot: " + (dot
                ? "AVX512_BF16 dot products for the prefill and the ViT (bfloat16 weights)"
                : "no effect here (no AVX512_BF16): exact fp32 products are used"),
            "             --format int8: decoder weights dequantized in the fp32 FMA kernels"
                + (has(features, SPOTTER_CPU_AVX512VNNI) ? " (AVX512_VNNI present, unused)" : ""),
        ]
    }
}

import CKernels
import MolmoRuntime
import Testing

/// What `doctor` and `--bf16-dot` say on an AVX2-only CPU (Zen 3) and on an AVX-512 BF16 one (Zen 5), from feature
/// bits, so that both are checked on any machine.
@Suite struct KernelReportTests {
    let zen3 = SPOTTER_CPU_AVX2.rawValue | SPOTTER_CPU_FMA.rawValue | SPOTTER_CPU_F16C.rawValue
    var zen5: UInt32 {
        zen3 | SPOTTER_CPU_AVX512F.rawValue | SPOTTER_CPU_AVX512BW.rawValue | SPOTTER_CPU_AVX512VNNI.rawValue
            | SPOTTER_CPU_AVX512BF16.rawValue
    }

    @Test func bf16DotSaysWhenItCannotTakeEffect() throws {
        let reason = try #require(KernelSettings.bf16DotProductsIneffective(format: .bfloat16, features: zen3))
        #expect(reason.contains("no AVX512_BF16"))
        #expect(KernelSettings.bf16DotProductsIneffective(format: .bfloat16, features: zen5) == nil)
        #expect(KernelSettings.bf16DotProductsIneffective(format: .int8, features: zen5) == nil)
        #expect(KernelSettings.bf16DotProductsIneffective(format: .float32, features: zen5)?.contains("float32") == true)
        // AVX-512 without BF16 (e.g. Skylake-X) cannot use them either.
        let skylake = zen3 | SPOTTER_CPU_AVX512F.rawValue | SPOTTER_CPU_AVX512BW.rawValue
        #expect(KernelSettings.bf16DotProductsIneffective(format: .bfloat16, features: skylake) != nil)
    }

    @Test func reportNamesTheIsaAndKernels() {
        let avx2 = KernelSettings.reportLines(features: zen3).joined(separator: "\n")
        #expect(avx2.contains("kernels dispatch on: AVX2 FMA F16C\n"))
        #expect(avx2.contains("AVX2+FMA, 6×16 register tiles; decode GEMV: AVX2+FMA"))
        #expect(avx2.contains("--bf16-dot: no effect here"))
        #expect(!avx2.contains("VNNI"))
        let avx512 = KernelSettings.reportLines(features: zen5).joined(separator: "\n")
        #expect(avx512.contains("AVX512_BF16"))
        #expect(avx512.contains("AVX-512, 12×32 register tiles; decode GEMV: AVX-512"))
        #expect(avx512.contains("--bf16-dot: AVX512_BF16 dot products"))
    }
}

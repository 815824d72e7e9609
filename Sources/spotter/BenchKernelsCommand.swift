import ArgumentParser
import CKernels
import Foundation
import MolmoRuntime

#if canImport(Glibc)
    import Glibc
#endif

/// `spotter bench kernels`: GFLOPS of the runtime's matmul kernels on Molmo2-4B-shaped problems, timed in the same
/// run as OpenBLAS `cblas_sgemm` (loaded at run time if the library is installed), plus optional tokenizer throughput.
struct BenchKernelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "kernels",
        abstract: "Measure matmul GFLOPS of the runtime kernels next to OpenBLAS sgemm.",
        discussion: """
            Shapes are those of Molmo2-4B (hidden 2560, 32×128 query heads, 8 kv heads, MLP 9728) and of the \
            SigLIP2 ViT MLP: prefill rows (M = --rows) and single-token decode (M = 1). Each kernel is run \
            --repeats times and the best time is kept. OpenBLAS is loaded from libopenblas.so.0 (Debian \
            libopenblas0); unless OPENBLAS_CORETYPE is already set, SkylakeX kernels are selected on CPUs with \
            AVX-512, since OpenBLAS 0.3.21 does not recognise newer AMD cores and falls back to Haswell. \
            Run a release build on an idle machine.
            """)

    @Option(help: "Rows of the prefill matmuls (tokens).")
    var rows: Int = 512

    @Option(help: "Timed runs per kernel (best is reported).")
    var repeats: Int = 3

    @Option(help: "Threads (default: all cores).")
    var threads: Int?

    @Option(help: "A tokenizer.json to measure encode throughput with (needs --corpus).")
    var tokenizer: String?

    @Option(help: "A text file, one string per line, or a tokenizer-cases.json fixture, to encode.")
    var corpus: String?

    @Flag(help: "Skip the decode (M = 1) shapes.")
    var noDecode = false

    @Option(help: "Also time a checkpoint's language model: load, prefill and decode (weights may be all zero).")
    var model: String?

    @Option(help: "Weight format for --model.")
    var format: WeightFormat = .bfloat16

    @Option(help: "Prompt tokens to prefill with --model.")
    var promptTokens: Int = 256

    @Option(help: "Tokens to decode with --model.")
    var decodeTokens: Int = 8

    @Flag(help: "With --model and bfloat16: use AVX512_BF16 dot products for prefill.")
    var bf16Dot = false

    @Flag(help: "Skip the matmul table (useful with --model).")
    var noMatmul = false

    func validate() throws {
        guard rows > 0, repeats > 0, promptTokens > 0, decodeTokens > 0 else { throw ValidationError("--rows and --repeats must be positive.") }
        if (tokenizer == nil) != (corpus == nil) {
            throw ValidationError("Give --tokenizer and --corpus together.")
        }
    }

    func run() throws {
        if let threads { KernelThreads.set(threads) }
        let features = spotter_cpu_features()
        let openblas = OpenBLAS.load(preferAVX512: features & UInt32(SPOTTER_CPU_AVX512F.rawValue) != 0)
        openblas?.setThreads(KernelThreads.count)
        print("threads: \(KernelThreads.count); runtime ISA: \(spotter_gemm_isa() == 1 ? "AVX-512" : "AVX2+FMA")")
        if let openblas {
            print("OpenBLAS: \(openblas.config) (OPENBLAS_CORETYPE=\(openblas.coretype))")
        } else {
            print("OpenBLAS: not found (install libopenblas0 to compare)")
        }
        var shapes: [(String, Int, Int, Int)] = [
            ("qkv proj", rows, 6144, 2560), ("attn out", rows, 2560, 4096), ("mlp up+gate", rows, 19456, 2560),
            ("mlp down", rows, 2560, 9728), ("vit mlp up (729 patches)", 729, 4304, 1152),
        ]
        if !noDecode {
            shapes += [("decode mlp up+gate", 1, 19456, 2560), ("decode mlp down", 1, 2560, 9728)]
        }
        if noMatmul { shapes = [] }
        if bf16Dot, let reason = KernelSettings.bf16DotProductsIneffective(format: .bfloat16) {
            FileHandle.standardError.write(Data("spotter: --bf16-dot has no effect: \(reason)\n".utf8))
        }
        print("")
        print(pad("shape", 26) + pad("M×N×K", 18) + pad("ours f32", 11) + pad("AVX2 f32", 11) + pad("ours bf16", 11)
              + pad("bf16 dot", 10) + pad("OpenBLAS", 11) + pad("f32/BLAS", 9) + pad("AVX2/BLAS", 10) + pad("max|diff|", 10)
              + pad("f32 cpu-t", 11) + "BLAS cpu-t")
        for (name, m, n, k) in shapes {
            benchShape(name: name, m: m, n: n, k: k, openblas: openblas)
        }
        if !noDecode && !noMatmul { benchDecodeFormats() }
        if let tokenizer, let corpus { try benchTokenizer(tokenizer, corpus) }
        if let model { try benchModel(model) }
    }

    func benchModel(_ path: String) throws {
        let fmt = format
        print("")
        let t0 = DispatchTime.now().uptimeNanoseconds
        let lm = try Molmo2LanguageModel.load(directory: URL(fileURLWithPath: path), format: fmt)
        lm.useBF16DotProducts = bf16Dot
        let loadSeconds = Double(DispatchTime.now().uptimeNanoseconds - t0) / 1e9
        print(String(format: "model: %@ language weights %.2f GiB (%@) loaded in %.1f s; peak RSS %.2f GiB",
                     path, Double(lm.weightBytes) / Double(1 << 30), fmt.rawValue, loadSeconds,
                     Double(peakResidentBytes()) / Double(1 << 30)))
        var rng = SeededGenerator(seed: 3)
        let ids = (0..<promptTokens).map { _ in Int(rng.next() % UInt64(lm.config.vocabSize)) }
        let cache = lm.makeCache(capacity: promptTokens + decodeTokens)
        let t1 = DispatchTime.now().uptimeNanoseconds
        _ = try lm.prefill(ids: ids, cache: cache)
        let prefill = Double(DispatchTime.now().uptimeNanoseconds - t1) / 1e9
        var perToken: [Double] = []
        for i in 0..<decodeTokens {
            let t = DispatchTime.now().uptimeNanoseconds
            _ = try lm.prefill(ids: [ids[i % ids.count]], cache: cache)
            perToken.append(Double(DispatchTime.now().uptimeNanoseconds - t) / 1e9)
        }
        let median = perToken.sorted()[perToken.count / 2]
        print(String(format: "prefill%@ %d tokens: %.2f s (%.1f tokens/s); decode: median %.3f s/token (%.2f tokens/s); peak RSS %.2f GiB",
                     bf16Dot ? " (bf16 dot products)" : "", promptTokens, prefill, Double(promptTokens) / prefill, median, 1 / median,
                     Double(peakResidentBytes()) / Double(1 << 30)))
    }

    func benchShape(name: String, m: Int, n: Int, k: Int, openblas: OpenBLAS?) {
        var cpuColumns = (Double.nan, Double.nan)
        var rng = SeededGenerator(seed: UInt64(m * 31 + n * 7 + k))
        let a = (0..<(m * k)).map { _ in rng.nextUnit() - 0.5 }
        let w = (0..<(n * k)).map { _ in (rng.nextUnit() - 0.5) * 0.05 }
        let f32 = PackedLinear(weights: w, outFeatures: n, inFeatures: k, format: .float32)
        let bf16 = PackedLinear(weights: w, outFeatures: n, inFeatures: k, format: .bfloat16)
        let flops = 2.0 * Double(m) * Double(n) * Double(k)
        // Raw buffers: the timed closures below keep these pointers.
        let ap = UnsafeMutablePointer<Float>.allocate(capacity: m * k)
        let wp = UnsafeMutablePointer<Float>.allocate(capacity: n * k)
        let op = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        let bp = UnsafeMutablePointer<Float>.allocate(capacity: m * n)
        defer { [ap, wp, op, bp].forEach { $0.deallocate() } }
        ap.initialize(from: a, count: m * k)
        wp.initialize(from: w, count: n * k)
        op.initialize(repeating: 0, count: m * n)
        bp.initialize(repeating: 0, count: m * n)

        // The variants run round-robin, one timed call each per round, so that load from other processes
        // affects them alike; the best time per variant is kept.
        var variants: [(String, () -> Void)] = [
            ("f32", { f32.apply(ap, xStride: k, rows: m, into: op, outStride: n) }),
            ("avx2", {
                spotter_gemm_force_baseline(1)
                f32.apply(ap, xStride: k, rows: m, into: op, outStride: n)
                spotter_gemm_force_baseline(0)
            }),
            ("bf16", { bf16.apply(ap, xStride: k, rows: m, into: op, outStride: n) }),
            ("bf16dot", { bf16.apply(ap, xStride: k, rows: m, into: op, outStride: n, bf16DotProducts: true) }),
        ]
        if let openblas { variants.append(("blas", { openblas.multiply(ap, wp, bp, m: m, n: n, k: k) })) }
        var best = [Double](repeating: .infinity, count: variants.count)
        var bestCPU = [Double](repeating: .infinity, count: variants.count)
        for v in variants { v.1() }  // warm-up
        for _ in 0..<repeats {
            for (i, v) in variants.enumerated() {
                let cpu0 = processCPUSeconds()
                let start = DispatchTime.now().uptimeNanoseconds
                v.1()
                best[i] = min(best[i], Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                bestCPU[i] = min(bestCPU[i], processCPUSeconds() - cpu0)
            }
        }
        // CPU-time rate: flops per second of CPU actually received, times the thread count — what the kernel
        // would reach on an idle machine (the wall-clock figure drops when other processes share the cores).
        let cpuRate = bestCPU.map { flops / ($0 / Double(KernelThreads.count)) / 1e9 }
        cpuColumns = (cpuRate[0], openblas == nil ? .nan : cpuRate[4])
        let gflops = best.map { flops / $0 / 1e9 }
        let gOurs = gflops[0]
        let gBase = gflops[1]
        let gBF16 = gflops[2]
        let gDot = m >= 16 && KernelSettings.bf16DotProductsAvailable ? gflops[3] : Double.nan
        let gBlas = openblas == nil ? Double.nan : gflops[4]
        // fp32 result again for the comparison
        variants[0].1()
        var diff: Float = openblas == nil ? .nan : 0
        if openblas != nil { for i in 0..<(m * n) { diff = max(diff, abs(op[i] - bp[i])) } }
        print(pad(name, 26) + pad("\(m)×\(n)×\(k)", 18) + pad(fmt(gOurs), 11) + pad(fmt(gBase), 11)
              + pad(fmt(gBF16), 11) + pad(fmt(gDot), 10) + pad(fmt(gBlas), 11) + pad(pct(gOurs / gBlas), 9) + pad(pct(gBase / gBlas), 10)
              + pad(diff.isNaN ? "-" : String(format: "%.1e", diff), 10)
              + pad(fmt(cpuColumns.0), 11) + fmt(cpuColumns.1))
    }

    /// Decode GEMVs (M = 1) per weight format: time and the weight bytes streamed per second.
    func benchDecodeFormats() {
        print("")
        print(pad("decode GEMV", 26) + pad("N×K", 14) + pad("f32 ms", 9) + pad("bf16 ms", 9) + pad("int8 ms", 9)
              + pad("f32 GB/s", 10) + pad("bf16 GB/s", 11) + "int8 GB/s")
        for (name, n, k) in [("qkv proj", 6144, 2560), ("mlp up+gate", 19456, 2560), ("mlp down", 2560, 9728)] {
            var rng = SeededGenerator(seed: UInt64(n + k))
            let w = (0..<(n * k)).map { _ in (rng.nextUnit() - 0.5) * 0.05 }
            let x = (0..<k).map { _ in rng.nextUnit() - 0.5 }
            let linears = [WeightFormat.float32, .bfloat16, .int8].map {
                PackedLinear(weights: w, outFeatures: n, inFeatures: k, format: $0)
            }
            var out = [Float](repeating: 0, count: n)
            var best = [Double](repeating: .infinity, count: linears.count)
            for _ in 0...repeats {
                for (i, linear) in linears.enumerated() {
                    let start = DispatchTime.now().uptimeNanoseconds
                    x.withUnsafeBufferPointer { xb in
                        out.withUnsafeMutableBufferPointer {
                            linear.apply(xb.baseAddress!, xStride: k, rows: 1, into: $0.baseAddress!, outStride: n)
                        }
                    }
                    best[i] = min(best[i], Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
                }
            }
            let rates = zip(linears, best).map { Double($0.0.byteCount) / $0.1 / 1e9 }
            print(pad(name, 26) + pad("\(n)×\(k)", 14) + best.map { pad(String(format: "%.2f", $0 * 1e3), 9) }.joined()
                  + pad(fmt(rates[0]), 10) + pad(fmt(rates[1]), 11) + fmt(rates[2]))
        }
    }

    func processCPUSeconds() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    func benchTokenizer(_ path: String, _ corpusPath: String) throws {
        let loadStart = DispatchTime.now().uptimeNanoseconds
        _ = try BPETokenizer(url: URL(fileURLWithPath: path))
        let loadMs = Double(DispatchTime.now().uptimeNanoseconds - loadStart) / 1e6
        let data = try Data(contentsOf: URL(fileURLWithPath: corpusPath))
        var texts: [String]
        if corpusPath.hasSuffix(".json"), let cases = try JSONValue.parse(data)["encode"]?.array {
            texts = cases.compactMap { $0["text"]?.string }
        } else {
            texts = String(decoding: data, as: UTF8.self).components(separatedBy: "\n")
        }
        let bytes = texts.reduce(0) { $0 + $1.utf8.count }
        var best = Double.infinity
        var tokens = 0
        for _ in 0..<3 {
            let fresh = try BPETokenizer(url: URL(fileURLWithPath: path))  // cold cache each round, as HF's
            let start = DispatchTime.now().uptimeNanoseconds
            tokens = 0
            for t in texts { tokens += fresh.encode(t).count }
            best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
        }
        print("")
        print(String(format: "tokenizer: load %.0f ms", loadMs))
        print(String(format: "tokenizer: %d strings, %.2f MB, %d tokens in %.1f ms = %.2f MB/s, %.3f M tokens/s (one thread)",
                     texts.count, Double(bytes) / 1e6, tokens, best * 1000, Double(bytes) / best / 1e6,
                     Double(tokens) / best / 1e6))
    }

    func pad(_ s: String, _ width: Int) -> String { s.count >= width ? s + " " : s + String(repeating: " ", count: width - s.count) }
    func fmt(_ g: Double) -> String { g.isNaN ? "-" : String(format: "%.1f", g) }
    func pct(_ r: Double) -> String { r.isNaN ? "-" : String(format: "%.0f%%", r * 100) }
}

/// OpenBLAS's cblas_sgemm / sgemv resolved with dlopen, so the package does not link it.
final class OpenBLAS {
    typealias SGEMM = @convention(c) (
        Int32, Int32, Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32,
        Float, UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias SGEMV = @convention(c) (
        Int32, Int32, Int32, Int32, Float, UnsafePointer<Float>?, Int32, UnsafePointer<Float>?, Int32, Float,
        UnsafeMutablePointer<Float>?, Int32
    ) -> Void
    typealias SetThreads = @convention(c) (Int32) -> Void
    typealias GetConfig = @convention(c) () -> UnsafePointer<CChar>?

    let sgemm: SGEMM
    let sgemv: SGEMV
    let setThreadsFn: SetThreads?
    let config: String
    let coretype: String

    private init(sgemm: SGEMM, sgemv: SGEMV, setThreads: SetThreads?, config: String, coretype: String) {
        self.sgemm = sgemm
        self.sgemv = sgemv
        setThreadsFn = setThreads
        self.config = config
        self.coretype = coretype
    }

    static func load(preferAVX512: Bool) -> OpenBLAS? {
        if getenv("OPENBLAS_CORETYPE") == nil && preferAVX512 { setenv("OPENBLAS_CORETYPE", "SkylakeX", 1) }
        let coretype = getenv("OPENBLAS_CORETYPE").map { String(cString: $0) } ?? "(library default)"
        guard let handle = dlopen("libopenblas.so.0", RTLD_NOW) ?? dlopen("libopenblas.so", RTLD_NOW),
            let g = dlsym(handle, "cblas_sgemm"), let v = dlsym(handle, "cblas_sgemv")
        else { return nil }
        let set = dlsym(handle, "openblas_set_num_threads").map { unsafeBitCast($0, to: SetThreads.self) }
        var config = "OpenBLAS"
        if let c = dlsym(handle, "openblas_get_config"), let s = unsafeBitCast(c, to: GetConfig.self)() {
            config = String(cString: s)
        }
        return OpenBLAS(sgemm: unsafeBitCast(g, to: SGEMM.self), sgemv: unsafeBitCast(v, to: SGEMV.self),
                        setThreads: set, config: config, coretype: coretype)
    }

    func setThreads(_ n: Int) { setThreadsFn?(Int32(n)) }

    /// C[M, N] = A[M, K] · W[N, K]ᵀ (row-major), sgemv for M = 1.
    func multiply(_ a: UnsafePointer<Float>, _ w: UnsafePointer<Float>, _ c: UnsafeMutablePointer<Float>, m: Int, n: Int,
                  k: Int) {
        let rowMajor: Int32 = 101
        let noTrans: Int32 = 111
        let trans: Int32 = 112
        if m == 1 {
            sgemv(rowMajor, noTrans, Int32(n), Int32(k), 1, w, Int32(k), a, 1, 0, c, 1)
        } else {
            sgemm(rowMajor, noTrans, trans, Int32(m), Int32(n), Int32(k), 1, a, Int32(k), w, Int32(k), 0, c, Int32(n))
        }
    }
}

import ArgumentParser
import Foundation
import MolmoRuntime

/// `spotter doctor --model DIR`: what a Molmo2 checkpoint is, what running it needs, and whether it can run here.
struct DoctorCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check a Molmo2 checkpoint directory and whether this machine can run it.",
        discussion: """
            Reads config.json, generation_config.json, tokenizer.json and the safetensors headers (no weights are \
            loaded) and prints the decoder family, sizes, on-disk dtype, the memory the runtime will need in each \
            weight format for --context tokens, and whether the CPU and the available memory suffice. A directory \
            that is not a usable checkpoint gets a one-line reason and exit status 1.
            """)

    @Option(help: "Checkpoint directory (config.json, model*.safetensors, tokenizer.json).")
    var model: String

    @Option(help: "Context length (tokens) to size the KV cache for.")
    var context: Int = 8192

    func validate() throws {
        guard context > 0, context <= CheckpointInspector.maximumContextTokens else {
            throw ValidationError("--context must be between 1 and \(CheckpointInspector.maximumContextTokens) tokens.")
        }
    }

    func run() throws {
        let url = URL(fileURLWithPath: model)
        let report: CheckpointReport
        do {
            report = try CheckpointInspector.inspect(directory: url, contextTokens: context)
        } catch {
            fail("not a usable Molmo2 checkpoint: \(error)")
        }
        let t = report.text
        let family = report.family == .qwen3 ? "Qwen3 (pre-norm, per-head q/k norm)" : "OLMo3 (post-norm, full-width q/k norm)"
        print("checkpoint   \(url.path)")
        print("family       Molmo2 with \(family) decoder\(report.hasVision ? " + vision tower" : ", no vision weights")")
        print("decoder      \(t.numHiddenLayers) layers, hidden \(t.hiddenSize), heads \(t.numAttentionHeads) q / "
              + "\(t.numKeyValueHeads) kv × \(t.headDim), MLP \(t.intermediateSize), vocab \(t.vocabSize) + "
              + "\(t.additionalVocabSize)")
        var rope = "θ \(formatNumber(t.rope.theta))"
        if t.rope.ropeType == "yarn" {
            rope += ", YaRN ×\(formatNumber(t.rope.factor ?? 0)) on layers "
                + (t.ropeScalingLayers.map { $0.map(String.init).joined(separator: ",") } ?? "all")
        }
        print("rope         \(rope); max positions \(t.maxPositionEmbeddings)")
        print("parameters   \(formatCount(report.languageParameters)) language + "
              + "\(formatCount(report.otherParameters)) vision/connector")
        let dtypes = report.bytesByDType.sorted { $0.value > $1.value }
            .map { "\($0.key.rawValue) \(formatBytes($0.value))" }.joined(separator: ", ")
        print("on disk      \(formatBytes(report.checkpointBytes)) in \(report.shardCount) file(s): \(dtypes); "
              + "\(report.weightLayout) tensor names")
        print("tokenizer    \(report.tokenizerStatus)")
        print("eos ids      \(report.eosTokenIds.isEmpty ? "none (generation_config.json missing?)" : "\(report.eosTokenIds)")")
        print("kv cache     \(formatBytes(report.kvBytesPerToken)) per token, "
              + "\(formatBytes(report.kvBytes)) for \(context) tokens")
        print("cpu          \(report.cpuFeatures.joined(separator: " "))\(report.cpuSupported ? "" : " (AVX2+FMA missing)")")
        printKernelSelection()
        let available = report.availableMemory.map(formatBytes) ?? "unknown"
        print("memory       \(available) available")
        for format in [WeightFormat.bfloat16, .float32] {
            let need = report.memoryNeeded(format: format)
            print("  \(format.rawValue.padding(toLength: 9, withPad: " ", startingAt: 0)) needs ~\(formatBytes(need)): "
                  + (report.canRun(format: format) ? "can run here" : "cannot run here"))
        }
        if !report.canRun(format: .bfloat16) && !report.canRun(format: .float32) { throw ExitCode(2) }
    }

    /// The ISA and the kernels the runtime will run on this CPU (what --bf16-dot and the weight formats do here).
    func printKernelSelection() {
        for line in KernelSettings.reportLines() { print(line) }
    }

    func formatBytes(_ b: Int) -> String {
        let gib = Double(b) / Double(1 << 30)
        if gib >= 1 { return String(format: "%.2f GiB", gib) }
        if b >= 1 << 20 { return String(format: "%.1f MiB", Double(b) / Double(1 << 20)) }
        return String(format: "%.1f KiB", Double(b) / 1024)
    }

    func formatCount(_ n: Int) -> String {
        if n >= 1_000_000_000 { return String(format: "%.2f B", Double(n) / 1e9) }
        if n >= 1_000_000 { return String(format: "%.1f M", Double(n) / 1e6) }
        return "\(n)"
    }

    func formatNumber(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : String(x)
    }
}

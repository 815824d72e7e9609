import Foundation

/// Problems building a prompt.
package enum PromptError: Error, CustomStringConvertible, Equatable {
    /// The tokenizer lacks a token the layout needs.
    case missingToken(file: String, token: String)
    /// The media cannot be laid out (e.g. images and video together).
    case unsupportedMedia(String)

    package var description: String {
        switch self {
        case let .missingToken(f, t): return "\(f): the tokenizer has no '\(t)' token (not a Molmo2 tokenizer?)"
        case let .unsupportedMedia(r): return "prompt: \(r)"
        }
    }
}

/// Ids of Molmo2's visual special tokens, looked up in the tokenizer by their strings as the reference processor
/// does (`<im_patch>`, `<im_col>`, …), plus BOS.
package struct Molmo2SpecialTokens: Sendable, Equatable {
    package var imageStart: Int
    package var imageEnd: Int
    package var imagePatch: Int
    package var imageColumn: Int
    package var lowResImageStart: Int
    package var imageLow: Int
    package var frameStart: Int
    package var frameEnd: Int
    /// Prepended when the prompt does not start with it (Qwen-based Molmo2: `<|im_end|>`).
    package var bos: Int?

    /// The eight ids whose tokens attend bidirectionally (`token_type_ids` = 1, molmo2-spec §5.1).
    package var visualIds: Set<Int> {
        [imagePatch, imageColumn, imageStart, lowResImageStart, frameStart, imageEnd, frameEnd, imageLow]
    }

    /// Looks the tokens up in `tokenizer` (`file` names it in errors).
    package init(tokenizer: BPETokenizer, bos: Int?, file: String) throws {
        func id(_ s: String) throws -> Int {
            guard let i = tokenizer.id(of: s) else { throw PromptError.missingToken(file: file, token: s) }
            return i
        }
        imageStart = try id("<im_start>")
        imageEnd = try id("<im_end>")
        imagePatch = try id("<im_patch>")
        imageColumn = try id("<im_col>")
        lowResImageStart = try id("<low_res_im_start>")
        imageLow = try id("<im_low>")
        frameStart = try id("<frame_start>")
        frameEnd = try id("<frame_end>")
        self.bos = bos
    }
}

/// A tokenized prompt: ids and, per token, whether it is a visual token (bidirectional attention).
package struct Molmo2Prompt: Sendable, Equatable {
    package var ids: [Int]
    package var visual: [Bool]

    /// Positions of the `<im_patch>` tokens, in order (where the visual features are added).
    package func patchPositions(patchId: Int) -> [Int] { ids.indices.filter { ids[$0] == patchId } }
}

/// Molmo2's prompt layout (molmo2-spec §7): BOS, the visual blocks that replace the image/video placeholders of the
/// chat template (`Image N` prefixes for several images, `t.t ` timestamps before video frames, special-token frames
/// per `processor_config.json`), then the single-turn chat markup. Produces the same ids as the reference processor
/// tokenizing its expanded prompt string: special tokens are atomic, so each text piece between them is tokenized
/// on its own.
package struct PromptLayout {
    package let config: Molmo2ProcessorConfig
    package let tokens: Molmo2SpecialTokens
    package let tokenizer: BPETokenizer

    package init(config: Molmo2ProcessorConfig, tokens: Molmo2SpecialTokens, tokenizer: BPETokenizer) {
        self.config = config
        self.tokens = tokens
        self.tokenizer = tokenizer
    }

    /// The chat markup of a single-turn question after the visual placeholders (molmo2-spec §7.3).
    package static func chatText(question: String) -> String {
        "<|im_start|>user\n\(question)<|im_end|>\n<|im_start|>assistant\n"
    }

    /// `%.1f` of a timestamp (correctly rounded, ties to even on the binary value, like Python's format).
    package static func timestampText(_ t: Double) -> String { String(format: "%.1f", t) }

    /// Token ids of one image's block: global view (`<low_res_im_start>`, rows of `<im_patch>`, `<im_end>`) then
    /// the tiled view (`<im_start>`, rows of `<im_patch>` each followed by `<im_col>`, `<im_end>`).
    package func imageBlock(grid: [Int]) -> [Int] {
        let (lowRows, lowCols, highRows, highCols) = (grid[0], grid[1], grid[2], grid[3])
        var out: [Int] = []
        out.reserveCapacity(4 + lowRows * (lowCols + 1) + highRows * (highCols + 1))
        out.append(config.useSingleCropStartToken ? tokens.lowResImageStart : tokens.imageStart)
        let lowColumns = config.useSingleCropColumnTokens ?? config.imageUseColumnTokens
        for _ in 0..<lowRows {
            out += repeatElement(tokens.imagePatch, count: lowCols)
            if lowColumns { out.append(tokens.imageColumn) }
        }
        out.append(tokens.imageEnd)
        out.append(tokens.imageStart)
        for _ in 0..<highRows {
            out += repeatElement(tokens.imagePatch, count: highCols)
            if config.imageUseColumnTokens { out.append(tokens.imageColumn) }
        }
        out.append(tokens.imageEnd)
        return out
    }

    /// Token ids of a video: per frame the timestamp text (`"0.0 "`, then `" 0.5 "` …) and the frame's tokens.
    package func videoBlock(rows: Int, cols: Int, timestamps: [Double]) -> [Int] {
        let start = config.useFrameSpecialTokens ? tokens.frameStart : tokens.imageStart
        let end = config.useFrameSpecialTokens ? tokens.frameEnd : tokens.imageEnd
        var frame = [start]
        for _ in 0..<rows {
            frame += repeatElement(tokens.imagePatch, count: cols)
            if config.videoUseColumnTokens { frame.append(tokens.imageColumn) }
        }
        frame.append(end)
        var out: [Int] = []
        out.reserveCapacity(timestamps.count * (frame.count + 8))
        for (k, t) in timestamps.enumerated() {
            out += tokenizer.encode((k > 0 ? " " : "") + Self.timestampText(t) + " ")
            out += frame
        }
        return out
    }

    /// The full prompt for `visuals` (images, or exactly one video) and a question.
    package func prompt(visuals: [PreprocessedVisual], question: String) throws -> Molmo2Prompt {
        let videos = visuals.filter { $0.kind == .video }
        let images = visuals.filter { $0.kind == .image }
        if !videos.isEmpty && !images.isEmpty {
            throw PromptError.unsupportedMedia("images and a video cannot be asked about together")
        }
        if videos.count > 1 { throw PromptError.unsupportedMedia("at most one video per prompt") }
        // The rendered template starts with a placeholder or `<|im_start|>`, never with BOS, so the processor always
        // prepends it.
        var ids: [Int] = []
        if let bos = tokens.bos { ids.append(bos) }
        if images.count == 1 {
            ids += imageBlock(grid: images[0].grid)
        } else {
            for (n, image) in images.enumerated() {
                ids += tokenizer.encode("Image \(n + 1)")
                ids += imageBlock(grid: image.grid)
            }
        }
        if let video = videos.first {
            ids += videoBlock(rows: video.grid[1], cols: video.grid[2], timestamps: video.timestamps)
        }
        ids += tokenizer.encode(Self.chatText(question: question))
        let visualIds = tokens.visualIds
        return Molmo2Prompt(ids: ids, visual: ids.map { visualIds.contains($0) })
    }
}

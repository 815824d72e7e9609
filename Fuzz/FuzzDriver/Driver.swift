// What every libFuzzer target shares: handing over to libFuzzer's driver, the per-input callback, and the video
// that foreign annotation files are placed on. Built only by Scripts/fuzz (SPOTTER_FUZZ=1).
import Annotations

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// The target's body, set once by `runFuzzer` before libFuzzer starts calling back.
nonisolated(unsafe) private var fuzzBody: (([UInt8]) -> Void)?

/// Runs libFuzzer with the process's arguments, calling `body` with every input's bytes.
package func runFuzzer(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ body: @escaping ([UInt8]) -> Void
) -> Int32 {
    fuzzBody = body
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzerTestOneInput)
}

/// libFuzzer's per-input callback (also found by name when libFuzzer's own `main` is linked).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    fuzzBody?(bytes)
    return 0
}

/// The video foreign files are placed on: 100 frames of 640×480 at 10 fps.
package let fuzzMedia = MediaDescriptor(
    kind: .video, path: "clip.mp4", byteSize: 123_456, headSHA256: String(repeating: "ab", count: 32), duration: 10,
    frameCount: 100, width: 640, height: 480, fps: 10, frameTimestamps: (0..<100).map { Double($0) / 10 })

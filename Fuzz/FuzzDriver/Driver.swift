// What every libFuzzer target shares: handing over to libFuzzer's driver, turning an input into bytes, and the video
// that foreign annotation files are placed on. Built only by Scripts/fuzz (SPOTTER_FUZZ=1).
import Annotations

/// libFuzzer's per-input callback, as each target exports it under the name `LLVMFuzzerTestOneInput` (libFuzzer's
/// own `main` finds it by that name, so it must call the target's body directly).
package typealias FuzzCallback = @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: FuzzCallback
) -> Int32

/// Runs libFuzzer with the process's arguments and the target's callback (for SwiftPM's `<Target>_main` entry).
package func runFuzzer(
    _ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ callback: FuzzCallback
) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, callback)
}

/// Calls `body` with one input's bytes; what every target's callback does.
package func fuzzInput(_ data: UnsafePointer<UInt8>?, _ size: Int, _ body: ([UInt8]) -> Void) -> Int32 {
    body(size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size)))
    return 0
}

/// The video foreign files are placed on: 100 frames of 640×480 at 10 fps.
package let fuzzMedia = MediaDescriptor(
    kind: .video, path: "clip.mp4", byteSize: 123_456, headSHA256: String(repeating: "ab", count: 32), duration: 10,
    frameCount: 100, width: 640, height: 480, fps: 10, frameTimestamps: (0..<100).map { Double($0) / 10 })

// libFuzzer entry for the TAP-Vid JSON reader. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzTAPVidJSON_main`, which hands over to libFuzzer's driver.
import Foundation
import Annotations

/// Any bytes as a TAP-Vid JSON file, placed on a fixed video.
func fuzzOne(_ bytes: [UInt8]) {
    _ = try? AnnotationExchange.decode(bytes, path: "fuzz.json", format: .tapvid, targetMedia: fuzzMedia)
}

/// The video foreign files are placed on: 100 frames of 640×480 at 10 fps.
let fuzzMedia = MediaDescriptor(
    kind: .video, path: "clip.mp4", byteSize: 123_456, headSHA256: String(repeating: "ab", count: 32), duration: 10,
    frameCount: 100, width: 640, height: 480, fps: 10, frameTimestamps: (0..<100).map { Double($0) / 10 })

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(
    _ argc: UnsafeMutablePointer<Int32>,
    _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

@_cdecl("FuzzTAPVidJSON_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzzerTestOneInput)
}

/// libFuzzer's per-input callback (also found by name when libFuzzer's own `main` is linked).
@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = size == 0 || data == nil ? [] : Array(UnsafeBufferPointer(start: data, count: size))
    fuzzOne(bytes)
    return 0
}

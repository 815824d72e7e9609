// libFuzzer entry for the Molmo2 JSONL reader. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzMolmo2JSONL_main`, which hands over to libFuzzer's driver.
import Foundation
import FuzzDriver
import Annotations

/// Any bytes as a Molmo2 JSONL file, placed on a fixed video.
func fuzzOne(_ bytes: [UInt8]) {
    _ = try? AnnotationExchange.decode(bytes, path: "fuzz.jsonl", format: .molmo2, targetMedia: fuzzMedia)
}

@_cdecl("FuzzMolmo2JSONL_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzInput(data, size, fuzzOne)
}

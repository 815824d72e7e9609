// libFuzzer entry for the Molmo2 answer grammar. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzMolmo2Answer_main`, which hands over to libFuzzer's driver.
import Foundation
import FuzzDriver
import Annotations

/// Any bytes as a model answer (points, tracks, counts).
func fuzzOne(_ bytes: [UInt8]) {
    let text = String(decoding: bytes, as: UTF8.self)
    let answer = Molmo2Answer.parse(text)
    _ = Molmo2Answer.countPrediction(text)
    for element in answer.elements { _ = Molmo2Answer.render(element) }
    _ = answer.text
}

@_cdecl("FuzzMolmo2Answer_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzInput(data, size, fuzzOne)
}

// libFuzzer entry for the Molmo2 config.json reader. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzModelConfig_main`, which hands over to libFuzzer's driver.
import Foundation
import FuzzDriver
import MolmoRuntime

/// Any bytes as config.json; a config that parses then has its derived sizes computed.
func fuzzOne(_ bytes: [UInt8]) {
    guard let config = try? Molmo2Config.parse(Data(bytes), file: "config.json") else { return }
    _ = config.text.embeddingRows
    _ = config.text.qkvWidth
    _ = config.vision?.patchesPerSide
}

@_cdecl("FuzzModelConfig_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzInput(data, size, fuzzOne)
}

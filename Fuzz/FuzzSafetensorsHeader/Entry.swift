// libFuzzer entry for the safetensors header parser. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzSafetensorsHeader_main`, which hands over to libFuzzer's driver.
import Foundation
import FuzzDriver
import MolmoRuntime

/// Any bytes as a whole safetensors file: header length, JSON header, offsets, data area.
func fuzzOne(_ bytes: [UInt8]) {
    bytes.withUnsafeBytes { raw in
        guard let base = raw.baseAddress else { return }
        _ = try? SafetensorsFile.parseHeader(base: base, size: raw.count, path: "fuzz.safetensors")
    }
}

@_cdecl("FuzzSafetensorsHeader_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzInput(data, size, fuzzOne)
}

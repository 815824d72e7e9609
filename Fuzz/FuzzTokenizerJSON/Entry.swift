// libFuzzer entry for the tokenizer.json reader and the BPE encoder. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzTokenizerJSON_main`, which hands over to libFuzzer's driver.
import Foundation
import FuzzDriver
import MolmoRuntime

/// Any bytes as tokenizer.json; a tokenizer that loads then encodes and decodes a fixed text.
func fuzzOne(_ bytes: [UInt8]) {
    guard let tokenizer = try? BPETokenizer(data: Data(bytes), file: "tokenizer.json") else { return }
    let ids = tokenizer.encode("Point to the dog 12.5 <im_patch> ünïcode")
    _ = tokenizer.decode(ids)
}

@_cdecl("FuzzTokenizerJSON_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzInput(data, size, fuzzOne)
}

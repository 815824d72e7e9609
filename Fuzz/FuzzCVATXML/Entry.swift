// libFuzzer entry for the CVAT for video XML reader. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzCVATXML_main`, which hands over to libFuzzer's driver.
import Foundation
import FuzzDriver
import Annotations

/// Any bytes as a CVAT for video 1.1 XML file, placed on a fixed video.
func fuzzOne(_ bytes: [UInt8]) {
    _ = try? AnnotationExchange.decode(bytes, path: "fuzz.xml", format: .cvat, targetMedia: fuzzMedia)
}

@_cdecl("FuzzCVATXML_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzInput(data, size, fuzzOne)
}

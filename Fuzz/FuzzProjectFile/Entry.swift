// libFuzzer entry for the project file reader. Built only by Scripts/fuzz (SPOTTER_FUZZ=1, -sanitize=fuzzer,address): SwiftPM
// links an executable target's entry point as `FuzzProjectFile_main`, which hands over to libFuzzer's driver.
import Foundation
import FuzzDriver
import Annotations

/// Any bytes as a NAME.spotter project file (an SQLite database), opened read-only and read in full.
private let projectPath = URL(
    fileURLWithPath: FileManager.default.fileExists(atPath: "/dev/shm") ? "/dev/shm" : NSTemporaryDirectory()
).appendingPathComponent("spotter-fuzz-\(getpid()).spotter")

func fuzzOne(_ bytes: [UInt8]) {
    guard FileManager.default.createFile(atPath: projectPath.path, contents: Data(bytes)) else { return }
    defer { try? FileManager.default.removeItem(at: projectPath) }
    guard let store = try? ProjectStore.open(at: projectPath, readOnly: true) else { return }
    _ = store.snapshot()
    try? store.close()
}

@_cdecl("FuzzProjectFile_main")
func fuzzerMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    runFuzzer(argc, argv, fuzzerTestOneInput)
}

@_cdecl("LLVMFuzzerTestOneInput")
func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    fuzzInput(data, size, fuzzOne)
}

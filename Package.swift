// swift-tools-version: 6.1
import Foundation
import PackageDescription

// Release builds need an explicit CPU target or Swift's SIMD types compile to SSE2 without FMA
// (70x slower, see docs/runtime-limits.md). The baseline is AVX2+FMA ("haswell"); faster paths
// (AVX-512, VNNI, BF16) live in CKernels behind run-time dispatch.
#if arch(x86_64)
let cpuBaseline: [SwiftSetting] = [.unsafeFlags(["-target-cpu", "haswell"])]
let cBaseline: [CSetting] = [.unsafeFlags(["-mavx2", "-mfma", "-mf16c", "-O3"])]
#else
let cpuBaseline: [SwiftSetting] = []
let cBaseline: [CSetting] = [.unsafeFlags(["-O3"])]
#endif

let swiftSettings: [SwiftSetting] = cpuBaseline + [.swiftLanguageMode(.v5)]

let package = Package(
    name: "spotter",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "spotter", targets: ["spotter"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // C libraries, each behind a module map and a shim header.
        .systemLibrary(
            name: "CFFmpeg", pkgConfig: "libavformat",
            providers: [.apt(["libavformat-dev", "libavcodec-dev", "libswscale-dev", "libavutil-dev"])]),
        // No pkgConfig: SwiftPM would drop its -D flags with a warning; the shim defines what is needed.
        .systemLibrary(name: "CNcurses", providers: [.apt(["libncursesw5-dev"])]),
        .target(name: "CKernels", cSettings: cBaseline),

        // Libraries, in dependency order (no module reaches "up").
        // Basics: what every module shares (atomic files, the Molmo2 frame sampler, frame references, seeded RNG).
        .target(name: "Basics", swiftSettings: swiftSettings),
        .target(name: "Media", dependencies: ["Basics", "CFFmpeg"], swiftSettings: swiftSettings),
        .target(name: "TerminalGraphics", dependencies: ["Basics"], swiftSettings: swiftSettings),
        .target(
            name: "Annotations",
            dependencies: ["Basics", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings),
        .target(name: "Tracking", dependencies: ["Basics", "Media"], swiftSettings: swiftSettings),
        .target(name: "MolmoRuntime", dependencies: ["Basics", "CKernels"], swiftSettings: swiftSettings),
        .target(
            name: "Assist", dependencies: ["Basics", "Media", "Annotations", "MolmoRuntime"], swiftSettings: swiftSettings),
        .target(
            name: "SpotterUI",
            dependencies: ["Basics", "CNcurses", "Media", "TerminalGraphics", "Annotations", "Tracking", "Assist"],
            // The shipped themes are compiled into the binary, so `--theme light` works wherever it is installed.
            resources: [
                .embedInCode("Themes/dark.toml"), .embedInCode("Themes/light.toml"), .embedInCode("Themes/256.toml"),
            ],
            swiftSettings: swiftSettings),
        .plugin(name: "BuildInfo", capability: .buildTool()),
        .executableTarget(
            name: "spotter",
            dependencies: [
                "Basics", "SpotterUI", "Media", "TerminalGraphics", "Annotations", "MolmoRuntime", "Tracking", "Assist",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings, plugins: ["BuildInfo"]),

        // One test target per module; SpotterCLITests drives the built executable.
        .testTarget(name: "BasicsTests", dependencies: ["Basics"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MediaTests", dependencies: ["Basics", "Media"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(name: "TerminalGraphicsTests", dependencies: ["Basics", "TerminalGraphics"], swiftSettings: swiftSettings),
        .testTarget(name: "TrackingTests", dependencies: ["Tracking"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AssistTests", dependencies: ["Basics", "Assist", "Media", "Annotations", "MolmoRuntime"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(
            name: "AnnotationsTests", dependencies: ["Basics", "Annotations", "Media"], exclude: ["Fixtures"], swiftSettings: swiftSettings),
        .testTarget(
            name: "MolmoRuntimeTests", dependencies: ["MolmoRuntime"], exclude: ["Fixtures"],
            swiftSettings: swiftSettings),
        .testTarget(name: "SpotterUITests", dependencies: ["Basics", "SpotterUI", "Annotations", "TerminalGraphics", "Tracking", "Assist", "Media"], swiftSettings: swiftSettings),
        .testTarget(name: "SpotterCLITests", dependencies: ["Basics", "spotter", "Media", "TerminalGraphics", "SpotterUI"], swiftSettings: swiftSettings),
    ]
)

// libFuzzer targets, one per parser of untrusted input (Fuzz/<Target>/Entry.swift). They exist only when
// SPOTTER_FUZZ is set, because they link against libFuzzer: Scripts/fuzz builds them with -sanitize=fuzzer,address
// into .build-fuzz and runs them on the seed corpora in Fuzz/Corpus.
if ProcessInfo.processInfo.environment["SPOTTER_FUZZ"] != nil {
    let fuzzTargets: [(name: String, module: Target.Dependency)] = [
        ("FuzzSafetensorsHeader", "MolmoRuntime"), ("FuzzTokenizerJSON", "MolmoRuntime"), ("FuzzModelConfig", "MolmoRuntime"),
        ("FuzzMolmo2Answer", "Annotations"), ("FuzzMolmo2JSONL", "Annotations"), ("FuzzCVATXML", "Annotations"),
        ("FuzzTAPVidJSON", "Annotations"), ("FuzzProjectFile", "Annotations"),
    ]
    package.targets.append(
        .target(name: "FuzzDriver", dependencies: ["Annotations"], path: "Fuzz/FuzzDriver", swiftSettings: swiftSettings))
    for target in fuzzTargets {
        package.targets.append(
            .executableTarget(
                name: target.name, dependencies: ["FuzzDriver", target.module], path: "Fuzz/\(target.name)",
                swiftSettings: swiftSettings))
    }
}
